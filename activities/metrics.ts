/**
 * The project's own counters, exported with the Temporal runtime's metrics (Prometheus when the
 * worker has METRICS_PORT): files and bytes per mode and outcome, checksum failures, fallbacks.
 */
import { Context } from '@temporalio/activity';
import type { MetricMeter } from '@temporalio/common';
import {
  FAILED_OUTCOMES,
  PRESENT_OUTCOMES,
  type CollectionReport,
  type FileOutcome,
  type Mode,
} from '../workflows/types';

let workerMeter: MetricMeter | undefined;

/** The worker's meter once initializeMetrics ran (labels: ours only), else the activity's. */
function meter(): MetricMeter {
  return workerMeter ?? Context.current().metricMeter;
}

/**
 * Every counter at 0 for the modes and outcomes alerts look at, when the worker starts: a series that
 * appears only at its first event shows no increase() in Prometheus, so the first failure would not alert.
 * From then on the project's metrics go through this meter, so they keep the label sets made here
 * (the activity meter would add activityType and taskQueue, making new series).
 */
export function initializeMetrics(m: MetricMeter): void {
  workerMeter = m;
  for (const mode of ['direct_sync', 'traditional'] as const) {
    const files = m.createCounter('archive_files', 'files', 'archive files handled, by mode and outcome');
    for (const outcome of [...PRESENT_OUTCOMES, ...FAILED_OUTCOMES]) files.add(0, { mode, outcome });
    m.createCounter('archive_bytes', 'bytes', 'archive bytes copied, by mode').add(0, { mode });
    m.createCounter('archive_checksum_failures', 'files', 'files whose SHA-256 did not match .CHECKSUM').add(0, {
      mode,
    });
  }
  m.createCounter('archive_fallback_files', 'files', 'files direct sync handed to the traditional path').add(0);
}

export function countFiles(mode: Mode, outcomes: { outcome: FileOutcome | string }[], bytes: number): void {
  const m = meter();
  const files = m.createCounter('archive_files', 'files', 'archive files handled, by mode and outcome');
  const tally = new Map<string, number>();
  for (const o of outcomes) tally.set(o.outcome, (tally.get(o.outcome) ?? 0) + 1);
  for (const [outcome, n] of tally) files.add(n, { mode, outcome });
  if (bytes > 0) m.createCounter('archive_bytes', 'bytes', 'archive bytes copied, by mode').add(bytes, { mode });
  const mismatches = (tally.get('checksum_mismatch') ?? 0) + (tally.get('stale_checksum') ?? 0);
  if (mismatches)
    m.createCounter('archive_checksum_failures', 'files', 'files whose SHA-256 did not match .CHECKSUM').add(
      mismatches,
      { mode },
    );
}

export function countFallbacks(files: number): void {
  if (files > 0)
    meter()
      .createCounter('archive_fallback_files', 'files', 'files direct sync handed to the traditional path')
      .add(files);
}

/** One s5cmd run (a direct-sync batch, or the upload step of a traditional one). */
export function observeS5cmdRun(
  side: 'source' | 'destination',
  ms: number,
  exitCode: number | undefined | 'killed',
): void {
  meter()
    .createHistogram('archive_s5cmd_run_duration', 'int', 'ms', 's5cmd run time per batch, in milliseconds')
    .record(Math.max(0, Math.round(ms)), {
      side,
      exit: exitCode === 'killed' ? 'killed' : exitCode === 0 ? 'ok' : 'error',
    });
}

/** A finished collection: its outcome, when it finished, and what the destination is still missing. */
export function recordCollection(report: CollectionReport, scheduleId: string): void {
  const m = meter();
  const tags = { action: report.action, schedule: scheduleId };
  m.createCounter('archive_collections', 'collections', 'finished collections, by action, outcome and schedule').add(
    1,
    { ...tags, outcome: report.ok ? 'succeeded' : 'completed_with_failures' },
  );
  m.createGauge(
    'archive_collection_completed_timestamp',
    'float',
    's',
    'when a collection of this action and schedule last finished (Unix seconds)',
  ).set(Date.now() / 1000, tags);
  m.createGauge(
    'archive_coverage_missing_files',
    'int',
    'files',
    'files published in the archive but not in the destination with proof, at the last report',
  ).set(report.coverage.missingFiles, tags);
  m.createGauge(
    'archive_coverage_archive_gap_periods',
    'int',
    'periods',
    'periods the archive itself has not published inside a series span, at the last report',
  ).set(report.coverage.archiveGapPeriods, tags);
  // Every run looks up the facts recorded for its files' bytes, so every report knows the cut-short files read so far.
  const content = report.coverage.content;
  // A shard whose inspection failed knows less than it should: the last good figure stands.
  if (content && !content.failure)
    m.createGauge(
      'archive_content_cut_short_files',
      'int',
      'files',
      'verified files whose content is known to be cut short of their period (docs/content.md), at the last report',
    ).set(content.cutShort, tags);
}
