/** Counting files: the manifest's entries (the one place that counts them), sums of batches and shards, what people read. Pure. */
import { FAILED_OUTCOMES, type ListResult, type ManifestCounts, type ManifestEntry, type Mode } from './types';

/** The one place that counts the manifest's entries: one at a time, so a shard's entries can stream past it. */
export class EntryTally {
  private readonly byOutcome: Record<string, number> = {};
  private readonly byProof: Record<string, number> = {};
  private readonly byProofMethod: Record<string, number> = {};
  private readonly byMode: ManifestCounts['byMode'] = {
    direct_sync: { copied: 0, failed: 0, checksumMismatch: 0 },
    traditional: { copied: 0, failed: 0, checksumMismatch: 0 },
  };
  private total = 0;
  private bytesCopied = 0;
  private quarantined = 0;

  add(e: ManifestEntry): void {
    this.total++;
    // Waiting in the quarantine: put aside by this run, or by an earlier one for the same unchanged source.
    if (e.evidence?.quarantineKey || e.evidence?.quarantinedEarlier) this.quarantined++;
    this.byOutcome[e.outcome] = (this.byOutcome[e.outcome] ?? 0) + 1;
    if (e.proof) this.byProof[e.proof] = (this.byProof[e.proof] ?? 0) + 1;
    if (e.proofMethod) this.byProofMethod[e.proofMethod] = (this.byProofMethod[e.proofMethod] ?? 0) + 1;
    if (e.mode) {
      const m = this.byMode[e.mode];
      if (e.outcome === 'copied' || e.outcome === 'replaced' || e.outcome === 'verified_in_place') m.copied++;
      else if (e.outcome === 'checksum_mismatch' || e.outcome === 'stale_checksum') m.checksumMismatch++;
      else if (FAILED_OUTCOMES.includes(e.outcome)) m.failed++;
    }
    if (e.outcome === 'copied' || e.outcome === 'replaced') this.bytesCopied += e.size ?? 0;
  }

  counts(): ManifestCounts {
    return {
      total: this.total,
      byOutcome: { ...this.byOutcome },
      byMode: { direct_sync: { ...this.byMode.direct_sync }, traditional: { ...this.byMode.traditional } },
      byProof: { ...this.byProof },
      byProofMethod: { ...this.byProofMethod },
      quarantined: this.quarantined,
      bytesCopied: this.bytesCopied,
    };
  }
}

export function countEntries(entries: Iterable<ManifestEntry>): ManifestCounts {
  const tally = new EntryTally();
  for (const e of entries) tally.add(e);
  return tally.counts();
}

/** The numbers a person reads (report, progress, details line), from the manifest's counts: the one mapping of outcomes to them. */
export function fileCounts(m: ManifestCounts): {
  total: number;
  copied: number;
  skipped: number;
  notPublished: number;
  failed: number;
  pending: number;
} {
  const count = (...outcomes: readonly string[]) => outcomes.reduce((n, k) => n + (m.byOutcome[k] ?? 0), 0);
  return {
    total: m.total,
    copied: count('copied', 'replaced', 'verified_in_place'),
    skipped: count('skipped'),
    notPublished: count('not_published'),
    failed: count(...FAILED_OUTCOMES),
    pending: count('pending'),
  };
}

/** Sums counts (of batches, of shards). */
export function addCounts(a: ManifestCounts, b: ManifestCounts): ManifestCounts {
  const add = (x: Record<string, number>, y: Record<string, number>) => {
    const out = { ...x };
    for (const [k, v] of Object.entries(y)) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  const mode = (m: Mode) => ({
    copied: a.byMode[m].copied + b.byMode[m].copied,
    failed: a.byMode[m].failed + b.byMode[m].failed,
    checksumMismatch: a.byMode[m].checksumMismatch + b.byMode[m].checksumMismatch,
  });
  return {
    total: a.total + b.total,
    byOutcome: add(a.byOutcome, b.byOutcome),
    byMode: { direct_sync: mode('direct_sync'), traditional: mode('traditional') },
    byProof: add(a.byProof, b.byProof),
    byProofMethod: add(a.byProofMethod, b.byProofMethod),
    quarantined: a.quarantined + b.quarantined,
    bytesCopied: a.bytesCopied + b.bytesCopied,
  };
}

export function emptyCounts(): ManifestCounts {
  return countEntries([]);
}

type ListCounts = Omit<ListResult, 'resumedAtSeries'>;

/** Sums shards' listing counts. */
export function addListCounts(a: ListCounts, b: ListCounts): ListCounts {
  const out = { ...a };
  for (const k of Object.keys(a) as (keyof ListCounts)[]) out[k] = a[k] + (b[k] ?? 0);
  return out;
}

/** What a listing counts file by file (the rest of ListResult is its bookkeeping). */
export type PlanCounts = Omit<ListResult, 'batchCount' | 'settledParts' | 'resumedAtSeries' | 's3Requests'>;

export function emptyPlanCounts(): PlanCounts {
  return {
    planned: 0,
    plannedBytes: 0,
    alreadyPresent: 0,
    alreadyPresentBytes: 0,
    replacements: 0,
    verifyOnly: 0,
    notPublished: 0,
    missingChecksum: 0,
    listedObjects: 0,
  };
}

export function emptyListCounts(): ListCounts {
  return { ...emptyPlanCounts(), batchCount: 0, settledParts: 0, s3Requests: 0 };
}
