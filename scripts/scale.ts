/**
 * `npm run scale`: whole-market collections at archive scale on the bench stack. Each size is a
 * collection of tiny files selected by symbol patterns (discovered from the mirror's listing, like
 * `symbols: "*"`), run once and rerun (the rerun must copy nothing): wall time, files/s, peak RSS
 * of the worker's process tree (s5cmd included), the most history events of any workflow run
 * (collection and shards) and the largest payload, listing speed and discovery cost; then one
 * worker against two on one task queue behind a latency-injecting proxy (Toxiproxy), as real S3
 * answers. Ends with one JSON line; BENCHMARKS.md's scale section is written from the same figures.
 *
 *   npm run scale                                   # 10k and 100k checksum, 10k and 300k none, two workers on 20k
 *   SCALE_SIZES=10000:checksum,1000000:none npm run scale
 *   SCALE_LATENCY_MS=25 SCALE_SHARE_FILES=20000     # the scale-out measurement
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { startCollection } from '../client/collection';
import { adminClient, ensureStackBuckets } from '../stack/buckets';
import { minioEndpoint, stackDown, stackUp, temporalAddress } from '../stack/local-stack';
import { fillMirror } from '../stack/mirror';
import { buildWorkflowBundle } from '../worker/bundle';
import { buildWorker } from '../worker/build';
import { PROJECT_ROOT } from '../worker/config';
import type { VerificationLevel } from '../workflows/request';
import type { CollectionReport } from '../workflows/types';
import { publishSection, today } from './figures';
import { startLatencyProxy } from './latency-proxy';
import {
  benchStack,
  historyStats,
  procStats,
  startMeasuredWorker,
  stopWorker,
  storeRequestCounter,
  treeRssSampler,
} from './measure';

const stack = benchStack();
const DAYS = 1000;
const range = { startDate: '2020-01-01', endDate: '2022-09-26' }; // 1,000 days: 1,000 files per symbol
const SIZES = (process.env.SCALE_SIZES ?? '10000:checksum,100000:checksum,10000:none,300000:none')
  .split(',')
  .map((s) => {
    const [files, verification = 'checksum'] = s.split(':');
    return { files: Number(files), verification: verification as VerificationLevel };
  });
const SHARE_FILES = Number(process.env.SCALE_SHARE_FILES ?? 20_000);
const LATENCY_MS = Number(process.env.SCALE_LATENCY_MS ?? 50);
const MAX_EVENTS = 10_240;
const MAX_PAYLOAD = 256 * 1024;

const symbolName = (i: number) => `SCALE${String(i).padStart(4, '0')}USDT`;
/** Patterns that select the first n/1000 symbols: `SCALE00*` is 100 symbols, `SCALE000*` 10. */
function patternsFor(files: number): string[] {
  const symbols = files / DAYS;
  if (!Number.isInteger(symbols / 10)) throw new Error(`sizes are multiples of ${DAYS * 10} files`);
  const out: string[] = [];
  for (let i = 0; i < symbols;) {
    if (i % 100 === 0 && i + 100 <= symbols) {
      out.push(`SCALE${String(i / 100).padStart(2, '0')}*`);
      i += 100;
    } else {
      out.push(`SCALE${String(i / 10).padStart(3, '0')}*`);
      i += 10;
    }
  }
  return out;
}

async function ensureFiles(files: number) {
  const s3 = adminClient(stack);
  for (let i = 0; i < files / DAYS; i += 10) {
    const chunk = Array.from({ length: 10 }, (_, j) => symbolName(i + j));
    const marker = `scale-markers/${chunk[0]}-${chunk.length}`;
    try {
      await s3.send(new GetObjectCommand({ Bucket: stack.sourceBucket, Key: marker }));
      continue;
    } catch {
      /* fill */
    }
    const t = performance.now();
    await fillMirror(s3, stack.sourceBucket, { ...range, symbols: chunk }, 64);
    await s3.send(new PutObjectCommand({ Bucket: stack.sourceBucket, Key: marker, Body: '' }));
    process.stdout.write(
      `filled ${chunk.length * DAYS} files (${chunk[0]}…) in ${((performance.now() - t) / 1000).toFixed(1)} s\n`,
    );
  }
}

interface Workers {
  taskQueue: string;
  procs: Awaited<ReturnType<typeof startMeasuredWorker>>[];
}

