/**
 * Writes observability/grafana/dashboards/archive-collector.json (`npx tsx scripts/dashboard.ts`): the
 * panels are kept here as data so the JSON stays consistent; test/e2e/observability.test.ts checks every
 * metric it names against a real worker's /metrics.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../worker/config';

type Panel = {
  title: string;
  type: 'timeseries' | 'stat' | 'table';
  unit?: string;
  targets: [string, string][];
  description?: string;
};

const BATCH_ACTIVITIES = 'directSyncBatch|proveCopied|downloadBatch|verifyStaged|uploadStaged';
const quantile = (q: number, metric: string, by: string, filter = '') =>
  `histogram_quantile(${q}, sum by (le${by ? `, ${by}` : ''}) (rate(${metric}_bucket${filter}[$__rate_interval])))`;

const rows: { title: string; panels: Panel[] }[] = [
  {
    title: 'Collections',
    panels: [
      {
        title: 'Finished collections by outcome',
        type: 'stat',
        targets: [['sum by (outcome) (increase(archive_collections_total[$__range]))', '{{outcome}}']],
      },
      {
        title: 'Hours since each schedule last finished',
        type: 'table',
        unit: 'h',
        targets: [
          [
            '(time() - max by (schedule) (max_over_time(archive_collection_completed_timestamp{schedule!=""}[7d]))) / 3600',
            '{{schedule}}',
          ],
        ],
      },
      {
        title: 'Files missing from the destination (last report)',
        type: 'stat',
        targets: [['max by (schedule, action) (archive_coverage_missing_files)', '{{action}} {{schedule}}']],
      },
      {
        title: 'Periods the archive has not published (last report)',
        type: 'stat',
        targets: [['max by (schedule, action) (archive_coverage_archive_gap_periods)', '{{action}} {{schedule}}']],
      },
      {
        title: 'Failed workflow runs',
        type: 'stat',
        targets: [
          [
            'sum by (workflow_type) (increase(temporal_workflow_failed_total{workflow_type=~"collectArchive|collectShard"}[$__range]))',
            '{{workflow_type}}',
          ],
        ],
      },
    ],
  },
  {
    title: 'Files and bytes',
    panels: [
      {
        title: 'Files per second by mode and outcome',
        type: 'timeseries',
        unit: 'ops',
        targets: [['sum by (mode, outcome) (rate(archive_files_total[$__rate_interval]))', '{{mode}} {{outcome}}']],
      },
      {
        title: 'Bytes copied per second by mode',
        type: 'timeseries',
        unit: 'Bps',
        targets: [['sum by (mode) (rate(archive_bytes_total[$__rate_interval]))', '{{mode}}']],
      },
      {
        title: 'Checksum failures (mismatch or stale .CHECKSUM)',
        type: 'stat',
        targets: [['sum by (mode) (increase(archive_checksum_failures_total[$__range]))', '{{mode}}']],
      },
      {
        title: 'Fallbacks to the traditional path',
        type: 'timeseries',
        unit: 'percentunit',
        targets: [
          [
            'sum(rate(archive_fallback_files_total[$__rate_interval])) / clamp_min(sum(rate(archive_files_total[$__rate_interval])), 1e-9)',
            'share of files',
          ],
        ],
      },
    ],
  },
  {
    title: 'Batches and Temporal',
    panels: [
      {
        title: 's5cmd run time per batch (p50, p95)',
        type: 'timeseries',
        unit: 'ms',
        targets: [
          [quantile(0.5, 'archive_s5cmd_run_duration', ''), 'p50'],
          [quantile(0.95, 'archive_s5cmd_run_duration', ''), 'p95'],
        ],
      },
      {
        title: 'Batch activity time (p95)',
        type: 'timeseries',
        unit: 'ms',
        targets: [
          [
            quantile(
              0.95,
              'temporal_activity_execution_latency',
              'activity_type',
              `{activity_type=~"${BATCH_ACTIVITIES}"}`,
            ),
            '{{activity_type}}',
          ],
        ],
      },
      {
        title: 'Task latencies: schedule to start (p95)',
        type: 'timeseries',
        unit: 'ms',
        targets: [
          [quantile(0.95, 'temporal_workflow_task_schedule_to_start_latency', ''), 'workflow tasks'],
          [quantile(0.95, 'temporal_activity_schedule_to_start_latency', ''), 'activities'],
        ],
        description: 'Rising values mean the workers are saturated: add workers or slots.',
      },
      {
        title: 'Workflow task execution (p95)',
        type: 'timeseries',
        unit: 'ms',
        targets: [[quantile(0.95, 'temporal_workflow_task_execution_latency', 'workflow_type'), '{{workflow_type}}']],
      },
      {
        title: 'Workflow task failures',
        type: 'timeseries',
        targets: [
          [
            'sum by (workflow_type, failure_reason) (increase(temporal_workflow_task_execution_failed_total[5m]))',
            '{{workflow_type}} {{failure_reason}}',
          ],
        ],
        description:
          'A failing workflow task stalls its run without failing it (a non-determinism error after a deploy, an unknown workflow type).',
      },
      {
        title: 'Activity slots in use',
        type: 'timeseries',
        targets: [['sum by (worker_type) (temporal_worker_task_slots_used)', '{{worker_type}}']],
      },
    ],
  },
];

let id = 1;
let y = 0;
const panels: object[] = [];
for (const row of rows) {
  panels.push({
    id: id++,
    type: 'row',
    title: row.title,
    collapsed: false,
    gridPos: { h: 1, w: 24, x: 0, y: y++ },
    panels: [],
  });
  row.panels.forEach((p, i) => {
    const w = row.panels.length >= 4 ? 6 : 8;
    const x = (i * w) % 24;
    if (i > 0 && x === 0) y += 8;
    panels.push({
      id: id++,
      type: p.type,
      title: p.title,
      ...(p.description ? { description: p.description } : {}),
      datasource: { type: 'prometheus', uid: '${datasource}' },
      gridPos: { h: 8, w, x, y },
      fieldConfig: { defaults: { ...(p.unit ? { unit: p.unit } : {}) }, overrides: [] },
      options: {},
      targets: p.targets.map(([expr, legendFormat], k) => ({
        refId: String.fromCharCode(65 + k),
        expr,
        legendFormat,
        datasource: { type: 'prometheus', uid: '${datasource}' },
      })),
    });
  });
  y += 8;
}

const dashboard = {
  uid: 'archive-collector',
  title: 'Archive collection',
  tags: ['temporal', 's3', 'binance'],
  timezone: 'utc',
  schemaVersion: 39,
  version: 1,
  refresh: '30s',
  time: { from: 'now-24h', to: 'now' },
  templating: {
    list: [
      {
        name: 'datasource',
        type: 'datasource',
        query: 'prometheus',
        current: { text: 'Prometheus', value: 'prometheus' },
      },
    ],
  },
  panels,
};
const out = path.join(PROJECT_ROOT, 'observability/grafana/dashboards/archive-collector.json');
writeFileSync(out, `${JSON.stringify(dashboard, null, 2)}\n`);
console.log(`wrote ${path.relative(process.cwd(), out)}: ${panels.length} panels`);
