/**
 * `npm run scale`: how a collection grows from 1,000 to 10,000 to 100,000 small files — wall time,
 * worker peak RSS, workflow runs (continue-as-new), history events per run, largest payload — and
 * one worker against two on the same task queue. Ends with one JSON line.
 *
 *   SCALE_SIZES=1000,10000 npm run scale
 */
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { startCollection } from '../client/collection';
import { adminClient, ensureStackBuckets } from '../stack/buckets';
import { stackUp, temporalAddress } from '../stack/local-stack';
import { fillMirror } from '../stack/mirror';
import { buildWorkflowBundle } from '../worker/bundle';
import { buildWorker } from '../worker/build';
import { publishSection, today } from './figures';
import type { CollectionReport } from '../workflows/types';
import { benchStack, procStats, startMeasuredWorker, stopWorker } from './measure';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';

const stack = benchStack();
const SIZES = (process.env.SCALE_SIZES ?? '1000,10000,100000').split(',').map(Number);
const DAYS = 1000;
const VERIFICATION = (process.env.SCALE_VERIFICATION ?? 'none') as 'none' | 'size' | 'checksum';

const symbolsFor = (n: number) => Array.from({ length: Math.max(1, n / DAYS) }, (_, i) => `SCALE${String(i).padStart(4, '0')}USDT`);
const baseRequest = { intervals: ['1d'], startDate: '2020-01-01', endDate: '2022-09-26' }; // 1,000 days

async function ensureFiles(n: number) {
  const s3 = adminClient(stack);
  const symbols = symbolsFor(n);
  for (let i = 0; i < symbols.length; i += 10) {
    const chunk = symbols.slice(i, i + 10);
    const marker = `scale-markers/${chunk[0]}-${chunk.length}`;
    try {
      await s3.send(new GetObjectCommand({ Bucket: stack.sourceBucket, Key: marker }));
      continue;
    } catch { /* fill */ }
    process.stdout.write(`filling ${chunk.length * DAYS} files (${chunk[0]}…)\n`);
    await fillMirror(s3, stack.sourceBucket, { ...baseRequest, symbols: chunk }, 32);
    await s3.send(new PutObjectCommand({ Bucket: stack.sourceBucket, Key: marker, Body: '' }));
  }
}

interface RunStats { events: number; maxPayloadBytes: number }

async function historyStats(client: Client, workflowId: string): Promise<RunStats[]> {
  const out: RunStats[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowId="${workflowId}"` })) {
    const history = await client.workflow.getHandle(workflowId, w.runId).fetchHistory();
    const json = JSON.parse(historyToJSON(history));
    let maxPayloadBytes = 0;
    const walk = (v: unknown) => {
      if (Array.isArray(v)) return v.forEach(walk);
      if (v && typeof v === 'object') {
        const o = v as Record<string, unknown>;
        if (typeof o.data === 'string' && o.metadata) maxPayloadBytes = Math.max(maxPayloadBytes, Buffer.from(o.data, 'base64').length);
        Object.values(o).forEach(walk);
      }
    };
    walk(json.events);
    out.push({ events: json.events.length, maxPayloadBytes });
  }
  return out;
}

async function collect(client: Client, n: number, workers: number, tag: string) {
  const taskQueue = `scale-${tag}-${Date.now()}`;
  const procs = [];
  for (let i = 0; i < workers; i++) procs.push(await startMeasuredWorker(stack, { TEMPORAL_TASK_QUEUE: taskQueue, STAGING_DIR: `${process.cwd()}/.data/scale-staging`, S5CMD_NUMWORKERS: '64' }));
  const workflowId = `scale-${tag}-${n}-${Date.now()}`;
  const t0 = performance.now();
  const { handle } = await startCollection(client, {
    ...baseRequest, symbols: symbolsFor(n), verification: VERIFICATION, batchSize: 1000, parallelBatches: 4, batchesPerRun: 25,
    destination: { bucket: stack.destBucket, prefix: `${workflowId}/` },
  }, { taskQueue, workflowId });
  const report = (await handle.result()) as CollectionReport;
  const wallS = (performance.now() - t0) / 1000;
  const stats = procs.map((p) => procStats(p.pid!));
  for (const p of procs) await stopWorker(p);
  if (report.files.copied !== n) throw new Error(`copied ${report.files.copied} of ${n}`);
  const runs = await historyStats(client, workflowId);
  return {
    files: n, workers, wallS: +wallS.toFixed(1), filesPerS: Math.round(n / wallS),
    workerPeakRssMb: Math.round(Math.max(...stats.map((s) => s.rssMb))), workerCpuS: +stats.reduce((a, s) => a + s.cpuS, 0).toFixed(1),
    workflowRuns: runs.length, maxEventsPerRun: Math.max(...runs.map((r) => r.events)), maxPayloadBytes: Math.max(...runs.map((r) => r.maxPayloadBytes)),
    s3Requests: report.s3Requests,
  };
}

await buildWorkflowBundle();
await buildWorker();
await stackUp(stack);
await ensureStackBuckets(stack);
const connection = await Connection.connect({ address: temporalAddress(stack) });
const client = new Client({ connection });
const rows = [];
for (const n of SIZES) {
  await ensureFiles(n);
  const r = await collect(client, n, 1, 'one');
  console.log(JSON.stringify(r));
  rows.push(r);
}
const shareN = Number(process.env.SCALE_SHARE_FILES ?? 10_000);
await ensureFiles(shareN);
const one = rows.find((r) => r.files === shareN) ?? (await collect(client, shareN, 1, 'one'));
const two = await collect(client, shareN, 2, 'two');
console.log(JSON.stringify(two));

const lines = [
  `| files | workers | wall s | files/s | worker peak RSS MB | worker CPU s | workflow runs | max events per run | max payload bytes | S3 requests (worker) |`,
  `| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`,
  ...[...rows, two].map((r) => `| ${r.files} | ${r.workers} | ${r.wallS} | ${r.filesPerS} | ${r.workerPeakRssMb} | ${r.workerCpuS} | ${r.workflowRuns} | ${r.maxEventsPerRun} | ${r.maxPayloadBytes} | ${r.s3Requests} |`),
];
const heading = `Measured ${today()}: verification ${VERIFICATION}, batchSize 1000, parallelBatches 4, batchesPerRun 25.`;
console.log(`\n${heading}\n${lines.join('\n')}`);
if (!process.env.SCALE_SIZES) publishSection('BENCHMARKS.md', 'scale', `${heading}\n\n${lines.join('\n')}`);
console.log(JSON.stringify({ scale: { verification: VERIFICATION, rows, twoWorkers: two, speedupTwoWorkers: +(one.wallS / two.wallS).toFixed(2) } }));
await connection.close();
process.exit(0);
