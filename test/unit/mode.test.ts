import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { selectMode } from '../../workflows/mode';
import type { EnvironmentProbe } from '../../workflows/types';

const good: EnvironmentProbe = {
  s5cmd: { available: true, detail: 's5cmd runs' },
  sharedEndpoint: { shared: true, detail: 'same endpoint' },
  destination: { bucket: 'b', writable: true, detail: 'ok' },
};
const with_ = (patch: Partial<EnvironmentProbe>): EnvironmentProbe => ({ ...good, ...patch });

describe('mode selection', () => {
  it('auto picks direct sync when everything allows it', () => {
    const r = selectMode('auto', good);
    assert.ok(r.ok);
    assert.equal(r.decision.mode, 'direct_sync');
    assert.match(r.decision.reason, /auto: direct sync possible/);
  });

  it('auto falls back to traditional without s5cmd, saying why', () => {
    const r = selectMode('auto', with_({ s5cmd: { available: false, detail: 'cannot run "s5cmd"' } }));
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
    const r = selectMode('direct_sync', with_({ s5cmd: { available: false, detail: 'missing' } }));
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
