/**
 * What the world allows, found out by trying: is s5cmd runnable (and patched to ask for checksums),
 * can the destination's credentials copy a real source object server-side, does the store compute a
 * SHA-256 during that copy, is the destination writable.
 */
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { execa } from 'execa';
import type { WorkerConfig } from '../worker/config';
import { seriesPrefix } from '../workflows/keys';
import type { CollectionRequest } from '../workflows/request';
import { expandSeries, hasPatterns } from '../workflows/request';
import type { EnvironmentProbe, Guard, StoreGuards } from '../workflows/types';
import { copySource } from './destination';
import { isAccessDenied } from './errors';
import { endpointIdentity } from './s3';

const COPY_PROBE_ATTEMPTS = 4;
const COPY_PROBE_BACKOFF_MS = 500;

/** A copy refused for good: any 3xx or 4xx but a folder race (409, versitygw) or throttling (429). */
const copyRefused = (err: unknown) => answered(err) && statusOf(err) !== 409 && statusOf(err) !== 429;
const statusOf = (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
/** The store answered (3xx, 4xx: a refusal, a redirect, a bad request): an answer, not a failure to try again. */
const answered = (err: unknown) => {
  const status = statusOf(err);
  return status !== undefined && status >= 300 && status < 500;
};

/**
 * One probe request, tried again (with backoff) after a failure that outlasted the SDK's own attempts, unless it is
 * `final` (a refusal is the answer): one failed request must not decide a whole collection's mode or guards.
 */
async function retryTransient<T>(send: () => Promise<T>, final: (err: unknown) => boolean): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (err) {
      if (attempt >= COPY_PROBE_ATTEMPTS || final(err)) throw err;
      await sleep(COPY_PROBE_BACKOFF_MS * attempt);
    }
  }
}

export interface ProbeInput {
  bucket?: string;
  prefix?: string;
  /** The collection's request: its first series holds the object the copy is tried with. */
  request?: CollectionRequest;
}

export interface ProbeResult {
  probe: EnvironmentProbe;
  destination: { bucket: string; prefix: string };
  /** The worker's Temporal namespace has this project's search attributes registered. */
  searchAttributes: boolean;
}

const s5cmdVersions = new Map<string, Promise<EnvironmentProbe['s5cmd'] & { ifAbsent: boolean }>>();

/** Once per worker process and path: the binary does not change under a running worker. */
function s5cmdBuild(s5cmdPath: string): Promise<EnvironmentProbe['s5cmd'] & { ifAbsent: boolean }> {
  let known = s5cmdVersions.get(s5cmdPath);
  if (!known) {
    known = execa(s5cmdPath, ['version'], {
      timeout: 15_000,
      extendEnv: false,
      env: { PATH: process.env.PATH ?? '' },
    }).then(
      ({ stdout }) => {
        const checksums = stdout.includes('archive-checksum');
        return {
          // The project's build marks what it adds in its version: `-archive-checksum` (SHA-256 on copies), `-if-absent`.
          ifAbsent: checksums && stdout.includes('if-absent'),
          available: true,
          checksums,
          detail: `s5cmd ${stdout.trim()} runs (${s5cmdPath})${checksums ? '' : "; it cannot ask the store for checksums (not the project's build)"}`,
        };
      },
      (err: Error) => ({
        ifAbsent: false,
        available: false,
        checksums: false,
        detail: `cannot run "${s5cmdPath}": ${err.message.split('\n')[0]}`,
      }),
    );
    s5cmdVersions.set(s5cmdPath, known);
  }
  return known;
}

export async function probeS5cmd(s5cmdPath: string): Promise<EnvironmentProbe['s5cmd']> {
  const { ifAbsent: _, ...probe } = await s5cmdBuild(s5cmdPath);
  return probe;
}

/** Whether this s5cmd can make a copy conditional on its key being free (`cp --if-absent`). */
export async function s5cmdCopiesIfAbsent(s5cmdPath: string): Promise<boolean> {
  return (await s5cmdBuild(s5cmdPath)).ifAbsent;
}

