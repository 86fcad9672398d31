/**
 * The content step of a shard: for every verified file it holds, the facts record bound to the destination's
 * bytes — read from the listing when one is there, made by reading the bytes once when the run inspects — then,
 * in inspect runs, the continuity of each series across its files. The results go to the shard's `content.ndjson`
 * for the manifest and coverage. Copy outcomes and proofs are never touched: content is reported beside them.
 */
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { factsFolder, periodOf, proofFolder, seriesPrefix } from '../workflows/keys';
import { PRESENT_OUTCOMES, type ContentSummary, type FileContent, type SeriesSpec } from '../workflows/types';
import { edgeBreaks, seriesBreaks, type ContinuityVerdict } from './content/continuity';
import type { ContentFacts } from './content/facts';
import {
  factsFileName,
  parseFactsKey,
  parseFactsRecord,
  statusOf,
  worstName,
  type FactsName,
  type FactsRecord,
} from './content/facts-record';
import { inspectArchiveFile } from './content/inspect';
import { emptyContent, writeContent, type SeriesBreakAt } from './content/shard-content';
import type { ContentThresholds } from './content/status';
import { isNotFound, isPreconditionFailed } from './errors';
import { hasAny, listRange, type ListedObject } from './listing';
import { folderGroups, shardEntryStream, type ManifestInput } from './manifest';
import { mapPool } from './pool';
import { normalizeEtag, objectToken, parseProofKey, unboundEtag } from './proof';
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

/** A verified file whose content is known, with the record (inspect runs) and the name it is stored under. */
interface KnownFile {
  key: string;
  period: string;
  name: FactsName;
  record?: FactsRecord;
}

class BytesChangedError extends Error {}

