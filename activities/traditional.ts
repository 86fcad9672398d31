/**
 * The traditional path, one activity per step so each shows in the Web UI with its own retry
 * policy: download → verify → upload → clean up. All four run on one worker (the worker-specific
 * task queue), because they share that worker's staging folder.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Context, log } from '@temporalio/activity';
import { countFiles, tallyOutcomes } from './metrics';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import pLimit from 'p-limit';
import { checksumKey, destinationKey } from '../workflows/keys';
import type { DownloadResult, FileOutcome, StagedBatch, TraditionalResult } from '../workflows/types';
import { classifyS3Error, StagingFullError } from './errors';
import { heartbeatEvery, mapPool } from './heartbeat';
import { batchName, type PlanFile } from './plan';
import { loadBatch, positionsOf } from './direct-sync';
import { NotFoundError, parseChecksumFile, type SourceReader } from './source-reader';
import type { StagingArea } from './staging';
import type { StateStore } from './state-store';

interface StagedFile {
  size: number;
  sha256?: string;
  hasChecksum: boolean;
  outcome?: FileOutcome;
  error?: string;
  attempts: number;
}
type StagedState = Record<number, StagedFile>;

export interface TraditionalDeps {
  destination: S3Client;
  source: SourceReader;
  store: StateStore;
  staging: StagingArea;
  concurrency: number;
  multipartThresholdBytes: number;
}

const MULTIPART_PART_BYTES = 8 * 1024 * 1024;
const MULTIPART_QUEUE = 2;
// Per worker process, across all activities: a multipart upload buffers MULTIPART_QUEUE parts.
const multipartSlots = pLimit(4);

const statePath = (deps: TraditionalDeps, id: string) => path.join(deps.staging.dir(id), 'state.json');

async function readState(deps: TraditionalDeps, id: string): Promise<StagedState> {
  try {
    return JSON.parse(await readFile(statePath(deps, id), 'utf8'));
  } catch {
    return {};
  }
}

async function writeState(deps: TraditionalDeps, id: string, state: StagedState): Promise<void> {
  const p = statePath(deps, id);
  await writeFile(`${p}.tmp`, JSON.stringify(state));
  await rename(`${p}.tmp`, p);
}

function isDiskFull(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOSPC' || (err as NodeJS.ErrnoException)?.code === 'EDQUOT';
}

export async function downloadBatch(deps: TraditionalDeps, ref: StagedBatch): Promise<DownloadResult> {
  const attempt = Context.current().info.attempt;
  const files = await loadBatch(deps.store, ref.batch);
  const positions = positionsOf(ref, files);
  deps.staging.reserve(ref.stagingId, positions.reduce((n, i) => n + files[i].size + 256, 0));
  const state = await readState(deps, ref.stagingId);
  let bytes = 0;
  let done = 0;
  const stop = heartbeatEvery(() => ({ downloaded: done, of: positions.length, bytes }));
  try {
    await mapPool(positions, deps.concurrency, async (i) => {
      const file = files[i];
      const prior = state[i];
      if (prior?.outcome || prior?.sha256) { done++; return; } // finished by an earlier attempt
      const entry: StagedFile = { size: file.size, hasChecksum: false, attempts: attempt };
      state[i] = entry;
      const zipPath = deps.staging.file(ref.stagingId, i, 'zip');
      const partPath = deps.staging.file(ref.stagingId, i, 'zip.part');
      // The zip and its .CHECKSUM are fetched at the same time.
      const checksum = file.checksumEtag
        ? deps.source.readBytes(checksumKey(file.key)).catch((err) => {
            if (err instanceof NotFoundError) return undefined;
            throw err;
          })
        : Promise.resolve(undefined);
      checksum.catch(() => undefined);
      try {
        const hash = createHash('sha256');
        const body = await deps.source.open(file.key);
        await pipeline(body, new Transform({ transform(chunk, _enc, cb) { hash.update(chunk); bytes += chunk.length; cb(null, chunk); } }), createWriteStream(partPath));
        await rename(partPath, zipPath);
        entry.size = (await stat(zipPath)).size;
        entry.sha256 = hash.digest('hex');
      } catch (err) {
        await rm(partPath, { force: true });
        if (err instanceof NotFoundError) {
          entry.outcome = 'not_found';
          entry.error = `listed but not downloadable: ${err.message}`;
          done++;
          return;
        }
        if (isDiskFull(err)) throw new StagingFullError(`staging disk full while downloading ${file.key}: ${(err as Error).message}. Free space under STAGING_DIR or lower parallelBatches.`);
        throw err;
      }
      const checksumBytes = await checksum;
      if (checksumBytes) {
        await writeFile(deps.staging.file(ref.stagingId, i, 'CHECKSUM'), checksumBytes);
        entry.hasChecksum = true;
      }
      if (!entry.hasChecksum && ref.verification === 'checksum') {
        entry.outcome = 'missing_checksum';
        entry.error = 'the source has no .CHECKSUM for this file, so it cannot be verified; not uploaded';
        await rm(zipPath, { force: true });
      }
      done++;
    });
  } finally {
    stop();
    await writeState(deps, ref.stagingId, state);
  }
  return { downloaded: positions.filter((i) => !state[i].outcome), bytes, peakStagingBytes: deps.staging.peak, s3Requests: 0 };
}

async function sha256File(p: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(p)) hash.update(chunk);
  return hash.digest('hex');
}

/** Re-reads each staged zip from disk and checks it against its `.CHECKSUM`; a mismatch is deleted, never uploaded. */
export async function verifyStaged(deps: TraditionalDeps, ref: StagedBatch): Promise<{ verified: number; mismatched: number }> {
  const state = await readState(deps, ref.stagingId);
  const positions = (ref.only ?? Object.keys(state).map(Number)).filter((i) => state[i] && !state[i].outcome);
  let verified = 0;
  let mismatched = 0;
  await mapPool(positions, deps.concurrency, async (i) => {
    const entry = state[i];
    const zipPath = deps.staging.file(ref.stagingId, i, 'zip');
    entry.sha256 = await sha256File(zipPath);
    if (ref.verification !== 'none' && entry.hasChecksum) {
      const text = await readFile(deps.staging.file(ref.stagingId, i, 'CHECKSUM'), 'utf8');
      const expected = parseChecksumFile(text);
      if (ref.verification === 'checksum' && expected !== entry.sha256) {
        entry.outcome = 'checksum_mismatch';
        entry.error = expected ? `SHA-256 ${entry.sha256} does not match .CHECKSUM ${expected}; not uploaded` : '.CHECKSUM is not in sha256sum format; not uploaded';
        mismatched++;
        await rm(zipPath, { force: true });
        return;
      }
    }
    verified++;
  });
  await writeState(deps, ref.stagingId, state);
  return { verified, mismatched };
}

