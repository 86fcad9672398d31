/**
 * `npm run bench`: the same copy job done side by side on a dedicated local stack, in one run:
 * the collection workflow (direct sync, with and without verification; traditional), bare
 * `s5cmd run`, rclone and aws-cli (server-side copy, and download-then-upload).
 * Reports medians of BENCH_RUNS runs (default 3) per tool and file set, and ends with one JSON line.
 *
 *   npm run bench                      # both sets: 1,000 × 256 KiB and 50 × 32 MiB
 *   BENCH_SETS=small BENCH_RUNS=5 npm run bench
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { startCollection } from '../client/collection';
import { buildCommandsFile } from '../activities/s5cmd-commands';
import { adminClient, ensureStackBuckets } from '../stack/buckets';
import { minioEndpoint, stackUp, temporalAddress, TOOLS_BIN } from '../stack/local-stack';
import { benchStack, median, procStats, startMeasuredWorker, stopWorker } from './measure';
import { publishSection, today } from './figures';
import { fillMirror } from '../stack/mirror';
import { PROJECT_ROOT } from '../worker/config';
import { buildWorkflowBundle } from '../worker/bundle';
import type { CollectionRequestInput } from '../workflows/request';
import { seriesPrefix } from '../workflows/keys';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const WORKERS = 64;
const PARALLEL_BATCHES = 4; // s5cmd --numworkers, rclone --transfers, aws max_concurrent_requests: the same for all
const stack = benchStack();
const work = path.join(PROJECT_ROOT, '.data/bench-work');

interface FileSet {
  name: string;
  files: number;
  bytes: number;
  request: CollectionRequestInput;
}
const SETS: FileSet[] = [
  { name: 'small', files: 1000, bytes: 256 * 1024, request: { symbols: ['BENCHSMALL'], intervals: ['1m'], startDate: '2021-01-01', endDate: '2023-09-27' } },
  { name: 'large', files: 50, bytes: 32 * 1024 * 1024, request: { symbols: ['BENCHLARGE'], intervals: ['1s'], startDate: '2024-01-01', endDate: '2024-02-19' } },
].filter((s) => !process.env.BENCH_SETS || process.env.BENCH_SETS.split(',').includes(s.name));

interface Measure {
  wallS: number;
  cpuS: number;
  peakRssMb: number;
  peakDiskMb: number;
  s3Requests: number;
}

// ---------- helpers ----------
function ensureDebianTools() {
  const missing = [['rclone', '/usr/bin/rclone'], ['awscli', '/usr/bin/aws'], ['time', '/usr/bin/time']].filter(([, p]) => !existsSync(p)).map(([pkg]) => pkg);
  if (!missing.length) return;
  console.log(`installing ${missing.join(', ')} from Debian…`);
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  const r = spawnSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0) throw new Error(`could not install ${missing.join(', ')}`);
}

async function s3RequestCount(): Promise<number> {
  // v3 counters are live; v2's are cached for a while.
  const text = await (await fetch(`${minioEndpoint(stack)}/minio/metrics/v3/api/requests`)).text();
  return text.split('\n').filter((l) => l.startsWith('minio_api_requests_total{') && l.includes('type="s3"')).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

async function settledRequestCount(): Promise<number> {
  // MinIO updates its counters asynchronously: read until two reads agree.
  let last = -1;
  for (let i = 0; i < 20; i++) {
    const now = await s3RequestCount();
    if (now === last) return now;
    last = now;
    await new Promise((r) => setTimeout(r, 300));
  }
  return last;
}

/** Runs a command under GNU time: wall, user+sys CPU (children included) and peak RSS. */
function timed(cmd: string, args: string[], extraEnv: Record<string, string> = {}): Promise<{ wallS: number; cpuS: number; rssMb: number }> {
  return new Promise((resolve, reject) => {
    const out = path.join(work, 'time.out');
    const child = spawn('/usr/bin/time', ['-o', out, '-f', '%e %U %S %M', cmd, ...args], { env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'ignore', 'pipe'] });
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
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length) await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
    token = page.NextContinuationToken;
  } while (token);
}

async function ensureMirror(s3: S3Client, set: FileSet) {
  const marker = `bench-markers/${set.name}-${set.files}-${set.bytes}.json`;
  try {
    await s3.send(new GetObjectCommand({ Bucket: stack.sourceBucket, Key: marker }));
    return;
  } catch { /* not there yet */ }
  console.log(`filling the mirror with ${set.files} files of ${set.bytes / 1024} KiB (${set.name}), once…`);
  const files = await fillMirror(s3, stack.sourceBucket, { ...set.request, targetBytes: set.bytes, compressionLevel: 0 }, 8);
  if (files.length !== set.files) throw new Error(`expected ${set.files} files, wrote ${files.length}`);
  await s3.send(new PutObjectCommand({ Bucket: stack.sourceBucket, Key: marker, Body: '{}' }));
}

