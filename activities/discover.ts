/**
 * Discovery: resolves the request's patterns ("*", "BTC*", "*USDT") against the archive's own
 * listing — one delimited listing per market and granularity (data types), per data type
 * (symbols), and per symbol where interval folders must be found — so that delisted symbols, new
 * ones and names of any script are all found. Checks that every named series exists, refuses a
 * pattern that matches nothing or a selection over the request's ceiling, and cuts the series into
 * shards written beside the collection's records (each shard is one child workflow).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { ALL_DATA_TYPES, INTERVALS, hasIntervalFolder, type Market } from '../workflows/catalog';
import { seriesPrefix } from '../workflows/keys';
import { globMatches, isPattern, periodsOf, type CollectionRequest, type ResolvedRange } from '../workflows/request';
import type { DiscoverInput, Discovery, SeriesSpec } from '../workflows/types';
import { CollectionTooLargeError, NothingMatchesError, SeriesNotInArchiveError } from './errors';
import { listFolders } from './listing';
import { mapPool } from './pool';
import { nearest, requireSeries } from './series-check';
import { StateStore } from './state-store';

// The same rule as the request's symbols: nothing that could leave a key or a run file.
const SAFE_SYMBOL = /^[\p{L}\p{N}][\p{L}\p{N}_-]{0,39}$/u;

interface DiscoverDeps {
  source: S3Client;
  sourceBucket: string;
  destination: S3Client;
  onProgress: (found: number) => void;
}

/** Groups series (in key order) into shards of at most `filesPerShard` estimated files, at least one series each. */
export function cutShards(series: SeriesSpec[], perSeries: number, filesPerShard: number): SeriesSpec[][] {
  const shards: SeriesSpec[][] = [];
  let current: SeriesSpec[] = [];
  for (const s of series) {
    if (current.length && (current.length + 1) * perSeries > filesPerShard) {
      shards.push(current);
      current = [];
    }
    current.push(s);
  }
  if (current.length) shards.push(current);
  return shards;
}

