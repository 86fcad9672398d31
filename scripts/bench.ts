/**
 * `npm run bench`: the same copy job done side by side on a dedicated local stack, in one run:
 * the collection workflow (direct sync with and without verification; traditional), bare
 * `s5cmd run`, rclone and aws-cli (server-side copy, and download-then-upload). Profiles: `local`
 * (the embedded store, versitygw, on loopback, CPU-bound like this machine; BENCH_STORE=minio for the pinned MinIO)
 * and `latency` (the small set again through a Toxiproxy latency toxic in front of it, network-bound like real S3). A warm 10-file collection
 * against bare s5cmd gives the fixed cost per collection. Medians of BENCH_RUNS runs (default 3).
 * Writes its tables and charts into BENCHMARKS.md and its summary into docs/benchmarks.md, ends with one
 * JSON line, and stops the stack it started.
 *
 *   npm run bench                          # tiny, small, large, small under latency
 *   BENCH_SETS=small BENCH_RUNS=5 npm run bench
 *   BENCH_TOOLS=workflow,s5cmd npm run bench   # a filtered run prints but publishes nothing
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { startCollection } from '../client/collection';
import { buildCommandsFile } from '../activities/s5cmd-commands';
import { adminClient, ensureStackBuckets } from '../stack/buckets';
import { minioEndpoint, stackDown, stackUp, temporalAddress, TOOLS_BIN } from '../stack/local-stack';
import { fillMirror, type MirrorSpec } from '../stack/mirror';
import { PROJECT_ROOT, WorkerEnv } from '../worker/config';
import { buildWorkflowBundle } from '../worker/bundle';
import { buildWorker } from '../worker/build';
import type { CollectionRequestInput } from '../workflows/request';
import { seriesPrefix } from '../workflows/keys';
import { publishSection, today } from './figures';
import {
  benchStack,
  median,
  procStats,
  startMeasuredWorker,
  stopWorker,
  storeRequestCounter,
  treeRssSampler,
  type RssParts,
} from './measure';
import { startLatencyProxy, type LatencyProxy } from './latency-proxy';
import { startFaultProxy } from '../test/helpers/s3-fault-proxy';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const WORKERS = 64;
const PARALLEL_BATCHES = 4;
/** The worker's S5CMD_PROCESSES (its default unless set here): its s5cmd runs at once, whatever the batches in flight. */
const S5CMD_PROCESSES: number = WorkerEnv.innerType().shape.S5CMD_PROCESSES.parse(process.env.S5CMD_PROCESSES);
/** Of those, the ones that copy (with two or more, one is kept for the batches' proofs and .CHECKSUM copies). */
const COPY_PROCESSES = Math.max(1, S5CMD_PROCESSES - 1);
// s5cmd --numworkers × COPY_PROCESSES, rclone --transfers, aws max_concurrent_requests: the same 64 for all
/** Unset: the bench finds the latency at which bare s5cmd takes ≥ 3× its local time (a network-bound run), from these. */
const LATENCY_STEPS_MS = process.env.BENCH_LATENCY_MS
  ? [Number(process.env.BENCH_LATENCY_MS)]
  : [100, 200, 400, 800, 1600];
const NETWORK_BOUND = 3;
const stack = benchStack();
const work = path.join(PROJECT_ROOT, '.data/bench-work');

interface FileSet {
  name: 'tiny' | 'small' | 'large';
  files: number;
  bytes: number;
  request: CollectionRequestInput & MirrorSpec;
}
const ALL_SETS: FileSet[] = [
  {
    name: 'tiny',
    files: 10,
    bytes: 256 * 1024,
    request: { symbols: ['BENCHTINY'], intervals: ['1m'], startDate: '2021-01-01', endDate: '2021-01-10' },
  },
  {
    name: 'small',
    files: 1000,
    bytes: 256 * 1024,
    request: { symbols: ['BENCHSMALL'], intervals: ['1m'], startDate: '2021-01-01', endDate: '2023-09-27' },
  },
  {
    name: 'large',
    files: 50,
    bytes: 32 * 1024 * 1024,
    request: { symbols: ['BENCHLARGE'], intervals: ['1s'], startDate: '2024-01-01', endDate: '2024-02-19' },
  },
];
const SETS = ALL_SETS.filter((s) => !process.env.BENCH_SETS || process.env.BENCH_SETS.split(',').includes(s.name));
const WITH_LATENCY = !process.env.BENCH_SETS || process.env.BENCH_SETS.split(',').includes('latency');

