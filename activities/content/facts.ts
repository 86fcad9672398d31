/**
 * The content facts of one archive file, read row by row in one pass: rows, header, time unit, first and last
 * time, rows out of order or repeated, and per family the missing open times (klines) or the gaps in the id
 * sequence (trades, aggTrades). Bounded whatever the file: counts plus the first ranges. Pure.
 */
import type { Granularity, Interval } from '../../workflows/catalog';
import type { ColumnLayout } from './layouts';

/** How many ranges of missing open times or ids a fact keeps (the counts cover all of them). */
export const MAX_RANGES = 20;

/** The span a file covers: [startMs, endMs). */
export interface FilePeriod {
  startMs: number;
  endMs: number;
}

export function filePeriod(granularity: Granularity, period: string): FilePeriod {
  const [y, m, d] = period.split('-').map(Number);
  if (granularity === 'daily') {
    const startMs = Date.UTC(y, m - 1, d);
    return { startMs, endMs: startMs + 86_400_000 };
  }
  return { startMs: Date.UTC(y, m - 1, 1), endMs: Date.UTC(y, m, 1) };
}

/** Kline intervals on a fixed grid (3d, 1w and 1mo are not: their candles do not tile a file's period). */
export const INTERVAL_MS: Partial<Record<Interval, number>> = {
  '1s': 1_000,
  '1m': 60_000,
  '3m': 180_000,
  '5m': 300_000,
  '15m': 900_000,
  '30m': 1_800_000,
  '1h': 3_600_000,
  '2h': 7_200_000,
  '4h': 14_400_000,
  '6h': 21_600_000,
  '8h': 28_800_000,
  '12h': 43_200_000,
  '1d': 86_400_000,
};

export interface Ranges<T> {
  /** How many missing open times or ids in all. */
  missing: number;
  /** How many separate ranges in all. */
  count: number;
  /** The first MAX_RANGES of them, inclusive at both ends. */
  ranges: { from: T; to: T }[];
}

export interface ContentFacts {
  rows: number;
  /** The first line names the columns (some futures files) rather than holding data. */
  header: boolean;
  /** The time column's unit: microseconds in spot files from 2025-01-01 on, milliseconds before and elsewhere. */
  unit: 'ms' | 'us' | null;
  firstTime: string | null;
  lastTime: string | null;
  /** Rows whose time (or id) goes back, and rows that repeat the one before. */
  outOfOrder: number;
  duplicates: number;
  /** Rows that could not be read (too few columns, a time or id that is not a number). */
  badRows: number;
  klines?: { interval: Interval; expectedRows: number | null; missingOpenTimes: Ranges<string> | null };
  ids?: { first: number; last: number; gaps: Ranges<number> };
}

const iso = (ms: number) => new Date(ms).toISOString();
/** The largest time a JavaScript date holds. */
const MAX_TIME_MS = 8.64e15;

function rangeCollector<T>(): { add(from: T, to: T, missing: number): void; done(): Ranges<T> } {
  const out: Ranges<T> = { missing: 0, count: 0, ranges: [] };
  return {
    add(from, to, missing) {
      out.missing += missing;
      out.count++;
      if (out.ranges.length < MAX_RANGES) out.ranges.push({ from, to });
    },
    done: () => out,
  };
}

const COMMA = 44;
const CR = 13;
const MINUS = 45;

/** An integer written in ASCII digits (optionally negative) in buf[start, end), else NaN. */
function integerAt(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  let sign = 1;
  if (buf[i] === MINUS) {
    sign = -1;
    i++;
  }
  if (i >= end) return NaN;
  let n = 0;
  for (; i < end; i++) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) return NaN;
    n = n * 10 + d;
  }
  return sign * n;
}

const encoder = new TextEncoder();

