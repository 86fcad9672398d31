/**
 * The manifest: every file of the collection with what happened to it, merged from the plan and each
 * step's results, one shard at a time (with the shard's coverage), then joined into one object.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { seriesPrefix, periodOf } from '../workflows/keys';
import type { CollectionAction } from '../workflows/request';
import type { CoverageSummary, ManifestCounts, ManifestEntry, Mode, StateRef } from '../workflows/types';
import { coverageRow, summarizeRows } from '../workflows/coverage';
import { countEntries } from '../workflows/tally';
import type { DirectEntry } from './direct-sync';
import { STATE_OBJECTS } from './state-store';
import type { PlanFile } from './plan';
import { mapPool } from './pool';
import type { ProveEntry } from './prove';
import { StateStore } from './state-store';
import type { TraditionalEntry } from './traditional';
import { readContent } from './content/shard-content';

export interface ManifestInput {
  /** The shard's state folder. */
  state: StateRef;
  batchCount: number;
  settledParts: number;
  mode: Mode;
  action: CollectionAction;
  /** Why a batch's files have no final result (a step failed after its retries). */
  batchFailures: Record<number, string>;
}

export interface ManifestSummary extends ManifestCounts {
  key: string;
  coverage: CoverageSummary;
}

/** Final entry for one planned file: the traditional result wins, then the proof step, then the copy itself (never good on its own). */
export function mergeEntry(
  file: PlanFile,
  direct: DirectEntry | undefined,
  prove: ProveEntry | undefined,
  traditional: TraditionalEntry | undefined,
  batchFailure: string | undefined,
  action: CollectionAction = 'collect',
): ManifestEntry {
  const base = { key: file.key, size: file.size };
  if (action !== 'collect' && !direct && !prove && !traditional && !batchFailure) {
    const what =
      file.action === 'copy'
        ? 'not in the destination'
        : file.action === 'replace'
          ? 'the destination holds other bytes'
          : 'in the destination, not proven';
    return {
      ...base,
      sha256: null,
      mode: null,
      outcome: 'pending',
      proof: null,
      attempts: 0,
      error: `${what}; a collect run would ${file.action === 'verify_only' ? 'prove it in place' : file.action}`,
      plannedAction: file.action,
    };
  }
  if (direct?.outcome === 'proven') {
    return {
      ...base,
      sha256: direct.sha256 ?? null,
      mode: 'direct_sync',
      outcome: 'copied',
      proof: direct.proof ?? null,
      proofMethod: direct.method,
      attempts: direct.attempt,
      error: null,
    };
  }
  if (traditional) {
    const { outcome, proof, sha256, error, evidence, method } = traditional;
    return {
      ...base,
      sha256,
      mode: 'traditional',
      outcome,
      proof,
      ...(method ? { proofMethod: method } : {}),
      attempts: traditional.attempt,
      error,
      ...(evidence ? { evidence } : {}),
    };
  }
  if (prove && !prove.fallback) {
    const { outcome, proof, sha256, error, evidence, method } = prove;
    return {
      ...base,
      sha256,
      mode: 'direct_sync',
      outcome,
      proof,
      ...(method ? { proofMethod: method } : {}),
      attempts: Math.max(prove.attempt, direct?.attempt ?? 0),
      error,
      ...(evidence ? { evidence } : {}),
    };
  }
  const why = prove?.fallback
    ? `${prove.error}; the replacement did not finish: ${batchFailure ?? 'not processed'}`
    : direct?.outcome === 'copied'
      ? `copied but not proven: ${batchFailure ?? 'not processed'}`
      : (batchFailure ?? direct?.error ?? 'not processed');
  return {
    ...base,
    sha256: null,
    mode: direct ? 'direct_sync' : null,
    outcome: 'failed',
    proof: null,
    attempts: direct?.attempt ?? 0,
    error: why,
  };
}

/** The files the listing settled (already there, not published, no .CHECKSUM) as manifest entries. */
async function listedEntries(store: StateStore, settledParts: number): Promise<ManifestEntry[]> {
  const parts = await mapPool(
    Array.from({ length: settledParts }, (_, i) => i),
    16,
    (i) => store.getText(STATE_OBJECTS.settledPart(i)),
  );
  return parts.flatMap((text) =>
    text
      ? text
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as ManifestEntry)
      : [],
  );
}

