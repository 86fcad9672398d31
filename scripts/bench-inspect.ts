/**
 * `npm run bench:inspect` (and the end of `npm run bench`): content inspection against the decompression floor,
 * side by side on the same files. For each file, `unzip -p FILE > /dev/null` and the product's own inspection
 * (activities/content/inspect.ts, streaming the file from disk in a process of its own, warmed up on one small file
 * first as a worker is by the files before) are timed, medians of
 * BENCH_RUNS; then a large trades zip (BENCH_INSPECT_BIG_MB, default 1024 MiB compressed) is inspected while the
 * process's RSS is sampled, to show what reading it adds to memory. Files are generated once (deterministic rows,
 * random-looking prices so they compress like real ones) into .data/bench-inspect/ and kept for later runs.
 * Writes the `bench-inspect` section of BENCHMARKS.md and a line of docs/benchmarks.md; ends with one JSON line.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { PROJECT_ROOT } from '../worker/config';
import { publishSection, today } from './figures';
import { median, procStats } from './measure';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const BIG_MB = Number(process.env.BENCH_INSPECT_BIG_MB ?? 1024);
const dir = path.join(PROJECT_ROOT, '.data/bench-inspect');

interface BenchFile {
  name: string;
  kind: 'klines' | 'trades';
  series: { market: 'spot'; granularity: 'daily'; dataType: string; symbol: string; interval?: string };
  period: string;
  /** Rows to write (trades), or the whole day at the interval (klines). */
  rows: number;
}

const SET: BenchFile[] = [
  ...['2024-03-01', '2024-03-02', '2024-03-03', '2024-03-04'].map((period): BenchFile => ({
    name: `BENCHK-1s-${period}.zip`,
    kind: 'klines',
    series: { market: 'spot', granularity: 'daily', dataType: 'klines', symbol: 'BENCHK', interval: '1s' },
    period,
    rows: 86_400,
  })),
  ...['2024-03-01', '2024-03-02'].map((period): BenchFile => ({
    name: `BENCHT-trades-${period}.zip`,
    kind: 'trades',
    series: { market: 'spot', granularity: 'daily', dataType: 'trades', symbol: 'BENCHT' },
    period,
    rows: 2_000_000,
  })),
];

/** A tiny deterministic PRNG (mulberry32): the same files on every machine. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Writes the CSV as Binance lays it out, then zips it with Info-ZIP's `zip` (one entry, deflate). */
async function generate(f: BenchFile, rows: number): Promise<string> {
  const zip = path.join(dir, f.name);
  if (existsSync(zip)) return zip;
  mkdirSync(dir, { recursive: true });
  const csvName = f.name.replace(/\.zip$/, '.csv');
  const csv = path.join(dir, csvName);
  const out = createWriteStream(csv);
  const rand = prng(f.name.length * 7919 + rows);
  const start = Date.parse(f.period);
  let price = 60_000 + rand() * 1000;
  let lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    price += (rand() - 0.5) * 5;
    const p = price.toFixed(2);
    if (f.kind === 'klines') {
      const t = start + i * 1000;
      const v = (rand() * 3).toFixed(5);
      lines.push(
        `${t},${p},${(price + rand()).toFixed(2)},${(price - rand()).toFixed(2)},${p},${v},${t + 999},${(Number(v) * price).toFixed(4)},${Math.floor(rand() * 90)},${(Number(v) / 2).toFixed(5)},${((Number(v) / 2) * price).toFixed(4)},0`,
      );
    } else {
      const t = start + Math.floor((i / rows) * 86_400_000);
      const q = (rand() * 0.5).toFixed(5);
      lines.push(
        `${4_000_000_000 + i},${p},${q},${(Number(q) * price).toFixed(7)},${t},${rand() < 0.5 ? 'True' : 'False'},True`,
      );
    }
    if (lines.length === 10_000) {
      if (!out.write(`${lines.join('\n')}\n`)) await once(out, 'drain');
      lines = [];
    }
  }
  out.end(lines.length ? `${lines.join('\n')}\n` : '');
  await once(out, 'finish');
  const r = spawnSync('zip', ['-q', '-j', '-1', `${zip}.tmp`, csv], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`zip failed for ${csv}`);
  rmSync(csv);
  renameSync(`${zip}.tmp`, zip);
  return zip;
}

/** `unzip -p FILE > /dev/null`: the decompression floor, wall seconds. */
function unzipSeconds(zip: string): number {
  const t = process.hrtime.bigint();
  const r = spawnSync('bash', ['-c', 'unzip -p "$1" > /dev/null', '_', zip]);
  if (r.status !== 0) throw new Error(`unzip failed on ${zip}`);
  return Number(process.hrtime.bigint() - t) / 1e9;
}

