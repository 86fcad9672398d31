/** Shapes that cross the workflow/activity boundary. Kept small: keys travel in plan objects, not payloads. */
import type { Series } from './keys';
import type { CollectionAction, CollectionRequest, ResolvedRange, VerificationLevel } from './request';

export type Mode = 'direct_sync' | 'traditional';

/** Proof levels (see activities/proof.ts): what made a file count as present. */
export type ProofLevel = 'sha256' | 'accepted' | 'size' | 'none';

export type FileOutcome =
  /** Copied, and proven at the run's verification level. */
  | 'copied'
  /** A corrected source replaced a verified copy, after the new bytes were verified. */
  | 'replaced'
  /** Bytes already in the destination were proven without copying. */
  | 'verified_in_place'
  /** Already proven for the source as it is now: nothing to do. */
  | 'skipped'
  | 'not_published'
  | 'missing_checksum'
  | 'checksum_mismatch'
  /** The source zip changed under an unchanged `.CHECKSUM` that it does not match: the verified copy is kept, the new bytes are put aside. */
  | 'stale_checksum'
  | 'not_found'
  /** Published, and not in the destination with proof; a plan or an audit leaves it for a collect run. */
  | 'pending'
  | 'failed';

export const FAILED_OUTCOMES: readonly FileOutcome[] = [
  'failed',
  'checksum_mismatch',
  'stale_checksum',
  'missing_checksum',
  'not_found',
];
export const PRESENT_OUTCOMES: readonly FileOutcome[] = ['copied', 'replaced', 'verified_in_place', 'skipped'];

/** One row of the manifest. */
export interface ManifestEntry {
  key: string;
  size: number | null;
  sha256: string | null;
  mode: Mode | null;
  outcome: FileOutcome;
  /** The proof the destination now holds for this file, if any. */
  proof: ProofLevel | null;
  /** How this run obtained it: store-sha256 (the store's own hash of the copy), streamed, downloaded, promoted, … */
  proofMethod?: string;
  attempts: number;
  error: string | null;
  /** For files put aside: where, and the evidence (hashes, ETags, sizes). */
  evidence?: Record<string, unknown>;
  /** pending files: what a collect run would do (copy, replace the bytes there, or prove them in place). */
  plannedAction?: 'copy' | 'replace' | 'verify_only';
  /** What is inside the bytes, from the facts record bound to them (absent: not inspected). Never changes the outcome. */
  content?: FileContent;
}

export const CONTENT_STATUSES = ['whole', 'gaps', 'cut_short', 'unknown'] as const;
export type ContentStatusName = (typeof CONTENT_STATUSES)[number];

/** A file's content status and why, as its facts record (and, in inspect runs, its neighbours' ids and times) say. */
export interface FileContent {
  status: ContentStatusName;
  reason: string;
  /** cut_short: rows, times and ids against what the period expects. */
  evidence?: Record<string, unknown>;
  /** The facts record it comes from: `<prefix>_facts/<archive key>/<token>.<status>.json`. */
  record: string;
}

/** What inspection found and did in a shard or a collection; summed like the rest of the coverage. */
export interface ContentSummary {
  /** Verified files whose content is known (a facts record is bound to their bytes). */
  known: number;
  whole: number;
  gaps: number;
  cutShort: number;
  unknown: number;
  /** Breaks in the id or open-time sequence between consecutive files of a series (inspect runs only). */
  seriesBreaks: number;
  /** Files this run read (their bytes had no facts yet), and the bytes it read for them. */
  inspectedNow: number;
  bytesRead: number;
  /** Verified files with no facts yet (runs that do not inspect). */
  notInspected: number;
  /** Why inspection could not finish in a shard (the copies and proofs stand). */
  failure?: string;
}

