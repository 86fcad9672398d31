/**
 * The proof step against a stubbed destination: cases no local store shows on demand (a store that keeps a
 * writer-supplied wrong SHA-256; a retry that finds its own promotion beside an older quarantined copy).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Destination, QuarantineEvidence } from '../../activities/destination';
import type { PlanFile } from '../../activities/plan';
import { objectToken, proofNameOf, proofRecordProblem, type ProofRecord } from '../../activities/proof';
import { proveCopied, type ProveEntry } from '../../activities/prove';
import type { SourceReader } from '../../activities/source-reader';
import type { StateStore } from '../../activities/state-store';
import type { BatchRef } from '../../workflows/types';

const KEY = 'data/spot/daily/klines/BTCUSDT/1d/BTCUSDT-1d-2025-01-01.zip';
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const RIGHT = Buffer.from('the bytes Binance published');
const WRONG = Buffer.from('other bytes someone put at the key');
const sidecar = Buffer.from(`${sha(RIGHT)}  BTCUSDT-1d-2025-01-01.zip\n`);
const state = { collectionId: 'c', bucket: 'bkt', destinationPrefix: '', statePrefix: '_collections/c/' };

interface Stub {
  calls: string[];
  proofs: ProofRecord[];
  dest: Destination;
}

/** A destination whose final key holds `bytes`; the store claims `storedSha256` for them when asked. */
function stubDestination(opts: {
  bytes?: Buffer;
  storedSha256?: string;
  proofFor?: 'sha256';
  quarantined?: QuarantineEvidence;
}): Stub {
  const calls: string[] = [];
  const proofs: ProofRecord[] = [];
  const at = opts.bytes ? { etag: '"e-dest"', size: opts.bytes.length } : undefined;
  const dest = {
    bucket: 'bkt',
    prefix: '',
    finalKey: (k: string) => k,
    async storedChecksum(key: string) {
      calls.push('storedChecksum');
      return key === KEY && at && opts.storedSha256 ? { ...at, sha256: opts.storedSha256 } : undefined;
    },
    async readAndHash(key: string) {
      calls.push('readAndHash');
      return key === KEY && at ? { ...at, sha256: sha(opts.bytes!) } : undefined;
    },
    async head(key: string) {
      calls.push(`head ${key}`);
      return key === KEY ? at : undefined;
    },
    async putSidecar() {
      calls.push('putSidecar');
    },
    async recordProof(r: ProofRecord) {
      calls.push(`recordProof ${r.level}`);
      proofs.push(r);
      return 'proof-key';
    },
    async protectingProofNow() {
      return undefined;
    },
    async proofFor() {
      calls.push('proofFor');
      return opts.proofFor;
    },
    async quarantined() {
      calls.push('quarantined');
      return opts.quarantined
        ? { key: `_quarantine/${KEY}`, etag: '"q"', size: 1, evidence: opts.quarantined }
        : undefined;
    },
    async quarantine() {
      calls.push('quarantine');
      return `_quarantine/${KEY}`;
    },
    async removeFromFinalIfUnproven() {
      calls.push('removeFromFinalIfUnproven');
      return true;
    },
    async remove(key: string) {
      calls.push(`remove ${key}`);
    },
    async promote(from: string, etag: string, size: number, key: string) {
      calls.push(`promote ${from}`);
      return { key, etag, size };
    },
    async voidSuspectProofs() {
      return [];
    },
  };
  return { calls, proofs, dest: dest as unknown as Destination };
}

async function prove(
  stub: Stub,
  file: PlanFile,
  ref: Partial<BatchRef> = {},
  opts: { holds?: boolean; direct?: { i: number; outcome: string; etag?: string }[]; unguarded?: string } = {},
) {
  let results: ProveEntry[] = [];
  const store = {
    planBatch: async () => [file],
    results: async (_b: number, step: string) => (step === 'direct' ? opts.direct : undefined),
    putResults: async (_b: number, _s: string, entries: ProveEntry[]) => {
      results = entries;
      return 'results';
    },
  } as unknown as StateStore;
  const source = {
    readIfExists: async () => ({ bytes: sidecar, etag: '"c"' }),
  } as unknown as SourceReader;
  await new MockActivityEnvironment().run(
    proveCopied,
    {
      destinationFor: () => stub.dest,
      source,
      store,
      concurrency: 2,
      storeChecksumHolds: async () => opts.holds ?? false,
      unguardedPromotion: async () => opts.unguarded,
    },
    { state, batch: 0, verification: 'checksum', stallMs: 60_000, ...ref } as BatchRef,
  );
  return results;
}