async function startWorkers(n: number, tag: string, env: Record<string, string> = {}): Promise<Workers> {
  const taskQueue = `scale-${tag}-${Date.now()}`;
  const procs = [];
  for (let i = 0; i < n; i++) {
    procs.push(
      await startMeasuredWorker(stack, {
        TEMPORAL_TASK_QUEUE: taskQueue,
        STAGING_DIR: `${process.cwd()}/.data/scale-staging`,
        ...env,
      }),
    );
  }
  return { taskQueue, procs };
}

async function run(client: Client, workers: Workers, workflowId: string, request: object) {
  const rss = workers.procs.map((p) => treeRssSampler(p.pid!));
  const t0 = performance.now();
  const { handle } = await startCollection(client, request, { taskQueue: workers.taskQueue, workflowId });
  const report = (await (handle as WorkflowHandle).result()) as CollectionReport;
  const wallS = (performance.now() - t0) / 1000;
  const peaks = rss.map((r) => r.stop());
  return {
    report,
    wallS,
    peakRssMb: Math.max(...peaks),
    memory: rss[peaks.indexOf(Math.max(...peaks))].parts(),
    runs: await historyStats(client, workflowId, handle.firstExecutionRunId),
  };
}

async function measureSize(client: Client, files: number, verification: VerificationLevel) {
  const workers = await startWorkers(1, 'one');
  const id = `scale-${files}-${verification}-${Date.now()}`;
  const request = {
    ...range,
    symbols: patternsFor(files),
    intervals: ['1d'],
    verification,
    batchSize: 1000,
    parallelBatches: 4,
    batchesPerRun: 25,
    filesPerShard: 20_000,
    parallelShards: 2,
    destination: { bucket: stack.destBucket, prefix: `${id}/` },
  };
  const before = await counter.settled();
  const first = await run(client, workers, id, request);
  const afterFirst = await counter.settled();
  if (first.report.files.copied !== files)
    throw new Error(`copied ${first.report.files.copied} of ${files}: ${first.report.verdict}`);
  const rerun = await run(client, workers, `${id}-rerun`, request);
  const afterRerun = await counter.settled();
  const cpuS = workers.procs.reduce((a, p) => a + procStats(p.pid!).cpuS, 0);
  for (const p of workers.procs) await stopWorker(p);
  const all = [...first.runs, ...rerun.runs];
  const row = {
    files,
    verification,
    wallS: +first.wallS.toFixed(1),
    filesPerS: Math.round(files / first.wallS),
    peakRssMb: Math.round(Math.max(first.peakRssMb, rerun.peakRssMb)),
    memory: first.peakRssMb >= rerun.peakRssMb ? first.memory : rerun.memory,
    workerCpuS: +cpuS.toFixed(1),
    workflowRuns: first.runs.length,
    maxEventsPerRun: Math.max(...all.map((r) => r.events)),
    maxPayloadBytes: Math.max(...all.map((r) => r.maxPayloadBytes)),
    rerunCopied: rerun.report.files.copied,
    rerunWallS: +rerun.wallS.toFixed(1),
    listedObjects: rerun.report.listing.objects,
    listKeysPerS: Math.round(rerun.report.listing.objects / rerun.wallS),
    discoveryListings: first.report.discovery.listings,
    symbols: first.report.discovery.symbols,
    shards: first.report.shards.total,
    s3Requests: first.report.s3Requests,
    // Counted by the store itself: every request of the run (the worker's, s5cmd's, the probe's) per file.
    requestsPerFile: +((afterFirst - before) / files).toFixed(2),
    rerunRequestsPerFile: +((afterRerun - afterFirst) / files).toFixed(3),
  };
  console.log(JSON.stringify(row));
  return row;
}

