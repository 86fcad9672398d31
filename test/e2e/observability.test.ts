import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError } from '@temporalio/client';
import { parse } from 'yaml';
import { createSchedule } from '../../client/schedules';
import { addDays, formatDay, startOfUtcDay } from '../../workflows/dates';
import { freshBuckets, mirror, testClient, uniqueName } from '../helpers/stack';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';

const DASHBOARD = 'observability/grafana/dashboards/archive-collector.json';
const ALERTS = 'observability/prometheus/alerts.yml';

/** Every PromQL expression in the dashboard and the alert rules, with where it comes from. */
function expressions(): { where: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
  const rules = parse(readFileSync(ALERTS, 'utf8')).groups.flatMap((g: { rules: object[] }) => g.rules) as {
    alert: string;
    expr: string;
  }[];
  return [
    ...dashboard.panels.flatMap((p: { title: string; targets?: { expr: string }[] }) =>
      (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr })),
    ),
    ...rules.map((r) => ({ where: `alert ${r.alert}`, expr: String(r.expr) })),
  ];
}

/** Metric families in a Prometheus exposition (# TYPE lines), and the label names seen on each. */
function families(exposition: string): Map<string, { type: string; labels: Set<string> }> {
  const out = new Map<string, { type: string; labels: Set<string> }>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1], { type: m[2], labels: new Set() });
  for (const m of exposition.matchAll(/^([a-zA-Z_:][\w:]*)\{([^}]*)\}/gm)) {
    const family = out.get(m[1]) ?? out.get(m[1].replace(/_(bucket|sum|count)$/, ''));
    for (const l of m[2].matchAll(/(\w+)="/g)) family?.labels.add(l[1]);
  }
  return out;
}

describe('metrics, dashboard and alert rules against a real worker', () => {
  let worker: WorkerProcess | undefined;
  let buckets: { source: string; destination: string };
  const metricsPort = 19465;
  const day = formatDay(addDays(startOfUtcDay(new Date()), -1));

  before(async () => {
    buckets = await freshBuckets('obs');
    await mirror(buckets.source, {
      symbols: ['DOTUSDT'],
      intervals: ['1h'],
      startDate: day,
      endDate: day,
      faults: { checksumMismatch: [day] },
    });
    await mirror(buckets.source, { symbols: ['ADAUSDT'], intervals: ['1h'], startDate: day, endDate: day });
    worker = await spawnWorker({
      SOURCE_BUCKET: buckets.source,
      METRICS_PORT: String(metricsPort),
      WORKFLOW_BUNDLE_PATH: process.env.WORKFLOW_BUNDLE_PATH!,
    });
  });
  after(() => {
    if (worker?.child.exitCode === null) worker.child.kill('SIGKILL');
  });

  it('every metric and label the dashboard and the alerts use is one a real worker exports, after the runs they watch', async () => {
    const client = await testClient();
    // A scheduled run with a checksum mismatch (completed with failures, coverage gap, checksum failure) …
    const scheduleId = uniqueName('obs-daily');
    const schedule = await createSchedule(client, {
      scheduleId,
      taskQueue: worker!.taskQueue,
      preset: 'daily',
      paused: true,
      request: {
        symbols: ['DOTUSDT', 'ADAUSDT'],
        intervals: ['1h'],
        lastDays: 1,
        destination: { bucket: buckets.destination, prefix: 'obs/' },
      },
    });
    try {
      await schedule.trigger();
      let done = false;
      for (let i = 0; i < 120 && !done; i++) {
        for await (const x of client.workflow.list({
          query: `TemporalScheduledById="${scheduleId}" AND ExecutionStatus="Completed"`,
        }))
          done ||= Boolean(x);
        if (!done) await sleep(500);
      }
      assert.ok(done, 'the scheduled run completed');
    } finally {
      await schedule.delete();
    }
    // … and a run that fails outright (a request naming a data type that does not exist).
    await assert.rejects(
      client.workflow.execute('collectArchive', {
        taskQueue: worker!.taskQueue,
        workflowId: uniqueName('obs-bad'),
        args: [{ dataTypes: ['klinez'] }],
      }),
      WorkflowFailedError,
    );

    // … and a workflow task that fails (as after a deploy that breaks determinism): the run waits, not fails.
    const stuck = await client.workflow.start('collectArchiveRenamedByMistake', {
      taskQueue: worker!.taskQueue,
      workflowId: uniqueName('obs-stuck'),
      args: [{}],
    });

    let exposition = '';
    const seen = (text: string) =>
      /temporal_workflow_failed_total\{/.test(text) && /temporal_workflow_task_execution_failed_total\{/.test(text);
    try {
      for (let i = 0; i < 40 && !seen(exposition); i++) {
        if (i) await sleep(500);
        exposition = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      }
    } finally {
      await stuck.terminate('test done');
    }
    mkdirSync('artifacts', { recursive: true });
    writeFileSync('artifacts/observability-metrics.txt', exposition);
    const exported = families(exposition);

    // The scheduled run is labelled with its schedule.
    assert.match(
      exposition,
      new RegExp(
        `archive_collections_total\\{action="collect",outcome="completed_with_failures",schedule="${scheduleId}"\\} 1`,
      ),
    );
    assert.match(
      exposition,
      new RegExp(`archive_coverage_missing_files\\{action="collect",schedule="${scheduleId}"\\} 1`),
    );
    assert.match(exposition, /archive_checksum_failures_total\{mode="direct_sync"\} 1/);

    const problems: string[] = [];
    for (const { where, expr } of expressions()) {
      for (const [, name] of expr.matchAll(/\b((?:archive|temporal)_[a-z0-9_]+)\b/g)) {
        const base = name.replace(/_bucket$/, '');
        const family = exported.get(base);
        if (!family) problems.push(`${where}: ${name} is not exported`);
        else if (name.endsWith('_bucket') && family.type !== 'histogram')
          problems.push(`${where}: ${base} is a ${family.type}, not a histogram`);
      }
      // Labels it groups or filters by exist on the metrics it names.
      const names = [...expr.matchAll(/\b((?:archive|temporal)_[a-z0-9_]+)\b/g)].map((m) =>
        m[1].replace(/_bucket$/, ''),
      );
      const labels = [...expr.matchAll(/by \(([^)]*)\)/g)]
        .flatMap((m) => m[1].split(',').map((x) => x.trim()))
        .concat([...expr.matchAll(/(\w+)(?:=~|!=|=)"/g)].map((m) => m[1]));
      for (const label of labels.filter((l) => l && l !== 'le')) {
        if (!names.some((n) => exported.get(n)?.labels.has(label)))
          problems.push(`${where}: no metric in it has the label ${label}`);
      }
    }
    assert.deepEqual(problems, []);
  });
});