export interface EnvironmentProbe {
  /** checksums: the project's s5cmd build, which asks the store for a copy's SHA-256. */
  s5cmd: { available: boolean; checksums: boolean; detail: string };
  sharedEndpoint: { shared: boolean; detail: string };
  /** The source is read over plain HTTP(S) (SOURCE_HTTP_URL), not S3. */
  sourceOverHttp: boolean;
  /** One real server-side copy of a source object with the destination's credentials. */
  serverSideCopy: { works: boolean; detail: string };
  /** The store computed that copy's SHA-256 (and it was right). */
  storeChecksum: { supported: boolean; detail: string };
  destination: { bucket: string; writable: boolean; detail: string };
  /** What the store honours of the guards the trust design leans on, found by trying each (absent: not tried). */
  guards?: StoreGuards;
}

/** honoured: the store refused what the guard forbids; false: it let it through; null: not tried or unclear. */
export interface Guard {
  honoured: boolean | null;
  detail: string;
}

export interface StoreGuards {
  /** A PUT with `If-None-Match: *` over an existing key is refused (412). */
  conditionalPut: Guard;
  /** A PUT whose `x-amz-checksum-sha256` does not match its body is refused. */
  putChecksum: Guard;
  /** A copy with `x-amz-copy-source-if-match` naming another ETag is refused (412): promotions copy only hashed bytes. */
  conditionalCopy: Guard;
  /** A DELETE with `If-Match` naming another ETag is refused (412). */
  conditionalDelete: Guard;
  /**
   * A copy with `If-None-Match: *` onto an existing key is refused (412): new files are copied without a HEAD of the
   * destination first. Absent in probes recorded before it was tried.
   */
  conditionalCopyIfAbsent?: Guard;
}

export interface ModeDecision {
  mode: Mode;
  reason: string;
  /** Direct sync proves copies by the store's own SHA-256 (no bytes read back), else by streaming them through SHA-256. */
  proofBy?: 'store' | 'stream';
  /** The traditional path (mode or fallback) moves bytes with s5cmd where it runs and the source is S3, else with the SDK. */
  transfersBy?: 's5cmd' | 'sdk';
}

/** Where one collection keeps its plan and results: a folder in the destination bucket. */
export interface StateRef {
  /** Unique per collection (workflow ID and first run ID), whoever chose the workflow ID. */
  collectionId: string;
  bucket: string;
  destinationPrefix: string;
  statePrefix: string;
}

/** A series as a shard lists it; clip: take it only over the span the archive has for it (dates "all", or found by a pattern). */
export interface SeriesSpec extends Series {
  clip?: boolean;
}

export interface DiscoverInput {
  request: CollectionRequest;
  range: ResolvedRange;
  state: StateRef;
}

/** What discovery found in the archive's listing, and how the collection is cut into shards. */
export interface Discovery {
  series: number;
  shards: number;
  /** Upper bound: every period of every series published. */
  estimatedFiles: number;
  dataTypes: string[];
  intervals: string[];
  symbols: number;
  /** Up to 30 of the symbols, in order. */
  symbolSample: string[];
  /** Patterns were resolved by listing the archive (else the request named every series). */
  discovered: boolean;
  /** Folder names the archive lists that are not safe as keys or symbols here: left out, named. */
  skipped: string[];
  /** Delimited listings made to discover (one per market and granularity, data type, and symbol where interval folders were listed). */
  listings: number;
  ms: number;
}

export interface ListInput {
  request: CollectionRequest;
  range: ResolvedRange;
  /** The shard's state folder: its series.json, its plan and its results. */
  state: StateRef;
}

export interface ListResult {
  batchCount: number;
  /** Files planned for copying or verifying. */
  planned: number;
  plannedBytes: number;
  /** Files already proven for the source as it is now. */
  alreadyPresent: number;
  alreadyPresentBytes: number;
  /** Planned files whose destination holds a verified copy of an older source version. */
  replacements: number;
  /** Planned files whose bytes may already be in the destination: proven without copying. */
  verifyOnly: number;
  notPublished: number;
  missingChecksum: number;
  listedObjects: number;
  /** Parts of plan/settled-*.ndjson written (files that need no batch). */
  settledParts: number;
  /** A listing killed or failed part way went on from its last checkpoint: the series it resumed at (else absent). */
  resumedAtSeries?: number;
  s3Requests: number;
}

