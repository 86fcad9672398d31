/**
 * Every input that crosses into this project's workflows and activities, as zod schemas: the edge.
 * Anyone who may start workflows in the namespace can start any registered type, or schedule any
 * activity on the task queue, with any arguments (the Web UI form is the public API), so each
 * workflow parses its arguments (continue-as-new state included) and each activity its input before
 * anything else. Sizes are bounded, strings shaped, unknown fields refused. Pure zod: safe in
 * workflow code and in activities alike.
 */
import { z } from 'zod';
import { collectionStatePrefix, shardStatePrefix } from './keys';
import {
  ACTIONS,
  BucketName,
  CollectionRequest,
  KeyPrefix,
  VERIFICATION_LEVELS,
  describeIssues,
  type CollectionRequest as CollectionRequestT,
} from './request';
import type {
  BatchRef,
  CoverageSummary,
  Discovery,
  EnvironmentProbe,
  ListResult,
  ManifestCounts,
  ModeDecision,
  StagedBatch,
  StateRef,
} from './types';
import type { ResolvedRange } from './request';

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const text = (max: number) => z.string().max(max);
/** A small record of counts keyed by short names (outcomes, proof levels, phases). */
const counts = z
  .record(text(64), z.number().min(0).max(Number.MAX_SAFE_INTEGER))
  .refine((o) => Object.keys(o).length <= 64, {
    message: 'at most 64 entries',
  });

/** Collection IDs: the readable part of a workflow ID and its first run ID (`collect.ts`). */
export const CollectionId = z
  .string()
  .regex(/^[A-Za-z0-9_.=-]{1,160}$/, 'must be letters, digits, "_", ".", "=", "-" (at most 160)')
  .refine((s) => !s.includes('..'), 'must not contain ".."');

/**
 * A collection's (or one of its shards') state folder. It always lies under the destination
 * prefix's `_collections/<collectionId>/`: a state folder cannot be pointed anywhere else.
 */
export const StateRefSchema: z.ZodType<StateRef> = z
  .object({
    collectionId: CollectionId,
    bucket: BucketName,
    destinationPrefix: KeyPrefix,
    statePrefix: text(600),
  })
  .strict()
  .refine((s) => isStateFolder(s), {
    message:
      'must be the collection\'s folder "<destinationPrefix>_collections/<collectionId>/" or one of its shards\' folders',
    path: ['statePrefix'],
  });

export function isStateFolder(s: StateRef): boolean {
  const base = collectionStatePrefix(s.destinationPrefix, s.collectionId);
  if (s.statePrefix === base) return true;
  const m = /^shards\/shard-(\d{6})\/$/.exec(s.statePrefix.startsWith(base) ? s.statePrefix.slice(base.length) : '');
  return Boolean(m) && s.statePrefix === shardStatePrefix(base, Number(m![1]));
}

const PERIOD = /^\d{4}-\d{2}(?:-\d{2})?$/;
export const RangeSchema: z.ZodType<ResolvedRange> = z
  .object({
    first: z.string().regex(PERIOD, 'must be YYYY-MM-DD or YYYY-MM'),
    last: z.string().regex(PERIOD, 'must be YYYY-MM-DD or YYYY-MM'),
    asOf: z.string().max(40).datetime({ offset: true }),
    all: z.boolean().optional(),
  })
  .strict()
  .refine((r) => r.first.length === r.last.length && r.first <= r.last, {
    message: 'first and last must be periods of one granularity, first <= last',
    path: ['last'],
  });

/** A request that already went through the front door, parsed again (defaults filled, so re-parsing changes nothing). */
export const ParsedRequest = CollectionRequest as unknown as z.ZodType<CollectionRequestT>;

export const ModeDecisionSchema: z.ZodType<ModeDecision> = z
  .object({
    mode: z.enum(['direct_sync', 'traditional']),
    reason: text(20_000),
    proofBy: z.enum(['store', 'stream']).optional(),
    transfersBy: z.enum(['s5cmd', 'sdk']).optional(),
  })
  .strict();

