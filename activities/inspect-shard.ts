/**
 * The content step of a shard: for every verified file it holds, the facts record bound to the destination's
 * bytes — read from the listing when one is there, made by reading the bytes once when the run inspects — then,
 * in inspect runs, the continuity of each series across its files. The results go to the shard's `content.ndjson`
 * for the manifest and coverage. Copy outcomes and proofs are never touched: content is reported beside them.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { factsFolder, periodOf, seriesPrefix } from '../workflows/keys';
import { PRESENT_OUTCOMES, type ContentSummary, type FileContent, type SeriesSpec } from '../workflows/types';
import { seriesBreaks, type SeriesBreak } from './content/continuity';
import { filePeriod, type ContentFacts } from './content/facts';
import {
  factsFileName,
  parseFactsKey,
  parseFactsRecord,
  type FactsName,
  type FactsRecord,
} from './content/facts-record';
import { inspectArchiveFile } from './content/inspect';
import { emptyContent, writeContent, type SeriesBreakAt } from './content/shard-content';
import type { ContentThresholds } from './content/status';
import { isNotFound } from './errors';
import { hasAny, listRange, type ListedObject } from './listing';
import { shardEntries, type ManifestInput } from './manifest';
import { mapPool } from './pool';
import { normalizeEtag, objectToken, unboundEtag } from './proof';
import { StateStore } from './state-store';

export interface InspectShardInput extends ManifestInput {
  /** Read the bytes of verified files that have no facts yet (else only the facts already recorded are used). */
  inspect: boolean;
}

export interface InspectShardDeps {
  destination: S3Client;
  thresholds: ContentThresholds;
  maxExpandedBytes: number;
  /** Files read at once (each inflates on the worker's CPU). */
  concurrency: number;
  /** Heartbeats: after each file, and while a large one is read. */
  progress: (p: { inspected: number; bytesRead: number }) => void;
  signal?: AbortSignal;
}

/** Facts records read at once (small objects). */
const RECORD_READS = 16;

interface FileState {
  key: string;
  period: string;
  record?: FactsRecord;
  content: FileContent;
}

const isFacts = (f: FactsRecord['facts']): f is ContentFacts => !('notInspected' in f);

