/**
 * The archive's listing has the last word on which series exist. A requested series with no object
 * at all is a mistake (a typo, a withdrawn folder, a symbol of another market): the collection fails
 * at once, naming what the archive has nearby, instead of ending "OK" with every file not published.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { closest, distance } from 'fastest-levenshtein';
import { seriesPrefix, type Series } from '../workflows/keys';
import { SeriesNotInArchiveError } from './errors';
import { hasAny, listFolders as folders } from './listing';
import { mapPool } from './pool';

export function nearest(wanted: string, candidates: string[], n = 3): string[] {
  if (candidates.length === 0) return [];
  const best = closest(wanted, candidates);
  const ranked = [...candidates].sort((a, b) => distance(wanted, a) - distance(wanted, b) || a.localeCompare(b));
  const limit = Math.max(2, Math.ceil(wanted.length / 3));
  return [best, ...ranked.filter((c) => c !== best)].filter((c) => distance(wanted, c) <= limit).slice(0, n);
}

/** Why the archive has no such series, with what it does have. */
export async function explainMissing(s3: S3Client, bucket: string, s: Series): Promise<string> {
  const base = `data/${s.market}/${s.granularity}/`;
  const typeFolder = `${base}${s.dataType}/`;
  const where = `${s.market} ${s.granularity}`;
  if (!(await hasAny(s3, bucket, typeFolder))) {
    const types = await folders(s3, bucket, base);
    return `the archive has no ${s.dataType} for ${where} (s3://${bucket}/${typeFolder} is empty); it has: ${types.join(', ') || 'nothing'}`;
  }
  const symbolFolder = `${typeFolder}${s.symbol}/`;
  if (!(await hasAny(s3, bucket, symbolFolder))) {
    const guess = nearest(s.symbol, await folders(s3, bucket, typeFolder));
    return `the archive has no symbol ${s.symbol} in ${s.dataType} ${where}${guess.length ? `; did you mean ${guess.join(', ')}?` : ''}`;
  }
  const intervals = await folders(s3, bucket, symbolFolder);
  return `the archive has no ${s.interval} ${s.dataType} for ${s.symbol} (${where}); it has: ${intervals.join(', ') || 'none'}`;
}

/** Fails with every missing series explained, or returns when each of them has at least one object. */
export async function requireSeries(s3: S3Client, bucket: string, candidates: Series[]): Promise<void> {
  const found = await mapPool(candidates, 16, (s) => hasAny(s3, bucket, seriesPrefix(s)));
  const missing: string[] = [];
  for (const [i, s] of candidates.entries()) {
    if (found[i]) continue;
    missing.push(await explainMissing(s3, bucket, s));
    if (missing.length >= 20) break;
  }
  if (missing.length) {
    const count = found.filter((f) => !f).length;
    throw new SeriesNotInArchiveError(
      `${count} requested series ${count === 1 ? 'is' : 'are'} not in the archive:\n${missing.map((m) => `  - ${m}`).join('\n')}` +
        `${count > missing.length ? `\n  - … and ${count - missing.length} more` : ''}\nFix the request (symbols, dataTypes, intervals, markets, granularity) and start again.`,
    );
  }
}