export function probeSharedEndpoint(config: WorkerConfig): EnvironmentProbe['sharedEndpoint'] {
  const src = config.source;
  const dst = config.destination;
  if (src.httpUrl) return { shared: false, detail: `the source is read over plain HTTP (${src.httpUrl})` };
  const a = endpointIdentity(src);
  const b = endpointIdentity(dst);
  if (a !== b) return { shared: false, detail: `source endpoint ${a} differs from destination endpoint ${b}` };
  const sameCreds =
    src.anonymous ||
    (src.credentials?.accessKeyId === dst.credentials?.accessKeyId &&
      src.credentials?.secretAccessKey === dst.credentials?.secretAccessKey);
  if (!sameCreds)
    return { shared: false, detail: 'source and destination need different credentials; s5cmd uses one set' };
  const regions =
    src.region !== dst.region
      ? `; the source bucket is in ${src.region}, the destination in ${dst.region}: s5cmd sends each source-side request to ${src.region} (--source-region) and each copy to ${dst.region}`
      : '';
  return {
    shared: true,
    detail: `source and destination share endpoint ${a}${src.anonymous ? ' (public source)' : ''}${regions}`,
  };
}

/**
 * Writes a probe object under `_collections/`, runs the other probes while it is there, then deletes it: "write and
 * delete succeeded". Kept to the end, the object stops a store that removes emptied folders (versitygw's posix backend)
 * from pulling `_collections/` from under the probes that write beside it, so they can run side by side.
 */
export async function withWriteProbe<T>(
  s3: S3Client,
  bucket: string,
  prefix: string,
  meanwhile: (writable: boolean) => Promise<T>,
): Promise<{ destination: EnvironmentProbe['destination']; found: T }> {
  const Key = `${prefix}_collections/.write-probe-${randomUUID()}`;
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'probe' }));
  } catch (err) {
    return { destination: notWritable(err, bucket), found: await meanwhile(false) };
  }
  let found: T;
  try {
    found = await meanwhile(true);
  } catch (err) {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key })).catch(() => undefined);
    throw err;
  }
  try {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key }));
  } catch (err) {
    return { destination: notWritable(err, bucket), found };
  }
  return { destination: { bucket, writable: true, detail: 'write and delete succeeded' }, found };
}

/** A refused write or delete, said with its fix; anything else (an unreachable endpoint) is thrown: retryable. */
function notWritable(err: unknown, bucket: string): EnvironmentProbe['destination'] {
  const e = err as Error & { name?: string };
  if (isAccessDenied(err))
    return {
      bucket,
      writable: false,
      detail: `access denied (${e.name}): check DEST_ACCESS_KEY_ID/DEST_SECRET_ACCESS_KEY and the bucket policy`,
    };
  if (e.name === 'NoSuchBucket')
    return {
      bucket,
      writable: false,
      detail: `bucket "${bucket}" does not exist: create it or set destination.bucket`,
    };
  throw err;
}

/**
 * The smallest object among the first few of the request's first series (a `.CHECKSUM`, usually);
 * with patterns ("*", "BTC*"), among the first few of its market and granularity.
 */
async function sampleSourceObject(
  source: S3Client,
  bucket: string,
  request: CollectionRequest,
): Promise<{ key: string; size: number } | undefined> {
  const series = expandSeries(request)[0];
  if (!series) return undefined;
  const prefix = hasPatterns(request) ? `data/${series.market}/${series.granularity}/` : seriesPrefix(series);
  const page = await source.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 20 }));
  const objects = (page.Contents ?? []).filter((o) => o.Key).map((o) => ({ key: o.Key!, size: o.Size ?? 0 }));
  return objects.sort((a, b) => a.size - b.size)[0];
}

export type CopyProbe = Pick<EnvironmentProbe, 'serverSideCopy' | 'storeChecksum'>;

/**
 * The source object the copy probe tries (then `tryServerSideCopy`: what s5cmd will do, with the destination's
 * credentials, so that a role without s3:GetObject on the source bucket fails once instead of on every batch), or the
 * probe's answer when there is none to try.
 */
