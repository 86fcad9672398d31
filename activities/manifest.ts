/** The manifest: every file of the collection with what happened to it, merged from the plan and each step's results. */
import type { S3Client } from '@aws-sdk/client-s3';
import { FAILED_OUTCOMES, type ManifestEntry, type Mode, type StateRef } from '../workflows/types';
import type { DirectEntry } from './direct-sync';
import { batchName, type PlanFile } from './plan';
import { mapPool } from './pool';
import type { ProveEntry } from './prove';
import { StateStore } from './state-store';
import type { TraditionalEntry } from './traditional';

export interface ManifestInput {
  state: StateRef;
  batchCount: number;
  mode: Mode;
  /** Why a batch's files have no final result (a step failed after its retries). */
  batchFailures: Record<number, string>;
}

export interface ManifestSummary {
  key: string;
  total: number;
  byOutcome: Record<string, number>;
  byMode: Record<Mode, { copied: number; failed: number; checksumMismatch: number }>;
  byProof: Record<string, number>;
  byProofMethod: Record<string, number>;
  /** Files whose failing bytes were put aside in the quarantine by this collection. */
  quarantined: number;
  bytesCopied: number;
}

/** Final entry for one planned file: the traditional result wins, then the proof step, then the copy itself (never good on its own). */
export function mergeEntry(
  file: PlanFile,
  direct: DirectEntry | undefined,
  prove: ProveEntry | undefined,
  traditional: TraditionalEntry | undefined,
  batchFailure: string | undefined,
): ManifestEntry {
  const base = { key: file.key, size: file.size };
  if (direct?.outcome === 'proven') {
    return { ...base, sha256: direct.sha256 ?? null, mode: 'direct_sync', outcome: 'copied', proof: direct.proof ?? null, proofMethod: direct.method, attempts: direct.attempt, error: null };
  }
  if (traditional) {
    const { outcome, proof, sha256, error, evidence, method } = traditional;
    return { ...base, sha256, mode: 'traditional', outcome, proof, ...(method ? { proofMethod: method } : {}), attempts: traditional.attempt, error, ...(evidence ? { evidence } : {}) };
  }
  if (prove && !prove.fallback) {
    const { outcome, proof, sha256, error, evidence, method } = prove;
    return { ...base, sha256, mode: 'direct_sync', outcome, proof, ...(method ? { proofMethod: method } : {}), attempts: Math.max(prove.attempt, direct?.attempt ?? 0), error, ...(evidence ? { evidence } : {}) };
  }
  const why = prove?.fallback ? `${prove.error}; the replacement did not finish: ${batchFailure ?? 'not processed'}`
    : direct?.outcome === 'copied' ? `copied but not proven: ${batchFailure ?? 'not processed'}`
      : batchFailure ?? direct?.error ?? 'not processed';
  return { ...base, sha256: null, mode: direct ? 'direct_sync' : null, outcome: 'failed', proof: null, attempts: direct?.attempt ?? 0, error: why };
}

export async function writeManifest(destination: S3Client, input: ManifestInput): Promise<ManifestSummary> {
  const store = new StateStore(destination, input.state);
  const settledText = (await store.getText('plan/settled.ndjson')) ?? '';
  const entries: ManifestEntry[] = settledText ? settledText.split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
  const perBatch = await mapPool(Array.from({ length: input.batchCount }, (_, b) => b), 16, async (b) => {
    const name = batchName(b);
    const [files, direct, prove, traditional] = await Promise.all([
      store.getJson<PlanFile[]>(`plan/${name}.json`),
      store.getJson<DirectEntry[]>(`results/${name}.direct.json`),
      store.getJson<ProveEntry[]>(`results/${name}.prove.json`),
      store.getJson<TraditionalEntry[]>(`results/${name}.traditional.json`),
    ]);
    const index = <T extends { i: number }>(list: T[] | undefined) => new Map((list ?? []).map((e) => [e.i, e]));
    const d = index(direct);
    const p = index(prove);
    const t = index(traditional);
    const settledHere = (i: number) => t.has(i) || (p.has(i) && !p.get(i)!.fallback) || d.get(i)?.outcome === 'proven';
    return (files ?? []).map((f, i) => mergeEntry(f, d.get(i), p.get(i), t.get(i), settledHere(i) ? undefined : input.batchFailures[b]));
  });
  for (const list of perBatch) entries.push(...list);
  entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  const byOutcome: Record<string, number> = {};
  const byProof: Record<string, number> = {};
  const byProofMethod: Record<string, number> = {};
  const byMode: ManifestSummary['byMode'] = {
    direct_sync: { copied: 0, failed: 0, checksumMismatch: 0 },
    traditional: { copied: 0, failed: 0, checksumMismatch: 0 },
  };
  let bytesCopied = 0;
  let quarantined = 0;
  for (const e of entries) {
    if (e.evidence?.quarantineKey) quarantined++;
    byOutcome[e.outcome] = (byOutcome[e.outcome] ?? 0) + 1;
    if (e.proof) byProof[e.proof] = (byProof[e.proof] ?? 0) + 1;
    if (e.proofMethod) byProofMethod[e.proofMethod] = (byProofMethod[e.proofMethod] ?? 0) + 1;
    if (e.mode) {
      const m = byMode[e.mode];
      if (e.outcome === 'copied' || e.outcome === 'replaced' || e.outcome === 'verified_in_place') m.copied++;
      else if (e.outcome === 'checksum_mismatch' || e.outcome === 'stale_checksum') m.checksumMismatch++;
      else if (FAILED_OUTCOMES.includes(e.outcome)) m.failed++;
    }
    if (e.outcome === 'copied' || e.outcome === 'replaced') bytesCopied += e.size ?? 0;
  }
  const key = await store.putText('manifest.ndjson', entries.map((e) => JSON.stringify(e)).join('\n') + (entries.length ? '\n' : ''), 'application/x-ndjson');
  return { key, total: entries.length, byOutcome, byMode, byProof, byProofMethod, quarantined, bytesCopied };
}