/** One worker, then two with the same settings, on one queue; S3 (source and destination) behind the latency proxy. */
async function measureScaleOut(client: Client) {
  await ensureFiles(SHARE_FILES);
  const proxy = await startLatencyProxy(minioEndpoint(stack), LATENCY_MS);
  // Each worker is sized like a small machine: at most 2 activities and a few requests in flight each, so that the
  // S3 round trips bound it, not this machine's two shared cores (which MinIO, the proxy and Temporal also use).
  // The collection offers more work than one worker takes (4 shards × 4 batches), as a big backfill does.
  const env = {
    SOURCE_ENDPOINT: proxy.endpoint,
    DEST_ENDPOINT: proxy.endpoint,
    MAX_CONCURRENT_ACTIVITIES: '2',
    S5CMD_NUMWORKERS: '8',
    TRANSFER_CONCURRENCY: '4',
  };
  const out: Record<number, number> = {};
  try {
    for (const n of [1, 2]) {
      const workers = await startWorkers(n, `share${n}`, env);
      const id = `scale-share${n}-${Date.now()}`;
      const r = await run(client, workers, id, {
        ...range,
        symbols: patternsFor(SHARE_FILES),
        intervals: ['1d'],
        batchSize: 250,
        parallelBatches: 4,
        filesPerShard: 5_000,
        parallelShards: 4,
        destination: { bucket: stack.destBucket, prefix: `${id}/` },
      });
      for (const p of workers.procs) await stopWorker(p);
      if (r.report.files.copied !== SHARE_FILES)
        throw new Error(`copied ${r.report.files.copied} of ${SHARE_FILES}: ${r.report.verdict}`);
      out[n] = r.wallS;
      console.log(
        JSON.stringify({
          workers: n,
          files: SHARE_FILES,
          latencyMs: LATENCY_MS,
          wallS: +r.wallS.toFixed(1),
          filesPerS: Math.round(SHARE_FILES / r.wallS),
        }),
      );
    }
  } finally {
    await proxy.stop();
  }
  return { oneS: +out[1].toFixed(1), twoS: +out[2].toFixed(1), speedup: +(out[1] / out[2]).toFixed(2) };
}

/**
 * A listing killed part way: a plan (listing only) of RESUME_FILES files in one shard; once the listing's
 * heartbeat checkpoint has passed 40 % of the series, its worker is killed (SIGKILL, by PID) and another
 * started on the queue. The listing must go on from the checkpoint, not from the start.
 */
async function measureResume(client: Client, files: number) {
  const first = await startWorkers(1, 'resume');
  const id = `scale-resume-${files}-${Date.now()}`;
  const series = files / DAYS;
  const t0 = performance.now();
  const { handle } = await startCollection(
    client,
    {
      ...range,
      action: 'plan',
      symbols: patternsFor(files),
      intervals: ['1d'],
      batchSize: 1000,
      filesPerShard: files,
      heartbeatTimeoutSeconds: 5,
      destination: { bucket: stack.destBucket, prefix: `${id}/` },
    },
    { taskQueue: first.taskQueue, workflowId: id },
  );
  let killedAt: { series: number; listedS: number } | undefined;
  while (!killedAt) {
    const shard = ((await handle.fetchHistory()).events ?? []).find(
      (e) => e.childWorkflowExecutionStartedEventAttributes,
    )?.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
    const pending = shard?.workflowId
      ? ((await client.workflow.getHandle(shard.workflowId).describe()).raw.pendingActivities ?? [])
      : [];
    const data = pending.find((a) => a.activityType?.name === 'listShard')?.heartbeatDetails?.payloads?.[0]?.data;
    const checkpoint = data ? (JSON.parse(Buffer.from(data).toString('utf8')) as { series: number }) : undefined;
    if (checkpoint && checkpoint.series >= 0.4 * series)
      killedAt = { series: checkpoint.series, listedS: (performance.now() - t0) / 1000 };
    else await new Promise((r) => setTimeout(r, 100));
  }
  first.procs[0].kill('SIGKILL');
  await new Promise((r) => first.procs[0].once('exit', r));
  const second = await startMeasuredWorker(stack, {
    TEMPORAL_TASK_QUEUE: first.taskQueue,
    STAGING_DIR: `${process.cwd()}/.data/scale-staging`,
  });
  const report = (await handle.result()) as CollectionReport;
  const wallS = (performance.now() - t0) / 1000;
  await stopWorker(second);
  if (report.plan?.toCopy !== files || report.files.total !== files)
    throw new Error(
      `the resumed listing planned ${report.plan?.toCopy} of ${files} (${report.files.total} in the manifest)`,
    );
  const row = {
    files,
    series,
    killedAtSeries: killedAt.series,
    killedAfterS: +killedAt.listedS.toFixed(1),
    resumedListings: report.shards.resumedListings,
    wallS: +wallS.toFixed(1),
  };
  console.log(JSON.stringify({ resume: row }));
  if (row.resumedListings !== 1) throw new Error('the killed listing did not resume from its checkpoint');
  return row;
}