export async function inspectShard(deps: InspectShardDeps, input: InspectShardInput): Promise<ContentSummary> {
  const store = new StateStore(deps.destination, input.state);
  const { bucket, destinationPrefix: dp } = input.state;
  // Most collections never ask for inspection: where nothing was ever read, one listing request says so.
  if (!input.inspect && !(await hasAny(deps.destination, bucket, factsFolder(dp, '')))) {
    const none = emptyContent();
    await writeContent(store, new Map(), [], none);
    return none;
  }
  const entries = await shardEntries(store, input);
  const verified = entries
    .filter((e) => PRESENT_OUTCOMES.includes(e.outcome) && (e.proof === 'sha256' || e.proof === 'accepted'))
    .map((e) => e.key);
  const series = (await store.series()) ?? [];
  const summary = emptyContent();
  const files = new Map<string, FileContent>();
  const breaks: SeriesBreakAt[] = [];

  const byFolder = new Map<string, string[]>();
  for (const k of verified) {
    const folder = k.slice(0, k.lastIndexOf('/') + 1);
    const list = byFolder.get(folder);
    if (list) list.push(k);
    else byFolder.set(folder, [k]);
  }
  for (const s of series) {
    const prefix = seriesPrefix(s);
    const keys = byFolder.get(prefix) ?? [];
    if (!keys.length) continue;
    const last = keys[keys.length - 1];
    const [objects, recorded] = await Promise.all([
      listRange(deps.destination, bucket, `${dp}${prefix}`, `${dp}${prefix}`, `${dp}${last}`),
      listRange(
        deps.destination,
        bucket,
        factsFolder(dp, prefix),
        factsFolder(dp, prefix),
        `${factsFolder(dp, last)}/~`,
      ),
    ]);
    const here = new Map<string, ListedObject>(objects.map((o) => [o.key.slice(dp.length), o]));
    const names = new Map<string, FactsName[]>();
    for (const o of recorded) {
      const f = parseFactsKey(factsFolder(dp, ''), o.key);
      if (!f) continue;
      const list = names.get(f.sourceKey);
      if (list) list.push(f.name);
      else names.set(f.sourceKey, [f.name]);
    }

    // First what is recorded (small reads, many at once), then the bytes of the files with no record (a few at once).
    const toRead: { key: string; period: string; object: ListedObject; token: string }[] = [];
    const recordKey = (key: string, n: FactsName) => `${factsFolder(dp, key)}/${factsFileName(n)}`;
    const looked = await mapPool(keys, RECORD_READS, async (key): Promise<FileState | undefined> => {
      const object = here.get(key);
      const period = periodOf(s, key.slice(prefix.length));
      if (!object || !period || unboundEtag(object.etag)) return undefined;
      const token = objectToken(object);
      const name = names.get(key)?.find((n) => n.token === token);
      if (name && !input.inspect) {
        return {
          key,
          period,
          content: { status: name.status, reason: 'see its facts record', record: recordKey(key, name) },
        };
      }
      if (name) {
        const at = recordKey(key, name);
        const record = parseFactsRecord(key, await getText(deps.destination, bucket, at, deps.signal));
        if (record) return { key, period, record, content: contentOf(record, at) };
      }
      if (!input.inspect) summary.notInspected++;
      else toRead.push({ key, period, object, token });
      return undefined;
    });
    deps.progress({ inspected: summary.inspectedNow, bytesRead: summary.bytesRead });
    const read = await mapPool(toRead, deps.concurrency, async ({ key, period, object, token }) => {
      const inspected = await inspectObject(deps, s, key, period, {
        bucket,
        key: `${dp}${key}`,
        object,
        progress: () => ({ inspected: summary.inspectedNow, bytesRead: summary.bytesRead }),
      });
      if (!inspected) return undefined; // overwritten since the listing: the next run reads the new bytes
      const record: FactsRecord = { ...inspected, collectionId: input.state.collectionId };
      const n: FactsName = { token, status: record.verdict.status };
      await deps.destination.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: recordKey(key, n),
          Body: JSON.stringify(record, null, 2),
          ContentType: 'application/json',
        }),
        { abortSignal: deps.signal },
      );
      summary.inspectedNow++;
      summary.bytesRead += object.size;
      deps.progress({ inspected: summary.inspectedNow, bytesRead: summary.bytesRead });
      return { key, period, record, content: contentOf(record, recordKey(key, n)) } satisfies FileState;
    });

    const known = [...looked, ...read].filter((x): x is FileState => x !== undefined);
    if (input.inspect) {
      for (const b of markBreaks(s, known)) breaks.push({ ...b, series: prefix });
    }
    for (const f of known) files.set(f.key, f.content);
  }

  for (const c of files.values()) {
    summary.known++;
    if (c.status === 'whole') summary.whole++;
    else if (c.status === 'gaps') summary.gaps++;
    else if (c.status === 'cut_short') summary.cutShort++;
    else summary.unknown++;
  }
  summary.seriesBreaks = breaks.length;
  await writeContent(store, files, breaks, summary);
  return summary;
}

function contentOf(record: FactsRecord, key: string): FileContent {
  const { status, reason, evidence } = record.verdict;
  return { status, reason, ...(evidence && status === 'cut_short' ? { evidence } : {}), record: key };
}