interface Measure {
  wallS: number;
  cpuS: number;
  peakRssMb: number;
  peakDiskMb: number;
  s3Requests: number;
  /** Bytes of file content that went through the worker process, for the workflow's tools. */
  workerBytes?: number;
  /** The workflow's own phase times (its report's phaseMs), for the workflow's tools. */
  phaseMs?: Record<string, number>;
  /** What the worker tree's peak is made of (worker process, s5cmd processes), for the workflow's tools. */
  memory?: RssParts;
  /** Requests the store served that no tool sent (the stand-in for AWS's own check), left out of the count. */
  uncountedRequests?: number;
}

// ---------- helpers ----------
function ensureDebianTools() {
  const missing = [
    ['rclone', '/usr/bin/rclone'],
    ['awscli', '/usr/bin/aws'],
    ['time', '/usr/bin/time'],
  ]
    .filter(([, p]) => !existsSync(p))
    .map(([pkg]) => pkg);
  if (!missing.length) return;
  console.log(`installing ${missing.join(', ')} from Debian…`);
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  const r = spawnSync('apt-get', ['install', '-y', '-qq', ...missing], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0) throw new Error(`could not install ${missing.join(', ')}`);
}

/** Runs a command under GNU time: wall, user+sys CPU (children included) and peak RSS. */
function timed(
  cmd: string,
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<{ wallS: number; cpuS: number; rssMb: number }> {
  return new Promise((resolve, reject) => {
    const out = path.join(work, 'time.out');
    const child = spawn('/usr/bin/time', ['-o', out, '-f', '%e %U %S %M', cmd, ...args], {
      env: { ...process.env, ...extraEnv },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.slice(-1000)}`));
      const [e, u, s, m] = readFileSync(out, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
      resolve({ wallS: e, cpuS: u + s, rssMb: m / 1024 });
    });
  });
}

function duMb(dir: string): number {
  if (!existsSync(dir)) return 0;
  return Number(spawnSync('du', ['-sk', dir], { encoding: 'utf8' }).stdout.split('\t')[0]) / 1024;
}

async function deletePrefix(s3: S3Client, bucket: string, prefix: string) {
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix })) {
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length)
      await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
}

async function ensureMirror(s3: S3Client, set: FileSet) {
  const marker = `bench-markers/${set.name}-${set.files}-${set.bytes}.json`;
  try {
    await s3.send(new GetObjectCommand({ Bucket: stack.sourceBucket, Key: marker }));
    return;
  } catch {
    /* not there yet */
  }
  console.log(`filling the mirror with ${set.files} files of ${set.bytes / 1024} KiB (${set.name}), once…`);
  const files = await fillMirror(
    s3,
    stack.sourceBucket,
    {
      ...set.request,
      startDate: set.request.startDate!,
      endDate: set.request.endDate!,
      targetBytes: set.bytes,
      compressionLevel: 0,
    },
    8,
  );
  if (files.length !== set.files) throw new Error(`expected ${set.files} files, wrote ${files.length}`);
  await s3.send(new PutObjectCommand({ Bucket: stack.sourceBucket, Key: marker, Body: '{}' }));
}

// ---------- the contenders ----------
interface Ctx {
  set: FileSet;
  srcPrefix: string;
  dest: string;
  keys: string[];
  endpoint: string;
}
type Tool = (ctx: Ctx) => Promise<Omit<Measure, 's3Requests'>>;

const rcloneEnv = (endpoint: string) => ({
  RCLONE_CONFIG_MINIO_TYPE: 's3',
  RCLONE_CONFIG_MINIO_PROVIDER: 'Minio',
  RCLONE_CONFIG_MINIO_ENDPOINT: endpoint,
  RCLONE_CONFIG_MINIO_ACCESS_KEY_ID: stack.minioUser,
  RCLONE_CONFIG_MINIO_SECRET_ACCESS_KEY: stack.minioPassword,
  RCLONE_CONFIG_MINIO_REGION: 'us-east-1',
  // rclone 1.60 cannot load AWS_CA_BUNDLE into its own HTTP transport; plain HTTP needs none.
  AWS_CA_BUNDLE: '',
});
const awsEnv = () => {
  const config = path.join(work, 'aws-config');
  writeFileSync(config, `[default]\nregion = us-east-1\ns3 =\n  max_concurrent_requests = ${WORKERS}\n`);
  return {
    AWS_CONFIG_FILE: config,
    AWS_ACCESS_KEY_ID: stack.minioUser,
    AWS_SECRET_ACCESS_KEY: stack.minioPassword,
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
};
const awsArgs = (endpoint: string) => ['--endpoint-url', endpoint, '--only-show-errors'];

function workflowTool(mode: 'direct_sync' | 'traditional', verification: 'checksum' | 'none'): Tool {
  return async ({ set, dest, endpoint }) => {
    const taskQueue = `bench-${Date.now()}`;
    // The worker's copying s5cmd processes (1 at the defaults) × 64 workers: the same 64 copies in flight as the bare
    // tools, whatever the 4 batches in flight do meanwhile (their bookkeeping runs beside them, counted).
    const worker = await startMeasuredWorker(stack, {
      TEMPORAL_TASK_QUEUE: taskQueue,
      STAGING_DIR: path.join(work, 'staging'),
      SOURCE_ENDPOINT: endpoint,
      DEST_ENDPOINT: endpoint,
      S5CMD_NUMWORKERS: String(Math.ceil(WORKERS / COPY_PROCESSES)),
      TRANSFER_CONCURRENCY: String(WORKERS / PARALLEL_BATCHES),
    });
    const connection = await Connection.connect({ address: temporalAddress(stack) });
    const client = new Client({ connection });
    const request = { ...set.request, mode, verification, batchSize: 250, parallelBatches: PARALLEL_BATCHES };
    // The fixed cost is what a long-running worker (a daily schedule's) pays: warm it with another collection first.
    if (set.name === 'tiny')
      await (
        await startCollection(
          client,
          { ...request, destination: { bucket: stack.destBucket, prefix: `${dest}warm-up/` } },
          { taskQueue },
        )
      ).handle.result();
    const rss = treeRssSampler(worker.pid!);
    const before = procStats(worker.pid!);
    const t0 = performance.now();
    const { handle } = await startCollection(
      client,
      { ...request, destination: { bucket: stack.destBucket, prefix: dest } },
      { taskQueue },
    );
    const report = await handle.result();
    const wallS = (performance.now() - t0) / 1000;
    const after = procStats(worker.pid!);
    const peakRssMb = rss.stop();
    const memory = rss.parts();
    await connection.close();
    await stopWorker(worker);
    if (report.files.copied !== set.files)
      throw new Error(`${mode}: copied ${report.files.copied} of ${set.files}: ${report.verdict}`);
    return {
      wallS,
      cpuS: after.cpuS - before.cpuS,
      peakRssMb,
      peakDiskMb: report.peakLocalDiskBytes / 1024 ** 2,
      workerBytes: report.bytes.throughWorker,
      phaseMs: report.phaseMs,
      memory,
    };
  };
}

/**
 * The tool against a store that refuses a copy onto a taken key itself (`If-None-Match: *` on CopyObject), as AWS S3
 * does and none of the embedded stores do: the test suite's S3 proxy answers so, looking the key up in the store
 * directly (not through the latency proxy), the way AWS checks inside the store. The worker's probe sees the store
 * refuse such a copy and sends `cp --if-absent` instead of a HEAD before each copy. The proxy's own lookups are not
 * counted as the tool's requests.
 */
function onStoreRefusingCopyOntoTakenKey(tool: Tool): Tool {
  return async (ctx) => {
    const proxy = await startFaultProxy({
      upstream: ctx.endpoint,
      sourceRegion: 'us-east-1',
      copyIfAbsent: {
        accessKeyId: stack.minioUser,
        secretAccessKey: stack.minioPassword,
        endpoint: minioEndpoint(stack),
      },
    });
    try {
      const m = await tool({ ...ctx, endpoint: proxy.url });
      // The copies it refused itself never reached the store: they are the tool's requests all the same.
      const refused = proxy.seen.filter((r) => r.injected === 'PreconditionFailed').length;
      return { ...m, uncountedRequests: proxy.lookups() - refused };
    } finally {
      await proxy.close();
    }
  };
}

const bareS5cmd: Tool = async ({ keys, dest, endpoint }) => {
  const file = path.join(work, 's5cmd-commands.txt');
  writeFileSync(
    file,
    buildCommandsFile(
      keys.map((k, index) => ({
        index,
        from: `s3://${stack.sourceBucket}/${k}`,
        to: `s3://${stack.destBucket}/${dest}${k}`,
      })),
    ).text,
  );
  const r = await timed(
    path.join(TOOLS_BIN, 's5cmd'),
    ['--numworkers', String(WORKERS), '--endpoint-url', endpoint, 'run', file],
    { AWS_ACCESS_KEY_ID: stack.minioUser, AWS_SECRET_ACCESS_KEY: stack.minioPassword, AWS_REGION: 'us-east-1' },
  );
  return { wallS: r.wallS, cpuS: r.cpuS, peakRssMb: r.rssMb, peakDiskMb: 0 };
};