const copied: PlanFile = { key: KEY, size: RIGHT.length, etag: '"e-src"', checksumEtag: '"c"', action: 'copy' };

describe('the proof step (stubbed destination)', () => {
  it("does not take the store's SHA-256 where the probe found the store does not compute it: it reads the bytes", async () => {
    // The store keeps a writer-supplied SHA-256 (that of the right bytes) for wrong bytes.
    const stub = stubDestination({ bytes: WRONG, storedSha256: sha(RIGHT) });
    const [entry] = await prove(stub, { ...copied, size: WRONG.length });
    assert.ok(
      !stub.calls.includes('storedChecksum'),
      'storeChecksum was not asked for: the stored checksum is not read',
    );
    assert.ok(stub.calls.includes('readAndHash'));
    assert.equal(entry.outcome, 'checksum_mismatch');
    assert.equal(entry.proof, null);
    assert.deepEqual(stub.proofs, [], 'no proof for bytes that do not match');
  });

  it("takes the store's SHA-256 only for the bytes this run's copy wrote, where this worker saw the store compute it", async () => {
    const copiedByRun = [{ i: 0, outcome: 'copied', etag: '"e-dest"' }];
    const stub = stubDestination({ bytes: RIGHT, storedSha256: sha(RIGHT) });
    const [entry] = await prove(stub, copied, { storeChecksum: true }, { holds: true, direct: copiedByRun });
    assert.ok(!stub.calls.includes('readAndHash'));
    assert.equal(entry.outcome, 'copied');
    assert.equal(stub.proofs[0].method, 'store-sha256');

    // The caller says storeChecksum, but this worker never saw the store compute it: the bytes are read.
    const unproven = stubDestination({ bytes: WRONG, storedSha256: sha(RIGHT) });
    const [asked] = await prove(
      unproven,
      { ...copied, size: WRONG.length },
      { storeChecksum: true },
      { direct: copiedByRun },
    );
    assert.equal(asked.outcome, 'checksum_mismatch');
    assert.deepEqual(unproven.proofs, []);

    // Another writer's bytes at the key (another ETag than the copy got, or found there by s5cmd): read, never taken on the store's word.
    for (const direct of [[{ i: 0, outcome: 'copied', etag: '"e-other"' }], [{ i: 0, outcome: 'appeared' }], []]) {
      const other = stubDestination({ bytes: WRONG, storedSha256: sha(RIGHT) });
      const [e] = await prove(
        other,
        { ...copied, size: WRONG.length },
        { storeChecksum: true },
        { holds: true, direct },
      );
      assert.equal(e.outcome, 'checksum_mismatch', JSON.stringify(direct));
      assert.deepEqual(other.proofs, []);
    }
  });

  it('a retried step finds its own promotion before an older quarantined copy of the same source version', async () => {
    // "promote → proof → remove incoming" happened; a copy of this source version was put aside earlier (stale sidecar).
    const evidence: QuarantineEvidence = {
      outcome: 'stale_checksum',
      reason: 'SHA-256 x does not match .CHECKSUM y',
      expectedSha256: null,
      actualSha256: sha(RIGHT),
      source: { etag: copied.etag, size: copied.size },
      sidecarEtag: '"old"',
      kept: null,
      collectionId: 'c',
      at: '2026-01-01T00:00:00Z',
    };
    const stub = stubDestination({ bytes: RIGHT, proofFor: 'sha256', quarantined: evidence });
    const kept = { etag: '"e-old"', size: 9, level: 'sha256' as const, sidecarUnchanged: true };
    const [entry] = await prove(stub, { ...copied, action: 'replace', kept });
    assert.equal(entry.outcome, 'replaced');
    assert.equal(entry.proof, 'sha256');
  });

  it('refuses a verification level it does not know, before any write', async () => {
    const stub = stubDestination({ bytes: WRONG });
    await assert.rejects(
      prove(stub, copied, { verification: 'sha256' as never }),
      (e: Error) =>
        e.name === 'InvalidInputError' && /verification: "sha256" is not a verification level/.test(e.message),
    );
    assert.deepEqual(stub.proofs, []);
    assert.ok(!stub.calls.some((c) => c.startsWith('recordProof') || c === 'putSidecar'));
  });

  describe('a corrected source over a verified copy (replace)', () => {
    const kept = { etag: '"old"', size: 3, level: 'sha256' as const, sidecarUnchanged: false };
    const replacing: PlanFile = { ...copied, action: 'replace', kept };
    const incoming = `_collections/c/incoming/${KEY}`;
    /** The new bytes sit in the incoming folder; the final key keeps the verified old ones. */
    function incomingStub() {
      const stub = stubDestination({ bytes: RIGHT });
      const base = stub.dest as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
      for (const name of ['readAndHash', 'head'] as const) {
        const inner = base[name];
        base[name] = (key: unknown, ...rest: unknown[]) => inner(key === incoming ? KEY : '', ...rest);
      }
      return stub;
    }

    it('is promoted over the verified copy where the store refuses a copy of changed bytes (guarded)', async () => {
      const stub = incomingStub();
      const [entry] = await prove(stub, replacing);
      assert.equal(entry.outcome, 'replaced');
      assert.ok(stub.calls.includes(`promote ${incoming}`), stub.calls.join(', '));
      assert.equal(stub.proofs[0]?.level, 'sha256');
    });

    it('never goes over the verified copy by a copy the store would not guard: the traditional path replaces it', async () => {
      const stub = incomingStub();
      const why = 'this store ignores x-amz-copy-source-if-match';
      const [entry] = await prove(stub, replacing, {}, { unguarded: why });
      assert.equal(entry.fallback, true);
      assert.equal(entry.proof, 'sha256', 'the verified copy still stands');
      assert.match(entry.error ?? '', /ignores x-amz-copy-source-if-match: replaced through the traditional path/);
      assert.ok(!stub.calls.some((c) => c.startsWith('promote')), stub.calls.join(', '));
      assert.ok(stub.calls.includes(`remove ${incoming}`), 'the incoming copy is cleared');
      assert.deepEqual(stub.proofs, []);
    });
  });
});

