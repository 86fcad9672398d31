/**
 * The project's own counters, exported with the Temporal runtime's metrics (Prometheus when the
 * worker has METRICS_PORT): files and bytes per mode and outcome, checksum failures, fallbacks.
 */
import { Context } from '@temporalio/activity';
import { PRESENT_OUTCOMES, type FileOutcome, type Mode } from '../workflows/types';

function meter() {
  return Context.current().metricMeter;
}

export function countFiles(mode: Mode, outcomes: { outcome: FileOutcome | string }[], bytes: number): void {
  const m = meter();
  const files = m.createCounter('archive_files', 'files', 'archive files handled, by mode and outcome');
  const tally = new Map<string, number>();
  for (const o of outcomes) tally.set(o.outcome, (tally.get(o.outcome) ?? 0) + 1);
  for (const [outcome, n] of tally) files.add(n, { mode, outcome });
  if (bytes > 0) m.createCounter('archive_bytes', 'bytes', 'archive bytes copied, by mode').add(bytes, { mode });
  const mismatches = (tally.get('checksum_mismatch') ?? 0) + (tally.get('stale_checksum') ?? 0);
  if (mismatches) m.createCounter('archive_checksum_failures', 'files', 'files whose SHA-256 did not match .CHECKSUM').add(mismatches, { mode });
}

export function countFallbacks(files: number): void {
  if (files > 0) meter().createCounter('archive_fallback_files', 'files', 'files direct sync handed to the traditional path').add(files);
}

/** Files now present with proof (copied, replaced, verified in place), whose SHA-256 did not match, and the rest. */
export function tallyOutcomes(entries: { outcome: FileOutcome | string }[]): { copied: number; mismatched: number; failed: number } {
  const copied = entries.filter((e) => (PRESENT_OUTCOMES as readonly string[]).includes(e.outcome)).length;
  const mismatched = entries.filter((e) => e.outcome === 'checksum_mismatch' || e.outcome === 'stale_checksum').length;
  return { copied, mismatched, failed: entries.length - copied - mismatched };
}
