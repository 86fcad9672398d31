/** The manifest: every file of the collection with what happened to it, merged from the plan and each step's results. */
import type { S3Client } from '@aws-sdk/client-s3';
import type { FileOutcome, ManifestEntry, Mode, StateRef } from '../workflows/types';
import { mapPool } from './heartbeat';
import { batchName, type PlanFile } from './plan';
import type { DirectEntry } from './direct-sync';
import type { TraditionalEntry } from './traditional';
import type { VerifyEntry } from './verify';
import { StateStore } from './state-store';

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
  bytesCopied: number;
}

/** Final entry for one planned file: the traditional result wins, then verification, then the copy itself. */
export function mergeEntry(
  file: PlanFile,
  direct: DirectEntry | undefined,
  verify: VerifyEntry | undefined,
  traditional: TraditionalEntry | undefined,
  batchFailure: string | undefined,
): ManifestEntry {
  const base = { key: file.key, size: file.size };
  if (traditional) {
    return { ...base, sha256: traditional.sha256, mode: 'traditional', outcome: traditional.outcome, attempts: traditional.attempt, error: traditional.error };
  }
  if (verify) {
    return { ...base, sha256: verify.sha256, mode: 'direct_sync', outcome: verify.outcome, attempts: Math.max(verify.attempt, direct?.attempt ?? 0), error: verify.error };
  }
  if (direct && direct.outcome === 'copied' && !batchFailure) {
    return { ...base, sha256: null, mode: 'direct_sync', outcome: 'copied', attempts: direct.attempt, error: null };
  }
  const error = batchFailure ?? direct?.error ?? 'not processed';
  return { ...base, sha256: null, mode: direct ? 'direct_sync' : null, outcome: 'failed', attempts: direct?.attempt ?? 0, error };
}

export async function writeManifest(destination: S3Client, input: ManifestInput): Promise<ManifestSummary> {
  const store = new StateStore(destination, input.state);
  const settledText = (await store.getText('plan/settled.ndjson')) ?? '';
  const entries: ManifestEntry[] = settledText ? settledText.split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
  const perBatch = await mapPool(Array.from({ length: input.batchCount }, (_, b) => b), 16, async (b) => {
    const name = batchName(b);
    const [files, direct, verify, traditional] = await Promise.all([
      store.getJson<PlanFile[]>(`plan/${name}.json`),
      store.getJson<DirectEntry[]>(`results/${name}.direct.json`),
      store.getJson<VerifyEntry[]>(`results/${name}.verify.json`),
      store.getJson<TraditionalEntry[]>(`results/${name}.traditional.json`),
    ]);
    const index = <T extends { i: number }>(list: T[] | undefined) => new Map((list ?? []).map((e) => [e.i, e]));
    const d = index(direct);
    const v = index(verify);
    const t = index(traditional);
    return (files ?? []).map((f, i) => mergeEntry(f, d.get(i), v.get(i), t.get(i), t.has(i) || v.has(i) ? undefined : input.batchFailures[b]));
  });
  for (const list of perBatch) entries.push(...list);
  entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  const byOutcome: Record<string, number> = {};
  const byMode: ManifestSummary['byMode'] = {
    direct_sync: { copied: 0, failed: 0, checksumMismatch: 0 },
    traditional: { copied: 0, failed: 0, checksumMismatch: 0 },
  };
  let bytesCopied = 0;
  for (const e of entries) {
    byOutcome[e.outcome] = (byOutcome[e.outcome] ?? 0) + 1;
    if (e.mode) {
      const m = byMode[e.mode];
      if (e.outcome === 'copied') m.copied++;
      else if (e.outcome === 'checksum_mismatch') m.checksumMismatch++;
      else m.failed++;
    }
    if (e.outcome === 'copied') bytesCopied += e.size ?? 0;
  }
  const key = await store.putText('manifest.ndjson', entries.map((e) => JSON.stringify(e)).join('\n') + (entries.length ? '\n' : ''), 'application/x-ndjson');
  return { key, total: entries.length, byOutcome, byMode, bytesCopied };
}

export const FAILED_OUTCOMES: FileOutcome[] = ['failed', 'checksum_mismatch', 'missing_checksum', 'not_found'];
