/** Key layout of the archive and of this project's objects in the destination. Pure functions. */
import { hasIntervalFolder, type Granularity, type Market } from './catalog';

export interface Series {
  market: Market;
  granularity: Granularity;
  dataType: string;
  symbol: string;
  interval?: string;
}

/** `data/spot/daily/klines/BTCUSDT/1m/` */
export function seriesPrefix(s: Series): string {
  const base = `data/${s.market}/${s.granularity}/${s.dataType}/${s.symbol}/`;
  return hasIntervalFolder(s.dataType) ? `${base}${s.interval}/` : base;
}

/** `BTCUSDT-1m-2025-07-17.zip` or `BTCUSDT-aggTrades-2025-07.zip` */
export function archiveFileName(s: Series, period: string): string {
  const middle = hasIntervalFolder(s.dataType) ? s.interval : s.dataType;
  return `${s.symbol}-${middle}-${period}.zip`;
}

export function archiveKey(s: Series, period: string): string {
  return seriesPrefix(s) + archiveFileName(s, period);
}

export function checksumKey(zipKey: string): string {
  return `${zipKey}.CHECKSUM`;
}

/** The period (`YYYY-MM-DD` or `YYYY-MM`) a file name of the series holds, or undefined if it is not one of its files. */
export function periodOf(s: Series, fileName: string): string | undefined {
  const middle = hasIntervalFolder(s.dataType) ? s.interval : s.dataType;
  const head = `${s.symbol}-${middle}-`;
  if (!fileName.startsWith(head) || !fileName.endsWith('.zip')) return undefined;
  const period = fileName.slice(head.length, -'.zip'.length);
  const shape = s.granularity === 'daily' ? /^\d{4}-\d{2}-\d{2}$/ : /^\d{4}-\d{2}$/;
  return shape.test(period) ? period : undefined;
}

/** Where a source key lands in the destination: the archive layout kept under the prefix. */
export function destinationKey(prefix: string, sourceKey: string): string {
  return prefix + sourceKey;
}

/** Objects this project keeps about one collection, beside the data. */
export function collectionStatePrefix(prefix: string, collectionId: string): string {
  return `${prefix}_collections/${collectionId}/`;
}

/** Bytes that failed verification, put aside with their evidence for an operator to accept or discard. */
export function quarantineKey(prefix: string, sourceKey: string): string {
  return `${prefix}_quarantine/${sourceKey}`;
}

export function quarantinePrefix(prefix: string): string {
  return `${prefix}_quarantine/`;
}

/** The archive key a quarantine key holds, or undefined when the key is not in the quarantine. */
export function sourceKeyOfQuarantined(prefix: string, key: string): string | undefined {
  const head = quarantinePrefix(prefix);
  return key.startsWith(head) && key.length > head.length ? key.slice(head.length) : undefined;
}

/** Where proof records of the files under `sourcePrefix` live: `<prefix>_verified/<archive key>/<proof>`. */
export function proofFolder(prefix: string, sourceKeyOrPrefix: string): string {
  return `${prefix}_verified/${sourceKeyOrPrefix}`;
}

/** Where content facts of the files under `sourcePrefix` live: `<prefix>_facts/<archive key>/<facts record>`. */
export function factsFolder(prefix: string, sourceKeyOrPrefix: string): string {
  return `${prefix}_facts/${sourceKeyOrPrefix}`;
}

/** The collection's report, in its state folder (written by the report activity, named by the workflow). */
export const REPORT_OBJECT = 'report.json';

/** A copy that replaces a verified file lands here first, and is promoted only once verified. */
export function incomingKey(statePrefix: string, sourceKey: string): string {
  return `${statePrefix}incoming/${sourceKey}`;
}

/** `shard-000042`: a shard's folder and the last part of its child workflow's ID. */
export function shardName(shard: number): string {
  return `shard-${String(shard).padStart(6, '0')}`;
}

/** A shard's folder, relative to the collection's: `shards/shard-000042/`. */
export function shardFolder(shard: number): string {
  return `shards/${shardName(shard)}/`;
}

/** Where a shard keeps its series, plan and results, inside the collection's folder. */
export function shardStatePrefix(collectionStatePrefix: string, shard: number): string {
  return `${collectionStatePrefix}${shardFolder(shard)}`;
}