const rcloneServerSide: Tool = async ({ srcPrefix, dest, endpoint }) => {
  const r = await timed(
    '/usr/bin/rclone',
    [
      'copy',
      `minio:${stack.sourceBucket}/${srcPrefix}`,
      `minio:${stack.destBucket}/${dest}${srcPrefix}`,
      '--transfers',
      String(WORKERS),
      '--checkers',
      String(WORKERS),
      '--s3-no-check-bucket',
    ],
    rcloneEnv(endpoint),
  );
  return { wallS: r.wallS, cpuS: r.cpuS, peakRssMb: r.rssMb, peakDiskMb: 0 };
};

const rcloneDownloadUpload: Tool = async ({ srcPrefix, dest, endpoint }) => {
  const stage = path.join(work, 'rclone-stage');
  rmSync(stage, { recursive: true, force: true });
  const a = await timed(
    '/usr/bin/rclone',
    [
      'copy',
      `minio:${stack.sourceBucket}/${srcPrefix}`,
      stage,
      '--transfers',
      String(WORKERS),
      '--checkers',
      String(WORKERS),
    ],
    rcloneEnv(endpoint),
  );
  const disk = duMb(stage);
  const b = await timed(
    '/usr/bin/rclone',
    [
      'copy',
      stage,
      `minio:${stack.destBucket}/${dest}${srcPrefix}`,
      '--transfers',
      String(WORKERS),
      '--checkers',
      String(WORKERS),
      '--s3-no-check-bucket',
    ],
    rcloneEnv(endpoint),
  );
  rmSync(stage, { recursive: true, force: true });
  return { wallS: a.wallS + b.wallS, cpuS: a.cpuS + b.cpuS, peakRssMb: Math.max(a.rssMb, b.rssMb), peakDiskMb: disk };
};