export async function copyProbeSample(
  deps: { source: S3Client; sourceBucket: string },
  request: CollectionRequest,
): Promise<{ key: string } | CopyProbe> {
  let sample: { key: string; size: number } | undefined;
  try {
    sample = await sampleSourceObject(deps.source, deps.sourceBucket, request);
  } catch (err) {
    // A refusal is the answer; a failure that outlasted the SDK's attempts (5xx, a dropped connection) fails the
    // probe, which its retry policy runs again, instead of deciding the collection's mode on it.
    if (!answered(err)) throw err;
    const e = err as Error;
    return {
      serverSideCopy: {
        works: false,
        detail: `listing s3://${deps.sourceBucket}/ for an object to try a server-side copy with was refused: ${e.name}: ${e.message.slice(0, 300)}`,
      },
      storeChecksum: { supported: false, detail: 'not tried' },
    };
  }
  if (!sample) {
    return {
      serverSideCopy: { works: false, detail: 'no source object of the request to try a server-side copy with' },
      storeChecksum: { supported: false, detail: 'not tried' },
    };
  }
  return { key: sample.key };
}

/** One server-side copy of this source object into the destination, asking the store for its SHA-256, checked against our own hash. */
export async function tryServerSideCopy(
  deps: { source: S3Client; destination: S3Client; sourceBucket: string },
  sourceKey: string,
  bucket: string,
  prefix: string,
): Promise<CopyProbe> {
  const Key = `${prefix}_collections/.copy-probe-${randomUUID()}`;
  const from = `s3://${deps.sourceBucket}/${sourceKey}`;
  try {
    // One failed request must not decide a whole collection's mode: a transient failure (5xx, a store's folder
    // race, a dropped connection) is tried again; a refusal (access denied, no such key) is the answer.
    await retryTransient(
      () =>
        deps.destination.send(
          new CopyObjectCommand({
            Bucket: bucket,
            Key,
            CopySource: copySource(deps.sourceBucket, sourceKey),
            ChecksumAlgorithm: 'SHA256',
          }),
        ),
      copyRefused,
    );
  } catch (err) {
    // Still failing after the retries, but not refused (5xx, dropped connections): the probe activity fails and its
    // retry policy runs it again later, instead of sending the whole collection the slow way on one bad minute.
    if (!copyRefused(err)) throw err;
    const e = err as Error & { name?: string };
    const why = isAccessDenied(err)
      ? `the destination's credentials may not read ${from} (a server-side copy needs s3:GetObject on the source bucket in their own policy, public bucket or not)`
      : `a server-side copy of ${from} failed: ${e.name}: ${e.message.slice(0, 500)}`;
    return { serverSideCopy: { works: false, detail: why }, storeChecksum: { supported: false, detail: 'not tried' } };
  }
  try {
    const checked = await Promise.all([
      deps.destination.send(new HeadObjectCommand({ Bucket: bucket, Key, ChecksumMode: 'ENABLED' })),
      deps.source
        .send(new GetObjectCommand({ Bucket: deps.sourceBucket, Key: sourceKey }))
        .then((r) => r.Body!.transformToByteArray()),
    ]).catch((err: Error) => err);
    const worked = {
      works: true,
      detail: `a server-side copy of ${from} with the destination's credentials worked`,
    };
    // The copy works; a store that will not say its SHA-256 (or a source we may not read) only means copies are read back.
    if (checked instanceof Error)
      return {
        serverSideCopy: worked,
        storeChecksum: {
          supported: false,
          detail: `the copy's SHA-256 could not be checked (${checked.name}: ${checked.message.slice(0, 200)}): copies are verified by reading them back`,
        },
      };
    const [head, body] = checked;
    const ours = createHash('sha256').update(body).digest('base64');
    const stored = head.ChecksumSHA256;
    const storeChecksum =
      stored === ours
        ? { supported: true, detail: 'the store computed the SHA-256 of a server-side copy, and it matched' }
        : {
            supported: false,
            detail: stored
              ? `the store's SHA-256 of a copy (${stored}) differs from the object's (${ours})`
              : 'the store keeps no SHA-256 of a copy: copies are verified by reading them back',
          };
    return { serverSideCopy: worked, storeChecksum };
  } finally {
    await deps.destination.send(new DeleteObjectCommand({ Bucket: bucket, Key })).catch(() => undefined);
  }
}

/**
 * Tries each guard the trust design leans on, in a scratch folder under `_collections/` that holds two objects from
 * the first request to the last (a store that removes emptied folders must not pull it from under a request), side
 * by side: what the store refuses is honoured, what it lets through is not. About 10 small requests in 4 rounds.
 */
