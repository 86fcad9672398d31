/**
 * The probe's requests side by side on the real store: the copy probe and the guard probe run while the write probe's
 * object holds `_collections/`, on a folder that did not exist before (versitygw's posix backend removes emptied
 * folders, which once pulled the folder from under a copy). Checked by listing the store, not by the probe's word.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { tryServerSideCopy, probeStoreGuards, withWriteProbe } from '../../activities/probe';
import { freshBuckets, listKeys, mirror, s3, stack, uniqueName } from '../helpers/stack';
import { STORE_FEATURES } from '../helpers/store';

describe('the probe on a fresh folder, its requests side by side', () => {
  let buckets: { source: string; destination: string };
  before(async () => {
    buckets = await freshBuckets('probe');
    await mirror(buckets.source, {
      symbols: ['BTCUSDT'],
      intervals: ['1d'],
      startDate: '2025-01-01',
      endDate: '2025-01-01',
    });
  });

  it('tells every guard and the copy on each try, as the store was found by hand, and leaves nothing behind', async () => {
    const [sample] = (await listKeys(buckets.source, 'data/')).filter((k) => k.endsWith('.CHECKSUM'));
    assert.ok(sample, 'the mirror holds a .CHECKSUM');
    const has = STORE_FEATURES[stack.store];
    for (let round = 0; round < 4; round++) {
      const prefix = `${uniqueName('fresh')}/`;
      const r = await withWriteProbe(s3, buckets.destination, prefix, (writable) =>
        Promise.all([
          tryServerSideCopy(
            { source: s3, destination: s3, sourceBucket: buckets.source },
            sample,
            buckets.destination,
            prefix,
          ),
          probeStoreGuards(s3, buckets.destination, prefix),
          Promise.resolve(writable),
        ]),
      );
      const [copy, guards, writable] = r.found;
      assert.equal(writable, true);
      assert.deepEqual(r.destination, {
        bucket: buckets.destination,
        writable: true,
        detail: 'write and delete succeeded',
      });
      assert.equal(copy.serverSideCopy.works, true, copy.serverSideCopy.detail);
      assert.equal(copy.storeChecksum.supported, true, copy.storeChecksum.detail);
      assert.deepEqual(
        Object.fromEntries(Object.entries(guards).map(([name, g]) => [name, g.honoured])),
        {
          conditionalPut: true,
          putChecksum: has.putChecksum,
          conditionalCopy: has.conditionalCopy,
          conditionalDelete: has.conditionalDelete,
          conditionalCopyIfAbsent: has.copyIfAbsent,
        },
        JSON.stringify(guards, null, 1),
      );
      assert.deepEqual(await listKeys(buckets.destination, prefix), [], `round ${round}: the probes left objects`);
    }
  });
});
