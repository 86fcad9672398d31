import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startCollection } from '../../client/collection';
import { runCliWithEnv } from '../helpers/cli';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver';
import { freshBuckets, mirror, testClient } from '../helpers/stack';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';

describe('tracing (OpenTelemetry over OTLP/HTTP): worker and client', () => {
  let receiver: OtlpReceiver;
  let worker: WorkerProcess | undefined;
  let buckets: { source: string; destination: string };
  const request = { symbols: ['LTCUSDT'], intervals: ['1d'], startDate: '2025-07-01', endDate: '2025-07-04' };

  before(async () => {
    receiver = await startOtlpReceiver();
    buckets = await freshBuckets('trace');
    await mirror(buckets.source, request);
  });
  after(async () => {
    if (worker?.child.exitCode === null) worker.child.kill('SIGKILL');
    await receiver?.close();
  });

  it('a collection is one trace: workflow → activities → S3 requests and s5cmd runs, exported to the receiver', async () => {
    worker = await spawnWorker({
      SOURCE_BUCKET: buckets.source,
      WORKFLOW_BUNDLE_PATH: process.env.WORKFLOW_BUNDLE_PATH!,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: 'archive-test-worker',
      OTEL_BSP_SCHEDULE_DELAY: '200',
    });
    assert.ok(worker.logs.some((l) => l.includes(`tracing to ${receiver.url}/v1/traces`)));
    const client = await testClient();
    const { handle } = await startCollection(
      client,
      { ...request, destination: { bucket: buckets.destination, prefix: 'traced/' } },
      { taskQueue: worker.taskQueue },
    );
    const report = await handle.result();
    assert.equal(report.files.copied, 4);

    // The client traces too: a run started by `client collect` continues the client's trace.
    const cli = await runCliWithEnv(
      { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'archive-test-client' },
      worker.taskQueue,
      'collect',
      ...['--symbols', 'LTCUSDT', '--intervals', '1d', '--start', '2025-07-01', '--end', '2025-07-04'],
      ...['--bucket', buckets.destination, '--prefix', 'traced-cli/', '--wait'],
    );
    assert.equal(cli.code, 0, cli.err);

    worker.child.kill('SIGTERM'); // the worker flushes its spans as it stops
    assert.equal(await worker.exited, 0);

    const spans = receiver.spans;
    assert.ok(spans.length > 0, 'spans reached the receiver');
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const ancestors = (s: ReceivedSpan) => {
      const names: string[] = [];
      for (
        let p = s.parentSpanId && byId.get(s.parentSpanId);
        p;
        p = p.parentSpanId ? byId.get(p.parentSpanId) : undefined
      )
        names.push(p.name);
      return names;
    };
    const started = spans.find((s) => s.name === 'StartWorkflow:collectArchive');
    assert.ok(started, 'the client exported its span');
    assert.equal(started.service, 'archive-test-client');
    const cliRun = spans.find((s) => s.name === 'RunWorkflow:collectArchive' && s.traceId === started.traceId);
    assert.ok(cliRun, "the run started by the client is in the client's trace");
    assert.ok(ancestors(cliRun).includes('StartWorkflow:collectArchive'), 'and its start span is its ancestor');
    assert.ok(spans.some((s) => s.traceId === started.traceId && s.name === 's5cmd run'));
    assert.deepEqual(new Set(spans.map((s) => s.service)), new Set(['archive-test-worker', 'archive-test-client']));
    // Following the run (describe, progress queries) are spans of their own.
    assert.deepEqual(
      spans
        .filter((s) => s.service === 'archive-test-client' && s.traceId !== started.traceId)
        .map((s) => s.name.replace(/:.*/, ''))
        .filter((n) => !['DescribeWorkflow', 'QueryWorkflow'].includes(n)),
      [],
    );

    const root = spans.find((s) => s.name === 'RunWorkflow:collectArchive' && s.traceId !== started.traceId);
    assert.ok(root, `a span for the collection workflow among ${[...new Set(spans.map((s) => s.name))].join(', ')}`);
    const trace = spans.filter((s) => s.traceId === root.traceId);

    const s5cmd = trace.filter((s) => s.name === 's5cmd run');
    assert.ok(s5cmd.length >= 1, 'the s5cmd run is a span of the collection');
    assert.equal(s5cmd[0].attributes['s5cmd.exit_code'], 0);
    assert.ok(Number(s5cmd[0].attributes['s5cmd.commands']) >= 4);
    assert.match(
      ancestors(s5cmd[0]).join(' < '),
      /^RunActivity:directSyncBatch < .*RunWorkflow:collectShard < .*RunWorkflow:collectArchive$/,
    );

    const s3 = trace.filter((s) => s.name.startsWith('S3.'));
    assert.ok(
      s3.some((s) => s.name === 'S3.ListObjectsV2' && s.attributes['aws.s3.bucket'] === buckets.source),
      'listing the source',
    );
    assert.ok(
      s3.some((s) => s.name === 'S3.PutObject' && s.attributes['aws.s3.bucket'] === buckets.destination),
      'writing proofs and the manifest',
    );
    for (const s of s3) assert.match(ancestors(s)[0], /^RunActivity:/, `${s.name} runs inside an activity span`);
    assert.ok(trace.some((s) => s.name === 'RunActivity:assembleCollection'));
  });
});
