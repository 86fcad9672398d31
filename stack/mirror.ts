/**
 * A local mirror of the Binance archive: real zip files of realistic CSV rows, laid out under the
 * same keys as data.binance.vision, each with a sha256sum-format `.CHECKSUM`. Deterministic: the
 * same spec writes the same bytes. Faults can be planted on chosen periods.
 */
import { createHash } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { zipSync } from 'fflate';
import { CollectionRequest, expandSeries, resolvePeriods, type CollectionRequestInput } from '../workflows/request';
import { archiveKey, checksumKey, type Series } from '../workflows/keys';

export interface MirrorFaults {
  /** Periods whose `.CHECKSUM` holds a wrong hash. */
  checksumMismatch?: string[];
  /** Periods published without a `.CHECKSUM`. */
  missingChecksum?: string[];
  /** Periods not published at all. */
  missing?: string[];
}

export interface MirrorSpec extends CollectionRequestInput {
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
  '1s': 1e3, '1m': 6e4, '3m': 18e4, '5m': 3e5, '15m': 9e5, '30m': 18e5, '1h': 36e5, '2h': 72e5, '4h': 144e5,
  '6h': 216e5, '8h': 288e5, '12h': 432e5, '1d': 864e5, '3d': 2592e5, '1w': 6048e5, '1mo': 2592e6,
};

/** CSV rows shaped like the archive's for the data type. */
export function csvRows(series: Series, period: string, targetBytes: number | undefined, revision: number): string {
  const rand = rng(`${series.market}/${series.dataType}/${series.symbol}/${series.interval ?? ''}/${period}/r${revision}`);
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
      case 'klines': case 'indexPriceKlines': case 'markPriceKlines': case 'premiumIndexKlines': {
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

export function buildArchiveFile(series: Series, period: string, spec: MirrorSpec): { key: string; zip: Uint8Array; sha256: string } {
  const key = archiveKey(series, period);
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
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

/** Writes the spec's files into the bucket; returns what it wrote. */
export async function fillMirror(s3: S3Client, bucket: string, spec: MirrorSpec, concurrency = 16): Promise<MirrorFile[]> {
  const { targetBytes: _t, compressionLevel: _c, faults = {}, revision: _r, ...requestFields } = spec;
  const request = CollectionRequest.parse(requestFields);
  const range = resolvePeriods(request, new Date(spec.asOf ?? Date.now()));
  const jobs = expandSeries(request).flatMap((series) => range.periods.map((period) => ({ series, period })));
  const written: MirrorFile[] = [];
  await pool(jobs, concurrency, async ({ series, period }) => {
    if (faults.missing?.includes(period)) return;
    const { key, zip, sha256 } = buildArchiveFile(series, period, spec);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: zip, ContentType: 'application/zip' }));
    let fault: keyof MirrorFaults | undefined;
    if (faults.missingChecksum?.includes(period)) {
      fault = 'missingChecksum';
    } else {
      const wrong = faults.checksumMismatch?.includes(period);
      if (wrong) fault = 'checksumMismatch';
      const claimed = wrong ? createHash('sha256').update('not the file').digest('hex') : sha256;
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: checksumKey(key), Body: checksumText(claimed, key), ContentType: 'text/plain' }));
    }
    written.push({ key, size: zip.length, sha256, fault });
  });
  return written.sort((a, b) => a.key.localeCompare(b.key));
}

export { checksumKey };
