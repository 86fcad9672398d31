/**
 * Where the facts of a file live in its CSV rows, per data type, from Binance's README (binance-public-data,
 * "Data Information"; test/fixtures/archive-oracle/column-layouts.json keeps the rows it documents). Pure data.
 */
import type { Market } from '../../workflows/catalog';

export type ContentFamily = 'klines' | 'trades' | 'aggTrades';

export interface ColumnLayout {
  family: ContentFamily;
  /** The column whose time orders the rows (open time for klines). */
  time: number;
  /** The id column whose sequence continues from row to row (trade id; aggregate trade id). */
  id?: number;
  /** How many columns a row has at least. */
  columns: number;
}

const KLINES: ColumnLayout = { family: 'klines', time: 0, columns: 12 };
/** Spot aggTrades have 8 columns, futures 7; the id and time columns are the same. */
const AGG_TRADES: ColumnLayout = { family: 'aggTrades', id: 0, time: 5, columns: 7 };
/** Spot trades have 7 columns, futures 6; the id and time columns are the same. */
const TRADES: ColumnLayout = { family: 'trades', id: 0, time: 4, columns: 6 };

/** The kline family: the README documents klines; the futures API gives mark, index and premium klines the same array. */
export const KLINE_DATA_TYPES = ['klines', 'markPriceKlines', 'indexPriceKlines', 'premiumIndexKlines'] as const;

/** The layout of a data type's files, or why they are not inspected. */
export function layoutOf(market: Market, dataType: string): ColumnLayout | { notInspected: string } {
  if (market === 'option') return { notInspected: 'option files have no documented layout' };
  if ((KLINE_DATA_TYPES as readonly string[]).includes(dataType)) return KLINES;
  if (dataType === 'aggTrades') return AGG_TRADES;
  if (dataType === 'trades') return TRADES;
  return { notInspected: `${dataType} files have no documented time column` };
}