export interface TraditionalEntry {
  i: number;
  outcome: FileOutcome;
  sha256: string | null;
  error: string | null;
  attempt: number;
}

/** Uploads verified files (multipart above the threshold; S3 checks the SHA-256 of single-part uploads), then their `.CHECKSUM`. */
export async function uploadStaged(deps: TraditionalDeps, ref: StagedBatch): Promise<TraditionalResult> {
  const attempt = Context.current().info.attempt;
  const files = await loadBatch(deps.store, ref.batch);
  const state = await readState(deps, ref.stagingId);
  const positions = positionsOf(ref, files);
  const bucket = ref.state.bucket;
  let bytesUploaded = 0;
  let done = 0;
  const stop = heartbeatEvery(() => ({ uploaded: done, of: positions.length }));
  try {
    const uploadOne = async (i: number): Promise<TraditionalEntry> => {
      const entry = state[i];
      const file: PlanFile = files[i];
      if (!entry) return { i, outcome: 'failed', sha256: null, error: 'not downloaded', attempt };
      const attempts = Math.max(entry.attempts, attempt);
      if (entry.outcome) return { i, outcome: entry.outcome, sha256: entry.sha256 ?? null, error: entry.error ?? null, attempt: attempts };
      const key = destinationKey(ref.state.destinationPrefix, file.key);
      const zipPath = deps.staging.file(ref.stagingId, i, 'zip');
      try {
        if (entry.size > deps.multipartThresholdBytes) {
          await new Upload({
            client: deps.destination,
            params: { Bucket: bucket, Key: key, Body: createReadStream(zipPath), ContentType: 'application/zip', ChecksumAlgorithm: 'SHA256' },
            partSize: MULTIPART_PART_BYTES,
            queueSize: MULTIPART_QUEUE,
          }).done();
        } else {
          await deps.destination.send(new PutObjectCommand({
            Bucket: bucket, Key: key, Body: createReadStream(zipPath), ContentLength: entry.size, ContentType: 'application/zip',
            ChecksumSHA256: entry.sha256 ? Buffer.from(entry.sha256, 'hex').toString('base64') : undefined,
          }));
        }
        bytesUploaded += entry.size;
        if (entry.hasChecksum) {
          await deps.destination.send(new PutObjectCommand({ Bucket: bucket, Key: checksumKey(key), Body: await readFile(deps.staging.file(ref.stagingId, i, 'CHECKSUM')), ContentType: 'text/plain' }));
        }
      } catch (err) {
        throw classifyS3Error(err, `uploading s3://${bucket}/${key}`);
      }
      done++;
      return { i, outcome: 'copied', sha256: entry.sha256 ?? null, error: null, attempt: attempts };
    };
    // Memory stays bounded: small files stream; multipart uploads take one of the worker's few slots.
    const isLarge = (i: number) => (state[i]?.size ?? 0) > deps.multipartThresholdBytes;
    const [smallEntries, largeEntries] = await Promise.all([
      mapPool(positions.filter((i) => !isLarge(i)), deps.concurrency, uploadOne),
      Promise.all(positions.filter(isLarge).map((i) => multipartSlots(() => uploadOne(i)))),
    ]);
    const entries = [...smallEntries, ...largeEntries].sort((a, b) => a.i - b.i);
    await deps.store.putJson(`results/${batchName(ref.batch)}.traditional.json`, entries);
    countFiles('traditional', entries, bytesUploaded);
    for (const e of entries.filter((x) => x.outcome !== 'copied')) log.warn('file not copied', { key: files[e.i].key, outcome: e.outcome, error: e.error });
    return { ...tallyOutcomes(entries), bytesUploaded, s3Requests: 0 };
  } finally {
    stop();
  }
}

export async function cleanupStaging(deps: TraditionalDeps, stagingId: string, keep: boolean): Promise<void> {
  if (!keep) await deps.staging.release(stagingId);
}
