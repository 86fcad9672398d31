import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ensureBucket } from '../../stack/buckets';
import { assertTrustInvariant, hashDestination } from '../helpers/independent-check';
import { collect, mirror, s3, startWorker, uniqueName, type TestWorker } from '../helpers/stack';

/**
 * The code path of a first run against data.binance.vision: a dotted bucket name (path-style only),
 * public, read without credentials, in ap-northeast-1 — here a MinIO bucket named like the archive.
 */
describe("the real archive's path: a dotted, public source bucket read anonymously", () => {
  let w: TestWorker;
  const source = `data.binance.${randomUUID().slice(0, 8)}`;
  const destination = uniqueName('dst-dotted');
  const request = { symbols: ['BTCUSDT'], intervals: ['1m'], startDate: '2025-09-01', endDate: '2025-09-03' };

  before(async () => {
    await ensureBucket(s3, source, true);
    await ensureBucket(s3, destination);
    await mirror(source, request);
    w = await startWorker({ SOURCE_BUCKET: source, SOURCE_REGION: 'ap-northeast-1', SOURCE_AUTH: 'anonymous' });
  });
  after(async () => w?.stop());

  it('discovers, copies and proves every file in both modes', async () => {
    assert.equal(w.config.source.anonymous, true);
    for (const mode of ['auto', 'traditional'] as const) {
      const prefix = `${mode}/`;
      const { report } = await collect(w, {
        ...request,
        symbols: '*',
        mode,
        destination: { bucket: destination, prefix },
      });
      assert.equal(report.files.copied, 3, report.verdict);
      assert.deepEqual(
        report.discovery.symbolSample,
        ['BTCUSDT'],
        'the anonymous delimited listing of the dotted bucket',
      );
      const copied = await hashDestination(s3, destination, prefix);
      const original = await hashDestination(s3, source, '');
      assert.deepEqual([...copied.entries()].sort(), [...original.entries()].sort());
      assert.equal((await assertTrustInvariant(s3, destination, prefix, source)).proven.size, 3);
    }
  });
});