await buildWorkflowBundle();
await buildWorker();
// The store counts every request; its counter listens before the store starts (a stack left up is restarted).
const counter = await storeRequestCounter(stack);
await stackDown(stack);
await stackUp(stack);
await ensureStackBuckets(stack);
const connection = await Connection.connect({ address: temporalAddress(stack) });
const client = new Client({ connection });

const fillStarted = performance.now();
await ensureFiles(
  Math.max(...SIZES.map((s) => s.files), SHARE_FILES, Number(process.env.SCALE_RESUME_FILES ?? 100_000)),
);
const fillS = (performance.now() - fillStarted) / 1000;
// Parts can be measured alone (SCALE_PARTS=scaleout); each part's latest figures are kept in the bench stack's
// folder, and the sections are written once every part has figures.
const PARTS = (process.env.SCALE_PARTS ?? 'scaleout,resume,sizes').split(',');
const saved = path.join(PROJECT_ROOT, '.data/bench/scale-results.json');
type Results = {
  scaleOut?: Awaited<ReturnType<typeof measureScaleOut>> & { at: string; store?: string };
  resume?: Awaited<ReturnType<typeof measureResume>> & { at: string; store?: string };
  sizes?: { rows: Awaited<ReturnType<typeof measureSize>>[]; fillS: number; at: string; store?: string };
};
const results: Results = existsSync(saved) ? JSON.parse(readFileSync(saved, 'utf8')) : {};
const keep = () => writeFileSync(saved, JSON.stringify(results, null, 2));
// The scale-out measurement first: it is the one most sensitive to a busy machine.
if (PARTS.includes('scaleout')) {
  results.scaleOut = { ...(await measureScaleOut(client)), at: today(), store: stack.store };
  keep();
}
if (PARTS.includes('resume')) {
  results.resume = {
    ...(await measureResume(client, Number(process.env.SCALE_RESUME_FILES ?? 100_000))),
    at: today(),
    store: stack.store,
  };
  keep();
}
if (PARTS.includes('sizes')) {
  const measured = [];
  for (const s of SIZES) measured.push(await measureSize(client, s.files, s.verification));
  results.sizes = { rows: measured, fillS, at: today(), store: stack.store };
  keep();
}
if (!results.scaleOut || !results.resume || !results.sizes) {
  console.log(
    `measured ${PARTS.join(', ')}; the sections are written once scaleout, resume and sizes all have figures (${saved})`,
  );
  await connection.close();
  process.exit(0);
}
const scaleOut = results.scaleOut;
const resume = results.resume;
const rows = results.sizes.rows;

const largest = rows.reduce((a, b) => (b.files > a.files ? b : a));
const smallSame = rows
  .filter((r) => r.verification === largest.verification)
  .reduce((a, b) => (b.files < a.files ? b : a));