const awsServerSide: Tool = async ({ srcPrefix, dest, endpoint }) => {
  const r = await timed(
    '/usr/bin/aws',
    [
      's3',
      'cp',
      `s3://${stack.sourceBucket}/${srcPrefix}`,
      `s3://${stack.destBucket}/${dest}${srcPrefix}`,
      '--recursive',
      ...awsArgs(endpoint),
    ],
    awsEnv(),
  );
  return { wallS: r.wallS, cpuS: r.cpuS, peakRssMb: r.rssMb, peakDiskMb: 0 };
};

const awsDownloadUpload: Tool = async ({ srcPrefix, dest, endpoint }) => {
  const stage = path.join(work, 'aws-stage');
  rmSync(stage, { recursive: true, force: true });
  const e = awsEnv();
  const a = await timed(
    '/usr/bin/aws',
    ['s3', 'cp', `s3://${stack.sourceBucket}/${srcPrefix}`, stage, '--recursive', ...awsArgs(endpoint)],
    e,
  );
  const disk = duMb(stage);
  const b = await timed(
    '/usr/bin/aws',
    ['s3', 'cp', stage, `s3://${stack.destBucket}/${dest}${srcPrefix}`, '--recursive', ...awsArgs(endpoint)],
    e,
  );
  rmSync(stage, { recursive: true, force: true });
  return { wallS: a.wallS + b.wallS, cpuS: a.cpuS + b.cpuS, peakRssMb: Math.max(a.rssMb, b.rssMb), peakDiskMb: disk };
};

const DIRECT_VERIFIED = 'workflow direct sync (verify)';
const DIRECT = 'workflow direct sync (no verify)';
const DIRECT_VERIFIED_IF_ABSENT = 'workflow direct sync (verify), store refusing copies onto taken keys (as AWS)';
const TRADITIONAL = 'workflow traditional (verify)';
const BARE = 'bare s5cmd run';
const TOOLS: Record<string, Tool> = {
  [DIRECT_VERIFIED]: workflowTool('direct_sync', 'checksum'),
  [DIRECT_VERIFIED_IF_ABSENT]: onStoreRefusingCopyOntoTakenKey(workflowTool('direct_sync', 'checksum')),
  [DIRECT]: workflowTool('direct_sync', 'none'),
  [TRADITIONAL]: workflowTool('traditional', 'checksum'),
  [BARE]: bareS5cmd,
  'rclone server-side': rcloneServerSide,
  'rclone download+upload': rcloneDownloadUpload,
  'aws s3 server-side': awsServerSide,
  'aws s3 download+upload': awsDownloadUpload,
};
/**
 * Which tools each measurement runs: the tiny set is about the fixed cost; under latency aws-cli is left out (slow,
 * and beside the point); the AWS-like store is about request economy (the small set): its proxy is one more Node
 * process on the same two cores, so its times say little.
 */
const toolsFor = (key: string) =>
  Object.keys(TOOLS)
    .filter((n) =>
      key === 'tiny' ? [DIRECT_VERIFIED, BARE].includes(n) : key === 'smallLatency' ? !n.startsWith('aws') : true,
    )
    .filter((n) => n !== DIRECT_VERIFIED_IF_ABSENT || key === 'small')
    .filter((n) => !process.env.BENCH_TOOLS || process.env.BENCH_TOOLS.split(',').some((t) => n.includes(t)));