export async function discoverSeries(deps: DiscoverDeps, input: DiscoverInput): Promise<Omit<Discovery, 'ms'>> {
  const { request: r, range } = input;
  const symbolPatterns = r.symbols.filter(isPattern);
  const typePatterns = r.dataTypes.filter(isPattern);
  const allIntervals = r.intervals?.includes('*') ?? false;
  const discovered = symbolPatterns.length > 0 || typePatterns.length > 0 || allIntervals;
  const skipped = new Set<string>();
  const matchedSymbolPattern = new Set<string>();
  const matchedTypePattern = new Set<string>();
  const missingNamed: string[] = [];
  let listings = 0;
  const folders = async (prefix: string) => {
    listings++;
    return listFolders(deps.source, deps.sourceBucket, prefix);
  };

  const series: SeriesSpec[] = [];
  const named: SeriesSpec[] = [];
  const names = r.symbols.filter((s) => !isPattern(s));
  const namesFound = new Set<string>();
  const matching = (patterns: string[], value: string, matched: Set<string>) => {
    const hits = patterns.filter((p) => globMatches(p, value));
    for (const p of hits) matched.add(p);
    return hits.length > 0;
  };
  for (const market of r.markets as Market[]) {
    const base = `data/${market}/${r.granularity}/`;
    let dataTypes = r.dataTypes;
    if (typePatterns.length) {
      const listed = await folders(base);
      for (const dt of listed.filter((d) => !ALL_DATA_TYPES.includes(d)))
        skipped.add(`${base}${dt}/ (a data type this version does not know)`);
      const known = listed.filter((dt) => ALL_DATA_TYPES.includes(dt));
      dataTypes = known.filter((dt) => matching(typePatterns, dt, matchedTypePattern) || r.dataTypes.includes(dt));
      for (const dt of r.dataTypes.filter((d) => !isPattern(d) && !listed.includes(d))) {
        missingNamed.push(
          `the archive has no ${dt} for ${market} ${r.granularity}; it has: ${listed.join(', ') || 'nothing'}`,
        );
      }
    }
    for (const dataType of dataTypes) {
      const typeFolder = `${base}${dataType}/`;
      // Symbols come from the listing when a pattern asks, or when data types do (a named symbol is taken where it is listed).
      let symbols: { symbol: string; found: boolean }[];
      if (symbolPatterns.length || typePatterns.length) {
        const listed = await folders(typeFolder);
        const safe = listed.filter((s) => {
          if (SAFE_SYMBOL.test(s)) return true;
          skipped.add(`${typeFolder}${s}/ (not a safe symbol name)`);
          return false;
        });
        const matched = safe.filter((s) => matching(symbolPatterns, s, matchedSymbolPattern));
        const listedNames = names.filter((n) => listed.includes(n));
        listedNames.forEach((n) => namesFound.add(n));
        if (!typePatterns.length) {
          for (const name of names.filter((n) => !listed.includes(n))) {
            const guess = nearest(name, safe);
            missingNamed.push(
              `the archive has no symbol ${name} in ${dataType} ${market} ${r.granularity}${guess.length ? `; did you mean ${guess.join(', ')}?` : ''}`,
            );
          }
        }
        symbols = [...new Set([...matched, ...listedNames])].sort().map((s) => ({ symbol: s, found: true }));
      } else {
        symbols = names.map((s) => ({ symbol: s, found: false }));
      }
      await mapPool(symbols, 8, async ({ symbol, found }) => {
        const at = { market, granularity: r.granularity, dataType, symbol };
        // found: taken from the listing, so it exists; it is collected over the span the archive has for it.
        const target = found ? series : named;
        const clip = Boolean(range.all) || found;
        if (!hasIntervalFolder(dataType)) {
          target.push({ ...at, clip });
          return;
        }
        if (allIntervals) {
          const intervals = await folders(`${typeFolder}${symbol}/`);
          if (!found && !intervals.length)
            missingNamed.push(`the archive has no symbol ${symbol} in ${dataType} ${market} ${r.granularity}`);
          for (const interval of intervals) {
            if ((INTERVALS as readonly string[]).includes(interval)) series.push({ ...at, interval, clip: true });
            else skipped.add(`${typeFolder}${symbol}/${interval}/ (not an interval this version knows)`);
          }
          return;
        }
        // A symbol found by listing may lack an interval: its series then lists nothing and is left out, no error.
        for (const interval of r.intervals ?? ['1d']) target.push({ ...at, interval, clip });
      });
      deps.onProgress(series.length + named.length);
    }
  }
  if (typePatterns.length) {
    for (const name of names.filter((n) => !namesFound.has(n)))
      missingNamed.push(`the archive has no symbol ${name} in any data type the request selects`);
  }

  for (const p of symbolPatterns.filter((x) => !matchedSymbolPattern.has(x))) {
    const field = `symbols[${r.symbols.indexOf(p)}]`;
    throw new NothingMatchesError(
      `${field}: "${p}" matches no symbol the archive lists under ${r.markets.join(', ')} ${r.granularity} ${r.dataTypes.join(', ')}; check the pattern (patterns match whole names: "BTC*" starts with BTC, "*USDT" ends with USDT)`,
    );
  }
  for (const p of typePatterns.filter((x) => !matchedTypePattern.has(x))) {
    const field = `dataTypes[${r.dataTypes.indexOf(p)}]`;
    throw new NothingMatchesError(
      `${field}: "${p}" matches no data type the archive has for ${r.markets.join(', ')} ${r.granularity}`,
    );
  }
  if (missingNamed.length) {
    throw new SeriesNotInArchiveError(
      `${missingNamed.length} requested series ${missingNamed.length === 1 ? 'is' : 'are'} not in the archive:\n${missingNamed
        .slice(0, 20)
        .map((m) => `  - ${m}`)
        .join('\n')}\nFix the request and start again.`,
    );
  }
  // Every series the request names must exist; one found by listing does by construction.
  await requireSeries(deps.source, deps.sourceBucket, named);

  const all = [...series, ...named].sort((a, b) => (seriesPrefix(a) < seriesPrefix(b) ? -1 : 1));
  const perSeries = periodsOf(range, r.granularity).length;
  const estimatedFiles = all.length * perSeries;
  if (estimatedFiles > r.maxFiles) throw new CollectionTooLargeError(tooLarge(r, range, all.length, estimatedFiles));

  const shards = cutShards(all, perSeries, r.filesPerShard);
  const store = new StateStore(deps.destination, input.state);
  await mapPool(
    shards.map((s, i) => ({ s, i })),
    16,
    ({ s, i }) => store.shard(i).putSeries(s),
  );

  const symbols = [...new Set(all.map((s) => s.symbol))].sort();
  return {
    series: all.length,
    shards: shards.length,
    estimatedFiles,
    dataTypes: [...new Set(all.map((s) => s.dataType))].sort(),
    intervals: [...new Set(all.flatMap((s) => (s.interval ? [s.interval] : [])))],
    symbols: symbols.length,
    symbolSample: symbols.slice(0, 30),
    discovered,
    skipped: [...skipped].slice(0, 20).map((x) => x.slice(0, 300)),
    listings,
  };
}

function tooLarge(r: CollectionRequest, range: ResolvedRange, series: number, files: number): string {
  const field = r.symbols.some(isPattern)
    ? 'symbols'
    : r.dataTypes.some(isPattern)
      ? 'dataTypes'
      : r.intervals?.includes('*')
        ? 'intervals'
        : 'dates';
  const n = (x: number) => x.toLocaleString('en-US');
  return (
    `${field}: the request selects ${n(series)} series, up to ${n(files)} files over ${range.first}..${range.last}, more than maxFiles ${n(r.maxFiles)}. ` +
    `Narrow symbols, dataTypes, intervals or the dates, or raise the ceiling explicitly with "maxFiles": ${Math.ceil(files / 1e5) * 1e5}`
  );
}