export async function probeStoreGuards(s3: S3Client, bucket: string, prefix: string): Promise<StoreGuards> {
  const folder = `${prefix}_collections/.guard-probe-${randomUUID()}/`;
  const a = `${folder}a`;
  const wrongEtag = '"00000000000000000000000000000000"';
  const attempt = async (
    what: string,
    send: () => Promise<unknown>,
    ifRefused: string,
    ifAllowed: string,
    /** The answer that means the guard held: 412 for a condition, 400 for a checksum (another 4xx tells nothing). */
    refusedWith: number,
  ): Promise<Guard> => {
    try {
      // A 5xx that outlasts the SDK's attempts is tried again (as the copy probe does) before "could not tell".
      await retryTransient(send, answered);
      return { honoured: false, detail: `${what}: ${ifAllowed}` };
    } catch (err) {
      if (statusOf(err) === refusedWith) return { honoured: true, detail: `${what}: ${ifRefused}` };
      return {
        honoured: null,
        detail: `${what}: could not tell (${(err as Error).name}: ${(err as Error).message.slice(0, 200)})`,
      };
    }
  };
  const copyOnto = (key: string) =>
    s3.send(new CopyObjectCommand({ Bucket: bucket, Key: key, CopySource: copySource(bucket, a), IfNoneMatch: '*' }));
  /** Refused onto a taken key (another than its source: some stores refuse a copy onto itself for another reason), done onto a free one. */
  const copyIfAbsent = async (): Promise<Guard> => {
    const [taken, free] = await Promise.all([
      attempt(
        'copy with If-None-Match: * onto an existing key',
        () => copyOnto(`${folder}d`),
        'refused (new files are copied without a HEAD of the destination first)',
        'copied: the store ignores it (each new file costs a HEAD of the destination before its copy)',
        412,
      ),
      copyOnto(`${folder}e`).then(
        () => undefined,
        (err: Error) => err,
      ),
    ]);
    if (taken.honoured !== true || !free) return taken;
    return {
      honoured: null,
      detail: `copy with If-None-Match: * onto a free key was refused as well (${free.name}): not the condition AWS honours`,
    };
  };
  try {
    // Two objects first, kept to the end, so that the folder never empties while the guards are tried side by side;
    // the conditional DELETE of the copies' source comes last.
    await Promise.all([
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: a, Body: 'guard probe' })),
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${folder}d`, Body: 'guard probe, occupied' })),
    ]);
    const [conditionalPut, putChecksum, conditionalCopy, conditionalCopyIfAbsent] = await Promise.all([
      attempt(
        'PUT If-None-Match: * over an existing key',
        () => s3.send(new PutObjectCommand({ Bucket: bucket, Key: a, Body: 'guard probe', IfNoneMatch: '*' })),
        'refused',
        'accepted: the store ignores it',
        412,
      ),
      attempt(
        'PUT with a wrong x-amz-checksum-sha256',
        () =>
          s3.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: `${folder}b`,
              Body: 'guard probe',
              ChecksumSHA256: createHash('sha256').update('other bytes').digest('base64'),
            }),
          ),
        'refused',
        'accepted: the store keeps a writer-supplied checksum it did not check',
        400,
      ),
      attempt(
        'copy with x-amz-copy-source-if-match naming another ETag',
        () =>
          s3.send(
            new CopyObjectCommand({
              Bucket: bucket,
              Key: `${folder}c`,
              CopySource: copySource(bucket, a),
              CopySourceIfMatch: wrongEtag,
            }),
          ),
        'refused',
        'copied: the store ignores it (replacements of verified files go through the traditional path)',
        412,
      ),
      copyIfAbsent(),
    ]);
    const conditionalDelete = await attempt(
      'DELETE If-Match naming another ETag',
      () => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: a, IfMatch: wrongEtag })),
      'refused',
      'deleted: the store ignores it',
      412,
    );
    return { conditionalPut, putChecksum, conditionalCopy, conditionalDelete, conditionalCopyIfAbsent };
  } finally {
    await s3
      .send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: ['e', 'd', 'c', 'b', 'a'].map((k) => ({ Key: `${folder}${k}` })), Quiet: true },
        }),
      )
      .catch(() => undefined);
  }
}