export interface BatchRef {
  state: StateRef;
  batch: number;
  verification: VerificationLevel;
  /** An audit proves the bytes already there and moves nothing: wrong bytes are reported, left in place. */
  audit?: boolean;
  /** Positions in the batch to work on; all of them when absent. */
  only?: number[];
  /** Positions found occupied at copy time: proven in place, never overwritten. */
  appeared?: number[];
  /** Only the batch's files planned with these actions (e.g. proving in place before a traditional copy). */
  actions?: ('copy' | 'replace' | 'verify_only')[];
  /** Copies ask the store for their SHA-256 and are proven by it, without reading them back. */
  storeChecksum?: boolean;
  /** How long an activity may make no progress before it gives the batch back (StalledError). */
  stallMs: number;
}

/** What a step hands the workflow: positions for the next step and work figures; file outcomes are counted from its recorded results. */
export interface DirectSyncResult {
  /** Positions copied (or already in place) that the proof step must still prove. */
  copied: number[];
  /** Positions s5cmd found occupied (an object appeared since the plan): they are proven, never overwritten. */
  appeared: number[];
  /** Positions s5cmd could not copy: they go to the traditional fallback. */
  fallback: number[];
  bytes: number;
  s3Requests: number;
  s5cmdLines: number;
}

export interface VerifyResult {
  /** Positions whose destination bytes turned out wrong and hold no proof: the traditional path replaces them. */
  fallback: number[];
  bytesRead: number;
  s3Requests: number;
}

export interface StagedBatch extends BatchRef {
  stagingId: string;
  /** The traditional path's downloads and uploads go through s5cmd (when it runs and the source is S3), else the SDK. */
  transfersBy?: 's5cmd' | 'sdk';
}

export interface DownloadResult {
  downloaded: number[];
  /** Positions left for a later round: the staging space was taken. */
  deferred: number[];
  bytes: number;
  peakStagingBytes: number;
  s3Requests: number;
}

export interface TraditionalResult {
  bytesUploaded: number;
  s3Requests: number;
}

/** One series of the coverage report: what the archive has and what the destination holds with proof. */
export interface CoverageRow {
  market: string;
  granularity: string;
  dataType: string;
  symbol: string;
  interval: string | null;
  /** First and last period the archive publishes for the series (within the collection's dates), or null when none. */
  first: string | null;
  last: string | null;
  /** Periods from first to last, both included. */
  span: number;
  published: number;
  /** Periods inside the span the archive does not publish. */
  archiveGaps: number;
  /** Gaps as ranges, `2021-03-01..2021-03-04 2021-05-07` (at most 20 ranges, then `…`). */
  archiveGapRanges: string;
  /** Published files the destination holds with proof. */
  verified: number;
  /** Published files the destination does not hold with proof (missing, unverified, failed). */
  missing: number;
  missingRanges: string;
  /** complete: every published file verified; incomplete: some missing; empty: nothing published in the dates. */
  status: 'complete' | 'incomplete' | 'empty';
  /** One character per cell (see CoverageSummary.legend), for a terminal. */
  timeline: string;
  /** The cells' unit and the first cell's start, e.g. `month from 2024-03`. */
  timelineScale: string;
  /** Content (absent when nothing was inspected): verified files by content status, breaks between files, cut-short periods. */
  cutShort?: number;
  contentGaps?: number;
  contentKnown?: number;
  seriesBreaks?: number;
  cutShortRanges?: string;
}

export interface CoverageSummary {
  series: number;
  complete: number;
  incomplete: number;
  empty: number;
  withArchiveGaps: number;
  archiveGapPeriods: number;
  missingFiles: number;
  /** The series a person looks at first (incomplete ones, then the rest, in key order); the whole table is in the objects. */
  rows: CoverageRow[];
  rowsOmitted: number;
  legend: string;
  /** Content facts of the verified files (absent in runs recorded before inspection existed). */
  content?: ContentSummary;
}

