import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeEntry } from '../../activities/manifest';
import { batchName, chunk, decideAction, sameObject } from '../../activities/plan';
import { retryPolicyFor } from '../../workflows/retry';

const zip = { size: 100, etag: '"abc"' };
const sum = { size: 90, etag: '"s1"' };

describe('plan decisions', () => {
  it('skips a present, identical, verified file', () => {
    assert.equal(decideAction({ zip, checksum: sum }, { zip: { ...zip }, checksum: { ...sum } }, 'checksum'), 'skip');
  });
  it('copies what is missing', () => {
    assert.equal(decideAction({ zip, checksum: sum }, {}, 'checksum'), 'copy');
  });
  it('re-copies a source that changed (Binance re-upload): new checksum, same size', () => {
    assert.equal(decideAction({ zip: { size: 100, etag: '"new"' }, checksum: { size: 90, etag: '"s2"' } }, { zip, checksum: sum }, 'checksum'), 'copy');
  });
  it('re-copies when only the checksum changed, even with a multipart ETag', () => {
    assert.equal(decideAction({ zip: { size: 100, etag: '"x-2"' }, checksum: { size: 90, etag: '"s2"' } }, { zip, checksum: sum }, 'checksum'), 'copy');
  });
  it('verifies, without copying again, a copied file that was never verified', () => {
    assert.equal(decideAction({ zip, checksum: sum }, { zip }, 'checksum'), 'verify_only');
    assert.equal(decideAction({ zip, checksum: sum }, { zip }, 'none'), 'copy');
  });
  it('different size is a different object', () => {
    assert.equal(sameObject(zip, { size: 101, etag: '"abc"' }), false);
    assert.equal(sameObject(zip, { size: 100, etag: 'ABC' }), true);
  });
  it('chunks and names batches', () => {
    assert.deepEqual(chunk([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
    assert.equal(batchName(12), 'batch-000012');
  });
});

describe('manifest merge', () => {
  const file = { key: 'k.zip', size: 10, etag: 'e', checksumEtag: 'c', action: 'copy' as const };
  it('traditional result wins over direct', () => {
    const e = mergeEntry(file, { i: 0, outcome: 'fallback', error: 'x', attempt: 1 }, undefined, { i: 0, outcome: 'copied', sha256: 'h', error: null, attempt: 2 }, undefined);
    assert.deepEqual([e.mode, e.outcome, e.sha256, e.attempts], ['traditional', 'copied', 'h', 2]);
  });
  it('a copied but unverified file is failed, never good', () => {
    const e = mergeEntry(file, { i: 0, outcome: 'copied', error: null, attempt: 1 }, undefined, undefined, 'verification failed: boom');
    assert.equal(e.outcome, 'failed');
    assert.match(e.error!, /boom/);
  });
  it('missing results are failed with a reason', () => {
    assert.equal(mergeEntry(file, undefined, undefined, undefined, undefined).outcome, 'failed');
  });
});

describe('retry policies', () => {
  it('defaults per kind, request overrides win, access errors are non-retryable', () => {
    const p = retryPolicyFor('directSync', { default: { maximumAttempts: 9 }, directSync: { initialIntervalMs: 5 } });
    assert.equal(p.maximumAttempts, 9);
    assert.equal(p.initialInterval, 5);
    assert.ok(p.nonRetryableErrorTypes?.includes('AccessDeniedError'));
    assert.equal(retryPolicyFor('list', {}).maximumAttempts, 8);
  });
});