/** Reads one destination object's content; undefined when its bytes are no longer the ones listed. */
async function inspectObject(
  deps: InspectShardDeps,
  series: SeriesSpec,
  sourceKey: string,
  period: string,
  at: { bucket: string; key: string; object: ListedObject; progress: () => { inspected: number; bytesRead: number } },
): Promise<Omit<FactsRecord, 'collectionId'> | undefined> {
  let body: AsyncIterable<Uint8Array>;
  try {
    const res = await deps.destination.send(
      new GetObjectCommand({ Bucket: at.bucket, Key: at.key, IfMatch: at.object.etag }),
      { abortSignal: deps.signal },
    );
    // A store may ignore If-Match: the ETag it serves is what the facts are bound to, so it must be the listed one.
    if (!res.ETag || normalizeEtag(res.ETag) !== normalizeEtag(at.object.etag)) {
      (res.Body as { destroy?: () => void } | undefined)?.destroy?.();
      return undefined;
    }
    body = res.Body as AsyncIterable<Uint8Array>;
  } catch (err) {
    if (isNotFound(err) || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412)
      return undefined;
    throw err;
  }
  const inspected = await inspectArchiveFile(series, period, () => beating(body, () => deps.progress(at.progress())), {
    thresholds: deps.thresholds,
    maxExpandedBytes: deps.maxExpandedBytes,
  });
  // A file judged before the whole body was read (not inspected, a bomb) leaves the rest of the body unread.
  (body as { destroy?: () => void }).destroy?.();
  return {
    key: sourceKey,
    destination: { etag: at.object.etag, size: at.object.size },
    facts: inspected.facts,
    verdict: inspected.verdict,
    thresholds: deps.thresholds,
    inspectedAt: new Date().toISOString(),
  };
}

/** The body's chunks, with a heartbeat every 16 MiB (a 1 GiB trades file takes longer than a heartbeat timeout). */
async function* beating(body: AsyncIterable<Uint8Array>, beat: () => void): AsyncIterable<Uint8Array> {
  let sinceBeat = 0;
  for await (const chunk of body) {
    sinceBeat += chunk.length;
    if (sinceBeat >= 16 * 1024 ** 2) {
      sinceBeat = 0;
      beat();
    }
    yield chunk;
  }
}

async function getText(s3: S3Client, bucket: string, key: string, signal?: AbortSignal): Promise<string | undefined> {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
    return await res.Body!.transformToString();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * The breaks between consecutive files of a series. Where the id sequence breaks between two files of adjacent
 * periods, one of them lost rows at its edge: the one whose edge lies further from its period's edge is marked
 * cut_short with the missing ids as evidence (a break across a period the archive does not publish is reported only).
 */
export function markBreaks(series: SeriesSpec, known: FileState[]): SeriesBreak[] {
  const inOrder = known.filter((f) => f.record && isFacts(f.record.facts)).sort((a, b) => (a.key < b.key ? -1 : 1));
  const byKey = new Map(inOrder.map((f) => [f.key, f]));
  const found = seriesBreaks(inOrder.map((f) => ({ key: f.key, facts: f.record!.facts as ContentFacts })));
  for (const b of found) {
    if (b.kind !== 'ids') continue;
    const before = byKey.get(b.before)!;
    const after = byKey.get(b.after)!;
    const a = filePeriod(series.granularity, before.period);
    const z = filePeriod(series.granularity, after.period);
    if (a.endMs !== z.startMs) continue;
    const beforeFacts = before.record!.facts as ContentFacts;
    const afterFacts = after.record!.facts as ContentFacts;
    const shortAtEnd = a.endMs - Date.parse(beforeFacts.lastTime ?? new Date(a.startMs).toISOString());
    const lateAtStart = Date.parse(afterFacts.firstTime ?? new Date(z.endMs).toISOString()) - z.startMs;
    const culprit = shortAtEnd >= lateAtStart ? before : after;
    if (culprit.content.status === 'cut_short') continue;
    const missing = `ids ${b.from}..${b.to} are in neither ${b.before.slice(b.before.lastIndexOf('/') + 1)} nor ${b.after.slice(b.after.lastIndexOf('/') + 1)}`;
    culprit.content = {
      ...culprit.content,
      status: 'cut_short',
      reason: `the id sequence breaks at its ${culprit === before ? 'end' : 'start'}: ${missing}`,
      evidence: {
        rows: (culprit.record!.facts as ContentFacts).rows,
        firstId: (culprit.record!.facts as ContentFacts).ids?.first,
        lastId: (culprit.record!.facts as ContentFacts).ids?.last,
        firstTime: (culprit.record!.facts as ContentFacts).firstTime,
        lastTime: (culprit.record!.facts as ContentFacts).lastTime,
        missingIds: { from: b.from, to: b.to },
      },
    };
  }
  return found;
}
