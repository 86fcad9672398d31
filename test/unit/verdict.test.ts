import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verdictOf } from '../../workflows/verdict';

const files = (byOutcome: Record<string, number>, byProof: Record<string, number>, failed = 0) => ({
  total: Object.values(byOutcome).reduce((a, b) => a + b, 0),
  failed,
  notPublished: byOutcome.not_published ?? 0,
  quarantined: (byOutcome.checksum_mismatch ?? 0) + (byOutcome.stale_checksum ?? 0),
  byOutcome,
  byProof,
});

describe('verdict', () => {
  it('claims SHA-256 proof only when every present file has it', () => {
    assert.deepEqual(verdictOf(files({ copied: 3, skipped: 2 }, { sha256: 5 })), {
      ok: true,
      verdict: 'OK: all 5 published files are in the destination, each with SHA-256 proof against its .CHECKSUM',
    });
    const weak = verdictOf(files({ copied: 3 }, { none: 3 }));
    assert.equal(weak.ok, true);
    assert.match(weak.verdict, /0 with SHA-256 proof, 3 not checked/);
    assert.match(
      verdictOf(files({ skipped: 2 }, { sha256: 1, accepted: 1 })).verdict,
      /: 1 with SHA-256 proof, 1 accepted by an operator/,
    );
  });
  it('fails with the reasons, and when nothing is published', () => {
    const v = verdictOf(files({ copied: 1, stale_checksum: 1 }, { sha256: 2 }, 1));
    assert.equal(v.ok, false);
    assert.match(v.verdict, /1 of 2 .*1 stale_checksum.*quarantine/);
    assert.deepEqual(verdictOf(files({ not_published: 4 }, {})).ok, false);
  });
});