// ---------- the contenders ----------
const rcloneEnv = {
  RCLONE_CONFIG_MINIO_TYPE: 's3', RCLONE_CONFIG_MINIO_PROVIDER: 'Minio', RCLONE_CONFIG_MINIO_ENDPOINT: minioEndpoint(stack),
  RCLONE_CONFIG_MINIO_ACCESS_KEY_ID: stack.minioUser, RCLONE_CONFIG_MINIO_SECRET_ACCESS_KEY: stack.minioPassword, RCLONE_CONFIG_MINIO_REGION: 'us-east-1',
  // rclone 1.60 cannot load AWS_CA_BUNDLE into its own HTTP transport; plain HTTP needs none.
  AWS_CA_BUNDLE: '',
};
const awsEnv = () => {
  const config = path.join(work, 'aws-config');
  writeFileSync(config, `[default]\nregion = us-east-1\ns3 =\n  max_concurrent_requests = ${WORKERS}\n`);
  return { AWS_CONFIG_FILE: config, AWS_ACCESS_KEY_ID: stack.minioUser, AWS_SECRET_ACCESS_KEY: stack.minioPassword, AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };
};
const awsArgs = ['--endpoint-url', minioEndpoint(stack), '--only-show-errors'];

type Tool = (ctx: { set: FileSet; srcPrefix: string; dest: string; keys: string[] }) => Promise<Omit<Measure, 's3Requests'>>;

function workflowTool(mode: 'direct_sync' | 'traditional', verification: 'checksum' | 'none'): Tool {
  return async ({ set, dest }) => {
    const taskQueue = `bench-${Date.now()}`;
    // 4 batches at once × 16 s5cmd workers: the same 64 copies in flight as the bare tools.
    const worker = await startMeasuredWorker(stack, { TEMPORAL_TASK_QUEUE: taskQueue, STAGING_DIR: path.join(work, 'staging'), S5CMD_NUMWORKERS: String(WORKERS / PARALLEL_BATCHES), TRANSFER_CONCURRENCY: String(WORKERS / PARALLEL_BATCHES) });
    const connection = await Connection.connect({ address: temporalAddress(stack) });
    const client = new Client({ connection });
    const before = procStats(worker.pid!);
    const t0 = performance.now();
    const { handle } = await startCollection(client, { ...set.request, mode, verification, batchSize: 250, parallelBatches: PARALLEL_BATCHES, destination: { bucket: stack.destBucket, prefix: dest } }, { taskQueue, workflowId: `bench-${set.name}-${dest.replace(/\W/g, '')}` });
    const report = await handle.result();
    const wallS = (performance.now() - t0) / 1000;
    const after = procStats(worker.pid!);
    await connection.close();
    await stopWorker(worker);
    if (report.files.copied !== set.files) throw new Error(`${mode}: copied ${report.files.copied} of ${set.files}`);
    return { wallS, cpuS: after.cpuS - before.cpuS, peakRssMb: after.rssMb, peakDiskMb: report.peakLocalDiskBytes / 1024 ** 2 };
  };
}

const bareS5cmd: Tool = async ({ keys, dest }) => {
  const file = path.join(work, 's5cmd-commands.txt');
  writeFileSync(file, buildCommandsFile(keys.map((k, index) => ({ index, from: `s3://${stack.sourceBucket}/${k}`, to: `s3://${stack.destBucket}/${dest}${k}` }))).text);
  const r = await timed(path.join(TOOLS_BIN, 's5cmd'), ['--numworkers', String(WORKERS), '--endpoint-url', minioEndpoint(stack), 'run', file], { AWS_ACCESS_KEY_ID: stack.minioUser, AWS_SECRET_ACCESS_KEY: stack.minioPassword, AWS_REGION: 'us-east-1' });
  return { wallS: r.wallS, cpuS: r.cpuS, peakRssMb: r.rssMb, peakDiskMb: 0 };
};

const rcloneServerSide: Tool = async ({ srcPrefix, dest }) => {
  const r = await timed('/usr/bin/rclone', ['copy', `minio:${stack.sourceBucket}/${srcPrefix}`, `minio:${stack.destBucket}/${dest}${srcPrefix}`, '--transfers', String(WORKERS), '--checkers', String(WORKERS), '--s3-no-check-bucket'], rcloneEnv);
  return { wallS: r.wallS, cpuS: r.cpuS, peakRssMb: r.rssMb, peakDiskMb: 0 };
};

