/**
 * collectArchive: validate → probe → select mode → discover the series in the archive's listing and
 * cut them into shards → one child workflow (collectShard) per shard, `parallelShards` at a time →
 * join the shards' manifests and coverage → report. No run holds the collection's files: the
 * parent carries counts, shards carry their own plan in objects. The parent continues as new every
 * SHARDS_PER_RUN shards, once the shards it started have finished.
 */
import {
  ApplicationFailure,
  CancellationScope,
  ParentClosePolicy,
  continueAsNew,
  executeChild,
  isCancellation,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { addCoverage, emptyCoverage } from './coverage';
import { REPORT_OBJECT, collectionStatePrefix, shardName, shardStatePrefix } from './keys';
import { selectMode } from './mode';
import {
  compactRange,
  inspectsContent,
  parseCollectionRequest,
  resolvePeriods,
  summarize,
  type CollectionRequest,
  type ResolvedRange,
} from './request';
import { REQUEST_ERRORS } from '../common/errors';
import {
  ARCHIVE_DATA_TYPES,
  ARCHIVE_MARKETS,
  ARCHIVE_MODE,
  ARCHIVE_OUTCOME,
  ARCHIVE_SYMBOLS,
  SCHEDULED_BY,
  SCHEDULED_START_TIME,
} from './search-attributes';
import { CollectCarriedSchema, parseWith } from './schemas';
import { collectShard, type ShardInput } from './shard';
import { activitiesFor, describeFailure, failureType, newProgress, progressQuery } from './support';
import { addCounts, addListCounts, emptyCounts, emptyListCounts, fileCounts } from './tally';
import {
  type CollectionReport,
  type CoverageSummary,
  type Discovery,
  type EnvironmentProbe,
  type ListResult,
  type ManifestCounts,
  type ModeDecision,
  type Progress,
  type ShardResult,
  type StateRef,
} from './types';
import { contentVerdict, verdictOf } from './verdict';

export { progressQuery } from './support';

/** Shards one parent run starts before it continues as new (each costs the parent's history a few events). */
const SHARDS_PER_RUN = 500;

interface Totals {
  list: ListResult;
  manifest: ManifestCounts;
  coverage: CoverageSummary;
  fallbackBatches: number;
  fallbackFiles: number;
  bytesThroughWorker: number;
  s3Requests: number;
  peakLocalDiskBytes: number;
  shardsDone: number;
  shardsFailed: number;
  firstShardFailure: string | null;
  shardRuns: number;
  listingMs: number;
  copyingMs: number;
  resumedListings: number;
}

/** What one run hands the next when it continues as new. */
export interface CarriedState {
  request: CollectionRequest;
  range: ResolvedRange;
  collectionId: string;
  state: StateRef;
  probe: EnvironmentProbe;
  decision: ModeDecision;
  discovery: Discovery;
  searchAttributes: boolean;
  nextShard: number;
  totals: Totals;
  phaseMs: Record<string, number>;
  runs: number;
}

/** Readable part of a collection ID: the workflow ID with anything unsafe for a key replaced. */
function readablePart(workflowId: string): string {
  return workflowId
    .replace(/[^A-Za-z0-9_.=-]/g, '_')
    .replace(/\.{2,}/g, '_')
    .slice(0, 80);
}

function asOfInstant(request: CollectionRequest): Date {
  if (request.asOf) return new Date(request.asOf);
  // Schedules record the time a run was scheduled for: a late or backfilled run collects its own period.
  const scheduled = workflowInfo().typedSearchAttributes.get(SCHEDULED_START_TIME);
  if (scheduled) return new Date(scheduled);
  return workflowInfo().startTime;
}

/** The shard's child workflow ID: the collection's workflow ID, its first run, and the shard. */
export function shardWorkflowId(workflowId: string, firstRunId: string, shard: number): string {
  return `${workflowId}/${firstRunId.slice(0, 8)}/${shardName(shard)}`;
}

export async function collectArchive(input?: unknown, carried?: unknown): Promise<CollectionReport> {
  const progress = newProgress();
  setHandler(progressQuery, () => progress);

  const s = carried !== undefined && carried !== null ? resume(carried, progress) : await prepare(input, progress);
  const { request, discovery } = s;
  const summary = summarize(request, s.range);
  progress.mode = s.decision.mode;
  progress.phase = 'copying';
  const running = new Map<number, Promise<void>>();
  const runningIds = new Map<number, string>();
  const refreshProgress = () => {
    const t = s.totals;
    progress.shards = {
      total: discovery.shards,
      done: t.shardsDone + t.shardsFailed,
      running: [...runningIds.values()],
    };
    progress.batches = { total: t.list.batchCount, done: t.list.batchCount };
    const done = fileCounts(t.manifest);
    progress.files = {
      planned: t.list.planned,
      copied: done.copied,
      skipped: done.skipped,
      failed: done.failed,
      fallback: t.fallbackFiles,
      notPublished: done.notPublished,
    };
    progress.bytes = t.manifest.bytesCopied;
    setCurrentDetails(
      `${summary} · ${s.decision.mode} · shards ${progress.shards.done}/${discovery.shards} (${runningIds.size} running) · ${discovery.series} series · files done ${t.manifest.total}`,
    );
  };
  refreshProgress();

  const info = workflowInfo();
  const started = Date.now();
  async function runShard(shard: number): Promise<void> {
    const workflowId = shardWorkflowId(info.workflowId, info.firstExecutionRunId, shard);
    runningIds.set(shard, workflowId);
    refreshProgress();
    const shardInput: ShardInput = {
      request,
      range: s.range,
      shard,
      decision: s.decision,
      summary,
      state: { ...s.state, statePrefix: shardStatePrefix(s.state.statePrefix, shard) },
    };
    try {
      const result = await executeChild(collectShard, {
        workflowId,
        args: [shardInput],
        // The collection ends only after its shards have: a cancel reaches them and waits for their cleanup.
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        memo: { collectionId: s.state.collectionId },
      });
      addShard(s.totals, result);
    } catch (err) {
      // The collection cancelled: stop. One shard cancelled by someone (from the Web UI): it counts as failed.
      if (isCancellation(err) && CancellationScope.current().consideredCancelled) throw err;
      s.totals.shardsFailed++;
      s.totals.firstShardFailure ??= `shard ${shard} (${workflowId}): ${describeFailure(err)}`.slice(0, 4_000);
    } finally {
      runningIds.delete(shard);
      refreshProgress();
    }
  }

  const lastShardThisRun = Math.min(discovery.shards, s.nextShard + SHARDS_PER_RUN);
  try {
    while (s.nextShard < lastShardThisRun && !workflowInfo().continueAsNewSuggested) {
      if (running.size >= request.parallelShards) await Promise.race(running.values());
      const shard = s.nextShard++;
      running.set(
        shard,
        runShard(shard).finally(() => running.delete(shard)),
      );
    }
    await Promise.all(running.values());
  } catch (err) {
    // Cancelled: every shard in flight is cancelled too; wait for them to stop their activities and clean up.
    await Promise.allSettled(running.values());
    throw err;
  }
  s.phaseMs.shards = (s.phaseMs.shards ?? 0) + (Date.now() - started);

  if (s.nextShard < discovery.shards) {
    await continueAsNew<typeof collectArchive>(input, { ...s, runs: s.runs + 1 });
  }
  return finish(s, progress);
}

function addShard(t: Totals, r: ShardResult): void {
  t.list = addListCounts(t.list, r.list) as ListResult;
  t.manifest = addCounts(t.manifest, r.manifest);
  t.coverage = addCoverage(t.coverage, r.coverage);
  t.fallbackBatches += r.tally.fallbackBatches;
  t.fallbackFiles += r.tally.fallbackFiles;
  t.bytesThroughWorker += r.tally.bytesThroughWorker;
  t.s3Requests += r.tally.s3Requests;
  t.peakLocalDiskBytes = Math.max(t.peakLocalDiskBytes, r.tally.peakLocalDiskBytes);
  t.shardsDone++;
  t.shardRuns += r.runs;
  t.listingMs += r.phaseMs.listing ?? 0;
  t.copyingMs += r.phaseMs.copying ?? 0;
  if (r.list.resumedAtSeries !== undefined) t.resumedListings++;
  if (r.batchFailures && !t.firstShardFailure)
    t.firstShardFailure = `shard ${r.shard}: ${r.batchFailures} batch(es) failed; first: ${r.firstBatchFailure}`;
}

function failRequest(
  progress: Progress,
  searchAttributes: boolean,
  message: string,
  type: string,
  details?: unknown,
): never {
  if (searchAttributes) upsertSearchAttributes([{ key: ARCHIVE_OUTCOME, value: 'failed' }]);
  progress.phase = 'failed';
  throw ApplicationFailure.nonRetryable(message, type, details);
}

/** An activity failure that means the request is wrong for this archive or worker fails the collection with its message; others propagate. */
function failIfRequestError(err: unknown, progress: Progress, searchAttributes: boolean): never {
  const type = REQUEST_ERRORS[failureType(err) ?? ''];
  if (type) failRequest(progress, searchAttributes, describeFailure((err as { cause?: unknown }).cause), type);
  throw err;
}

/** The collection's ID: unique per run whoever chose the workflow ID, so two runs of one ID never share records. */
function collectionIdOfThisRun(): string {
  const info = workflowInfo();
  return `${readablePart(info.workflowId)}-${info.firstExecutionRunId}`;
}

/**
 * The state an earlier run of this collection handed over, parsed like any input (anyone can start this type
 * with a second argument): it must be well-formed and about this very collection, its folder included.
 */
function resume(carried: unknown, progress: Progress): CarriedState {
  const parsed = parseWith(CollectCarriedSchema, carried);
  if (!parsed.ok)
    failRequest(
      progress,
      false,
      `invalid continue-as-new state (the second argument is written by the collection itself; start a collection with one argument):\n${parsed.problems.map((p) => `  - ${p}`).join('\n')}`,
      'InvalidCollectionState',
      { problems: parsed.problems },
    );
  const expected = collectionIdOfThisRun();
  if (parsed.value.collectionId !== expected)
    failRequest(
      progress,
      false,
      `invalid continue-as-new state: collectionId must be this run's own (${expected}); start a collection with one argument`,
      'InvalidCollectionState',
    );
  return parsed.value;
}

async function prepare(input: unknown, progress: Progress): Promise<CarriedState> {
  const parsed = parseCollectionRequest(input);
  if (!parsed.ok) {
    failRequest(
      progress,
      false,
      `invalid collection request:\n${parsed.problems.map((p) => `  - ${p}`).join('\n')}`,
      'InvalidCollectionRequest',
      { problems: parsed.problems },
    );
  }
  const request = parsed.request;
  // Only first..last travels (in every shard's input and every carried state), never the list of periods.
  const range = compactRange(resolvePeriods(request, asOfInstant(request)));
  const collectionId = collectionIdOfThisRun();
  const phaseMs: Record<string, number> = {};

  progress.phase = 'probing';
  let t = Date.now();
  const probeActs = activitiesFor('probe', request, { startToCloseTimeout: '1m' });
  const probed = await probeActs
    .probeEnvironment({ bucket: request.destination.bucket, prefix: request.destination.prefix, request })
    .catch((err) => failIfRequestError(err, progress, false));
  phaseMs.probing = Date.now() - t;
  const sa = probed.searchAttributes;
  if (sa) {
    upsertSearchAttributes([
      { key: ARCHIVE_MARKETS, value: request.markets },
      { key: ARCHIVE_DATA_TYPES, value: request.dataTypes },
      { key: ARCHIVE_SYMBOLS, value: request.symbols.slice(0, 50) },
    ]);
  }
  const selection = selectMode(request.mode, probed.probe);
  if (!selection.ok) failRequest(progress, sa, selection.problem, 'ModeUnavailable', { probe: probed.probe });
  if (sa) upsertSearchAttributes([{ key: ARCHIVE_MODE, value: selection.decision.mode }]);

  const state: StateRef = {
    collectionId,
    bucket: probed.destination.bucket,
    destinationPrefix: probed.destination.prefix,
    statePrefix: collectionStatePrefix(probed.destination.prefix, collectionId),
  };
  progress.phase = 'discovering';
  t = Date.now();
  const discover = activitiesFor('list', request, { startToCloseTimeout: '1h', heartbeatTimeout: '2m' });
  const discovery: Discovery = {
    ...(await discover.discoverSeries({ request, range, state }).catch((err) => failIfRequestError(err, progress, sa))),
    ms: 0,
  };
  discovery.ms = phaseMs.discovering = Date.now() - t;

  return {
    request,
    range,
    collectionId,
    state,
    probe: probed.probe,
    decision: selection.decision,
    discovery,
    searchAttributes: sa,
    nextShard: 0,
    phaseMs,
    runs: 1,
    totals: emptyTotals(),
  };
}

/** A collection's totals before its first shard. */
export function emptyTotals(): Totals {
  return {
    list: emptyListCounts() as ListResult,
    manifest: emptyCounts(),
    coverage: emptyCoverage(),
    fallbackBatches: 0,
    fallbackFiles: 0,
    bytesThroughWorker: 0,
    s3Requests: 0,
    peakLocalDiskBytes: 0,
    shardsDone: 0,
    shardsFailed: 0,
    firstShardFailure: null,
    shardRuns: 0,
    listingMs: 0,
    copyingMs: 0,
    resumedListings: 0,
  };
}

async function finish(s: CarriedState, progress: Progress): Promise<CollectionReport> {
  progress.phase = 'reporting';
  const t = Date.now();
  const { totals, request } = s;
  const acts = activitiesFor('report', request, { startToCloseTimeout: '1h', heartbeatTimeout: '2m' });
  const assembled = await acts.assembleCollection({
    state: s.state,
    shards: s.discovery.shards,
    ...(request.action === 'plan' ? { plan: { list: totals.list, mode: s.decision.mode } } : {}),
  });
  const m = totals.manifest;
  const { pending: _pending, ...counted } = fileCounts(m);
  const files: CollectionReport['files'] = {
    ...counted,
    quarantined: m.quarantined,
    byMode: m.byMode,
    byOutcome: m.byOutcome,
    byProof: m.byProof,
    byProofMethod: m.byProofMethod,
  };
  let { ok, verdict } = verdictOf(files, request.action);
  const content = contentVerdict(totals.coverage.content, inspectsContent(request), request.action);
  ok &&= content.ok;
  verdict += content.sentence;
  if (totals.shardsFailed) {
    ok = false;
    verdict = `COMPLETED WITH FAILURES: ${totals.shardsFailed} of ${s.discovery.shards} shards failed (${totals.firstShardFailure}); their files are not in the manifest. ${verdict}`;
  }
  const report: CollectionReport = {
    ok,
    verdict,
    action: request.action,
    files,
    summary: summarize(request, s.range),
    collectionId: s.collectionId,
    range: { first: s.range.first, last: s.range.last, asOf: s.range.asOf },
    decision: s.decision,
    discovery: s.discovery,
    listing: { objects: totals.list.listedObjects, ms: totals.listingMs },
    shards: {
      total: s.discovery.shards,
      failed: totals.shardsFailed,
      firstFailure: totals.firstShardFailure,
      resumedListings: totals.resumedListings,
    },
    coverage: { ...totals.coverage, keys: assembled.coverage },
    ...(assembled.plan ? { plan: assembled.plan } : {}),
    bytes: { copied: m.bytesCopied, throughWorker: totals.bytesThroughWorker },
    fallbacks: { batches: totals.fallbackBatches, files: totals.fallbackFiles },
    s3Requests: totals.s3Requests + assembled.s3Requests,
    peakLocalDiskBytes: totals.peakLocalDiskBytes,
    phaseMs: { ...s.phaseMs, listing: totals.listingMs, copying: totals.copyingMs },
    workflowRuns: s.runs + totals.shardRuns,
    manifest: { bucket: s.state.bucket, key: assembled.manifest },
    reportKey: `${s.state.statePrefix}${REPORT_OBJECT}`,
    probe: s.probe,
    request,
  };
  report.phaseMs.reporting = Date.now() - t;
  // Runs started by a schedule carry its ID: metrics and alerts follow each schedule.
  const scheduleId = workflowInfo().typedSearchAttributes.get(SCHEDULED_BY) ?? '';
  await acts.writeReport({ state: s.state, report, scheduleId });
  if (s.searchAttributes)
    upsertSearchAttributes([{ key: ARCHIVE_OUTCOME, value: report.ok ? 'succeeded' : 'completed_with_failures' }]);
  progress.phase = 'done';
  setCurrentDetails(`${report.summary} · ${report.decision.mode} · ${report.verdict}`);
  progress.files.copied = report.files.copied;
  progress.files.failed = report.files.failed;
  return report;
}
