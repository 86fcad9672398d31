/**
 * Verification after direct sync, without local disk: stream each copied object from the
 * destination through SHA-256 and compare with the source `.CHECKSUM`. A file that passes gets its
 * `.CHECKSUM` written beside it (the mark of a verified file); one that fails is moved to quarantine.
 */
import { createHash } from 'node:crypto';
import { Context, log } from '@temporalio/activity';
import { countFiles, tallyOutcomes } from './metrics';
import { CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { checksumKey, destinationKey, quarantineKey } from '../workflows/keys';
import type { BatchRef, FileOutcome, VerifyResult } from '../workflows/types';
import { classifyS3Error } from './errors';
import { heartbeatEvery, mapPool } from './heartbeat';
import { batchName } from './plan';
import { loadBatch, positionsOf } from './direct-sync';
import { NotFoundError, parseChecksumFile, type SourceReader } from './source-reader';
import type { StateStore } from './state-store';

export interface VerifyEntry {
  i: number;
  outcome: FileOutcome;
  sha256: string | null;
  error: string | null;
  attempt: number;
}

export function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

export async function quarantine(s3: S3Client, bucket: string, prefix: string, sourceKey: string): Promise<string> {
  const from = destinationKey(prefix, sourceKey);
  const to = quarantineKey(prefix, sourceKey);
  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: to, CopySource: copySource(bucket, from) }));
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: from }));
  return to;
}

export async function verifyCopied(
  deps: { destination: S3Client; source: SourceReader; store: StateStore; concurrency: number },
  ref: BatchRef,
): Promise<VerifyResult> {
  const { destination, store } = deps;
  const attempt = Context.current().info.attempt;
  const files = await loadBatch(store, ref.batch);
  const positions = positionsOf(ref, files);
  const bucket = ref.state.bucket;
  let bytesRead = 0;
  let done = 0;
  const stop = heartbeatEvery(() => ({ verified: done, of: positions.length }));
  try {
    const entries = await mapPool(positions, deps.concurrency, async (i): Promise<VerifyEntry> => {
      const file = files[i];
      const destKey = destinationKey(ref.state.destinationPrefix, file.key);
      const result = (outcome: FileOutcome, sha256: string | null, error: string | null) => {
        done++;
        return { i, outcome, sha256, error, attempt };
      };
      let checksumBytes: Buffer | undefined;
      try {
        checksumBytes = file.checksumEtag ? await deps.source.readBytes(checksumKey(file.key)) : undefined;
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
      try {
        if (ref.verification === 'size') {
          const head = await destination.send(new HeadObjectCommand({ Bucket: bucket, Key: destKey }));
          if (head.ContentLength !== file.size) {
            const q = await quarantine(destination, bucket, ref.state.destinationPrefix, file.key);
            return result('failed', null, `size ${head.ContentLength} differs from the source's ${file.size}; moved to ${q}`);
          }
          if (checksumBytes) await destination.send(new PutObjectCommand({ Bucket: bucket, Key: checksumKey(destKey), Body: checksumBytes }));
          return result('copied', null, null);
        }
        const expected = checksumBytes ? parseChecksumFile(checksumBytes.toString('utf8')) : undefined;
        if (!expected) {
          const q = await quarantine(destination, bucket, ref.state.destinationPrefix, file.key);
          return result('missing_checksum', null, `source .CHECKSUM ${checksumBytes ? 'is not in sha256sum format' : 'is missing'}; moved to ${q}`);
        }
        const res = await destination.send(new GetObjectCommand({ Bucket: bucket, Key: destKey }));
        const hash = createHash('sha256');
        for await (const chunk of res.Body as AsyncIterable<Buffer>) {
          hash.update(chunk);
          bytesRead += chunk.length;
        }
        const actual = hash.digest('hex');
        if (actual !== expected) {
          const q = await quarantine(destination, bucket, ref.state.destinationPrefix, file.key);
          return result('checksum_mismatch', actual, `SHA-256 ${actual} does not match .CHECKSUM ${expected}; moved to ${q}`);
        }
        await destination.send(new PutObjectCommand({ Bucket: bucket, Key: checksumKey(destKey), Body: checksumBytes }));
        return result('copied', actual, null);
      } catch (err) {
        throw classifyS3Error(err, `verifying s3://${bucket}/${destKey}`);
      }
    });
    await store.putJson(`results/${batchName(ref.batch)}.verify.json`, entries);
    countFiles('direct_sync', entries, entries.filter((e) => e.outcome === 'copied').reduce((n, e) => n + files[e.i].size, 0));
    for (const e of entries.filter((x) => x.outcome !== 'copied')) log.warn('file failed verification', { key: files[e.i].key, outcome: e.outcome, error: e.error });
    const { copied, mismatched, failed } = tallyOutcomes(entries);
    return { verified: copied, mismatched, failed, bytesRead, s3Requests: 0 };
  } finally {
    stop();
  }
}