const rcloneDownloadUpload: Tool = async ({ srcPrefix, dest }) => {
  const stage = path.join(work, 'rclone-stage');
  rmSync(stage, { recursive: true, force: true });
  const a = await timed('/usr/bin/rclone', ['copy', `minio:${stack.sourceBucket}/${srcPrefix}`, stage, '--transfers', String(WORKERS), '--checkers', String(WORKERS)], rcloneEnv);
  const disk = duMb(stage);
  const b = await timed('/usr/bin/rclone', ['copy', stage, `minio:${stack.destBucket}/${dest}${srcPrefix}`, '--transfers', String(WORKERS), '--checkers', String(WORKERS), '--s3-no-check-bucket'], rcloneEnv);
  rmSync(stage, { recursive: true, force: true });
  return { wallS: a.wallS + b.wallS, cpuS: a.cpuS + b.cpuS, peakRssMb: Math.max(a.rssMb, b.rssMb), peakDiskMb: disk };
};

const awsServerSide: Tool = async ({ srcPrefix, dest }) => {
  const r = await timed('/usr/bin/aws', ['s3', 'cp', `s3://${stack.sourceBucket}/${srcPrefix}`, `s3://${stack.destBucket}/${dest}${srcPrefix}`, '--recursive', ...awsArgs], awsEnv());
  return { wallS: r.wallS, cpuS: r.cpuS, peakRssMb: r.rssMb, peakDiskMb: 0 };
};

const awsDownloadUpload: Tool = async ({ srcPrefix, dest }) => {
  const stage = path.join(work, 'aws-stage');
  rmSync(stage, { recursive: true, force: true });
  const e = awsEnv();
  const a = await timed('/usr/bin/aws', ['s3', 'cp', `s3://${stack.sourceBucket}/${srcPrefix}`, stage, '--recursive', ...awsArgs], e);
  const disk = duMb(stage);
  const b = await timed('/usr/bin/aws', ['s3', 'cp', stage, `s3://${stack.destBucket}/${dest}${srcPrefix}`, '--recursive', ...awsArgs], e);
  rmSync(stage, { recursive: true, force: true });
  return { wallS: a.wallS + b.wallS, cpuS: a.cpuS + b.cpuS, peakRssMb: Math.max(a.rssMb, b.rssMb), peakDiskMb: disk };
};

const TOOLS: Record<string, Tool> = {
  'workflow direct sync (verify)': workflowTool('direct_sync', 'checksum'),
  'workflow direct sync (no verify)': workflowTool('direct_sync', 'none'),
  'workflow traditional (verify)': workflowTool('traditional', 'checksum'),
  'bare s5cmd run': bareS5cmd,
  'rclone server-side': rcloneServerSide,
  'rclone download+upload': rcloneDownloadUpload,
  'aws s3 server-side': awsServerSide,
  'aws s3 download+upload': awsDownloadUpload,
};

// ---------- run ----------
ensureDebianTools();
mkdirSync(work, { recursive: true });
await buildWorkflowBundle();
await stackUp(stack);
await ensureStackBuckets(stack);
const s3 = adminClient(stack);
const results: Record<string, Record<string, Measure & { filesPerS: number; mbPerS: number; runs: number[] }>> = {};

for (const set of SETS) {
  await ensureMirror(s3, set);
  const prefix = seriesPrefix({ market: 'spot', granularity: 'daily', dataType: 'klines', symbol: set.request.symbols![0], interval: set.request.intervals![0] });
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: stack.sourceBucket, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.NextContinuationToken;
  } while (token);
  const totalMb = (set.files * set.bytes) / 1024 ** 2;
  results[set.name] = {};
  for (const [name, tool] of Object.entries(TOOLS).filter(([n]) => !process.env.BENCH_TOOLS || process.env.BENCH_TOOLS.split(',').some((t) => n.includes(t)))) {
    const runs: Measure[] = [];
    for (let run = 1; run <= RUNS; run++) {
      const dest = `bench/${set.name}/${name.replace(/\W+/g, '-')}/r${run}/`;
      await deletePrefix(s3, stack.destBucket, dest);
      const before = await settledRequestCount();
      const m = await tool({ set, srcPrefix: prefix, dest, keys });
      const requests = (await settledRequestCount()) - before;
      runs.push({ ...m, s3Requests: requests });
      console.log(`  ${set.name} · ${name} · run ${run}: ${m.wallS.toFixed(2)} s, CPU ${m.cpuS.toFixed(1)} s, RSS ${m.peakRssMb.toFixed(0)} MB, disk ${m.peakDiskMb.toFixed(0)} MB, ${requests} S3 requests`);
      await deletePrefix(s3, stack.destBucket, dest);
    }
    const wallS = median(runs.map((r) => r.wallS));
    results[set.name][name] = {
      wallS, cpuS: median(runs.map((r) => r.cpuS)), peakRssMb: Math.max(...runs.map((r) => r.peakRssMb)), peakDiskMb: Math.max(...runs.map((r) => r.peakDiskMb)),
      s3Requests: median(runs.map((r) => r.s3Requests)), filesPerS: set.files / wallS, mbPerS: totalMb / wallS, runs: runs.map((r) => +r.wallS.toFixed(3)),
    };
  }
}