type Row = Measure & { filesPerS: number; mbPerS: number; runs: number[] };

const setPrefix = (set: FileSet) =>
  seriesPrefix({
    market: 'spot',
    granularity: 'daily',
    dataType: 'klines',
    symbol: set.request.symbols![0],
    interval: set.request.intervals![0],
  });

async function seriesKeys(s3: S3Client, set: FileSet): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of paginateListObjectsV2(
    { client: s3 },
    { Bucket: stack.sourceBucket, Prefix: setPrefix(set) },
  ))
    keys.push(...(page.Contents ?? []).map((o) => o.Key!));
  return keys;
}

async function measureSet(s3: S3Client, set: FileSet, key: string, endpoint: string): Promise<Record<string, Row>> {
  await ensureMirror(s3, set);
  const prefix = setPrefix(set);
  const keys = await seriesKeys(s3, set);
  const totalMb = (set.files * set.bytes) / 1024 ** 2;
  const out: Record<string, Row> = {};
  for (const name of toolsFor(key)) {
    const runs: Measure[] = [];
    for (let run = 1; run <= RUNS; run++) {
      const dest = `bench/${key}/${name.replace(/\W+/g, '-')}/r${run}/`;
      await deletePrefix(s3, stack.destBucket, dest);
      const before = await counter.settled();
      const m = await TOOLS[name]({ set, srcPrefix: prefix, dest, keys, endpoint });
      const requests = (await counter.settled()) - before - (m.uncountedRequests ?? 0);
      runs.push({ ...m, s3Requests: requests });
      console.log(
        `  ${key} · ${name} · run ${run}: ${m.wallS.toFixed(2)} s, CPU ${m.cpuS.toFixed(1)} s, RSS ${m.peakRssMb.toFixed(0)} MB` +
          (m.memory
            ? ` (worker ${m.memory.workerMb} MB, up to ${m.memory.childrenAtOnce} s5cmd at once, largest ${m.memory.childMb} MB)`
            : '') +
          `, disk ${m.peakDiskMb.toFixed(0)} MB, ${requests} S3 requests`,
      );
      await deletePrefix(s3, stack.destBucket, dest);
    }
    const wallS = median(runs.map((r) => r.wallS));
    out[name] = {
      wallS,
      cpuS: median(runs.map((r) => r.cpuS)),
      peakRssMb: Math.max(...runs.map((r) => r.peakRssMb)),
      peakDiskMb: Math.max(...runs.map((r) => r.peakDiskMb)),
      s3Requests: median(runs.map((r) => r.s3Requests)),
      filesPerS: set.files / wallS,
      mbPerS: totalMb / wallS,
      runs: runs.map((r) => +r.wallS.toFixed(3)),
      ...(runs[0].memory ? { memory: runs.reduce((a, b) => (b.peakRssMb > a.peakRssMb ? b : a)).memory } : {}),
      ...(runs[0].workerBytes !== undefined ? { workerBytes: median(runs.map((r) => r.workerBytes!)) } : {}),
      ...(runs[0].phaseMs
        ? {
            phaseMs: Object.fromEntries(
              Object.keys(runs[0].phaseMs).map((p) => [p, median(runs.map((r) => r.phaseMs?.[p] ?? 0))]),
            ),
          }
        : {}),
    };
  }
  return out;
}

/** The stable names anyone can track across runs. */
function ratiosOf(byTool: Record<string, Row>, files: number) {
  const r = (a: string, b: string) => (byTool[a] && byTool[b] ? +(byTool[a].wallS / byTool[b].wallS).toFixed(3) : null);
  const fastestDlUl = ['rclone download+upload', 'aws s3 download+upload']
    .filter((t) => byTool[t])
    .sort((a, b) => byTool[a].wallS - byTool[b].wallS)[0];
  const workflow = [DIRECT_VERIFIED, DIRECT, TRADITIONAL].filter((t) => byTool[t]);
  return {
    directVerifiedOverBareS5cmd: r(DIRECT_VERIFIED, BARE),
    directOverBareS5cmd: r(DIRECT, BARE),
    traditionalOverFastestDownloadUpload: fastestDlUl ? r(TRADITIONAL, fastestDlUl) : null,
    fastestDownloadUpload: fastestDlUl ?? null,
    traditionalOverDirectVerified: r(TRADITIONAL, DIRECT_VERIFIED),
    workerBytesPerVerifiedFile:
      byTool[DIRECT_VERIFIED]?.workerBytes !== undefined
        ? Math.round(byTool[DIRECT_VERIFIED].workerBytes! / files)
        : null,
    peakRssMb: workflow.length ? Math.round(Math.max(...workflow.map((t) => byTool[t].peakRssMb))) : null,
    // What verified direct sync's peak is made of: the worker process, and its s5cmd processes.
    memory: byTool[DIRECT_VERIFIED]?.memory ?? null,
    // Issue 19's request economy, counted by the store itself: per file of the set, every request of the run.
    requestsPerVerifiedFile: byTool[DIRECT_VERIFIED] ? +(byTool[DIRECT_VERIFIED].s3Requests / files).toFixed(2) : null,
    requestsPerVerifiedFileIfAbsent: byTool[DIRECT_VERIFIED_IF_ABSENT]
      ? +(byTool[DIRECT_VERIFIED_IF_ABSENT].s3Requests / files).toFixed(2)
      : null,
    requestsPerFileBareS5cmd: byTool[BARE] ? +(byTool[BARE].s3Requests / files).toFixed(2) : null,
  };
}

