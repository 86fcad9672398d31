/** Shapes that cross the workflow/activity boundary. Kept small: keys travel in plan objects, not payloads. */
import type { CollectionRequest, ResolvedRange, VerificationLevel } from './request';

export type Mode = 'direct_sync' | 'traditional';

export type FileOutcome =
  | 'copied'
  | 'skipped_identical'
  | 'not_published'
  | 'missing_checksum'
  | 'checksum_mismatch'
  | 'not_found'
  | 'failed';

/** One row of the manifest. */
export interface ManifestEntry {
  key: string;
  size: number | null;
  sha256: string | null;
  mode: Mode | null;
  outcome: FileOutcome;
  attempts: number;
  error: string | null;
}

export interface EnvironmentProbe {
  s5cmd: { available: boolean; detail: string };
  sharedEndpoint: { shared: boolean; detail: string };
  destination: { bucket: string; writable: boolean; detail: string };
}

export interface ModeDecision {
  mode: Mode;
  reason: string;
}

/** Where one collection keeps its plan and results: a folder in the destination bucket. */
export interface StateRef {
  bucket: string;
  destinationPrefix: string;
  statePrefix: string;
}

export interface ListInput {
  request: CollectionRequest;
  range: ResolvedRange;
  state: StateRef;
}

export interface Counts {
  copied: number;
  skipped: number;
  failed: number;
  notPublished: number;
  bytes: number;
}

export interface ListResult {
  batchCount: number;
  /** Files planned for copying or verifying. */
  planned: number;
  plannedBytes: number;
  alreadyPresent: number;
  alreadyPresentBytes: number;
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
}

export interface DirectSyncResult {
  /** Positions copied (or already in place and waiting for verification). */
  copied: number[];
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
  bytesRead: number;
  s3Requests: number;
}

export interface StagedBatch extends BatchRef {
  stagingId: string;
}

export interface DownloadResult {
  downloaded: number[];
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
    copied: number;
    skippedIdentical: number;
    notPublished: number;
    failed: number;
    byMode: Record<Mode, { copied: number; failed: number; checksumMismatch: number }>;
    byOutcome: Record<string, number>;
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
}

export interface Progress {
  phase: 'validating' | 'probing' | 'listing' | 'copying' | 'reporting' | 'done' | 'failed';
  mode: Mode | null;
  batches: { total: number; done: number };
  files: { planned: number; copied: number; skipped: number; failed: number; fallback: number; notPublished: number };
  bytes: number;
}