/** What a collection would do and cost (action "plan"), from the listings alone. */
export interface PlanEstimate {
  files: number;
  bytes: number;
  alreadyPresent: number;
  alreadyPresentBytes: number;
  toCopy: number;
  toCopyBytes: number;
  toReplace: number;
  toProveInPlace: number;
  notPublished: number;
  missingChecksum: number;
  /** Requests this plan made (listing), and the requests a collect run would make in the chosen mode. */
  requests: { listing: number; collectPutCopyList: number; collectGetHead: number };
  /** USD at the worker's configured prices (COST_*), see `prices`. */
  costUsd: { requests: number; transfer: number; storagePerMonth: number; total: number };
  prices: { putCopyListPer1000: number; getHeadPer1000: number; transferPerGb: number; storagePerGbMonth: number };
  assumptions: string;
  /** What reading the content of every file would add (docs/content.md). */
  inspection?: {
    files: number;
    bytes: number;
    requests: { get: number; put: number };
    costUsd: { requests: number; transferOutsideRegion: number };
    assumptions: string;
  };
}

/** What one shard (child workflow) hands back: counts, never file lists. */
export interface ShardResult {
  shard: number;
  list: ListResult;
  manifest: ManifestCounts;
  coverage: CoverageSummary;
  tally: {
    fallbackBatches: number;
    fallbackFiles: number;
    bytesThroughWorker: number;
    s3Requests: number;
    peakLocalDiskBytes: number;
  };
  batchFailures: number;
  firstBatchFailure: string | null;
  phaseMs: Record<string, number>;
  runs: number;
}

/** The manifest's counts: one place adds them up (the manifest writer), everything else sums them. */
export interface ManifestCounts {
  total: number;
  byOutcome: Record<string, number>;
  byMode: Record<Mode, { copied: number; failed: number; checksumMismatch: number }>;
  byProof: Record<string, number>;
  byProofMethod: Record<string, number>;
  quarantined: number;
  bytesCopied: number;
}

export interface PhaseTimes {
  [phase: string]: number;
}

export interface CollectionReport {
  collectionId: string;
  action: CollectionAction;
  summary: string;
  request: CollectionRequest;
  range: { first: string; last: string; asOf: string };
  decision: ModeDecision;
  probe: EnvironmentProbe;
  files: {
    total: number;
    /** Copied, replaced or verified in place by this run. */
    copied: number;
    skipped: number;
    notPublished: number;
    failed: number;
    /** Files whose failing bytes wait in the quarantine for an operator (put aside by this run, or by an earlier one for the same unchanged source). */
    quarantined: number;
    byMode: Record<Mode, { copied: number; failed: number; checksumMismatch: number }>;
    byOutcome: Record<string, number>;
    /** What proves each file the destination now holds. */
    byProof: Record<string, number>;
    /** How this run proved the files it proved (store-sha256: no byte read back). */
    byProofMethod: Record<string, number>;
  };
  bytes: { copied: number; throughWorker: number };
  fallbacks: { batches: number; files: number };
  s3Requests: number;
  peakLocalDiskBytes: number;
  phaseMs: PhaseTimes;
  workflowRuns: number;
  manifest: { bucket: string; key: string };
  reportKey: string;
  discovery: Discovery;
  /** Objects the shards listed (source zips and sidecars, destination objects, proof records), and the listing time summed over shards. */
  listing: { objects: number; ms: number };
  /** resumedListings: shards whose listing was killed or failed part way and went on from its last checkpoint. */
  shards: { total: number; failed: number; firstFailure: string | null; resumedListings: number };
  coverage: CoverageSummary & { keys: { json: string; csv: string; schema: string } };
  /** action "plan": what a collect run would do, and its estimated cost. */
  plan?: PlanEstimate;
  ok: boolean;
  /** One line a person reads first. */
  verdict: string;
}

export interface Progress {
  phase:
    'validating' | 'probing' | 'discovering' | 'listing' | 'copying' | 'inspecting' | 'reporting' | 'done' | 'failed';
  mode: Mode | null;
  /** Shards (child workflows): the running ones by workflow ID, so a client can ask them for their own progress. */
  shards?: { total: number; done: number; running: string[] };
  batches: { total: number; done: number };
  files: { planned: number; copied: number; skipped: number; failed: number; fallback: number; notPublished: number };
  bytes: number;
}
