/**
 * An SSE-KMS destination bucket on MinIO with its built-in KMS: every write gets a new ETag that is
 * not the content's MD5 (the same bytes written twice get two ETags). Proofs bind to the ETag the
 * destination reports, so reruns still skip proven files and never guess from ETags.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CreateBucketCommand,
  ListObjectsV2Command,
  PutBucketEncryptionCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startCollection } from '../../client/collection';
import { adminClient } from '../../stack/buckets';
import { fillMirror, type MirrorFile } from '../../stack/mirror';
import { assertTrustInvariant, hashDestination } from '../helpers/independent-check';
import { privateStack } from '../helpers/private-stack';
import { startWorker, uniqueName, type TestWorker } from '../helpers/stack';

describe('an SSE-KMS destination (ETags are not MD5s)', () => {
  let env: Awaited<ReturnType<typeof privateStack>>;
  let s3: S3Client;
  let w: TestWorker;
  let files: MirrorFile[];
  let bucket: string;
  const request = { symbols: ['KMSUSDT'], intervals: ['1h'], startDate: '2025-02-01', endDate: '2025-02-06' };

  before(async () => {
    // SSE-KMS needs MinIO's built-in KMS: versitygw does not encrypt (its bucket encryption API answers 501).
    env = await privateStack('kms', 25233, {
      STACK_STORE: 'minio',
      STACK_MINIO_KMS_SECRET_KEY: `bronze-key:${randomBytes(32).toString('base64')}`,
    });
    s3 = adminClient(env.stack);
    files = await fillMirror(s3, env.stack.sourceBucket, request);
    bucket = uniqueName('kms');
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(
      new PutBucketEncryptionCommand({
        Bucket: bucket,
        ServerSideEncryptionConfiguration: {
          Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'bronze-key' } }],
        },
      }),
    );
    w = await startWorker({}, undefined, env.stack);
  });
  after(async () => {
    await w?.stop();
    await env?.stop();
  });

  it('the bucket really gives each write its own, non-MD5 ETag', async () => {
    const a = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'probe/a', Body: 'same bytes' }));
    const b = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'probe/b', Body: 'same bytes' }));
    assert.equal(a.ServerSideEncryption, 'aws:kms');
    assert.notEqual(a.ETag, b.ETag);
  });

  for (const mode of ['direct_sync', 'traditional'] as const) {
    it(`${mode}: copies with SHA-256 proof, and a rerun skips every file without reading it`, async () => {
      const prefix = `${mode}/`;
      const run = async () =>
        (
          await startCollection(
            env.client,
            { ...request, mode, destination: { bucket, prefix } },
            { taskQueue: w.config.temporal.taskQueue },
          )
        ).handle.result();
      const first = await run();
      assert.equal(first.ok, true, first.verdict);
      assert.equal(first.files.byProof.sha256, files.length);
      // The unencrypted source's ETags are MD5s; the copies' are not: an ETag comparison would call every file changed.
      const etags = async (b: string, p: string) =>
        new Map(
          ((await s3.send(new ListObjectsV2Command({ Bucket: b, Prefix: p }))).Contents ?? [])
            .filter((o) => o.Key!.endsWith('.zip'))
            .map((o) => [o.Key!.slice(p.length - 'data/'.length), o.ETag!]),
        );
      const source = await etags(env.stack.sourceBucket, 'data/');
      const copies = await etags(bucket, `${prefix}data/`);
      assert.equal(copies.size, files.length);
      for (const [key, etag] of copies) {
        assert.ok(source.get(key), key);
        assert.notEqual(etag, source.get(key), key);
      }
      const second = await run();
      assert.equal(second.files.skipped, files.length, JSON.stringify(second.files.byOutcome));
      assert.equal(second.bytes.throughWorker, 0);
      const hashes = await hashDestination(s3, bucket, prefix);
      for (const f of files) assert.equal(hashes.get(f.key), f.sha256);
      assert.equal((await assertTrustInvariant(s3, bucket, prefix, env.stack.sourceBucket)).proven.size, files.length);
      const proofs =
        (await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}_verified/` }))).Contents ?? [];
      assert.equal(proofs.length, files.length, 'one proof per file, whatever the ETag form');
    });
  }
});