interface ChildResult {
  wallS: number;
  cpuS: number;
  rows: number;
  expandedBytes: number;
  status: string;
  baselineRssMb: number;
  peakRssMb: number;
}

/** The product's inspection of one file in a process of its own, sampling that process's RSS from outside. */
async function inspectInChild(f: BenchFile, zip: string, warmUp?: { zip: string; f: BenchFile }): Promise<ChildResult> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(PROJECT_ROOT, 'scripts/bench-inspect.ts'),
      '--child',
      zip,
      JSON.stringify(f),
      ...(warmUp ? [JSON.stringify(warmUp)] : []),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], cwd: PROJECT_ROOT },
  );
  let out = '';
  let baseline = 0;
  let peak = 0;
  const rss = () => {
    try {
      return procStats(child.pid!).rssMb;
    } catch {
      return 0;
    }
  };
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    if (!baseline && out.includes('ready\n')) baseline = rss();
  });
  const timer = setInterval(() => (peak = Math.max(peak, rss())), 50);
  await once(child, 'exit');
  clearInterval(timer);
  const line = out.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`inspection of ${zip} printed no result:\n${out}`);
  // VmHWM is the process's own high-water mark: the peak even between samples; the child reads its own last.
  const hwm = Number(/^hwm (\S+)$/m.exec(out)?.[1] ?? 0);
  return { ...(JSON.parse(line) as ChildResult), baselineRssMb: baseline, peakRssMb: Math.max(peak, hwm) };
}

async function child(zip: string, spec: string, warmUp?: string): Promise<void> {
  const { inspectArchiveFile } = await import('../activities/content/inspect');
  const f = JSON.parse(spec) as BenchFile;
  // A worker inspects file after file: one small file first, unmeasured, so the code is compiled as in a warm worker.
  if (warmUp) {
    const w = JSON.parse(warmUp) as { zip: string; f: BenchFile };
    await inspectArchiveFile(w.f.series, w.f.period, () => createReadStream(w.zip, { highWaterMark: 1024 ** 2 }));
  }
  // Imports done, nothing read: the RSS the parent reads now is the baseline.
  process.stdout.write('ready\n');
  await new Promise((r) => setTimeout(r, 300));
  const cpu0 = process.cpuUsage();
  const t = process.hrtime.bigint();
  const r = await inspectArchiveFile(f.series, f.period, () => createReadStream(zip, { highWaterMark: 1024 ** 2 }));
  const wallS = Number(process.hrtime.bigint() - t) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const facts = 'rows' in r.facts ? r.facts : undefined;
  process.stdout.write(
    `${JSON.stringify({
      wallS,
      cpuS: (cpu.user + cpu.system) / 1e6,
      rows: facts?.rows ?? 0,
      expandedBytes: r.expandedBytes,
      status: r.verdict.status,
    })}\n`,
  );
  // Its own high-water mark, read before exit (the parent's sampling can miss a short peak).
  const hwm = procStats(process.pid).rssMb;
  process.stdout.write(`hwm ${hwm}\n`);
}

if (process.argv[2] === '--child') {
  await child(process.argv[3], process.argv[4], process.argv[5]);
  process.exit(0);
}

console.log(`generating the files once into ${path.relative(PROJECT_ROOT, dir)} (kept for later runs)…`);
const files = [];
for (const f of SET) files.push({ f, zip: await generate(f, f.rows) });

interface Row {
  file: string;
  zipMb: number;
  csvMb: number;
  rows: number;
  status: string;
  unzipS: number;
  inspectS: number;
  inspectCpuS: number;
}
const rows: Row[] = [];
for (const { f, zip } of files) {
  const unzip: number[] = [];
  const inspect: ChildResult[] = [];
  for (let i = 0; i < RUNS; i++) {
    unzip.push(unzipSeconds(zip));
    inspect.push(await inspectInChild(f, zip, files[0]));
  }
  const mid = inspect.sort((a, b) => a.wallS - b.wallS)[Math.floor(inspect.length / 2)];
  rows.push({
    file: f.name,
    zipMb: statSync(zip).size / 1024 ** 2,
    csvMb: mid.expandedBytes / 1024 ** 2,
    rows: mid.rows,
    status: mid.status,
    unzipS: median(unzip),
    inspectS: mid.wallS,
    inspectCpuS: mid.cpuS,
  });
  console.log(rows.at(-1));
}