/** A bar per tool, to be taken in at a glance. */
function chart(byTool: Record<string, Row>): string {
  const longest = Math.max(...Object.values(byTool).map((r) => r.wallS));
  const width = Math.max(...Object.keys(byTool).map((k) => k.length));
  return [
    '```',
    ...Object.entries(byTool).map(
      ([name, r]) =>
        `${name.padEnd(width)}  ${'█'.repeat(Math.max(1, Math.round((r.wallS / longest) * 50)))} ${r.wallS.toFixed(1)} s`,
    ),
    '```',
  ].join('\n');
}

// ---------- run ----------
ensureDebianTools();
mkdirSync(work, { recursive: true });
await buildWorkflowBundle();
await buildWorker();
// The store counts every tool's requests; its counter listens before the store starts (a bench stack left up
// by an interrupted run is restarted, so that it sends its counts here).
const counter = await storeRequestCounter(stack);
await stackDown(stack);
await stackUp(stack);
let proxy: LatencyProxy | undefined;
let latencyMs: number | null = null;
let localBareS: number | null = null;
const calibration: { latencyMs: number; bareS: number; overLocal: number }[] = [];
const results: Record<string, Record<string, Row>> = {};
const setOf: Record<string, FileSet> = {};
try {
  await ensureStackBuckets(stack);
  const s3 = adminClient(stack);
  for (const set of SETS) {
    results[set.name] = await measureSet(s3, set, set.name, minioEndpoint(stack));
    setOf[set.name] = set;
  }
  const small = ALL_SETS.find((s) => s.name === 'small')!;
  if (WITH_LATENCY) {
    await ensureMirror(s3, small);
    const keys = await seriesKeys(s3, small);
    const bareOnce = async (endpoint: string) => {
      const dest = `bench/calibrate/${Date.now()}/`;
      const m = await bareS5cmd({ set: small, srcPrefix: '', dest, keys, endpoint });
      await deletePrefix(s3, stack.destBucket, dest);
      return m.wallS;
    };
    const localS = results.small?.[BARE]?.wallS ?? (await bareOnce(minioEndpoint(stack)));
    proxy = await startLatencyProxy(minioEndpoint(stack), LATENCY_STEPS_MS[0]);
    for (const ms of LATENCY_STEPS_MS) {
      await proxy.setLatency(ms);
      const s = await bareOnce(proxy.endpoint);
      calibration.push({ latencyMs: ms, bareS: +s.toFixed(2), overLocal: +(s / localS).toFixed(2) });
      console.log(
        `  latency ${ms} ms: bare s5cmd ${s.toFixed(2)} s, ${(s / localS).toFixed(2)}× its local ${localS.toFixed(2)} s`,
      );
      latencyMs = ms;
      if (s >= NETWORK_BOUND * localS) break;
    }
    localBareS = localS;
    results.smallLatency = await measureSet(s3, small, 'smallLatency', proxy.endpoint);
    setOf.smallLatency = small;
  }
} finally {
  await proxy?.stop();
  await stackDown(stack);
  counter.close();
}