const positions = z.array(z.number().int().min(0).max(999)).max(1_000);
const PLAN_ACTIONS = ['copy', 'replace', 'verify_only'] as const;

const batchFields = {
  state: StateRefSchema,
  batch: z.number().int().min(0).max(10_000_000),
  verification: z.enum(VERIFICATION_LEVELS),
  audit: z.boolean().optional(),
  only: positions.optional(),
  appeared: positions.optional(),
  actions: z.array(z.enum(PLAN_ACTIONS)).max(3).optional(),
  storeChecksum: z.boolean().optional(),
  stallMs: z.number().int().min(100).max(86_400_000),
};
export const BatchRefSchema: z.ZodType<BatchRef> = z.object(batchFields).strict();

export const StagedBatchSchema: z.ZodType<StagedBatch> = z
  .object({
    ...batchFields,
    stagingId: z.string().regex(/^[A-Za-z0-9_-]{1,120}$/, 'must be letters, digits, "_" or "-" (at most 120)'),
    transfersBy: z.enum(['s5cmd', 'sdk']).optional(),
  })
  .strict();

export const ProbeInputSchema = z
  .object({ bucket: BucketName.optional(), prefix: KeyPrefix.optional(), request: ParsedRequest.optional() })
  .strict();

export const ListInputSchema = z.object({ request: ParsedRequest, range: RangeSchema, state: StateRefSchema }).strict();

export const CountListedSchema = z
  .object({ state: StateRefSchema, settledParts: z.number().int().min(0).max(1_000_000) })
  .strict();

export const CountBatchSchema = z
  .object({
    state: StateRefSchema,
    batch: z.number().int().min(0).max(10_000_000),
    batchFailure: text(2_000).optional(),
    action: z.enum(ACTIONS),
  })
  .strict();

const batchFailures = z
  .record(z.string().regex(/^\d{1,8}$/), text(2_000))
  .refine((o) => Object.keys(o).length <= 1_000, { message: 'at most 1000 entries' });

export const ManifestInputSchema = z
  .object({
    state: StateRefSchema,
    batchCount: z.number().int().min(0).max(10_000_000),
    settledParts: z.number().int().min(0).max(1_000_000),
    mode: z.enum(['direct_sync', 'traditional']),
    action: z.enum(ACTIONS),
    batchFailures,
  })
  .strict();

export const InspectShardSchema = ManifestInputSchema.extend({ inspect: z.boolean() }).strict();

export const ListResultSchema: z.ZodType<ListResult> = z
  .object({
    batchCount: count,
    planned: count,
    plannedBytes: count,
    alreadyPresent: count,
    alreadyPresentBytes: count,
    replacements: count,
    verifyOnly: count,
    notPublished: count,
    missingChecksum: count,
    listedObjects: count,
    settledParts: count,
    resumedAtSeries: count.optional(),
    s3Requests: count,
  })
  .strip();

export const AssembleInputSchema = z
  .object({
    state: StateRefSchema,
    shards: z.number().int().min(0).max(1_000_000),
    plan: z
      .object({ list: ListResultSchema, mode: z.enum(['direct_sync', 'traditional']) })
      .strict()
      .optional(),
  })
  .strict();

/** The report a collection writes: its own record; bound to the state folder it is written in. */
export const WriteReportSchema = z
  .object({
    state: StateRefSchema,
    // What the worker reads from it (metrics) is checked; the rest is the collection's own record.
    report: z
      .object({
        collectionId: CollectionId,
        action: z.enum(ACTIONS),
        ok: z.boolean(),
        coverage: z.object({ missingFiles: count, archiveGapPeriods: count }).passthrough(),
      })
      .passthrough(),
    scheduleId: text(400).optional(),
  })
  .strict()
  .refine((r) => r.report.collectionId === r.state.collectionId, {
    message:
      'must be the report of the collection whose folder it is written in (report.collectionId = state.collectionId)',
    path: ['report', 'collectionId'],
  });