const sum = (k: keyof Row) => rows.reduce((n, r) => n + (r[k] as number), 0);
const byKind = (kind: 'klines' | 'trades') => {
  const rs = rows.filter((r) => SET.find((f) => f.name === r.file)!.kind === kind);
  const csv = rs.reduce((n, r) => n + r.csvMb, 0);
  const inspectS = rs.reduce((n, r) => n + r.inspectS, 0);
  const unzipS = rs.reduce((n, r) => n + r.unzipS, 0);
  return {
    inspectMbPerS: +(csv / inspectS).toFixed(1),
    unzipMbPerS: +(csv / unzipS).toFixed(1),
    rowsPerS: Math.round(rs.reduce((n, r) => n + r.rows, 0) / inspectS),
    ofFloor: +(unzipS / inspectS).toFixed(3),
  };
};
const klines = byKind('klines');
const trades = byKind('trades');
const overall = +(sum('unzipS') / sum('inspectS')).toFixed(3);

console.log(`inspecting a ${BIG_MB} MiB trades zip for memory…`);
const bigSpec: BenchFile = {
  name: `BENCHBIG${BIG_MB}-trades-2024-03-05.zip`,
  kind: 'trades',
  series: { market: 'spot', granularity: 'daily', dataType: 'trades', symbol: `BENCHBIG${BIG_MB}` },
  period: '2024-03-05',
  // About 22.4 compressed bytes per generated trade row (883 MB for 41.3 M rows, measured).
  rows: Math.round((BIG_MB * 1024 ** 2) / 22.4),
};
const bigZip = await generate(bigSpec, bigSpec.rows);
const big = await inspectInChild(bigSpec, bigZip, files[0]);
const bigRow = {
  zipMb: +(statSync(bigZip).size / 1024 ** 2).toFixed(0),
  csvMb: +(big.expandedBytes / 1024 ** 2).toFixed(0),
  rows: big.rows,
  wallS: +big.wallS.toFixed(1),
  baselineRssMb: +big.baselineRssMb.toFixed(0),
  peakRssMb: +big.peakRssMb.toFixed(0),
  addedRssMb: +(big.peakRssMb - big.baselineRssMb).toFixed(0),
};

const section = [
  `### Content inspection against \`unzip -p\`, one core each, median of ${RUNS} runs, measured ${today()}`,
  '',
  '| file | zip MB | CSV MB | rows | status | `unzip -p` s | inspection s | inspection MB/s | rows/s | of the floor |',
  '| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (r) =>
      `| ${r.file} | ${r.zipMb.toFixed(1)} | ${r.csvMb.toFixed(1)} | ${r.rows} | ${r.status} | ${r.unzipS.toFixed(2)} | ${r.inspectS.toFixed(2)} | ${(r.csvMb / r.inspectS).toFixed(1)} | ${Math.round(r.rows / r.inspectS)} | ${(r.unzipS / r.inspectS).toFixed(2)} |`,
  ),
  '',
  `Klines: ${klines.inspectMbPerS} MB/s of CSV, ${klines.rowsPerS} rows/s (unzip -p ${klines.unzipMbPerS} MB/s): **${(klines.ofFloor * 100).toFixed(0)} % of the floor**. ` +
    `Trades: ${trades.inspectMbPerS} MB/s, ${trades.rowsPerS} rows/s (unzip -p ${trades.unzipMbPerS} MB/s): **${(trades.ofFloor * 100).toFixed(0)} %**. Target ≥ 60 %.`,
  '',
  `Memory: inspecting a ${bigRow.zipMb} MB trades zip (${bigRow.csvMb} MB of CSV, ${bigRow.rows} rows, ${bigRow.wallS} s) took its process from a high-water mark of ${bigRow.baselineRssMb} MB (imports and one small file done) to ${bigRow.peakRssMb} MB: **+${bigRow.addedRssMb} MB** (target ≤ 50 MB).`,
].join('\n');
console.log(section);
if (!process.env.BENCH_TOOLS) {
  publishSection('BENCHMARKS.md', 'bench-inspect', section);
  publishSection(
    'docs/benchmarks.md',
    'bench-inspect-summary',
    `Content inspection (measured ${today()}): ${klines.inspectMbPerS} MB/s of klines CSV and ${trades.inspectMbPerS} MB/s of trades per core, ${(klines.ofFloor * 100).toFixed(0)} % and ${(trades.ofFloor * 100).toFixed(0)} % of \`unzip -p\` on the same files; a ${bigRow.zipMb} MB trades zip adds ${bigRow.addedRssMb} MB to the reading process's peak RSS.`,
  );
}
console.log(JSON.stringify({ benchInspect: { runs: RUNS, rows, klines, trades, overall, big: bigRow } }));
