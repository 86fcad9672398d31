import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { StagingArea } from '../../activities/staging';

describe('staging area', () => {
  it('a worker that starts removes what dead workers on this host left: staged files and s5cmd run files', () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'staging-'));
    // A PID that surely ran and ended: a child this test started and waited for.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    }).stdout;
    const left = path.join(base, `${os.hostname()}-${dead}`);
    mkdirSync(path.join(left, 's5cmd'), { recursive: true });
    writeFileSync(path.join(left, 's5cmd', 's5cmd-run-1.txt'), "cp -n --raw 's3://a/k' 's3://b/k'\n");
    mkdirSync(path.join(left, 'run-b0-p1'));
    writeFileSync(path.join(left, 'run-b0-p1', '0.zip'), 'x');
    const alive = path.join(base, `${os.hostname()}-${process.pid}`);
    const other = path.join(base, `another-host-${dead}`);
    mkdirSync(other);
    const staging = new StagingArea(base, 1_000);
    assert.equal(existsSync(left), false, "the dead worker's folder is gone");
    assert.equal(existsSync(other), true, "another host's folder is not this host's to judge");
    assert.equal(staging.root, alive);
    assert.equal(staging.runDir, path.join(alive, 's5cmd'));
  });
});
