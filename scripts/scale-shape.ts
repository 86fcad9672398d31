/**
 * `npm run scale:shape`: the shape of a 10,000,000-file collection, driven through the real workflows (collectArchive
 * and its collectShard children, the production bundle) on a real Temporal dev server, with stubbed activities that
 * answer at once: 500 shards of 20,000 files, batchSize 1000, shards continuing as new every SHAPE_BATCHES_PER_RUN
 * batches. It checks what no store-bound run of this machine can reach: the collection completes with every file
 * counted, and every run's history (events, the largest payload, the whole history's size) stays within Temporal's
 * limits. Stubs return what real activities return, at full size where it matters (each shard's coverage carries
 * MAX_REPORT_ROWS rows). Writes the `scale-shape` section of BENCHMARKS.md and ends with one JSON line.
 *
 *   npm run scale:shape                               # 10,000,000 files (~5–10 min)
 *   SHAPE_FILES=1000000 npm run scale:shape           # a smaller shape, printed only
 */
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { PROJECT_ROOT } from '../worker/config';
import { buildWorkflowBundle } from '../worker/bundle';
import { startTracing } from '../worker/tracing';
import { emptyContent, MAX_REPORT_ROWS, summarizeRows } from '../workflows/coverage';
import { emptyCounts } from '../workflows/tally';
import type {
  BatchRef,
  CollectionReport,
  CoverageRow,
  Discovery,
  EnvironmentProbe,
  ListResult,
} from '../workflows/types';
import { publishSection, today } from './figures';
import { historyStats } from './measure';

Runtime.install({ logger: new DefaultLogger('WARN') });

const FILES = Number(process.env.SHAPE_FILES ?? 10_000_000);
const FILES_PER_SHARD = 20_000;
const BATCH = 1_000;
const BATCHES_PER_RUN = Number(process.env.SHAPE_BATCHES_PER_RUN ?? 8);
const SHARDS = Math.ceil(FILES / FILES_PER_SHARD);
/** Temporal's limits: a history warns at 10,240 events or 10 MB and fails at 51,200 or 50 MB; a payload fails at 2 MB. */
const LIMITS = {
  eventsWarn: 10_240,
  events: 51_200,
  historyWarnBytes: 10 * 1024 ** 2,
  historyBytes: 50 * 1024 ** 2,
  payloadBytes: 2 * 1024 ** 2,
};
const BUDGET_S = 15 * 60;

const probe: EnvironmentProbe = {
  s5cmd: { available: true, checksums: true, detail: 's5cmd (stub)' },
  sharedEndpoint: { shared: true, detail: 'one endpoint (stub)' },
  sourceOverHttp: false,
  serverSideCopy: { works: true, detail: 'server-side copy works (stub)' },
  storeChecksum: { supported: true, detail: 'the store computes SHA-256 (stub)' },
  destination: { bucket: 'bronze', writable: true, detail: 'writable (stub)' },
};

/** A coverage row as real shards write them (about 400 bytes): the shards' results carry MAX_REPORT_ROWS of them. */
function row(shard: number, i: number): CoverageRow {
  return {
    market: 'spot',
    granularity: 'daily',
    dataType: 'klines',
    symbol: `SHAPE${String(shard).padStart(4, '0')}${String(i).padStart(3, '0')}USDT`,
    interval: '1m',
    first: '2017-08-17',
    last: '2026-12-06',
    span: 3400,
    published: 3398,
    archiveGaps: 2,
    archiveGapRanges: '2018-02-08..2018-02-09',
    verified: 3398,
    missing: 0,
    missingRanges: '',
    status: 'complete',
    timeline: '▓'.repeat(60),
    timelineScale: 'quarter from 2017-Q3',
  };
}