export async function inspectShard(deps: InspectShardDeps, input: InspectShardInput): Promise<ContentSummary> {
  const store = new StateStore(deps.destination, input.state);
  const { bucket, destinationPrefix: dp } = input.state;
  // Most collections never ask for inspection: where nothing was ever read, one listing request says so.
  if (!input.inspect && !(await hasAny(deps.destination, bucket, factsFolder(dp, '')))) {
    const none = emptyContent();
    await writeContent(store, new Map(), [], none);
    return none;
  }
  const summary = emptyContent();
  const beat = () => deps.progress({ inspected: summary.inspectedNow, bytesRead: summary.bytesRead });
  const seriesByFolder = new Map(((await store.series()) ?? []).map((s) => [seriesPrefix(s), s]));
  const files = new Map<string, FileContent>();
  const breaks: SeriesBreakAt[] = [];
  const recordKey = (key: string, n: FactsName) => `${factsFolder(dp, key)}/${factsFileName(n)}`;

  // One series at a time, in key order, as the shard's entries stream past.
  for await (const { folder: prefix, entries } of folderGroups(shardEntryStream(store, input))) {
    beat();
    const s = seriesByFolder.get(prefix);
    const keys = entries
      .filter((e) => PRESENT_OUTCOMES.includes(e.outcome) && (e.proof === 'sha256' || e.proof === 'accepted'))
      .map((e) => e.key);
    if (!s || !keys.length) continue;
    const last = keys[keys.length - 1];
    const [objects, recorded, proofs] = await Promise.all([
      listRange(deps.destination, bucket, `${dp}${prefix}`, `${dp}${prefix}`, `${dp}${last}`),
      listRange(
        deps.destination,
        bucket,
        factsFolder(dp, prefix),
        factsFolder(dp, prefix),
        `${factsFolder(dp, last)}/~`,
      ),
      input.inspect
        ? listRange(
            deps.destination,
            bucket,
            proofFolder(dp, prefix),
            proofFolder(dp, prefix),
            `${proofFolder(dp, last)}/~`,
          )
        : Promise.resolve([]),
    ]);
    beat();
    const here = new Map<string, ListedObject>(objects.map((o) => [o.key.slice(dp.length), o]));
    const names = group(recorded, (o) => parseFactsKey(factsFolder(dp, ''), o.key));
    // Bytes are read only where a SHA-256 (or accepted) proof is bound to them now, as the proof names say.
    const proven = new Set<string>();
    for (const o of proofs) {
      const p = parseProofKey(proofFolder(dp, ''), o.key);
      if (p && (p.proof.level === 'sha256' || p.proof.level === 'accepted'))
        proven.add(`${p.sourceKey}\n${p.proof.destination}`);
    }

    // First what is recorded (small reads, many at once), then the bytes of the files with no record (a few at once).
    const toRead: { key: string; period: string; object: ListedObject; token: string }[] = [];
    const looked = await mapPool(keys, RECORD_READS, async (key): Promise<KnownFile | undefined> => {
      beat();
      const object = here.get(key);
      const period = periodOf(s, key.slice(prefix.length));
      if (!object || !period || unboundEtag(object.etag)) return undefined;
      const token = objectToken(object);
      const name = worstName((names.get(key) ?? []).filter((n) => n.token === token));
      if (name && !input.inspect) return { key, period, name };
      if (name) {
        const record = parseFactsRecord(
          key,
          await getText(deps.destination, bucket, recordKey(key, name), deps.signal),
        );
        if (record) return { key, period, name, record };
      }
      if (input.inspect && proven.has(`${key}\n${token}`)) toRead.push({ key, period, object, token });
      else summary.notInspected++;
      return undefined;
    });
    beat();
    const read = await mapPool(toRead, deps.concurrency, async ({ key, period, object, token }) => {
      const record = await inspectObject(deps, s, { bucket, key: `${dp}${key}`, sourceKey: key, period, object }, beat);
      if (!record) return undefined; // overwritten since the listing: the next run reads the new bytes
      summary.inspectedNow++;
      summary.bytesRead += record.bytesRead;
      const full: FactsRecord = { ...record.facts, collectionId: input.state.collectionId };
      const name: FactsName = { token, status: statusOf(full) };
      await putRecord(deps, bucket, recordKey(key, name), full);
      // Records of the same bytes under another status (unreadable, or left by a rename a crash cut short) go.
      for (const other of (names.get(key) ?? []).filter((n) => n.token === token && n.status !== name.status))
        await deleteRecord(deps, bucket, recordKey(key, other));
      beat();
      return { key, period, name, record: full } satisfies KnownFile;
    });

    const known = [...looked, ...read].filter((x): x is KnownFile => x !== undefined);
    if (input.inspect) {
      const withFacts = known
        .filter((f) => f.record && !('notInspected' in f.record.facts))
        .sort((a, b) => (a.key < b.key ? -1 : 1))
        .map((f) => ({ key: f.key, period: f.period, facts: f.record!.facts as ContentFacts }));
      const found = seriesBreaks(withFacts);
      for (const b of found) breaks.push({ ...b, series: prefix });
      const marks = edgeBreaks(s.granularity, withFacts, found);
      // A mark against a neighbour this run does not hold (another date range) is kept, not cleared.
      const inRun = new Set(withFacts.map((f) => f.key));
      for (const f of known) {
        const kept = f.record?.continuity;
        if (kept && !inRun.has(kept.neighbour) && !marks.has(f.key)) marks.set(f.key, kept);
      }
      // A record's name carries the status a listing reads: renamed when continuity changes it.
      await mapPool(known, RECORD_READS, async (f) => {
        beat();
        await recordContinuity(deps, bucket, f, marks.get(f.key), recordKey);
      });
    }
    for (const f of known) files.set(f.key, contentOf(f, recordKey(f.key, f.name)));
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

function group<T>(items: T[], parse: (t: T) => { sourceKey: string; name: FactsName } | undefined) {
  const out = new Map<string, FactsName[]>();
  for (const item of items) {
    const f = parse(item);
    if (!f) continue;
    const list = out.get(f.sourceKey);
    if (list) list.push(f.name);
    else out.set(f.sourceKey, [f.name]);
  }
  return out;
}

/** What the manifest shows: the record's verdicts in inspect runs, the name's status in runs that only look up. */
function contentOf(f: KnownFile, record: string): FileContent {
  if (!f.record) return { status: f.name.status, reason: 'see its facts record', record };
  const judged = f.record.continuity ?? f.record.verdict;
  const { reason, evidence } = judged;
  return {
    status: statusOf(f.record),
    reason,
    ...(evidence && judged.status === 'cut_short' ? { evidence } : {}),
    record,
  };
}

/** Sets (or clears) a file's continuity verdict in its record, renaming the record when its status changes. */
async function recordContinuity(
  deps: InspectShardDeps,
  bucket: string,
  f: KnownFile,
  mark: ContinuityVerdict | undefined,
  recordKey: (key: string, n: FactsName) => string,
): Promise<void> {
  if (!f.record) return;
  // A file cut short by its own rows keeps that verdict; the break is counted for the series either way.
  const continuity = f.record.verdict.status === 'cut_short' ? undefined : mark;
  if (JSON.stringify(continuity) === JSON.stringify(f.record.continuity)) return;
  const { continuity: _old, ...rest } = f.record;
  const record: FactsRecord = continuity ? { ...rest, continuity } : rest;
  const name: FactsName = { token: f.name.token, status: statusOf(record) };
  await putRecord(deps, bucket, recordKey(f.key, name), record);
  if (name.status !== f.name.status) await deleteRecord(deps, bucket, recordKey(f.key, f.name));
  f.record = record;
  f.name = name;
}

async function deleteRecord(deps: InspectShardDeps, bucket: string, key: string): Promise<void> {
  await deps.destination.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: deps.signal });
}

