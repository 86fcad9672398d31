/**
 * A versioned destination under Object Lock (GOVERNANCE retention), on each store of the matrix: a correction adds
 * a version and the verified one stays retrievable, a stale sidecar keeps the verified copy, reruns skip.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutObjectLockConfigurationCommand,
} from '@aws-sdk/client-s3';
import { assertTrustInvariant } from '../helpers/independent-check';
import { collect, freshBuckets, mirror, s3 as s3Shared, sha256Of, startWorker, uniqueName } from '../helpers/stack';

describe('a versioned destination under Object Lock', () => {
  it('a correction adds a version (the verified one stays as a noncurrent version), a stale sidecar keeps the verified copy, and reruns skip', async () => {
    const buckets = await freshBuckets('locked');
    const locked = uniqueName('locked');
    await s3Shared.send(new CreateBucketCommand({ Bucket: locked, ObjectLockEnabledForBucket: true }));
    await s3Shared.send(
      new PutObjectLockConfigurationCommand({
        Bucket: locked,
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } },
        },
      }),
    );
    const request = { symbols: ['LOCKUSDT'], intervals: ['1d'], startDate: '2025-03-01', endDate: '2025-03-03' };
    const rev0 = await mirror(buckets.source, request);
    const w = await startWorker({ SOURCE_BUCKET: buckets.source });
    try {
      const run = async () => (await collect(w, { ...request, destination: { bucket: locked, prefix: '' } })).report;
      assert.equal((await run()).files.byProof.sha256, 3);
      const [corrected] = await mirror(buckets.source, { ...request, endDate: '2025-03-01', revision: 1 });
      const [stale] = await mirror(buckets.source, {
        ...request,
        startDate: '2025-03-02',
        endDate: '2025-03-02',
        revision: 1,
        faults: { staleChecksum: ['2025-03-02'] },
      });
      const second = await run();
      assert.deepEqual(
        [second.files.byOutcome.replaced, second.files.byOutcome.stale_checksum, second.files.byOutcome.skipped],
        [1, 1, 1],
      );
      const versions = async (key: string) =>
        (await s3Shared.send(new ListObjectVersionsCommand({ Bucket: locked, Prefix: key }))).Versions!.filter(
          (v) => v.Key === key,
        );
      const history = await versions(corrected.key);
      assert.equal(history.length, 2, 'the correction added a version');
      const old = history.find((v) => !v.IsLatest)!;
      const oldBytes = await (
        await s3Shared.send(new GetObjectCommand({ Bucket: locked, Key: corrected.key, VersionId: old.VersionId }))
      ).Body!.transformToByteArray();
      assert.equal(
        createHash('sha256').update(oldBytes).digest('hex'),
        rev0.find((f) => f.key === corrected.key)!.sha256,
        'the verified version stays retrievable',
      );
      assert.equal(await sha256Of(locked, corrected.key), corrected.sha256);
      assert.equal(
        await sha256Of(locked, stale.key),
        rev0.find((f) => f.key === stale.key)!.sha256,
        'the verified copy is kept under a stale sidecar',
      );
      const third = await run();
      assert.equal(third.files.byOutcome.skipped, 2);
      assert.equal((await assertTrustInvariant(s3Shared, locked, '', buckets.source)).proven.size, 3);
    } finally {
      await w.stop();
    }
  });
});
