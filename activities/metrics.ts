/**
 * The project's own counters, exported with the Temporal runtime's metrics (Prometheus when the
 * worker has METRICS_PORT): files and bytes per mode and outcome, checksum failures, fallbacks.
 */
import { Context } from '@temporalio/activity';
import type { FileOutcome, Mode } from '../workflows/types';

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
  const mismatches = tally.get('checksum_mismatch') ?? 0;
  if (mismatches) m.createCounter('archive_checksum_failures', 'files', 'files whose SHA-256 did not match .CHECKSUM').add(mismatches, { mode });
}

export function countFallbacks(files: number): void {
  if (files > 0) meter().createCounter('archive_fallback_files', 'files', 'files direct sync handed to the traditional path').add(files);
}

/** Files that ended copied, with a mismatching checksum, or otherwise not copied. */
export function tallyOutcomes(entries: { outcome: FileOutcome | string }[]): { copied: number; mismatched: number; failed: number } {
  const copied = entries.filter((e) => e.outcome === 'copied').length;
  const mismatched = entries.filter((e) => e.outcome === 'checksum_mismatch').length;
  return { copied, mismatched, failed: entries.length - copied - mismatched };
}