const activities = {
  async probeEnvironment() {
    return { probe, destination: { bucket: 'bronze', prefix: 'binance/' }, searchAttributes: false };
  },
  async discoverSeries(): Promise<Omit<Discovery, 'ms'>> {
    const symbols = Array.from({ length: 30 }, (_, i) => `SHAPE${i}USDT`);
    return {
      series: SHARDS * 6,
      shards: SHARDS,
      estimatedFiles: FILES,
      dataTypes: ['klines'],
      intervals: ['1m'],
      symbols: SHARDS * 6,
      symbolSample: symbols,
      discovered: true,
      skipped: [],
      listings: 40,
    };
  },
  async listShard(input: { range: unknown; state: { statePrefix: string } }): Promise<ListResult> {
    const shard = Number(/shard-(\d+)/.exec(input.state.statePrefix)![1]);
    const planned = Math.min(FILES_PER_SHARD, FILES - shard * FILES_PER_SHARD);
    return {
      batchCount: Math.ceil(planned / BATCH),
      planned,
      plannedBytes: planned * 300_000,
      alreadyPresent: 0,
      alreadyPresentBytes: 0,
      replacements: 0,
      verifyOnly: 0,
      notPublished: 0,
      missingChecksum: 0,
      listedObjects: planned * 2,
      settledParts: 0,
      s3Requests: 40,
    };
  },
  async countListed() {
    return { ...emptyCounts(), s3Requests: 0 };
  },
  async directSyncBatch(ref: BatchRef) {
    return {
      copied: [],
      appeared: [],
      fallback: [],
      bytes: BATCH * 300_000,
      s3Requests: BATCH * 4,
      s5cmdLines: BATCH * 2 + ref.batch * 0,
    };
  },
  async proveCopied() {
    return { fallback: [], bytesRead: 0, s3Requests: 0 };
  },
  async countBatch(input: { state: { statePrefix: string }; batch: number }) {
    const shard = Number(/shard-(\d+)/.exec(input.state.statePrefix)![1]);
    const planned = Math.min(FILES_PER_SHARD, FILES - shard * FILES_PER_SHARD);
    const files = Math.min(BATCH, planned - input.batch * BATCH);
    return {
      ...emptyCounts(),
      total: files,
      byOutcome: { copied: files },
      byMode: {
        direct_sync: { copied: files, failed: 0, checksumMismatch: 0 },
        traditional: { copied: 0, failed: 0, checksumMismatch: 0 },
      },
      byProof: { sha256: files },
      byProofMethod: { 'store-sha256': files },
      bytesCopied: files * 300_000,
      s3Requests: 1,
    };
  },
  async inspectShard() {
    return { ...emptyContent(), s3Requests: 1 };
  },
  async writeManifest(input: { state: { statePrefix: string }; batchCount: number }) {
    const shard = Number(/shard-(\d+)/.exec(input.state.statePrefix)![1]);
    const planned = Math.min(FILES_PER_SHARD, FILES - shard * FILES_PER_SHARD);
    const rows = Array.from({ length: MAX_REPORT_ROWS + 40 }, (_, i) => row(shard, i));
    return {
      ...emptyCounts(),
      total: planned,
      byOutcome: { copied: planned },
      byMode: {
        direct_sync: { copied: planned, failed: 0, checksumMismatch: 0 },
        traditional: { copied: 0, failed: 0, checksumMismatch: 0 },
      },
      byProof: { sha256: planned },
      byProofMethod: { 'store-sha256': planned },
      bytesCopied: planned * 300_000,
      key: `${input.state.statePrefix}manifest.ndjson`,
      coverage: summarizeRows(rows, emptyContent()),
      s3Requests: 3,
    };
  },
  async assembleCollection(input: { state: { statePrefix: string } }) {
    const p = input.state.statePrefix;
    return {
      manifest: `${p}manifest.ndjson`,
      coverage: { json: `${p}coverage.json`, csv: `${p}coverage.csv`, schema: `${p}coverage.schema.json` },
      s3Requests: SHARDS * 3,
    };
  },
  async writeReport(input: { state: { statePrefix: string } }) {
    return `${input.state.statePrefix}report.json`;
  },
  async getWorkerTaskQueue() {
    return 'unused';
  },
};