// ---------- report ----------
const ratio = (set: string, a: string, b: string) => (results[set]?.[a] && results[set]?.[b] ? +(results[set][a].wallS / results[set][b].wallS).toFixed(3) : null);
const ratios: Record<string, number | null> = {};
const sections: Record<string, string> = {};
for (const [setName, byTool] of Object.entries(results)) {
  const set = SETS.find((s) => s.name === setName)!;
  const lines: string[] = [];
  lines.push(`### ${set.files} files × ${set.bytes >= 1024 ** 2 ? `${set.bytes / 1024 ** 2} MiB` : `${set.bytes / 1024} KiB`} (zips plus their .CHECKSUM files), median of ${RUNS} runs, measured ${today()}`);
  lines.push('| tool | wall s | files/s | MB/s | CPU s | peak RSS MB | peak disk MB | S3 requests | runs (s) |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const [tool, r] of Object.entries(byTool)) {
    lines.push(`| ${tool} | ${r.wallS.toFixed(2)} | ${r.filesPerS.toFixed(0)} | ${r.mbPerS.toFixed(1)} | ${r.cpuS.toFixed(1)} | ${r.peakRssMb.toFixed(0)} | ${r.peakDiskMb.toFixed(0)} | ${r.s3Requests} | ${r.runs.join(', ')} |`);
  }
  const setRatios: Record<string, number | null> = {
    [`${setName}: direct sync (no verify) / bare s5cmd (target ≤ 1.25)`]: ratio(setName, 'workflow direct sync (no verify)', 'bare s5cmd run'),
    [`${setName}: direct sync (verify) / bare s5cmd`]: ratio(setName, 'workflow direct sync (verify)', 'bare s5cmd run'),
    [`${setName}: traditional / direct sync (verify)`]: ratio(setName, 'workflow traditional (verify)', 'workflow direct sync (verify)'),
  };
  const fastest = ['rclone download+upload', 'aws s3 download+upload'].sort((a, b) => (byTool[a]?.wallS ?? Infinity) - (byTool[b]?.wallS ?? Infinity))[0];
  setRatios[`${setName}: traditional / fastest download+upload (${fastest}) (target ≤ 1)`] = ratio(setName, 'workflow traditional (verify)', fastest);
  Object.assign(ratios, setRatios);
  lines.push('', '| ratio | value |', '| --- | ---: |', ...Object.entries(setRatios).map(([k, v]) => `| ${k} | ${v ?? '-'} |`));
  sections[setName] = lines.join('\n');
}
const table = Object.values(sections).join('\n\n');
console.log(table);
mkdirSync(path.join(PROJECT_ROOT, 'artifacts'), { recursive: true });
writeFileSync(path.join(PROJECT_ROOT, 'artifacts/bench.md'), `${table}\n`);
// A full run (every tool) publishes its figures; a filtered one only prints them.
if (!process.env.BENCH_TOOLS) {
  for (const [setName, section] of Object.entries(sections)) publishSection('BENCHMARKS.md', `bench-${setName}`, section);
  const small = results.small;
  if (small) {
    const row = (label: string, ...tools: string[]) => {
      const rs = tools.map((t) => small[t]).filter(Boolean);
      const join = (f: (r: (typeof rs)[number]) => string) => rs.map(f).join(' / ');
      return `| ${label} | ${join((r) => r.wallS.toFixed(1))} | ${join((r) => r.cpuS.toFixed(1))} | ${Math.max(...rs.map((r) => r.peakRssMb)).toFixed(0)} | ${join((r) => r.peakDiskMb.toFixed(0))} |`;
    };
    publishSection('README.md', 'bench-summary', [
      `| 1,000 × 256 KiB, median of ${RUNS}, measured ${today()} | wall s | CPU s | peak RSS MB | local disk MB |`,
      '| --- | ---: | ---: | ---: | ---: |',
      row('workflow direct sync, SHA-256 proof', 'workflow direct sync (verify)'),
      row('workflow direct sync, not verified', 'workflow direct sync (no verify)'),
      row('workflow traditional, SHA-256 proof', 'workflow traditional (verify)'),
      row('bare `s5cmd run`', 'bare s5cmd run'),
      row('rclone server-side / download+upload', 'rclone server-side', 'rclone download+upload'),
      row('aws s3 server-side / download+upload', 'aws s3 server-side', 'aws s3 download+upload'),
    ].join('\n'));
  }
}
console.log(JSON.stringify({ bench: { runs: RUNS, concurrency: WORKERS, cores: (await import('node:os')).cpus().length, results, ratios } }));
process.exit(0);