const ratios: Record<string, ReturnType<typeof ratiosOf>> = {};
const sections: Record<string, string> = {};
for (const [key, byTool] of Object.entries(results)) {
  const set = setOf[key];
  if (key === 'tiny') continue;
  ratios[key] = ratiosOf(byTool, set.files);
  const lines = [
    `### ${set.files} files × ${set.bytes >= 1024 ** 2 ? `${set.bytes / 1024 ** 2} MiB` : `${set.bytes / 1024} KiB`}${key === 'smallLatency' ? `, through ${latencyMs} ms of latency per response (Toxiproxy)` : ''}, on ${stack.store}, median of ${RUNS} runs, measured ${today()}`,
    '',
    chart(byTool),
    '',
    '| tool | wall s | files/s | MB/s | CPU s | peak RSS MB | peak disk MB | S3 requests | runs (s) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...Object.entries(byTool).map(
      ([tool, r]) =>
        `| ${tool} | ${r.wallS.toFixed(2)} | ${r.filesPerS.toFixed(0)} | ${r.mbPerS.toFixed(1)} | ${r.cpuS.toFixed(1)} | ${r.peakRssMb.toFixed(0)} | ${r.peakDiskMb.toFixed(0)} | ${r.s3Requests} | ${r.runs.join(', ')} |`,
    ),
    '',
    '| ratio | value |',
    '| --- | ---: |',
    // The memory breakdown is written under the targets table, not as a ratio.
    ...Object.entries(ratios[key])
      .filter(([, v]) => typeof v !== 'object' || v === null)
      .map(([k, v]) => `| ${k} | ${v ?? '-'} |`),
    ...(key === 'smallLatency' ? latencyNotes(byTool) : []),
  ];
  sections[key] = lines.join('\n');
}
/** Is the profile network-bound (bare s5cmd against its local time), and where the workflow's time went. */
function latencyNotes(byTool: Record<string, Row>): string[] {
  const steps = calibration.map((c) => `${c.latencyMs} ms → ${c.bareS} s (${c.overLocal}×)`).join(', ');
  const phases = [DIRECT_VERIFIED, DIRECT, TRADITIONAL].filter((t) => byTool[t]?.phaseMs);
  const names = [...new Set(phases.flatMap((t) => Object.keys(byTool[t].phaseMs!)))];
  return [
    '',
    `Network-bound: bare \`s5cmd run\` took ${byTool[BARE]?.wallS.toFixed(2) ?? '-'} s here against ${localBareS?.toFixed(2) ?? '-'} s on loopback ` +
      `(latency chosen as the first with ≥ ${NETWORK_BOUND}×: ${steps}).`,
    '',
    `Where the workflow's time went (medians; phases overlap where shards run side by side; worker CPU is the worker and its s5cmd children):`,
    '',
    `| tool | ${names.join(' ms | ')} ms | worker CPU / wall |`,
    `| --- | ${names.map(() => '---:').join(' | ')} | ---: |`,
    ...phases.map(
      (t) =>
        `| ${t} | ${names.map((n) => Math.round(byTool[t].phaseMs![n] ?? 0)).join(' | ')} | ${((byTool[t].cpuS / byTool[t].wallS) * 100).toFixed(0)} % |`,
    ),
  ];
}

const fixedCostS =
  results.tiny?.[DIRECT_VERIFIED] && results.tiny[BARE]
    ? +(results.tiny[DIRECT_VERIFIED].wallS - results.tiny[BARE].wallS).toFixed(3)
    : null;