console.log(
  `the shape of ${FILES.toLocaleString('en-US')} files: ${SHARDS} shards × ${FILES_PER_SHARD} files, batchSize ${BATCH}, a shard continues as new every ${BATCHES_PER_RUN} batches`,
);
const env = await TestWorkflowEnvironment.createLocal({
  server: { executable: { type: 'existing-path', path: path.join(PROJECT_ROOT, '.tools/bin/temporal') } },
});
try {
  const codePath = await buildWorkflowBundle(path.join(PROJECT_ROOT, '.build/shape-workflow-bundle.js'));
  const taskQueue = 'scale-shape';
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    activities,
    workflowBundle: { codePath },
    maxConcurrentActivityTaskExecutions: 200,
    maxConcurrentWorkflowTaskExecutions: 40,
    // The bundle's workflow interceptors export spans through a sink: the worker's own tracing options provide it.
    ...startTracing({ serviceName: 'scale-shape' }).workerOptions,
  });
  const started = Date.now();
  const request = {
    symbols: ['SHAPE*'],
    intervals: ['1m'],
    startDate: '2017-08-17',
    endDate: '2026-12-06',
    maxFiles: FILES * 2,
    filesPerShard: FILES_PER_SHARD,
    batchSize: BATCH,
    parallelBatches: 8,
    parallelShards: 64,
    batchesPerRun: BATCHES_PER_RUN,
  };
  const workflowId = `shape-${FILES}-${Date.now()}`;
  const handle = await env.client.workflow.start('collectArchive', {
    taskQueue,
    workflowId,
    args: [request],
    workflowExecutionTimeout: `${BUDGET_S * 2}s`,
  });
  const report = (await worker.runUntil(handle.result())) as CollectionReport;
  const wallS = (Date.now() - started) / 1000;
  console.log(`completed in ${wallS.toFixed(0)} s: ${report.verdict.slice(0, 200)}`);
  // A history page can be larger than gRPC's default 4 MB a message (the parent's holds every shard's result): the
  // reader asks for more, as the Web UI and the CLI do.
  const reader = new Client({
    connection: await Connection.connect({
      address: env.address,
      channelArgs: { 'grpc.max_receive_message_length': 128 * 1024 ** 2 },
    }),
    namespace: env.namespace ?? 'default',
  });
  const runs = await historyStats(reader, workflowId, handle.firstExecutionRunId);
  const parentRuns = runs.filter((r) => r.workflowId === workflowId);
  const shardRuns = runs.filter((r) => r.workflowId !== workflowId);
  const max = (xs: number[]) => Math.max(...xs);
  const figures = {
    files: FILES,
    shards: SHARDS,
    wallS: +wallS.toFixed(1),
    filesCounted: report.files.total,
    copied: report.files.copied,
    shardsFailed: report.shards.failed,
    workflowRuns: runs.length,
    parentRuns: parentRuns.length,
    shardRuns: shardRuns.length,
    maxEventsParent: max(parentRuns.map((r) => r.events)),
    maxEventsShard: max(shardRuns.map((r) => r.events)),
    maxHistoryBytes: max(runs.map((r) => r.historyBytes)),
    maxPayloadBytes: max(runs.map((r) => r.maxPayloadBytes)),
    reportBytes: Buffer.byteLength(JSON.stringify(report)),
  };
  const problems = [
    figures.filesCounted !== FILES && `the report counts ${figures.filesCounted} files, not ${FILES}`,
    figures.copied !== FILES && `the report says ${figures.copied} copied, not ${FILES}`,
    figures.shardsFailed && `${figures.shardsFailed} shards failed`,
    max([figures.maxEventsParent, figures.maxEventsShard]) > LIMITS.eventsWarn &&
      `a run has more than ${LIMITS.eventsWarn} events`,
    figures.maxHistoryBytes > LIMITS.historyWarnBytes && 'a history is past 10 MB (as JSON)',
    figures.maxPayloadBytes > LIMITS.payloadBytes && 'a payload is past 2 MB',
    wallS > BUDGET_S && `it took ${wallS.toFixed(0)} s, over the ${BUDGET_S} s budget`,
  ].filter(Boolean) as string[];
  const n = (x: number) => x.toLocaleString('en-US');
  const section = [
    `Measured ${today()} with \`npm run scale:shape\`: the real workflows (production bundle) on a Temporal dev server, activities stubbed to answer at once.`,
    '',
    '| files | shards | batchSize | batches per shard run | wall s | workflow runs (parent / shards) | max events per run (parent / shard) | largest history | largest payload | report |',
    '| ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: |',
    `| ${n(FILES)} | ${SHARDS} | ${BATCH} | ${BATCHES_PER_RUN} | ${figures.wallS} | ${figures.workflowRuns} (${figures.parentRuns} / ${figures.shardRuns}) | ${n(figures.maxEventsParent)} / ${n(figures.maxEventsShard)} | ${(figures.maxHistoryBytes / 1024 ** 2).toFixed(1)} MB | ${n(figures.maxPayloadBytes)} B | ${n(figures.reportBytes)} B |`,
    '',
    `Limits: ${n(LIMITS.eventsWarn)} events and 10 MB per run's history (Temporal warns there; fails at ${n(LIMITS.events)} and 50 MB; histories measured as JSON, larger than Temporal's own encoding), 2 MB per payload; budget ${BUDGET_S / 60} min.${figures.parentRuns > 1 ? ` The parent continued as new ${figures.parentRuns - 1} times, when Temporal suggested it.` : ''} ` +
      (problems.length
        ? `**Problems: ${problems.join('; ')}.**`
        : `Every file counted (${n(figures.filesCounted)} copied), no shard failed, every limit held.`),
  ].join('\n');
  console.log(section);
  if (FILES === 10_000_000 && !process.env.SHAPE_FILES) publishSection('BENCHMARKS.md', 'scale-shape', section);
  console.log(JSON.stringify({ scaleShape: { ...figures, limits: LIMITS, problems } }));
  process.exitCode = problems.length ? 1 : 0;
} finally {
  await env.teardown();
}
