/**
 * An independent reader of the destination: it lists and hashes objects itself and reads proof
 * records as plain JSON, using none of the collector's key, token or checksum functions. It checks
 * the trust invariant: every destination object that a proof currently applies to (same ETag and
 * size as the proof records) has the SHA-256 the proof claims, and that SHA-256 is the one in the
 * source's `.CHECKSUM` for the source version the proof names.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

/** Every object under a prefix, read with plain ListObjectsV2. */
export async function listAll(
  s3: S3Client,
  bucket: string,
  prefix: string,
): Promise<{ key: string; etag: string; size: number }[]> {
  const out: { key: string; etag: string; size: number }[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) out.push({ key: o.Key!, etag: o.ETag ?? '', size: o.Size ?? 0 });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

async function bytesOf(s3: S3Client, bucket: string, key: string): Promise<Uint8Array | undefined> {
  try {
    return await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray();
  } catch (err) {
    if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
    throw err;
  }
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Hash of every zip under `<prefix>data/`, by archive key. */
export async function hashDestination(s3: S3Client, bucket: string, prefix: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const o of await listAll(s3, bucket, `${prefix}data/`)) {
    if (!o.key.endsWith('.zip')) continue;
    out.set(o.key.slice(prefix.length), sha256((await bytesOf(s3, bucket, o.key))!));
  }
  return out;
}

export interface TrustCheck {
  /** Archive keys that a sha256 proof currently applies to. */
  proven: Set<string>;
  /** Archive keys that an accepted proof currently applies to. */
  accepted: Set<string>;
}

/** Fails if any proof applies to bytes whose SHA-256 is not the proven one, or not the one in the source's .CHECKSUM. */
export async function assertTrustInvariant(
  s3: S3Client,
  bucket: string,
  prefix: string,
  sourceBucket: string,
): Promise<TrustCheck> {
  const proven = new Set<string>();
  const accepted = new Set<string>();
  for (const o of await listAll(s3, bucket, `${prefix}_verified/`)) {
    const record = JSON.parse(Buffer.from((await bytesOf(s3, bucket, o.key))!).toString('utf8'));
    let head;
    try {
      head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `${prefix}${record.key}` }));
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) continue; // gone: the proof applies to nothing
      throw err;
    }
    if (head.ETag !== record.destination.etag || head.ContentLength !== record.destination.size) continue; // bytes changed since: not proven
    const actual = sha256((await bytesOf(s3, bucket, `${prefix}${record.key}`))!);
    if (record.level === 'accepted') {
      assert.equal(actual, record.sha256, `accepted bytes of ${record.key} are the ones the operator accepted`);
      accepted.add(record.key);
      continue;
    }
    if (record.level !== 'sha256') continue;
    assert.equal(actual, record.sha256, `${record.key}: the proven bytes hash to what the proof says`);
    assert.equal(record.checksum.sha256, actual, `${record.key}: the proof says the .CHECKSUM matched`);
    const sidecar = await bytesOf(s3, sourceBucket, `${record.key}.CHECKSUM`);
    const sourceHead = await s3
      .send(new HeadObjectCommand({ Bucket: sourceBucket, Key: record.key }))
      .catch(() => undefined);
    if (sidecar && sourceHead?.ETag && sourceHead.ETag === record.source.etag) {
      const name = record.key.split('/').pop()!;
      const line = Buffer.from(sidecar)
        .toString('utf8')
        .split('\n')
        .find((l) => l.replace(/\r$/, '').slice(66) === name);
      // The proof names this source version: the bytes must be what the source's .CHECKSUM says, unless the sidecar is stale.
      if (
        line &&
        record.checksum.etag ===
          (await s3.send(new HeadObjectCommand({ Bucket: sourceBucket, Key: `${record.key}.CHECKSUM` }))).ETag
      ) {
        assert.equal(line.slice(0, 64), actual, `${record.key}: bytes match the source .CHECKSUM`);
      }
    }
    proven.add(record.key);
  }
  return { proven, accepted };
}