/** One batch's final entries, merged from its plan and each step's results. */
async function batchEntries(
  store: StateStore,
  batch: number,
  batchFailure: string | undefined,
  action: CollectionAction,
): Promise<ManifestEntry[]> {
  const [files, direct, prove, traditional] = await Promise.all([
    store.planBatch(batch),
    store.results<DirectEntry>(batch, 'direct'),
    store.results<ProveEntry>(batch, 'prove'),
    store.results<TraditionalEntry>(batch, 'traditional'),
  ]);
  const index = <T extends { i: number }>(list: T[] | undefined) => new Map((list ?? []).map((e) => [e.i, e]));
  const d = index(direct);
  const p = index(prove);
  const t = index(traditional);
  const settledHere = (i: number) => t.has(i) || (p.has(i) && !p.get(i)!.fallback) || d.get(i)?.outcome === 'proven';
  return (files ?? []).map((f, i) =>
    mergeEntry(f, d.get(i), p.get(i), t.get(i), settledHere(i) ? undefined : batchFailure, action),
  );
}

/** What a finished batch's files came to, counted as the manifest counts them (for the shard's progress). */
export async function countBatch(
  destination: S3Client,
  input: { state: StateRef; batch: number; batchFailure?: string; action: CollectionAction },
): Promise<ManifestCounts> {
  const store = new StateStore(destination, input.state);
  return countEntries(await batchEntries(store, input.batch, input.batchFailure, input.action));
}

/** What the files the listing settled come to, counted as the manifest counts them. */
export async function countListed(
  destination: S3Client,
  input: { state: StateRef; settledParts: number },
): Promise<ManifestCounts> {
  return countEntries(await listedEntries(new StateStore(destination, input.state), input.settledParts));
}

/** Every file of a shard with what happened to it, sorted by key: its listing's settled parts and its batches. */
export async function shardEntries(
  store: StateStore,
  input: Pick<ManifestInput, 'settledParts' | 'batchCount' | 'batchFailures' | 'action'>,
): Promise<ManifestEntry[]> {
  const entries = await listedEntries(store, input.settledParts);
  const perBatch = await mapPool(
    Array.from({ length: input.batchCount }, (_, b) => b),
    16,
    (b) => batchEntries(store, b, input.batchFailures[b], input.action),
  );
  for (const list of perBatch) entries.push(...list);
  return entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** One shard's manifest (sorted by key) and coverage rows, written in the shard's folder; returns the counts. */
export async function writeManifest(destination: S3Client, input: ManifestInput): Promise<ManifestSummary> {
  const store = new StateStore(destination, input.state);
  const entries = await shardEntries(store, input);
  // What inspection found (this run's, or earlier runs' records bound to the same bytes): beside the outcomes.
  const content = await readContent(store);
  if (content)
    for (const e of entries) {
      const c = content.files.get(e.key);
      if (c) e.content = c;
    }

  const counts = countEntries(entries);
  const key = await store.putStream(STATE_OBJECTS.manifest, 'application/x-ndjson', async (out) => {
    for (const e of entries) await out(`${JSON.stringify(e)}\n`);
  });

  const series = (await store.series()) ?? [];
  const bySeries = new Map<string, ManifestEntry[]>(series.map((s) => [seriesPrefix(s), []]));
  for (const e of entries) bySeries.get(e.key.slice(0, e.key.lastIndexOf('/') + 1))?.push(e);
  // A series found by listing with nothing in the dates has no entries: it is not part of this collection.
  const rows = series
    .filter((s) => bySeries.get(seriesPrefix(s))!.length > 0)
    .map((s) =>
      coverageRow(
        s,
        bySeries.get(seriesPrefix(s))!,
        (k) => periodOf(s, k.slice(k.lastIndexOf('/') + 1)),
        content?.breaks.get(seriesPrefix(s)),
      ),
    );
  await store.putText(
    STATE_OBJECTS.coverageRows,
    rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''),
    'application/x-ndjson',
  );
  return { key, ...counts, coverage: summarizeRows(rows, content?.summary) };
}