describe('proof records that cannot be true', () => {
  const record: ProofRecord = {
    key: KEY,
    level: 'sha256',
    sha256: sha(RIGHT),
    checksum: { sha256: sha(RIGHT), etag: '"c"' },
    destination: { key: KEY, etag: '"e-dest"', size: RIGHT.length },
    source: { etag: '"e-src"', size: RIGHT.length },
    method: 'streamed',
    collectionId: 'c',
    recordedAt: '2026-01-01T00:00:00Z',
  };
  const check = (r: ProofRecord, name = proofNameOf(r)) => proofRecordProblem(KEY, name, JSON.stringify(r));

  it('a true record passes; each kind of forgery is named', () => {
    assert.equal(check(record), undefined);
    // What the old verification bypass wrote: level sha256, method unchecked, no hash.
    assert.match(check({ ...record, method: 'unchecked', sha256: null })!, /cannot be earned by method "unchecked"/);
    assert.match(check({ ...record, sha256: null })!, /without the SHA-256/);
    assert.match(check({ ...record, sha256: sha(WRONG) })!, /is not the .CHECKSUM's/);
    assert.match(check({ ...record, key: 'data/other.zip' })!, /not this file/);
    assert.match(
      check(record, { ...proofNameOf(record), destination: objectToken({ etag: '"other"', size: 1 }) })!,
      /name does not match/,
    );
    assert.match(check(record, { ...proofNameOf(record), level: 'size' })!, /body says level "sha256"/);
    assert.match(proofRecordProblem(KEY, proofNameOf(record), 'not json')!, /not JSON/);
    assert.equal(check({ ...record, level: 'size', method: 'sized', sha256: null }), undefined);
    assert.equal(check({ ...record, level: 'none', method: 'unchecked', sha256: null }), undefined);
  });
});
