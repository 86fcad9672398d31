import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../../worker/config';

/**
 * The alert rules evaluated by Prometheus's own promtool (built from the Go module proxy by setup, the
 * version compose runs): each rule's unit tests in alerts.test.yml (fires on its case, quiet on look-alikes),
 * the rules' syntax, and the Prometheus configuration. Metric names are checked against a real worker in
 * test/e2e/observability.test.ts.
 */
const PROMTOOL = path.join(PROJECT_ROOT, '.tools/bin/promtool');
const RULES = path.join(PROJECT_ROOT, 'observability/prometheus');

async function promtool(...args: string[]) {
  return execa(PROMTOOL, args, { reject: false, all: true, env: { PATH: process.env.PATH ?? '' }, extendEnv: false });
}

describe('alert rules, evaluated by promtool', () => {
  it('check rules: every rule parses and is valid PromQL', async () => {
    const r = await promtool('check', 'rules', path.join(RULES, 'alerts.yml'));
    assert.equal(r.exitCode, 0, r.all);
    const rules = readFileSync(path.join(RULES, 'alerts.yml'), 'utf8').match(/- alert: /g)!.length;
    assert.match(r.all!, new RegExp(`SUCCESS: ${rules} rules found`));
  });

  it('test rules: each alert fires on the case it is for, and not on its look-alikes', async () => {
    const r = await promtool('test', 'rules', path.join(RULES, 'alerts.test.yml'));
    assert.equal(r.exitCode, 0, r.all);
    // Every rule has a test.
    const tested = new Set(
      [...readFileSync(path.join(RULES, 'alerts.test.yml'), 'utf8').matchAll(/alertname: (\w+)/g)].map((m) => m[1]),
    );
    const rules = [...readFileSync(path.join(RULES, 'alerts.yml'), 'utf8').matchAll(/- alert: (\w+)/g)].map(
      (m) => m[1],
    );
    assert.deepEqual(
      rules.filter((a) => !tested.has(a)),
      [],
    );
  });

  // The tests can fail: each rule without its branch for a counter born at its first event fails them.
  for (const [rule, branch] of [
    [
      'ArchiveScheduledCollectionFailed',
      /\n\s*or sum by \(schedule\) \(archive_collections_total[^\n]*\n[^\n]*offset 1h\) > 0/,
    ],
    [
      'ArchiveWorkflowTaskFailing',
      /\n\s*or sum by \(workflow_type, failure_reason, task_queue\) \(temporal_workflow_task_execution_failed_total\n[^\n]*offset 15m\) > 0/,
    ],
  ] as const) {
    it(`the tests can fail: ${rule} without its branch for a counter born at its first event fails them`, async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'alerts-'));
      const rules = readFileSync(path.join(RULES, 'alerts.yml'), 'utf8');
      const broken = rules.replace(branch, '');
      assert.notEqual(broken, rules);
      writeFileSync(path.join(dir, 'alerts.yml'), broken);
      copyFileSync(path.join(RULES, 'alerts.test.yml'), path.join(dir, 'alerts.test.yml'));
      const r = await promtool('test', 'rules', path.join(dir, 'alerts.test.yml'));
      assert.notEqual(r.exitCode, 0);
      assert.match(r.all!, new RegExp(`alertname: ${rule}`));
    });
  }

  it('check config: the Prometheus configuration compose mounts is valid', async () => {
    const r = await promtool('check', 'config', '--syntax-only', path.join(RULES, 'prometheus.yml'));
    assert.equal(r.exitCode, 0, r.all);
  });
});