const ARCHIVE_KEY = /^data\/(?:[\p{L}\p{N}_=.-]+\/)+[\p{L}\p{N}_=.-]+\.zip$/u;
export const ArchiveKey = z
  .string()
  .max(400)
  .regex(
    ARCHIVE_KEY,
    'must be an archive key such as data/spot/monthly/aggTrades/BNBBTC/BNBBTC-aggTrades-2018-01.zip (as "quarantine list" prints it)',
  )
  .refine((k) => !k.split('/').some((seg) => seg === '.' || seg === '..'), 'must not contain "." or ".." segments');
export const Sha256Hex = z
  .string()
  .regex(
    /^[0-9a-f]{64}$/,
    'must be the SHA-256 of the quarantined bytes you reviewed, as "quarantine list" prints it (64 hex digits)',
  );

const reviewTarget = { bucket: BucketName.optional(), prefix: KeyPrefix.optional() };
export const ListQuarantineSchema = z.object({ ...reviewTarget, limit: z.number().int().min(1).max(1_000) }).strict();
export const AcceptQuarantinedSchema = z
  .object({
    ...reviewTarget,
    key: ArchiveKey,
    sha256: Sha256Hex,
    reason: z.string().trim().min(3).max(500),
    decidedBy: text(1_200),
  })
  .strict();
export const DiscardQuarantinedSchema = z
  .object({ ...reviewTarget, key: ArchiveKey, sha256: Sha256Hex.optional() })
  .strict();

// ---- workflow arguments and continue-as-new state ----

const manifestCounts: z.ZodType<ManifestCounts> = z
  .object({
    total: count,
    byOutcome: counts,
    byMode: z
      .object({
        direct_sync: z.object({ copied: count, failed: count, checksumMismatch: count }).strict(),
        traditional: z.object({ copied: count, failed: count, checksumMismatch: count }).strict(),
      })
      .strict(),
    byProof: counts,
    byProofMethod: counts,
    quarantined: count,
    bytesCopied: count,
  })
  .strict();

export const ShardInputSchema = z
  .object({
    request: ParsedRequest,
    range: RangeSchema,
    shard: z.number().int().min(0).max(999_999),
    state: StateRefSchema,
    decision: ModeDecisionSchema,
    summary: text(1_000),
  })
  .strict()
  .refine(
    (s) =>
      s.state.statePrefix ===
      shardStatePrefix(collectionStatePrefix(s.state.destinationPrefix, s.state.collectionId), s.shard),
    { message: "must be this shard's folder in its collection's folder", path: ['state', 'statePrefix'] },
  );

const tally = {
  fallbackBatches: count,
  fallbackFiles: count,
  bytesThroughWorker: count,
  s3Requests: count,
  peakLocalDiskBytes: count,
};

/**
 * Continue-as-new state is parsed field by field; fields an older version carried and this one no longer
 * reads (e.g. per-outcome tallies before count-settled-files) are dropped, not refused, so running
 * collections survive an upgrade.
 */
export const ShardCarriedSchema = z
  .object({
    list: ListResultSchema,
    nextBatch: count,
    tally: z.object({ ...tally, batchesDone: count }).strip(),
    counts: manifestCounts.optional(),
    batchFailures,
    failedBatches: count.optional(),
    phaseMs: counts,
    runs: count,
  })
  .strip();

