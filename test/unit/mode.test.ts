import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { selectMode } from '../../workflows/mode';
import type { EnvironmentProbe } from '../../workflows/types';

const good: EnvironmentProbe = {
  s5cmd: { available: true, checksums: true, detail: 's5cmd runs' },
  sharedEndpoint: { shared: true, detail: 'same endpoint' },
  sourceOverHttp: false,
  serverSideCopy: { works: true, detail: 'a server-side copy worked' },
  storeChecksum: { supported: true, detail: 'the store computed the SHA-256' },
  destination: { bucket: 'b', writable: true, detail: 'ok' },
};
const with_ = (patch: Partial<EnvironmentProbe>): EnvironmentProbe => ({ ...good, ...patch });

describe('mode selection', () => {
  it('auto picks direct sync when everything allows it', () => {
    const r = selectMode('auto', good);
    assert.ok(r.ok);
    assert.equal(r.decision.mode, 'direct_sync');
    assert.equal(r.decision.proofBy, 'store');
    assert.match(r.decision.reason, /auto: direct sync possible.*proven by the store's SHA-256/);
  });

  it('direct sync proves by reading copies back where the store or s5cmd cannot hash them', () => {
    for (const probe of [
      with_({ storeChecksum: { supported: false, detail: 'the store keeps no SHA-256 of a copy' } }),
      with_({ s5cmd: { available: true, checksums: false, detail: 'stock s5cmd' } }),
    ]) {
      const r = selectMode('auto', probe);
      assert.ok(r.ok);
      assert.deepEqual([r.decision.mode, r.decision.proofBy], ['direct_sync', 'stream']);
    }
  });

  it('a server-side copy that failed for real (e.g. no s3:GetObject on the source) means traditional, decided once', () => {
    const r = selectMode(
      'auto',
      with_({ serverSideCopy: { works: false, detail: "the destination's credentials may not read s3://src/k" } }),
    );
    assert.ok(r.ok);
    assert.equal(r.decision.mode, 'traditional');
    assert.match(r.decision.reason, /no server-side copy \(the destination's credentials may not read/);
  });

  it('auto falls back to traditional without s5cmd, saying why', () => {
    const r = selectMode(
      'auto',
      with_({ s5cmd: { available: false, checksums: false, detail: 'cannot run "s5cmd"' } }),
    );
    assert.ok(r.ok);
    assert.equal(r.decision.mode, 'traditional');
    assert.match(r.decision.reason, /s5cmd unavailable.*cannot run/);
  });

  it('auto falls back to traditional across endpoints', () => {
    const r = selectMode('auto', with_({ sharedEndpoint: { shared: false, detail: 'source endpoint x differs' } }));
    assert.ok(r.ok);
    assert.equal(r.decision.mode, 'traditional');
    assert.match(r.decision.reason, /no server-side copy.*differs/);
  });

  it('traditional when asked, even if direct could work', () => {
    const r = selectMode('traditional', good);
    assert.ok(r.ok);
    assert.equal(r.decision.mode, 'traditional');
  });

  it('direct_sync asked but impossible is an error naming the fix', () => {
    const r = selectMode('direct_sync', with_({ s5cmd: { available: false, checksums: false, detail: 'missing' } }));
    assert.ok(!r.ok);
    assert.match(r.problem, /direct_sync.*s5cmd unavailable.*Use mode "auto" or "traditional"/);
  });

  it('an unwritable destination fails every mode', () => {
    for (const m of ['auto', 'direct_sync', 'traditional'] as const) {
      const r = selectMode(m, with_({ destination: { bucket: 'b', writable: false, detail: 'access denied' } }));
      assert.ok(!r.ok);
      assert.match(r.problem, /"b" is not writable: access denied/);
    }
  });
});