async function putRecord(deps: InspectShardDeps, bucket: string, key: string, record: FactsRecord): Promise<void> {
  await deps.destination.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: JSON.stringify(record, null, 2),
      ContentType: 'application/json',
    }),
    { abortSignal: deps.signal },
  );
}

/**
 * Reads one destination object's content (its bytes only when its data type is inspected); undefined when its
 * bytes are no longer the ones listed.
 */
async function inspectObject(
  deps: InspectShardDeps,
  series: SeriesSpec,
  at: { bucket: string; key: string; sourceKey: string; period: string; object: ListedObject },
  beat: () => void,
): Promise<{ facts: Omit<FactsRecord, 'collectionId'>; bytesRead: number } | undefined> {
  async function* bytes(): AsyncIterable<Uint8Array> {
    let body: AsyncIterable<Uint8Array>;
    try {
      const res = await deps.destination.send(
        new GetObjectCommand({ Bucket: at.bucket, Key: at.key, IfMatch: at.object.etag }),
        { abortSignal: deps.signal },
      );
      body = res.Body as AsyncIterable<Uint8Array>;
      // A store may ignore If-Match: the ETag it serves is what the facts are bound to, so it must be the listed one.
      if (!res.ETag || normalizeEtag(res.ETag) !== normalizeEtag(at.object.etag)) {
        (body as { destroy?: () => void }).destroy?.();
        throw new BytesChangedError();
      }
    } catch (err) {
      if (isNotFound(err) || isPreconditionFailed(err)) throw new BytesChangedError();
      throw err;
    }
    // A heartbeat every 16 MiB: a 1 GiB trades file takes longer than a heartbeat timeout.
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
  try {
    const inspected = await inspectArchiveFile(series, at.period, bytes, {
      thresholds: deps.thresholds,
      maxExpandedBytes: deps.maxExpandedBytes,
    });
    return {
      facts: {
        key: at.sourceKey,
        destination: { etag: at.object.etag, size: at.object.size },
        facts: inspected.facts,
        verdict: inspected.verdict,
        thresholds: deps.thresholds,
        inspectedAt: new Date().toISOString(),
      },
      bytesRead: inspected.compressedBytes,
    };
  } catch (err) {
    if (err instanceof BytesChangedError) return undefined;
    throw err;
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