const detail = text(10_000);
const guard = z.object({ honoured: z.boolean().nullable(), detail }).strict();
const probeSchema: z.ZodType<EnvironmentProbe> = z
  .object({
    s5cmd: z.object({ available: z.boolean(), checksums: z.boolean(), detail }).strict(),
    sharedEndpoint: z.object({ shared: z.boolean(), detail }).strict(),
    sourceOverHttp: z.boolean(),
    serverSideCopy: z.object({ works: z.boolean(), detail }).strict(),
    storeChecksum: z.object({ supported: z.boolean(), detail }).strict(),
    destination: z.object({ bucket: BucketName, writable: z.boolean(), detail }).strict(),
    guards: z
      .object({
        conditionalPut: guard,
        putChecksum: guard,
        conditionalCopy: guard,
        conditionalDelete: guard,
        conditionalCopyIfAbsent: guard.optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const names = (max: number) => z.array(text(1_000)).max(max);
const discoverySchema: z.ZodType<Discovery> = z
  .object({
    series: count,
    shards: z.number().int().min(0).max(1_000_000),
    estimatedFiles: count,
    dataTypes: names(100),
    intervals: names(100),
    symbols: count,
    symbolSample: names(100),
    discovered: z.boolean(),
    skipped: names(1_000),
    listings: count,
    ms: z.number().min(0),
  })
  .strict();

const coverageRow = z
  .object({
    market: text(40),
    granularity: text(20),
    dataType: text(64),
    symbol: text(64),
    interval: text(16).nullable(),
    first: text(10).nullable(),
    last: text(10).nullable(),
    span: count,
    published: count,
    archiveGaps: count,
    archiveGapRanges: text(2_000),
    verified: count,
    missing: count,
    missingRanges: text(2_000),
    status: z.enum(['complete', 'incomplete', 'empty']),
    timeline: text(2_000),
    timelineScale: text(100),
    contentKnown: count.optional(),
    cutShort: count.optional(),
    cutShortRanges: text(2_000).optional(),
    contentGaps: count.optional(),
    seriesBreaks: count.optional(),
  })
  .strict();
const contentSummary = z
  .object({
    known: count,
    whole: count,
    gaps: count,
    cutShort: count,
    unknown: count,
    seriesBreaks: count,
    inspectedNow: count,
    bytesRead: count,
    notInspected: count,
    failure: text(2_000).optional(),
  })
  .strict();
const coverageSummary: z.ZodType<CoverageSummary> = z
  .object({
    series: count,
    complete: count,
    incomplete: count,
    empty: count,
    withArchiveGaps: count,
    archiveGapPeriods: count,
    missingFiles: count,
    rows: z.array(coverageRow).max(200),
    rowsOmitted: count,
    legend: text(1_000),
    content: contentSummary.optional(),
  })
  .strict();

export const CollectCarriedSchema = z
  .object({
    request: ParsedRequest,
    range: RangeSchema,
    collectionId: CollectionId,
    state: StateRefSchema,
    probe: probeSchema,
    decision: ModeDecisionSchema,
    discovery: discoverySchema,
    searchAttributes: z.boolean(),
    nextShard: count,
    totals: z
      .object({
        list: ListResultSchema,
        manifest: manifestCounts,
        coverage: coverageSummary,
        ...tally,
        shardsDone: count,
        shardsFailed: count,
        firstShardFailure: text(10_000).nullable(),
        shardRuns: count,
        listingMs: z.number().min(0),
        copyingMs: z.number().min(0),
        resumedListings: count,
      })
      .strip(),
    phaseMs: counts,
    runs: count,
  })
  .strip()
  .refine((s) => s.state.collectionId === s.collectionId, {
    message: "must be the collection's own ID",
    path: ['state', 'collectionId'],
  })
  .refine((s) => s.state.statePrefix === collectionStatePrefix(s.state.destinationPrefix, s.collectionId), {
    message: "must be the collection's own folder",
    path: ['state', 'statePrefix'],
  });

/** Lines naming each problem (`field: what is wrong`), bounded in number and length. */
export function problemsOf(error: z.ZodError): string[] {
  return describeIssues(error, () => []);
}

export type ParseOutcome<T> = { ok: true; value: T } | { ok: false; problems: string[] };

export function parseWith<T>(schema: z.ZodType<T>, input: unknown): ParseOutcome<T> {
  const r = schema.safeParse(input);
  return r.success ? { ok: true, value: r.data } : { ok: false, problems: problemsOf(r.error) };
}
