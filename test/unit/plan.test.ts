import assert from 'node:assert/strict';
import { AccessDeniedError, InvalidInputError, SeriesNotInArchiveError, StalledError } from '../../common/errors';
import { describe, it } from 'node:test';
import { mergeEntry } from '../../activities/manifest';
import { batchName, chunk, decide } from '../../activities/plan';
import {
  checksumToken,
  objectToken,
  parseProofKey,
  proofFileName,
  satisfies,
  type ProofLevel,
  type ProofName,
} from '../../activities/proof';
import { retryPolicyFor } from '../../workflows/retry';

const zip = { size: 100, etag: '"abc"' };
const sum = { size: 90, etag: '"s1"' };
/** A destination copy: the store gives it its own ETag, which need not be the source's (multipart, SSE-KMS). */
const copy = { size: 100, etag: '"dst-9f-3"' };
const proof = (
  level: ProofLevel,
  dest = copy,
  source = zip,
  checksum: { etag: string } | undefined = sum,
): ProofName => ({
  level,
  destination: objectToken(dest),
  source: objectToken(source),
  checksum: checksumToken(checksum?.etag),
});

describe('plan decisions', () => {
  it('copies in place what the destination does not have', () => {
    assert.deepEqual(decide({ zip, checksum: sum }, { proofs: [] }, 'checksum'), { action: 'copy' });
  });

  it('skips only bytes a proof is bound to, for the source as it is now, whatever the ETags look like', () => {
    assert.deepEqual(decide({ zip, checksum: sum }, { zip: copy, proofs: [proof('sha256')] }, 'checksum'), {
      action: 'skip',
      proof: 'sha256',
    });
  });

  it('never trusts a zip for standing beside a .CHECKSUM: without a proof it is proven in place', () => {
    assert.deepEqual(decide({ zip, checksum: sum }, { zip: { ...zip }, proofs: [] }, 'checksum'), {
      action: 'verify_only',
      seen: zip,
    });
  });

  it('an overwritten copy (other ETag or size) loses its proof', () => {
    const overwritten = { size: 100, etag: '"other"' };
    assert.deepEqual(decide({ zip, checksum: sum }, { zip: overwritten, proofs: [proof('sha256')] }, 'checksum'), {
      action: 'verify_only',
      seen: overwritten,
    });
    assert.deepEqual(
      decide({ zip, checksum: sum }, { zip: { size: 99, etag: copy.etag }, proofs: [proof('sha256')] }, 'checksum'),
      { action: 'replace', seen: { size: 99, etag: copy.etag } },
    );
  });

  it('a re-upload (new zip) replaces a verified copy only beside it, keeping it until the new bytes pass', () => {
    const newZip = { size: 100, etag: '"new"' };
    const newSum = { size: 90, etag: '"s2"' };
    const d = decide({ zip: newZip, checksum: newSum }, { zip: copy, proofs: [proof('sha256')] }, 'checksum');
    assert.deepEqual(d, {
      action: 'replace',
      kept: { etag: copy.etag, size: 100, level: 'sha256', sidecarUnchanged: false },
      seen: copy,
    });
    const stale = decide({ zip: newZip, checksum: sum }, { zip: copy, proofs: [proof('sha256')] }, 'checksum');
    assert.equal(
      stale.action === 'replace' && stale.kept?.sidecarUnchanged,
      true,
      'a new zip under the old .CHECKSUM is marked as a possible stale sidecar',
    );
  });

  it('a new .CHECKSUM over the same zip re-checks the kept bytes, copying nothing', () => {
    const d = decide(
      { zip, checksum: { size: 90, etag: '"s2"' } },
      { zip: copy, proofs: [proof('sha256')] },
      'checksum',
    );
    assert.deepEqual(d, {
      action: 'verify_only',
      kept: { etag: copy.etag, size: 100, level: 'sha256', sidecarUnchanged: false },
      seen: copy,
    });
  });

  it('weaker runs record weaker proofs, and a checksum run proves those files', () => {
    assert.deepEqual(decide({ zip, checksum: sum }, { zip: copy, proofs: [proof('none')] }, 'none'), {
      action: 'skip',
      proof: 'none',
    });
    assert.deepEqual(decide({ zip, checksum: sum }, { zip: copy, proofs: [proof('none')] }, 'checksum'), {
      action: 'verify_only',
      seen: copy,
    });
    assert.deepEqual(decide({ zip, checksum: sum }, { zip: copy, proofs: [proof('size')] }, 'size'), {
      action: 'skip',
      proof: 'size',
    });
    assert.deepEqual(decide({ zip, checksum: sum }, { zip: copy, proofs: [proof('size')] }, 'checksum'), {
      action: 'verify_only',
      seen: copy,
    });
    assert.deepEqual(decide({ zip, checksum: sum }, { zip: copy, proofs: [proof('sha256'), proof('none')] }, 'none'), {
      action: 'skip',
      proof: 'sha256',
    });
  });

  it('an operator-accepted copy is kept like a verified one', () => {
    assert.deepEqual(decide({ zip, checksum: sum }, { zip: copy, proofs: [proof('accepted')] }, 'checksum'), {
      action: 'skip',
      proof: 'accepted',
    });
    assert.equal(
      decide({ zip: { size: 100, etag: '"n"' }, checksum: sum }, { zip: copy, proofs: [proof('accepted')] }, 'checksum')
        .action,
      'replace',
    );
  });

  it('unproven bytes of another size are replaced (never overwritten in place)', () => {
    assert.deepEqual(decide({ zip, checksum: sum }, { zip: { size: 7, etag: '"x"' }, proofs: [] }, 'checksum'), {
      action: 'replace',
      seen: { size: 7, etag: '"x"' },
    });
    assert.deepEqual(decide({ zip, checksum: sum }, { zip: copy, proofs: [] }, 'none'), {
      action: 'replace',
      seen: copy,
    });
  });

  it('chunks and names batches', () => {
    assert.deepEqual(chunk([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
    assert.equal(batchName(12), 'batch-000012');
  });
});

describe('proof records', () => {
  it('names round-trip, and tokens ignore ETag quoting and case only', () => {
    const p = proof('sha256');
    const key = `b/_verified/data/spot/daily/klines/币安人生USDT/1d/币安人生USDT-1d-2025-01-01.zip/${proofFileName(p)}`;
    assert.deepEqual(parseProofKey('b/_verified/', key), {
      sourceKey: 'data/spot/daily/klines/币安人生USDT/1d/币安人生USDT-1d-2025-01-01.zip',
      proof: p,
    });
    assert.equal(objectToken({ etag: '"ABC"', size: 1 }), objectToken({ etag: 'abc', size: 1 }));
    assert.notEqual(objectToken({ etag: 'abc', size: 1 }), objectToken({ etag: 'abc', size: 2 }));
    assert.notEqual(checksumToken('x'), checksumToken(undefined));
    assert.equal(parseProofKey('b/_verified/', 'b/_verified/k.zip/sha256.zz.yy.xx'), undefined);
    assert.equal(parseProofKey('b/_verified/', 'b/data/k.zip'), undefined);
  });
  it('levels satisfy runs at or below them', () => {
    assert.deepEqual(
      ['sha256', 'accepted', 'size', 'none'].map((l) => satisfies(l as ProofLevel, 'checksum')),
      [true, true, false, false],
    );
    assert.deepEqual(
      ['sha256', 'accepted', 'size', 'none'].map((l) => satisfies(l as ProofLevel, 'size')),
      [true, true, true, false],
    );
  });
});

describe('manifest merge', () => {
  const file = { key: 'k.zip', size: 10, etag: 'e', checksumEtag: 'c', action: 'copy' as const };
  it('traditional result wins over direct', () => {
    const e = mergeEntry(
      file,
      { i: 0, outcome: 'fallback', error: 'x', attempt: 1 },
      undefined,
      { i: 0, outcome: 'copied', proof: 'sha256', sha256: 'h', error: null, attempt: 2 },
      undefined,
    );
    assert.deepEqual([e.mode, e.outcome, e.proof, e.sha256, e.attempts], ['traditional', 'copied', 'sha256', 'h', 2]);
  });
  it('a copied but unproven file is failed, never good', () => {
    const e = mergeEntry(
      file,
      { i: 0, outcome: 'copied', error: null, attempt: 1 },
      undefined,
      undefined,
      'verification failed: boom',
    );
    assert.equal(e.outcome, 'failed');
    assert.equal(e.proof, null);
    assert.match(e.error!, /not proven.*boom/);
  });
  it('a file handed to the traditional path that never got there is failed with both reasons', () => {
    const e = mergeEntry(
      file,
      undefined,
      {
        i: 0,
        outcome: 'checksum_mismatch',
        proof: null,
        sha256: 'h',
        error: 'wrong bytes; replacing it',
        attempt: 1,
        fallback: true,
      },
      undefined,
      'traditional copy failed: disk',
    );
    assert.equal(e.outcome, 'failed');
    assert.match(e.error!, /wrong bytes.*disk/);
  });
  it('missing results are failed with a reason', () => {
    assert.equal(mergeEntry(file, undefined, undefined, undefined, undefined).outcome, 'failed');
  });
});

describe('retry policies', () => {
  it('defaults per kind, request overrides win, errors no retry fixes are non-retryable', () => {
    const p = retryPolicyFor('directSync', { default: { maximumAttempts: 9 }, directSync: { initialIntervalMs: 5 } });
    assert.equal(p.maximumAttempts, 9);
    assert.equal(p.initialInterval, 5);
    // The errors say themselves whether a retry can help (common/errors.ts): the policy lists no names.
    assert.equal(p.nonRetryableErrorTypes, undefined);
    for (const E of [AccessDeniedError, InvalidInputError, SeriesNotInArchiveError])
      assert.equal(new E('x').nonRetryable, true);
    assert.equal(new StalledError('x').nonRetryable, false, 'a stall is retried');
    assert.equal(retryPolicyFor('list', {}).maximumAttempts, 8);
  });
});
