/** Shapes that cross the workflow/activity boundary. Kept small: keys travel in plan objects, not payloads. */
import type { CollectionRequest, ResolvedRange, VerificationLevel } from './request';

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
  | 'failed';

export const FAILED_OUTCOMES: readonly FileOutcome[] = ['failed', 'checksum_mismatch', 'stale_checksum', 'missing_checksum', 'not_found'];
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

export interface ListInput {
  request: CollectionRequest;
  range: ResolvedRange;
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
  s3Requests: number;
}

export interface BatchRef {
  state: StateRef;
  batch: number;
  verification: VerificationLevel;
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

export interface DirectSyncResult {
  /** Positions proven by the store's SHA-256 in the copy itself: done. */
  proven: number;
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
  verified: number;
  mismatched: number;
  failed: number;
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
  copied: number;
  failed: number;
  mismatched: number;
  bytesUploaded: number;
  s3Requests: number;
}

export interface PhaseTimes {
  [phase: string]: number;
}

export interface CollectionReport {
  collectionId: string;
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
    /** Files whose failing bytes this run put aside in the quarantine for an operator. */
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
  ok: boolean;
  /** One line a person reads first. */
  verdict: string;
}

export interface Progress {
  phase: 'validating' | 'probing' | 'listing' | 'copying' | 'reporting' | 'done' | 'failed';
  mode: Mode | null;
  batches: { total: number; done: number };
  files: { planned: number; copied: number; skipped: number; failed: number; fallback: number; notPublished: number };
  bytes: number;
}
