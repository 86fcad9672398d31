/**
 * collectArchive: validate → probe → select mode → list → copy batches (direct sync, prove,
 * traditional fallback) with bounded parallelism → manifest and report.
 * Long collections continue as new every `batchesPerRun` batches, carrying a small state.
 */
import {
  ActivityCancellationType, ActivityFailure, ApplicationFailure, CancellationScope, TimeoutFailure, continueAsNew, defineQuery, isCancellation,
  proxyActivities, setCurrentDetails, setHandler, upsertSearchAttributes, workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { collectionStatePrefix } from './keys';
import { selectMode } from './mode';
import { parseCollectionRequest, resolvePeriods, summarize, type ActivityKind, type CollectionRequest, type ResolvedRange } from './request';
import { retryPolicyFor } from './retry';
import { verdictOf } from './verdict';
import {
  FAILED_OUTCOMES, type BatchRef, type CollectionReport, type EnvironmentProbe, type ListResult, type ModeDecision, type Progress, type StateRef, type VerifyResult,
} from './types';

export const progressQuery = defineQuery<Progress>('progress');

/** What one run hands the next when it continues as new. */
export interface CarriedState {
  request: CollectionRequest;
  range: ResolvedRange;
  collectionId: string;
  state: StateRef;
  probe: EnvironmentProbe;
  decision: ModeDecision;
  list: ListResult;
  searchAttributes: boolean;
  nextBatch: number;
  tally: Tally;
  batchFailures: Record<number, string>;
  phaseMs: Record<string, number>;
  runs: number;
}

interface Tally {
  batchesDone: number;
  copied: number;
  failed: number;
  fallbackBatches: number;
  fallbackFiles: number;
  bytesCopied: number;
  bytesThroughWorker: number;
  s3Requests: number;
  peakLocalDiskBytes: number;
}

const MAX_RECORDED_BATCH_FAILURES = 1_000;
const MAX_PIPELINE_WORKERS = 3;

function activitiesFor(kind: ActivityKind, request: CollectionRequest, options: Parameters<typeof proxyActivities>[0]) {
  // A cancelled collection ends only once its activities have stopped (s5cmd killed, staging cleaned).
  return proxyActivities<Activities>({
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    ...options,
    retry: retryPolicyFor(kind, request.retry),
  });
}

function describeFailure(err: unknown): string {
  let e = err as Error & { cause?: unknown };
  const parts: string[] = [];
  while (e) {
    if (e.message && !parts.includes(e.message)) parts.push(e.message);
    e = e.cause as Error & { cause?: unknown };
  }
  return parts.join(': ').slice(0, 1_000);
}

function workerLost(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof TimeoutFailure;
}

function failureType(err: unknown): string | undefined {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause.type ?? undefined : undefined;
}

/** Readable part of a collection ID: the workflow ID with anything unsafe for a key replaced. */
function readablePart(workflowId: string): string {
  return workflowId.replace(/[^A-Za-z0-9_.=-]/g, '_').replace(/\.{2,}/g, '_').slice(0, 80);
}

function asOfInstant(request: CollectionRequest): Date {
  if (request.asOf) return new Date(request.asOf);
  // Schedules record the time a run was scheduled for: a late or backfilled run collects its own period.
  const scheduled = workflowInfo().searchAttributes?.TemporalScheduledStartTime?.[0] as Date | string | undefined;
  if (scheduled) return new Date(scheduled);
  return workflowInfo().startTime;
}

export async function collectArchive(input?: unknown, carried?: CarriedState): Promise<CollectionReport> {
  const progress: Progress = {
    phase: 'validating', mode: null, batches: { total: 0, done: 0 },
    files: { planned: 0, copied: 0, skipped: 0, failed: 0, fallback: 0, notPublished: 0 }, bytes: 0,
  };
  setHandler(progressQuery, () => progress);

  const s = carried ?? (await prepare(input, progress));
  const { request, state } = s;
  const mode = s.decision.mode;
  progress.mode = mode;
  progress.phase = 'copying';
  progress.batches.total = s.list.batchCount;
  const summary = summarize(request, s.range);
  const refreshProgress = () => {
    progress.batches.done = s.tally.batchesDone;
    progress.files = {
      planned: s.list.planned, copied: s.tally.copied, skipped: s.list.alreadyPresent, failed: s.tally.failed + s.list.missingChecksum,
      fallback: s.tally.fallbackFiles, notPublished: s.list.notPublished,
    };
    progress.bytes = s.tally.bytesCopied;
    setCurrentDetails(`${summary} · ${mode} · batch ${s.tally.batchesDone}/${s.list.batchCount} · copied ${s.tally.copied}, failed ${s.tally.failed}, skipped ${s.list.alreadyPresent}`);
  };
  refreshProgress();

  const heartbeatTimeout = request.heartbeatTimeoutSeconds * 1000;
  // An activity that makes no progress for a few heartbeat timeouts gives its batch back.
  const stallMs = 3 * heartbeatTimeout;
  const direct = activitiesFor('directSync', request, { startToCloseTimeout: '2h', heartbeatTimeout });
  const verify = activitiesFor('verify', request, { startToCloseTimeout: '1h', heartbeatTimeout });
  const shared = activitiesFor('probe', request, { startToCloseTimeout: '1m' });
  const runId = workflowInfo().firstExecutionRunId;

  async function runTraditional(batch: number, only: number[] | undefined): Promise<void> {
    for (let pipeline = 1; pipeline <= MAX_PIPELINE_WORKERS; pipeline++) {
      // The four steps share one worker's disk: pin them to the queue only that worker polls.
      const taskQueue = await shared.getWorkerTaskQueue();
      const pinned = { taskQueue, scheduleToStartTimeout: '1m', startToCloseTimeout: '1h', heartbeatTimeout } as const;
      const download = activitiesFor('download', request, pinned);
      const upload = activitiesFor('upload', request, pinned);
      let ref = { state, batch, verification: request.verification, stallMs, only, stagingId: `${runId}-b${batch}-p${pipeline}`, transfersBy: s.decision.transfersBy };
      let lost = false;
      try {
        // Rounds: download what fits in staging, verify, upload, free the space, go on with the rest.
        for (;;) {
          const d = await download.downloadBatch(ref);
          s.tally.bytesThroughWorker += d.bytes;
          s.tally.s3Requests += d.s3Requests;
          s.tally.peakLocalDiskBytes = Math.max(s.tally.peakLocalDiskBytes, d.peakStagingBytes);
          await download.verifyStaged(ref);
          const u = await upload.uploadStaged(ref);
          s.tally.copied += u.copied;
          s.tally.failed += u.failed + u.mismatched;
          s.tally.bytesCopied += u.bytesUploaded;
          s.tally.bytesThroughWorker += u.bytesUploaded;
          s.tally.s3Requests += u.s3Requests;
          if (!d.deferred.length) return;
          await download.cleanupStaging(ref);
          ref = { ...ref, only: d.deferred };
        }
      } catch (err) {
        if (isCancellation(err)) throw err;
        lost = workerLost(err);
        if (lost && pipeline < MAX_PIPELINE_WORKERS) continue; // that worker is gone: start over on another
        recordBatchFailure(batch, `traditional copy failed: ${describeFailure(err)}`);
        return;
      } finally {
        if (!lost) {
          await CancellationScope.nonCancellable(() => download.cleanupStaging(ref)).catch(() => undefined);
        }
      }
    }
  }

  function recordBatchFailure(batch: number, message: string) {
    if (Object.keys(s.batchFailures).length < MAX_RECORDED_BATCH_FAILURES) s.batchFailures[batch] = message;
    else s.batchFailures[batch] = 'failed (see the first recorded batch failures for the reason)';
  }

  /** Proves copies (or bytes already there); returns the positions whose wrong, unproven bytes the traditional path must replace. */
  async function prove(ref: BatchRef): Promise<number[]> {
    try {
      const v: VerifyResult = await verify.proveCopied(ref);
      s.tally.copied += v.verified;
      s.tally.failed += v.mismatched + v.failed;
      s.tally.bytesThroughWorker += v.bytesRead;
      s.tally.s3Requests += v.s3Requests;
      return v.fallback;
    } catch (err) {
      if (isCancellation(err)) throw err;
      s.tally.failed += ref.only?.length ?? 0;
      recordBatchFailure(ref.batch, `proving the copies failed: ${describeFailure(err)}`);
      return [];
    }
  }

  /** Traditional copy of a batch: prove what may already be there, copy the rest, replace what proved wrong. */
  async function traditionalBatch(ref: BatchRef): Promise<void> {
    const wrong = s.list.verifyOnly > 0 ? await prove({ ...ref, actions: ['verify_only'] }) : [];
    await runTraditional(ref.batch, undefined);
    if (wrong.length) await runTraditional(ref.batch, wrong);
  }

  async function processBatch(batch: number): Promise<void> {
    const ref: BatchRef = { state, batch, verification: request.verification, stallMs, storeChecksum: s.decision.proofBy === 'store' };
    if (mode === 'traditional') return traditionalBatch(ref);
    let copy;
    try {
      copy = await direct.directSyncBatch(ref);
      s.tally.s3Requests += copy.s3Requests;
      s.tally.copied += copy.proven;
      s.tally.bytesCopied += copy.bytes;
    } catch (err) {
      if (isCancellation(err)) throw err;
      // s5cmd failed for the whole batch after its retries: every file takes the traditional path.
      s.tally.fallbackBatches++;
      s.tally.fallbackFiles += Math.min(request.batchSize, s.list.planned - batch * request.batchSize);
      return traditionalBatch(ref);
    }
    // What the store's checksum did not already prove (replacements, objects that appeared, …) is proven here.
    const wrong = copy.copied.length ? await prove({ ...ref, only: copy.copied, appeared: copy.appeared }) : [];
    const fallback = [...copy.fallback, ...wrong];
    if (fallback.length) {
      s.tally.fallbackBatches++;
      s.tally.fallbackFiles += fallback.length;
      await runTraditional(batch, fallback);
    }
  }

  const copyStarted = Date.now();
  const lastBatchThisRun = Math.min(s.list.batchCount, s.nextBatch + request.batchesPerRun);
  const running = new Set<Promise<void>>();
  try {
    while (s.nextBatch < lastBatchThisRun && !workflowInfo().continueAsNewSuggested) {
      if (running.size >= request.parallelBatches) await Promise.race(running);
      const batch = s.nextBatch++;
      const p: Promise<void> = processBatch(batch).finally(() => {
        running.delete(p);
        s.tally.batchesDone++;
        refreshProgress();
      });
      running.add(p);
    }
    await Promise.all(running);
  } catch (err) {
    // Cancelled: let every batch in flight stop its activities and clean its staging before ending.
    await Promise.allSettled(running);
    throw err;
  }
  s.phaseMs.copying = (s.phaseMs.copying ?? 0) + (Date.now() - copyStarted);

  if (s.nextBatch < s.list.batchCount) {
    await continueAsNew<typeof collectArchive>(input, { ...s, runs: s.runs + 1 });
  }
  return finish(s, progress);
}

async function prepare(input: unknown, progress: Progress): Promise<CarriedState> {
  const parsed = parseCollectionRequest(input);
  if (!parsed.ok) {
    progress.phase = 'failed';
    throw ApplicationFailure.nonRetryable(
      `invalid collection request:\n${parsed.problems.map((p) => `  - ${p}`).join('\n')}`,
      'InvalidCollectionRequest',
      { problems: parsed.problems },
    );
  }
  const request = parsed.request;
  const range = resolvePeriods(request, asOfInstant(request));
  const info = workflowInfo();
  // Unique per run whoever chose the workflow ID: two runs of one ID never share records.
  const collectionId = `${readablePart(info.workflowId)}-${info.firstExecutionRunId}`;
  const phaseMs: Record<string, number> = {};

  progress.phase = 'probing';
  let t = Date.now();
  const probeActs = activitiesFor('probe', request, { startToCloseTimeout: '1m' });
  const probed = await probeActs.probeEnvironment({ bucket: request.destination.bucket, prefix: request.destination.prefix, request });
  phaseMs.probing = Date.now() - t;
  if (probed.searchAttributes) {
    upsertSearchAttributes({
      ArchiveMarkets: request.markets, ArchiveDataTypes: request.dataTypes, ArchiveSymbols: request.symbols.slice(0, 50),
    });
  }
  const selection = selectMode(request.mode, probed.probe);
  if (!selection.ok) {
    if (probed.searchAttributes) upsertSearchAttributes({ ArchiveOutcome: ['failed'] });
    progress.phase = 'failed';
    throw ApplicationFailure.nonRetryable(selection.problem, 'ModeUnavailable', { probe: probed.probe });
  }
  if (probed.searchAttributes) upsertSearchAttributes({ ArchiveMode: [selection.decision.mode] });

  const state: StateRef = {
    collectionId,
    bucket: probed.destination.bucket,
    destinationPrefix: probed.destination.prefix,
    statePrefix: collectionStatePrefix(probed.destination.prefix, collectionId),
  };
  progress.phase = 'listing';
  t = Date.now();
  const listActs = activitiesFor('list', request, { startToCloseTimeout: '1h', heartbeatTimeout: '2m' });
  let list: ListResult;
  try {
    list = await listActs.listSources({ request, range, state });
  } catch (err) {
    if (failureType(err) === 'SeriesNotInArchiveError') {
      if (probed.searchAttributes) upsertSearchAttributes({ ArchiveOutcome: ['failed'] });
      progress.phase = 'failed';
      throw ApplicationFailure.nonRetryable((err as ActivityFailure).cause!.message, 'SeriesNotInArchive');
    }
    throw err;
  }
  phaseMs.listing = Date.now() - t;

  return {
    request, range, collectionId, state, probe: probed.probe, decision: selection.decision, list,
    searchAttributes: probed.searchAttributes, nextBatch: 0, batchFailures: {}, phaseMs, runs: 1,
    tally: {
      batchesDone: 0, copied: 0, failed: 0, fallbackBatches: 0, fallbackFiles: 0, bytesCopied: 0, bytesThroughWorker: 0,
      s3Requests: list.s3Requests, peakLocalDiskBytes: 0,
    },
  };
}

async function finish(s: CarriedState, progress: Progress): Promise<CollectionReport> {
  progress.phase = 'reporting';
  const t = Date.now();
  const acts = activitiesFor('report', s.request, { startToCloseTimeout: '30m' });
  const manifest = await acts.writeManifest({
    state: s.state, batchCount: s.list.batchCount, mode: s.decision.mode, batchFailures: s.batchFailures,
  });
  const count = (...outcomes: string[]) => outcomes.reduce((n, k) => n + (manifest.byOutcome[k] ?? 0), 0);
  const failed = count(...FAILED_OUTCOMES);
  const files: CollectionReport['files'] = {
    total: manifest.total,
    copied: count('copied', 'replaced', 'verified_in_place'),
    skipped: count('skipped'),
    notPublished: count('not_published'),
    failed,
    quarantined: manifest.quarantined,
    byMode: manifest.byMode,
    byOutcome: manifest.byOutcome,
    byProof: manifest.byProof,
    byProofMethod: manifest.byProofMethod,
  };
  const { ok, verdict } = verdictOf(files);
  const report: CollectionReport = {
    ok,
    verdict,
    files,
    summary: summarize(s.request, s.range),
    collectionId: s.collectionId,
    range: { first: s.range.first, last: s.range.last, asOf: s.range.asOf },
    decision: s.decision,
    bytes: { copied: manifest.bytesCopied, throughWorker: s.tally.bytesThroughWorker },
    fallbacks: { batches: s.tally.fallbackBatches, files: Math.max(0, s.tally.fallbackFiles) },
    s3Requests: s.tally.s3Requests + manifest.s3Requests,
    peakLocalDiskBytes: s.tally.peakLocalDiskBytes,
    phaseMs: { ...s.phaseMs },
    workflowRuns: s.runs,
    manifest: { bucket: s.state.bucket, key: manifest.key },
    reportKey: `${s.state.statePrefix}report.json`,
    probe: s.probe,
    request: s.request,
  };
  report.phaseMs.reporting = Date.now() - t;
  await acts.writeReport({ state: s.state, report });
  if (s.searchAttributes) upsertSearchAttributes({ ArchiveOutcome: [report.ok ? 'succeeded' : 'completed_with_failures'] });
  progress.phase = 'done';
  setCurrentDetails(`${report.summary} · ${report.decision.mode} · ${report.verdict}`);
  progress.files.copied = report.files.copied;
  progress.files.failed = report.files.failed;
  return report;
}
