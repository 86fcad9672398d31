/**
 * collectShard: one shard of a collection (a child workflow of collectArchive): list its series
 * (checkpointed) → copy batches (direct sync, prove, traditional fallback) with bounded parallelism
 * → its manifest and coverage. A plan stops after the listing; an audit proves what is already
 * there and copies nothing. Continues as new every `batchesPerRun` batches, carrying a small state.
 */
import {
  ApplicationFailure,
  CancellationScope,
  continueAsNew,
  isCancellation,
  patched,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { copiesNothing, inspectsContent, type CollectionRequest, type ResolvedRange } from './request';
import { ShardCarriedSchema, ShardInputSchema, parseWith } from './schemas';
import { activitiesFor, describeFailure, newProgress, progressQuery, workerLost } from './support';
import { addCounts, emptyCounts, fileCounts } from './tally';
import { emptyContent } from './coverage';
import type { BatchRef, ListResult, ManifestCounts, ModeDecision, ShardResult, StateRef } from './types';

export interface ShardInput {
  request: CollectionRequest;
  range: ResolvedRange;
  shard: number;
  /** The shard's state folder. */
  state: StateRef;
  decision: ModeDecision;
  /** For the details line of the run list. */
  summary: string;
}

/** What one run of a shard hands the next when it continues as new. */
export interface ShardCarried {
  list: ListResult;
  nextBatch: number;
  tally: ShardResult['tally'] & { batchesDone: number };
  /** The files settled so far (by the listing and by finished batches), counted as the manifest counts them. */
  counts?: ManifestCounts;
  /** The first MAX_RECORDED_BATCH_FAILURES failed batches' messages; failedBatches counts all of them. */
  batchFailures: Record<number, string>;
  failedBatches?: number;
  phaseMs: Record<string, number>;
  runs: number;
}

const MAX_RECORDED_BATCH_FAILURES = 200;
/**
 * Shards count their settled files as they go (countListed, countBatch). Histories recorded before this
 * replay without those activities, in the same promise shape; a run upgraded mid-way counts from then on.
 */
const COUNT_SETTLED_FILES = 'count-settled-files';
const MAX_PIPELINE_WORKERS = 3;
/** The content step (facts bound to each verified file's bytes) before the manifest; histories recorded before it replay without. */
const CONTENT_FACTS = 'content-facts';

/**
 * A shard's arguments, parsed like any input: anyone can start this type directly, with edited arguments.
 * What a shard writes is checked again by each activity against its worker's configuration.
 */
function parsedArguments(rawInput: unknown, rawCarried: unknown): { input: ShardInput; carried?: ShardCarried } {
  const fail = (what: string, problems: string[]): never => {
    throw ApplicationFailure.nonRetryable(
      `invalid ${what} (collectShard runs as a child of collectArchive; start collectArchive instead):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      'InvalidShardInput',
      { problems },
    );
  };
  const input = parseWith(ShardInputSchema, rawInput);
  if (!input.ok) return fail('shard input', input.problems);
  if (rawCarried === undefined || rawCarried === null) return { input: input.value };
  const carried = parseWith(ShardCarriedSchema, rawCarried);
  if (!carried.ok) return fail('continue-as-new state', carried.problems);
  return { input: input.value, carried: carried.value };
}

export async function collectShard(rawInput: unknown, rawCarried?: unknown): Promise<ShardResult> {
  const { input, carried } = parsedArguments(rawInput, rawCarried);
  const { request, state, decision } = input;
  const mode = decision.mode;
  const action = request.action;
  const progress = newProgress();
  progress.mode = mode;
  setHandler(progressQuery, () => progress);

  const s = carried ?? (await listShard(input, progress));
  progress.phase = 'copying';
  progress.batches.total = action === 'plan' ? 0 : s.list.batchCount;
  const refreshProgress = () => {
    const done = fileCounts(s.counts ?? emptyCounts());
    progress.batches.done = s.tally.batchesDone;
    progress.files = {
      planned: s.list.planned,
      copied: done.copied,
      skipped: done.skipped,
      failed: done.failed,
      fallback: s.tally.fallbackFiles,
      notPublished: done.notPublished,
    };
    progress.bytes = s.counts?.bytesCopied ?? 0;
    setCurrentDetails(
      `${input.summary} · shard ${input.shard} · ${mode} · batch ${s.tally.batchesDone}/${progress.batches.total} · copied ${done.copied}, failed ${done.failed}`,
    );
  };
  refreshProgress();

  const heartbeatTimeout = request.heartbeatTimeoutSeconds * 1000;
  const report = activitiesFor('report', request, { startToCloseTimeout: '30m', heartbeatTimeout: '2m' });
  const count = countingActivities(request);
  // An activity that makes no progress for a few heartbeat timeouts gives its batch back.
  const stallMs = 3 * heartbeatTimeout;
  const direct = activitiesFor('directSync', request, { startToCloseTimeout: '2h', heartbeatTimeout });
  const verify = activitiesFor('verify', request, { startToCloseTimeout: '1h', heartbeatTimeout });
  const shared = activitiesFor('probe', request, { startToCloseTimeout: '1m' });
  const runId = workflowInfo().firstExecutionRunId;

  // Messages travel in every continue-as-new and in the manifest's input: a bounded number of them.
  function recordBatchFailure(batch: number, message: string) {
    s.failedBatches = (s.failedBatches ?? 0) + 1;
    if (Object.keys(s.batchFailures).length < MAX_RECORDED_BATCH_FAILURES)
      s.batchFailures[batch] = message.slice(0, 500);
  }

  async function runTraditional(batch: number, only: number[] | undefined): Promise<void> {
    for (let pipeline = 1; pipeline <= MAX_PIPELINE_WORKERS; pipeline++) {
      // The four steps share one worker's disk: pin them to the queue only that worker polls.
      const taskQueue = await shared.getWorkerTaskQueue();
      const pinned = { taskQueue, scheduleToStartTimeout: '1m', startToCloseTimeout: '1h', heartbeatTimeout } as const;
      const download = activitiesFor('download', request, pinned);
      const upload = activitiesFor('upload', request, pinned);
      let ref = {
        state,
        batch,
        verification: request.verification,
        stallMs,
        only,
        stagingId: `${runId}-b${batch}-p${pipeline}`,
        transfersBy: decision.transfersBy,
      };
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

  /** Proves copies (or bytes already there); returns the positions whose wrong, unproven bytes the traditional path must replace. */
  async function prove(ref: BatchRef): Promise<number[]> {
    try {
      const v = await verify.proveCopied(ref);
      s.tally.bytesThroughWorker += v.bytesRead;
      s.tally.s3Requests += v.s3Requests;
      return v.fallback;
    } catch (err) {
      if (isCancellation(err)) throw err;
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
    const ref: BatchRef = {
      state,
      batch,
      verification: request.verification,
      stallMs,
      storeChecksum: decision.proofBy === 'store',
    };
    // An audit proves the bytes other tools put there and moves nothing; files not there stay pending.
    if (copiesNothing(action)) {
      await prove({ ...ref, actions: ['verify_only'], audit: true });
      return;
    }
    if (mode === 'traditional') return traditionalBatch(ref);
    let copy;
    try {
      copy = await direct.directSyncBatch(ref);
      s.tally.s3Requests += copy.s3Requests;
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

  /** What the batch's files came to, counted from what its steps recorded, as the manifest will count them. */
  async function countSettled(batch: number): Promise<void> {
    try {
      const { s3Requests, ...counted } = await count.countBatch({
        state,
        batch,
        batchFailure: s.batchFailures[batch],
        action,
      });
      s.counts = addCounts(s.counts ?? emptyCounts(), counted);
      s.tally.s3Requests += s3Requests;
    } catch (err) {
      if (isCancellation(err)) throw err; // progress only: the manifest counts every file again from the same records
    }
  }

  const copyStarted = Date.now();
  const batchesToRun = action === 'plan' ? 0 : s.list.batchCount;
  const lastBatchThisRun = Math.min(batchesToRun, s.nextBatch + request.batchesPerRun);
  const running = new Set<Promise<void>>();
  try {
    while (s.nextBatch < lastBatchThisRun && !workflowInfo().continueAsNewSuggested) {
      if (running.size >= request.parallelBatches) await Promise.race(running);
      const batch = s.nextBatch++;
      // Decided before the batch starts, so that unpatched runs keep their promise chain (and command order).
      const work = patched(COUNT_SETTLED_FILES)
        ? processBatch(batch).then(() => countSettled(batch))
        : processBatch(batch);
      const p: Promise<void> = work.finally(() => {
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

  if (s.nextBatch < batchesToRun) {
    await continueAsNew<typeof collectShard>(input, { ...s, runs: s.runs + 1 });
  }

  const manifestInput = {
    state,
    batchCount: s.list.batchCount,
    settledParts: s.list.settledParts,
    mode,
    action,
    batchFailures: s.batchFailures,
  };
  let contentFailure: string | undefined;
  if (patched(CONTENT_FACTS)) {
    progress.phase = 'inspecting';
    const started = Date.now();
    // Reading a file's content may take minutes (a 1 GiB trades day): the activity heartbeats as it reads.
    const content = activitiesFor('verify', request, { startToCloseTimeout: '6h', heartbeatTimeout });
    try {
      const c = await content.inspectShard({ ...manifestInput, inspect: inspectsContent(request) });
      s.tally.s3Requests += c.s3Requests;
      s.tally.bytesThroughWorker += c.bytesRead;
    } catch (err) {
      if (isCancellation(err)) throw err;
      // Content is reported beside the copies: a failed inspection leaves the copies and proofs as they are.
      contentFailure = `content inspection failed: ${describeFailure(err)}`;
    }
    s.phaseMs.inspecting = Date.now() - started;
  }

  progress.phase = 'reporting';
  const t = Date.now();
  const { coverage, key: _key, s3Requests, ...manifest } = await report.writeManifest(manifestInput);
  if (contentFailure) coverage.content = { ...(coverage.content ?? emptyContent()), failure: contentFailure };
  s.phaseMs.manifest = Date.now() - t;
  progress.phase = 'done';
  // Progress keeps its own running count (tests check that it adds up to the manifest's); runs recorded before it show the manifest's.
  s.counts ??= manifest;
  refreshProgress();
  const failures = Object.values(s.batchFailures);
  const { batchesDone: _b, ...tally } = s.tally;
  return {
    shard: input.shard,
    list: s.list,
    manifest,
    coverage,
    tally: { ...tally, s3Requests: tally.s3Requests + s3Requests },
    batchFailures: s.failedBatches ?? failures.length,
    firstBatchFailure: failures[0] ?? null,
    phaseMs: s.phaseMs,
    runs: s.runs,
  };
}

/** The reads that count settled files for progress: short, no heartbeat. */
function countingActivities(request: CollectionRequest) {
  return activitiesFor('report', request, { startToCloseTimeout: '10m' });
}

async function listShard(input: ShardInput, progress: ReturnType<typeof newProgress>): Promise<ShardCarried> {
  progress.phase = 'listing';
  const t = Date.now();
  // A killed or failed listing is retried from its last heartbeat checkpoint, not from the start.
  const acts = activitiesFor('list', input.request, {
    startToCloseTimeout: '2h',
    heartbeatTimeout: 2 * input.request.heartbeatTimeoutSeconds * 1000,
  });
  const list = await acts.listShard({ request: input.request, range: input.range, state: input.state });
  let counts: ManifestCounts | undefined;
  if (patched(COUNT_SETTLED_FILES)) {
    try {
      const { s3Requests, ...listed } = await countingActivities(input.request).countListed({
        state: input.state,
        settledParts: list.settledParts,
      });
      counts = listed;
      list.s3Requests += s3Requests;
    } catch (err) {
      if (isCancellation(err)) throw err; // progress only, as for batches
    }
  }
  return {
    list,
    ...(counts ? { counts } : {}),
    nextBatch: 0,
    batchFailures: {},
    phaseMs: { listing: Date.now() - t },
    runs: 1,
    tally: {
      batchesDone: 0,
      fallbackBatches: 0,
      fallbackFiles: 0,
      bytesThroughWorker: 0,
      s3Requests: list.s3Requests,
      peakLocalDiskBytes: 0,
    },
  };
}
