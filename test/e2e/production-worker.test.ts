import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startCollection } from '../../client/collection';
import { s5cmdChildren } from '../helpers/processes';
import { freshBuckets, mirror, testClient } from '../helpers/stack';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';

describe('the production worker process', () => {
  let buckets: { source: string; destination: string };
  let worker: WorkerProcess;
  const metricsPort = 19464;
  const request = { symbols: ['TRXUSDT'], intervals: ['1h'], startDate: '2025-05-01', endDate: '2025-05-04' };

  before(async () => {
    buckets = await freshBuckets('prod');
    await mirror(buckets.source, { ...request, faults: { checksumMismatch: ['2025-05-02'] } });
    worker = await spawnWorker({
      SOURCE_BUCKET: buckets.source,
      METRICS_PORT: String(metricsPort),
      WORKFLOW_BUNDLE_PATH: process.env.WORKFLOW_BUNDLE_PATH!,
    });
  });
  after(() => {
    if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
  });

  it('runs from the prebuilt bundle, exports metrics, logs JSON, and stops cleanly on SIGTERM', async () => {
    const client = await testClient();
    const { handle } = await startCollection(
      client,
      { ...request, destination: { bucket: buckets.destination, prefix: '' } },
      { taskQueue: worker.taskQueue },
    );
    const report = await handle.result();
    assert.equal(report.files.copied, 3);
    assert.equal(report.files.byOutcome.checksum_mismatch, 1);

    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    mkdirSync('artifacts', { recursive: true });
    writeFileSync('artifacts/worker-metrics.txt', metrics);
    assert.match(metrics, /archive_files_total\{[^}]*mode="direct_sync"[^}]*outcome="copied"[^}]*\} 3/);
    assert.match(metrics, /archive_checksum_failures_total\{[^}]*\} 1/);
    assert.match(metrics, /archive_bytes_total\{[^}]*mode="direct_sync"/);
    assert.match(metrics, /temporal_activity_execution_latency/, "the runtime's own metrics are there too");

    const json = worker.logs.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    assert.ok(
      json.some((e) => e.message === 's5cmd batch done' && e.activityType === 'directSyncBatch' && e.proven >= 3),
      'structured activity logs',
    );
    assert.ok(json.some((e) => e.message === 'file not proven' && e.outcome === 'checksum_mismatch'));

    worker.child.kill('SIGTERM');
    const code = await worker.exited;
    assert.equal(code, 0);
    assert.ok(worker.logs.some((l) => l.includes('worker stopped')));
    assert.deepEqual(s5cmdChildren(worker.child.pid!), [], 'no s5cmd left behind');
  });
});