const n = (x: number) => x.toLocaleString('en-US');
const lines = [
  '| files | verification | wall s | files/s | worker tree peak RSS MB | worker CPU s | workflow runs | max events per run | max payload bytes | rerun copied | rerun s | listed keys/s | discovery listings | shards | store requests per file | rerun requests per file |',
  '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (r) =>
      `| ${n(r.files)} | ${r.verification} | ${r.wallS} | ${r.filesPerS} | ${r.peakRssMb} | ${r.workerCpuS} | ${r.workflowRuns} | ${n(r.maxEventsPerRun)} | ${n(r.maxPayloadBytes)} | ${r.rerunCopied} | ${r.rerunWallS} | ${n(r.listKeysPerS)} | ${r.discoveryListings} | ${r.shards} | ${r.requestsPerFile ?? '-'} | ${r.rerunRequestsPerFile ?? '-'} |`,
  ),
];
const checks = [
  `throughput at ${n(largest.files)} files is ${((largest.filesPerS / smallSame.filesPerS) * 100).toFixed(0)} % of ${n(smallSame.files)} files (${largest.verification}; target within 15 %)`,
  `worker tree peak RSS ${Math.max(...rows.map((r) => r.peakRssMb))} MB at most (target ≤ 300)` +
    rows
      .filter((r) => r.memory)
      .map(
        (r) =>
          `; ${n(r.files)} files: worker process ${r.memory!.workerMb} MB, up to ${r.memory!.childrenAtOnce} s5cmd at once (largest ${r.memory!.childMb} MB)`,
      )
      .join(''),
  `history events per run ${n(Math.max(...rows.map((r) => r.maxEventsPerRun)))} at most (limit ${n(MAX_EVENTS)}), payload ${n(Math.max(...rows.map((r) => r.maxPayloadBytes)))} bytes at most (limit ${n(MAX_PAYLOAD)})`,
  `reruns copied ${rows.reduce((a, r) => a + r.rerunCopied, 0)} files, with ${Math.max(...rows.map((r) => r.rerunRequestsPerFile ?? NaN))} store requests per already-proven file at most (target ≤ 0.05)`,
  `a listing of ${n(resume.files)} files (${resume.series} series, one shard) killed (SIGKILL of its worker) at its checkpoint of series ${resume.killedAtSeries}, ${resume.killedAfterS} s in: ` +
    `resumed there on a new worker (resumedListings ${resume.resumedListings}), every file planned once, ${resume.wallS} s in all (heartbeat timeout 10 s)`,
  `two workers on one task queue, ${LATENCY_MS} ms added per S3 response, ${n(SHARE_FILES)} files: ${scaleOut.oneS} s with one, ${scaleOut.twoS} s with two, **${scaleOut.speedup}×** (target ≥ 1.7×)`,
];
const heading =
  `Measured ${today()} with \`npm run scale\` (${process.env.SCALE_SIZES ? `SCALE_SIZES=${process.env.SCALE_SIZES}` : 'default sizes'}): ` +
  'one worker with default settings, batchSize 1000, parallelBatches 4, filesPerShard 20,000, parallelShards 2; symbols selected by patterns ' +
  `(discovered from the mirror's listing); mirror filled in ${results.sizes.fillS.toFixed(0)} s by that run (0 when already there). ` +
  `Parts measured: sizes ${results.sizes.at} on ${results.sizes.store ?? 'minio'}, scale-out ${scaleOut.at} on ${scaleOut.store ?? 'minio'}, resumed listing ${resume.at} on ${resume.store ?? 'minio'}.`;
const markdown = `${heading}\n\n${lines.join('\n')}\n\n${checks.map((c) => `- ${c}`).join('\n')}`;
console.log(`\n${markdown}`);
publishSection('BENCHMARKS.md', 'scale', markdown);
publishSection(
  'docs/benchmarks.md',
  'scale-summary',
  [
    `Scale (\`npm run scale\`, ${today()}, sizes on ${results.sizes.store ?? 'minio'}): ${rows.map((r) => `${n(r.files)} files (${r.verification}) in ${r.wallS} s, ${r.filesPerS} files/s, worker tree ${r.peakRssMb} MB`).join('; ')}; ` +
      `reruns copied ${rows.reduce((a, r) => a + r.rerunCopied, 0)}; at most ${n(Math.max(...rows.map((r) => r.maxEventsPerRun)))} events per workflow run and ${n(Math.max(...rows.map((r) => r.maxPayloadBytes)))} bytes per payload; ` +
      `listing ${n(largest.listKeysPerS)} keys/s; two workers on one queue ${scaleOut.speedup}× one (${LATENCY_MS} ms per S3 response, ${n(SHARE_FILES)} files).`,
  ].join('\n'),
);
console.log(
  JSON.stringify({
    scale: {
      sizes: rows.map((r) => ({
        files: r.files,
        verification: r.verification,
        wallS: r.wallS,
        filesPerS: r.filesPerS,
        peakRssMb: r.peakRssMb,
        maxEventsPerRun: r.maxEventsPerRun,
        maxPayloadBytes: r.maxPayloadBytes,
        rerunCopied: r.rerunCopied,
        discoveryListings: r.discoveryListings,
      })),
      listKeysPerS: largest.listKeysPerS,
      twoWorkersSpeedup: scaleOut.speedup,
      latencyMs: LATENCY_MS,
      resumedListing: {
        files: resume.files,
        killedAtSeries: resume.killedAtSeries,
        series: resume.series,
        resumed: resume.resumedListings === 1,
      },
    },
  }),
);
await connection.close();
process.exit(0);
