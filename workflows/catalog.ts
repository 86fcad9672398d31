/**
 * What the Binance public archive (data.binance.vision) publishes, per market and granularity,
 * from Binance's own sources (binance-public-data python/enums.py and README). Pure data, imported
 * by workflow code and activities alike. The archive's own listing has the last word: a series
 * this catalog allows but the archive does not hold fails at listing time (see activities/series-check.ts).
 */
export const MARKETS = ['spot', 'futures/um', 'futures/cm', 'option'] as const;
export type Market = (typeof MARKETS)[number];

export const GRANULARITIES = ['daily', 'monthly'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

export const INTERVALS = [
  '1s',
  '1m',
  '3m',
  '5m',
  '15m',
  '30m',
  '1h',
  '2h',
  '4h',
  '6h',
  '8h',
  '12h',
  '1d',
  '3d',
  '1w',
  '1mo',
] as const;
export type Interval = (typeof INTERVALS)[number];

/** Daily kline files exist only for these (enums.py DAILY_INTERVALS); 3d, 1w and 1mo are monthly only. */
export const DAILY_INTERVALS: readonly Interval[] = [
  '1s',
  '1m',
  '3m',
  '5m',
  '15m',
  '30m',
  '1h',
  '2h',
  '4h',
  '6h',
  '8h',
  '12h',
  '1d',
];
/** The futures kline APIs have no 1s interval. */
export const SPOT_ONLY_INTERVALS: readonly Interval[] = ['1s'];

/** Data types stored under an interval folder: `{dataType}/{SYMBOL}/{interval}/{SYMBOL}-{interval}-{date}.zip`. */
export const INTERVAL_DATA_TYPES = ['klines', 'indexPriceKlines', 'markPriceKlines', 'premiumIndexKlines'] as const;

const FUTURES_BOTH = [
  'klines',
  'aggTrades',
  'trades',
  'bookTicker',
  'indexPriceKlines',
  'markPriceKlines',
  'premiumIndexKlines',
];

export const CATALOG: Record<Market, Record<Granularity, readonly string[]>> = {
  spot: {
    daily: ['klines', 'aggTrades', 'trades'],
    monthly: ['klines', 'aggTrades', 'trades'],
  },
  'futures/um': {
    daily: [...FUTURES_BOTH, 'bookDepth', 'metrics'],
    monthly: [...FUTURES_BOTH, 'fundingRate'],
  },
  'futures/cm': {
    daily: [...FUTURES_BOTH, 'bookDepth', 'metrics', 'liquidationSnapshot'],
    monthly: [...FUTURES_BOTH, 'fundingRate'],
  },
  option: {
    daily: ['BVOLIndex', 'EOHSummary'],
    monthly: [],
  },
};

export const ALL_DATA_TYPES = [...new Set(Object.values(CATALOG).flatMap((g) => [...g.daily, ...g.monthly]))].sort();

export function hasIntervalFolder(dataType: string): boolean {
  return (INTERVAL_DATA_TYPES as readonly string[]).includes(dataType);
}

/** The kline intervals the archive has for a market and granularity. */
export function intervalsFor(market: Market, granularity: Granularity): readonly Interval[] {
  const byGranularity = granularity === 'daily' ? DAILY_INTERVALS : INTERVALS;
  return market === 'spot' ? byGranularity : byGranularity.filter((i) => !SPOT_ONLY_INTERVALS.includes(i));
}