/** Reads a file's rows (lines of its CSV) one at a time; `finish()` gives its facts. */
export function factsReader(layout: ColumnLayout, period: FilePeriod, interval?: Interval) {
  const step = layout.family === 'klines' && interval ? INTERVAL_MS[interval] : undefined;
  let rows = 0;
  let lines = 0;
  let header = false;
  let unit: 'ms' | 'us' | null = null;
  let first: number | null = null;
  let last: number | null = null;
  let outOfOrder = 0;
  let duplicates = 0;
  let badRows = 0;
  let firstId: number | null = null;
  let lastId: number | null = null;
  const missingTimes = rangeCollector<string>();
  const idGaps = rangeCollector<number>();

  /**
   * One line as bytes, buf[start, end) without its newline: the columns are found and the time and id parsed
   * from the bytes themselves (no string is made per row: a trades day has tens of millions of them).
   */
  const scanUntil = Math.max(layout.columns - 1, layout.time + 1, (layout.id ?? 0) + 1);
  function lineBytes(buf: Uint8Array, start: number, end: number): void {
    if (end > start && buf[end - 1] === CR) end--;
    if (end <= start) return;
    if (lines++ === 0) {
      const c = buf[start];
      if (c !== MINUS && (c < 48 || c > 57)) {
        header = true;
        return;
      }
    }
    let column = 0;
    let fieldStart = start;
    let raw = NaN;
    let id: number | null = layout.id === undefined ? null : NaN;
    // Enough columns once the last one needed has started: the rest of the row is not read.
    for (let i = start; i <= end && column < scanUntil; i++) {
      if (i < end && buf[i] !== COMMA) continue;
      if (column === layout.time) raw = integerAt(buf, fieldStart, i);
      else if (column === layout.id) id = integerAt(buf, fieldStart, i);
      column++;
      fieldStart = i + 1;
    }
    if (column === layout.columns - 1 && fieldStart <= end) column++; // the last column is there, unread
    if (column < layout.columns || !Number.isFinite(raw) || (id !== null && !Number.isInteger(id))) {
      badRows++;
      return;
    }
    row(raw, id);
  }

  function row(raw: number, id: number | null): void {
    const u = unit ?? (raw >= 1e15 ? 'us' : 'ms');
    const time = u === 'us' ? Math.floor(raw / 1000) : raw;
    // A time no date can hold (past ±8.64e15 ms) is not a time: the row is bad, not the file's first.
    if (!(Math.abs(time) <= MAX_TIME_MS)) {
      badRows++;
      return;
    }
    unit = u;
    rows++;
    if (last !== null && (id !== null ? lastId !== null && id < lastId : time < last)) outOfOrder++;
    else if (last !== null && (id !== null ? id === lastId : time === last)) duplicates++;
    else {
      if (step) {
        const expected = (last ?? period.startMs - step) + step;
        if (time > expected) missingTimes.add(iso(expected), iso(time - step), Math.round((time - expected) / step));
      }
      if (id !== null && lastId !== null && id > lastId + 1) idGaps.add(lastId + 1, id - 1, id - lastId - 1);
    }
    if (first === null) first = time;
    if (last === null || time >= last) last = time;
    if (id !== null) {
      if (firstId === null) firstId = id;
      if (lastId === null || id > lastId) lastId = id;
    }
  }

  return {
    lineBytes,
    /** One line as text (tests, and callers that have strings). */
    line(text: string): void {
      const bytes = encoder.encode(text);
      lineBytes(bytes, 0, bytes.length);
    },

    finish(): ContentFacts {
      if (step && (last === null || last + step < period.endMs)) {
        const from = last === null ? period.startMs : last + step;
        missingTimes.add(iso(from), iso(period.endMs - step), Math.round((period.endMs - from) / step));
      }
      return {
        rows,
        header,
        unit,
        firstTime: first === null ? null : iso(first),
        lastTime: last === null ? null : iso(last),
        outOfOrder,
        duplicates,
        badRows,
        ...(layout.family === 'klines' && interval
          ? {
              klines: {
                interval,
                expectedRows: step ? Math.round((period.endMs - period.startMs) / step) : null,
                missingOpenTimes: step ? missingTimes.done() : null,
              },
            }
          : {}),
        ...(firstId !== null && lastId !== null ? { ids: { first: firstId, last: lastId, gaps: idGaps.done() } } : {}),
      };
    },
  };
}
