/**
 * The manifest: every file of the collection with what happened to it, merged from the plan and each
 * step's results, one shard at a time (with the shard's coverage), then joined into one object.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { seriesPrefix, periodOf } from '../workflows/keys';
import type { CollectionAction } from '../workflows/request';
import type { CoverageRow, CoverageSummary, ManifestCounts, ManifestEntry, Mode, StateRef } from '../workflows/types';
import { coverageRow, summarizeRows } from '../workflows/coverage';
import { countEntries, EntryTally } from '../workflows/tally';
import type { DirectEntry } from './direct-sync';
import { STATE_OBJECTS } from './state-store';
import type { PlanFile } from './plan';
import type { ProveEntry } from './prove';
import { StateStore } from './state-store';
import type { TraditionalEntry } from './traditional';
import { readContent } from './content/shard-content';
import { ShardStateError } from '../common/errors';

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

/** State objects read ahead of the one being merged: a few batches (or settled parts) in memory, never the shard. */
const READ_AHEAD = 8;

/** The results of read(0 … count-1) in order, with up to READ_AHEAD reads in flight. */
async function* readAhead<T>(count: number, read: (i: number) => Promise<T>): AsyncGenerator<T> {
  const pending: Promise<T>[] = [];
  let next = 0;
  const fill = () => {
    for (; next < count && pending.length < READ_AHEAD; next++) {
      const p = read(next);
      p.catch(() => undefined); // awaited in turn; a generator closed early leaves no unhandled rejection
      pending.push(p);
    }
  };
  fill();
  while (pending.length) {
    const value = await pending.shift()!;
    fill();
    yield value;
  }
}

/** The entries of one settled part (files the listing settled: already there, not published, no .CHECKSUM). */
const settledEntries = (text: string | undefined): ManifestEntry[] =>
  text
    ? text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as ManifestEntry)
    : [];

/** The files the listing settled, as manifest entries, a few parts at a time. */
async function* listedEntries(store: StateStore, settledParts: number): AsyncGenerator<ManifestEntry> {
  for await (const text of readAhead(settledParts, (i) => store.getText(STATE_OBJECTS.settledPart(i))))
    yield* settledEntries(text);
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
  const tally = new EntryTally();
  for await (const e of listedEntries(new StateStore(destination, input.state), input.settledParts)) tally.add(e);
  return tally.counts();
}

/**
 * Every file of a shard with what happened to it, in key order, a few batches at a time. The listing writes its
 * settled parts and its plan batches each in key order (series sorted, each series' files in key order), so the
 * two merge in one pass; a key out of order would mean state this code did not write, and stops the step.
 */
export async function* shardEntryStream(
  store: StateStore,
  input: Pick<ManifestInput, 'settledParts' | 'batchCount' | 'batchFailures' | 'action'>,
): AsyncGenerator<ManifestEntry> {
  const settled = listedEntries(store, input.settledParts);
  const batches = (async function* () {
    const planned = readAhead(input.batchCount, (b) => batchEntries(store, b, input.batchFailures[b], input.action));
    for await (const list of planned) yield* list;
  })();
  try {
    let [a, b] = await Promise.all([settled.next(), batches.next()]);
    let last: string | undefined;
    while (!a.done || !b.done) {
      const fromSettled = b.done || (!a.done && a.value.key <= b.value.key);
      const entry = fromSettled ? a.value! : b.value!;
      if (last !== undefined && entry.key < last)
        throw new ShardStateError(
          `the shard's plan objects in ${store.key('')} are not in key order (${entry.key} after ${last}): ` +
            'more than one listing attempt wrote them. Run the collection again: a new run lists afresh',
        );
      last = entry.key;
      yield entry;
      if (fromSettled) a = await settled.next();
      else b = await batches.next();
    }
  } finally {
    // Stopped early (a failed step, a closed consumer): no further reads start.
    await Promise.allSettled([settled.return(undefined), batches.return(undefined)]);
  }
}

/** Entries in key order, grouped by folder (a series' files are one run of keys). */
export async function* folderGroups(
  entries: AsyncIterable<ManifestEntry>,
): AsyncGenerator<{ folder: string; entries: ManifestEntry[] }> {
  let group: { folder: string; entries: ManifestEntry[] } | undefined;
  for await (const e of entries) {
    const folder = e.key.slice(0, e.key.lastIndexOf('/') + 1);
    if (group?.folder !== folder) {
      if (group) yield group;
      group = { folder, entries: [] };
    }
    group.entries.push(e);
  }
  if (group) yield group;
}

/**
 * One shard's manifest (in key order) and coverage rows, written in the shard's folder as its entries stream past
 * (one series held at a time); returns the counts.
 */
export async function writeManifest(
  destination: S3Client,
  input: ManifestInput,
  progress: () => void = () => {},
): Promise<ManifestSummary> {
  const store = new StateStore(destination, input.state);
  // The shard's first plan and result reads start beside these (on a distant store, one round trip instead of two).
  const groups = folderGroups(shardEntryStream(store, input));
  const first = groups.next();
  first.catch(() => undefined); // awaited below, unless the reads beside it failed first
  try {
    // What inspection found (this run's, or earlier runs' records bound to the same bytes): beside the outcomes.
    const [content, series] = await Promise.all([readContent(store), store.series()]);
    const seriesByFolder = new Map((series ?? []).map((s) => [seriesPrefix(s), s]));
    const tally = new EntryTally();
    const rows: CoverageRow[] = [];
    const key = await store.putStream(STATE_OBJECTS.manifest, 'application/x-ndjson', async (out) => {
      for (let g = await first; !g.done; g = await groups.next()) {
        const group = g.value;
        progress();
        for (const e of group.entries) {
          const c = content?.files.get(e.key);
          if (c) e.content = c;
          tally.add(e);
          await out(`${JSON.stringify(e)}\n`);
        }
        // A series found by listing with nothing in the dates has no entries: it is not part of this collection.
        const s = seriesByFolder.get(group.folder);
        if (s)
          rows.push(
            coverageRow(
              s,
              group.entries,
              (k) => periodOf(s, k.slice(k.lastIndexOf('/') + 1)),
              content?.breaks.get(group.folder),
            ),
          );
      }
    });
    // After the manifest, never beside it: a shard's coverage rows exist only where its manifest does.
    await store.putText(
      STATE_OBJECTS.coverageRows,
      rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''),
      'application/x-ndjson',
    );
    return { key, ...tally.counts(), coverage: summarizeRows(rows, content?.summary) };
  } finally {
    // Stopped early or done: no further reads start.
    await groups.return(undefined);
  }
}