if (fixedCostS !== null) {
  sections.tiny = `A warm worker's 10-file collection (direct sync, SHA-256 proof) took ${results.tiny[DIRECT_VERIFIED].wallS.toFixed(2)} s against ${results.tiny[BARE].wallS.toFixed(2)} s for bare \`s5cmd run\`: **fixed cost ${fixedCostS.toFixed(2)} s per collection** (target ≤ 1 s), medians of ${RUNS}, measured ${today()}.`;
}
/** Issue 19's targets against this run's figures, each met or not (only those this run measured). */
function targetsSection(): string | undefined {
  const local = ratios.small;
  const lat = ratios.smallLatency;
  const atMost = (bound: number, note = '') => ({ wanted: `≤ ${bound}${note}`, met: (x: number) => x <= bound });
  const atLeast = (bound: number, note = '') => ({ wanted: `≥ ${bound}${note}`, met: (x: number) => x >= bound });
  const rows: [string, string, string, boolean][] = [];
  const add = (what: string, figure: number | null | undefined, target: ReturnType<typeof atMost>) => {
    if (figure !== null && figure !== undefined) rows.push([what, String(figure), target.wanted, target.met(figure)]);
  };
  add(
    'store requests per verified new file (small set, counted by the store)',
    local?.requestsPerVerifiedFile,
    atMost(4.2, ` (${stack.store} ignores If-None-Match on a copy: a HEAD before each)`),
  );
  add(
    'the same on a store refusing copies onto taken keys (as AWS)',
    local?.requestsPerVerifiedFileIfAbsent,
    atMost(4.2, ' where the copy result carries the SHA-256'),
  );
  add('verified direct sync / bare s5cmd, local', local?.directVerifiedOverBareS5cmd, atMost(1.35));
  add('traditional / fastest download+upload, local', local?.traditionalOverFastestDownloadUpload, atMost(1.25));
  if (lat && localBareS && results.smallLatency?.[BARE])
    add(
      'bare s5cmd under latency / on loopback',
      +(results.smallLatency[BARE].wallS / localBareS).toFixed(2),
      atLeast(3, ' (network-bound)'),
    );
  add('verified direct sync / bare s5cmd, network-bound', lat?.directVerifiedOverBareS5cmd, atMost(1.5));
  const v = results.smallLatency?.[DIRECT_VERIFIED];
  if (v)
    add(
      'worker CPU / wall of verified direct sync, network-bound',
      +(v.cpuS / v.wallS).toFixed(2),
      atMost(0.1, ' of the time not waiting on the store'),
    );
  add('traditional / fastest download+upload, network-bound', lat?.traditionalOverFastestDownloadUpload, atMost(1));
  add('worker tree peak RSS MB, small set', local?.peakRssMb, atMost(300));
  add('fixed cost per collection s (warm worker, 10 files)', fixedCostS, atMost(1.2));
  if (!rows.length) return undefined;
  const m = local?.memory;
  return [
    `Issue 19's targets against this run (${today()}, ${stack.store}):`,
    '',
    '| target | figure | wanted | met |',
    '| --- | ---: | --- | --- |',
    ...rows.map(([what, figure, target, met]) => `| ${what} | ${figure} | ${target} | ${met ? 'yes' : '**no**'} |`),
    ...(m
      ? [
          '',
          `The small set's worker tree (verified direct sync) is the worker process (peak ${m.workerMb} MB) and up to ` +
            `${m.childrenAtOnce} s5cmd processes at once (the largest ${m.childMb} MB): the memory formula in ` +
            '[docs/configuration.md](docs/configuration.md#memory) with these figures.',
        ]
      : []),
  ].join('\n');
}
const targets = targetsSection();
if (targets) sections.targets = targets;
const table = Object.values(sections).join('\n\n');
console.log(table);
mkdirSync(path.join(PROJECT_ROOT, 'artifacts'), { recursive: true });
writeFileSync(path.join(PROJECT_ROOT, 'artifacts/bench.md'), `${table}\n`);
// A full run (every tool) publishes its figures; a filtered one only prints them.
if (!process.env.BENCH_TOOLS) {
  for (const [key, section] of Object.entries(sections)) publishSection('BENCHMARKS.md', `bench-${key}`, section);
  const s = results.small;
  if (s) {
    const row = (label: string, ...tools: string[]) => {
      const rs = tools.map((t) => s[t]).filter(Boolean);
      const join = (f: (r: Row) => string) => rs.map(f).join(' / ');
      return `| ${label} | ${join((r) => r.wallS.toFixed(1))} | ${join((r) => r.cpuS.toFixed(1))} | ${Math.max(...rs.map((r) => r.peakRssMb)).toFixed(0)} | ${join((r) => r.peakDiskMb.toFixed(0))} |`;
    };
    const lat = ratios.smallLatency;
    publishSection(
      'docs/benchmarks.md',
      'bench-summary',
      [
        `| 1,000 × 256 KiB, median of ${RUNS}, measured ${today()} | wall s | CPU s | peak RSS MB | local disk MB |`,
        '| --- | ---: | ---: | ---: | ---: |',
        row('workflow direct sync, SHA-256 proof', DIRECT_VERIFIED),
        row('workflow direct sync, not verified', DIRECT),
        row('workflow traditional, SHA-256 proof', TRADITIONAL),
        row('bare `s5cmd run`', BARE),
        row('rclone server-side / download+upload', 'rclone server-side', 'rclone download+upload'),
        row('aws s3 server-side / download+upload', 'aws s3 server-side', 'aws s3 download+upload'),
        '',
        `Ratios (local): verified direct sync / bare s5cmd ${ratios.small?.directVerifiedOverBareS5cmd}, traditional / ${ratios.small?.fastestDownloadUpload} ${ratios.small?.traditionalOverFastestDownloadUpload}, ` +
          `file bytes through the worker per verified file ${ratios.small?.workerBytesPerVerifiedFile}` +
          (lat
            ? `; through ${latencyMs} ms of latency: ${lat.directVerifiedOverBareS5cmd} and ${lat.traditionalOverFastestDownloadUpload}`
            : '') +
          (fixedCostS !== null ? `; fixed cost per collection ${fixedCostS.toFixed(2)} s.` : '.'),
      ].join('\n'),
    );
  }
}
console.log(
  JSON.stringify({
    bench: {
      runs: RUNS,
      store: stack.store,
      concurrency: WORKERS,
      cores: (await import('node:os')).cpus().length,
      latencyMs,
      latencyCalibration: calibration,
      localBareS5cmdS: localBareS,
      results,
    },
    ratios,
    fixedCostS,
  }),
);
process.exit(0);
