/**
 * A local mirror of the Binance archive: real zip files of realistic CSV rows, laid out under the
 * same keys as data.binance.vision, each with a sha256sum-format `.CHECKSUM`. Deterministic: the
 * same spec writes the same bytes. Faults can be planted on chosen periods.
 *
 * Keys and periods are built here from the archive's documented layout (ARCHIVE_LAYOUT, checked
 * against test/fixtures/archive-oracle/catalog.json), not with the collector's own key functions:
 * a mirror made by the code under test could never show that code to be wrong.
 */
import { createHash } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { zipSync } from 'fflate';

/** The layout Binance documents (binance-public-data README), as templates. */
export const ARCHIVE_LAYOUT = {
  withIntervalFolder: 'data/{market}/{granularity}/{dataType}/{SYMBOL}/{interval}/{SYMBOL}-{interval}-{period}.zip',
  withoutIntervalFolder: 'data/{market}/{granularity}/{dataType}/{SYMBOL}/{SYMBOL}-{dataType}-{period}.zip',
  checksum: '{zipKey}.CHECKSUM',
} as const;
export const MIRROR_INTERVAL_DATA_TYPES = ['klines', 'indexPriceKlines', 'markPriceKlines', 'premiumIndexKlines'];

export interface MirrorSeries {
  market: string;
  granularity: 'daily' | 'monthly';
  dataType: string;
  symbol: string;
  interval?: string;
}

export function mirrorKey(s: MirrorSeries, period: string): string {
  const template = MIRROR_INTERVAL_DATA_TYPES.includes(s.dataType)
    ? ARCHIVE_LAYOUT.withIntervalFolder
    : ARCHIVE_LAYOUT.withoutIntervalFolder;
  const vars: Record<string, string> = {
    market: s.market,
    granularity: s.granularity,
    dataType: s.dataType,
    SYMBOL: s.symbol,
    interval: s.interval ?? '',
    period,
  };
  return template.replace(/\{(\w+)\}/g, (_, name: string) => vars[name]);
}

export function mirrorChecksumKey(zipKey: string): string {
  return ARCHIVE_LAYOUT.checksum.replace('{zipKey}', zipKey);
}

/** Every day (YYYY-MM-DD) or month (YYYY-MM) from start to end, inclusive. */
export function mirrorPeriods(granularity: 'daily' | 'monthly', start: string, end: string): string[] {
  const out: string[] = [];
  if (granularity === 'monthly') {
    let [y, m] = start.slice(0, 7).split('-').map(Number);
    const [ey, em] = end.slice(0, 7).split('-').map(Number);
    while (y < ey || (y === ey && m <= em)) {
      out.push(`${y}-${String(m).padStart(2, '0')}`);
      if (++m > 12) {
        m = 1;
        y++;
      }
    }
    return out;
  }
  for (let t = Date.parse(`${start}T00:00:00Z`); t <= Date.parse(`${end}T00:00:00Z`); t += 864e5)
    out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

export interface MirrorFaults {
  /** Periods whose `.CHECKSUM` holds a wrong hash. */
  checksumMismatch?: string[];
  /** Periods published without a `.CHECKSUM`. */
  missingChecksum?: string[];
  /** Periods not published at all. */
  missing?: string[];
  /** Periods whose zip is rewritten while their `.CHECKSUM` is left as it was (binance-public-data #405). */
  staleChecksum?: string[];
}

export interface MirrorSpec {
  markets?: string[];
  dataTypes?: string[];
  symbols?: string[];
  intervals?: string[];
  granularity?: 'daily' | 'monthly';
  /** The mirror's periods, inclusive (YYYY-MM-DD, or YYYY-MM for monthly). */
  startDate?: string;
  endDate?: string;
  /** Pad each file's CSV to about this many bytes (rows are added, not garbage). */
  targetBytes?: number;
  /** 0 stores the CSV uncompressed, which makes file sizes predictable; 6 is like the real archive. */
  compressionLevel?: 0 | 1 | 6 | 9;
  faults?: MirrorFaults;
  /** Changes every file's contents: simulates Binance re-uploading corrected files. */
  revision?: number;
}

export interface MirrorFile {
  key: string;
  size: number;
  sha256: string;
  fault?: keyof MirrorFaults;
}

export function mirrorSeries(spec: MirrorSpec): MirrorSeries[] {
  const out: MirrorSeries[] = [];
  for (const market of spec.markets ?? ['spot']) {
    for (const dataType of spec.dataTypes ?? ['klines']) {
      for (const symbol of spec.symbols ?? ['BTCUSDT']) {
        const intervals = MIRROR_INTERVAL_DATA_TYPES.includes(dataType) ? (spec.intervals ?? ['1d']) : [undefined];
        for (const interval of intervals)
          out.push({ market, granularity: spec.granularity ?? 'daily', dataType, symbol, interval });
      }
    }
  }
  return out;
}

function rng(seedText: string): () => number {
  let h = 2166136261;
  for (const ch of seedText) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  let a = h >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INTERVAL_MS: Record<string, number> = {
  '1s': 1e3,
  '1m': 6e4,
  '3m': 18e4,
  '5m': 3e5,
  '15m': 9e5,
  '30m': 18e5,
  '1h': 36e5,
  '2h': 72e5,
  '4h': 144e5,
  '6h': 216e5,
  '8h': 288e5,
  '12h': 432e5,
  '1d': 864e5,
  '3d': 2592e5,
  '1w': 6048e5,
  '1mo': 2592e6,
};

/** CSV rows shaped like the archive's for the data type. */
export function csvRows(
  series: MirrorSeries,
  period: string,
  targetBytes: number | undefined,
  revision: number,
): string {
  const rand = rng(
    `${series.market}/${series.dataType}/${series.symbol}/${series.interval ?? ''}/${period}/r${revision}`,
  );
  const start = Date.parse(period.length === 7 ? `${period}-01T00:00:00Z` : `${period}T00:00:00Z`);
  const span = period.length === 7 ? 30 * 864e5 : 864e5;
  let price = 20_000 + rand() * 50_000;
  const lines: string[] = [];
  let size = 0;
  const step = series.interval ? INTERVAL_MS[series.interval] : Math.max(1, Math.floor(span / 2_000));
  const naturalRows = Math.max(1, Math.min(5_000, Math.floor(span / step)));
  for (let i = 0; ; i++) {
    if (targetBytes ? size >= targetBytes : i >= naturalRows) break;
    const t = start + ((i * step) % span);
    price *= 1 + (rand() - 0.5) / 500;
    const p = price.toFixed(2);
    const qty = (rand() * 3).toFixed(8);
    let line: string;
    switch (series.dataType) {
      case 'klines':
      case 'indexPriceKlines':
      case 'markPriceKlines':
      case 'premiumIndexKlines': {
        const hi = (price * (1 + rand() / 200)).toFixed(2);
        const lo = (price * (1 - rand() / 200)).toFixed(2);
        line = `${t},${p},${hi},${lo},${(price * (1 + (rand() - 0.5) / 300)).toFixed(2)},${qty},${t + step - 1},${(price * +qty).toFixed(8)},${Math.floor(rand() * 5000)},${(+qty / 2).toFixed(8)},${((price * +qty) / 2).toFixed(8)},0`;
        break;
      }
      case 'aggTrades':
        line = `${1_000_000 + i},${p},${qty},${2_000_000 + i * 3},${2_000_002 + i * 3},${t},${rand() < 0.5 ? 'True' : 'False'},True`;
        break;
      case 'trades':
        line = `${3_000_000 + i},${p},${qty},${(price * +qty).toFixed(8)},${t},${rand() < 0.5 ? 'True' : 'False'},True`;
        break;
      default:
        line = `${t},${series.symbol},${p},${qty},${(rand() * 100).toFixed(4)}`;
    }
    lines.push(line);
    size += line.length + 1;
  }
  return `${lines.join('\n')}\n`;
}

export function buildArchiveFile(
  series: MirrorSeries,
  period: string,
  spec: Pick<MirrorSpec, 'targetBytes' | 'compressionLevel' | 'revision'>,
): { key: string; zip: Uint8Array; sha256: string } {
  const key = mirrorKey(series, period);
  const csvName = key.slice(key.lastIndexOf('/') + 1).replace(/\.zip$/, '.csv');
  const csv = new TextEncoder().encode(csvRows(series, period, spec.targetBytes, spec.revision ?? 0));
  const mtime = new Date(Date.parse(period.length === 7 ? `${period}-01T00:00:00Z` : `${period}T00:00:00Z`) + 864e5);
  const zip = zipSync({ [csvName]: [csv, { level: spec.compressionLevel ?? 6, mtime }] });
  return { key, zip, sha256: createHash('sha256').update(zip).digest('hex') };
}

export function checksumText(sha256: string, key: string): string {
  // The archive's format: `<sha256>  <file name>`, sometimes without a trailing newline.
  return `${sha256}  ${key.slice(key.lastIndexOf('/') + 1)}\n`;
}

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/** Writes the spec's files into the bucket; returns what it wrote. */
export async function fillMirror(
  s3: S3Client,
  bucket: string,
  spec: MirrorSpec,
  concurrency = 16,
): Promise<MirrorFile[]> {
  if (!spec.startDate || !spec.endDate) throw new Error('a mirror needs startDate and endDate');
  const periods = mirrorPeriods(spec.granularity ?? 'daily', spec.startDate, spec.endDate);
  return fillMirrorFiles(
    s3,
    bucket,
    mirrorSeries(spec).flatMap((series) => periods.map((period) => ({ series, period }))),
    spec,
    concurrency,
  );
}

/** Writes exactly these files (series and period pairs), with the spec's content options and faults. */
export async function fillMirrorFiles(
  s3: S3Client,
  bucket: string,
  jobs: { series: MirrorSeries; period: string }[],
  spec: Pick<MirrorSpec, 'targetBytes' | 'compressionLevel' | 'revision' | 'faults'>,
  concurrency = 16,
): Promise<MirrorFile[]> {
  const faults = spec.faults ?? {};
  const written: MirrorFile[] = [];
  await pool(jobs, concurrency, async ({ series, period }) => {
    if (faults.missing?.includes(period)) return;
    const { key, zip, sha256 } = buildArchiveFile(series, period, spec);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: zip, ContentType: 'application/zip' }));
    let fault: keyof MirrorFaults | undefined;
    if (faults.missingChecksum?.includes(period)) {
      fault = 'missingChecksum';
    } else if (faults.staleChecksum?.includes(period)) {
      fault = 'staleChecksum'; // the sidecar written for an earlier revision stays
    } else {
      const wrong = faults.checksumMismatch?.includes(period);
      if (wrong) fault = 'checksumMismatch';
      const claimed = wrong ? createHash('sha256').update('not the file').digest('hex') : sha256;
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: mirrorChecksumKey(key),
          Body: checksumText(claimed, key),
          ContentType: 'text/plain',
        }),
      );
    }
    written.push({ key, size: zip.length, sha256, fault });
  });
  return written.sort((a, b) => a.key.localeCompare(b.key));
}
