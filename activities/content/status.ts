/**
 * A file's content status beside its copy outcome (outcomes drive counts and alerts; this does not):
 *  - cut_short: the rows start or end short of the file's period by more than the threshold (or there are none);
 *  - gaps: interior missing open times or ids (exchange maintenance is one cause Binance calls correct data);
 *  - whole: neither; unknown: not inspected, or no fixed grid to judge by (3d, 1w, 1mo klines).
 * `cut_short` carries its evidence. Pure.
 */
import type { ContentFacts, FilePeriod } from './facts';
import { INTERVAL_MS } from './facts';

export type ContentStatus = 'whole' | 'gaps' | 'cut_short' | 'unknown';

export interface ContentThresholds {
  /** Kline files: how far the first or last open time may fall short of the period's edge (default 1 hour). */
  klinesEdgeMs: number;
  /** Trade files: how far the first or last trade may fall short (default 6 hours: quiet symbols trade rarely). */
  tradesEdgeMs: number;
}

export const DEFAULT_THRESHOLDS: ContentThresholds = { klinesEdgeMs: 3_600_000, tradesEdgeMs: 6 * 3_600_000 };

export interface ContentVerdict {
  status: ContentStatus;
  reason: string;
  evidence?: {
    rows: number;
    expectedRows?: number | null;
    firstTime: string | null;
    expectedStart: string;
    lastTime: string | null;
    expectedEnd: string;
    firstId?: number;
    lastId?: number;
  };
}

const ms = (t: string) => Date.parse(t);
const hours = (n: number) => `${(n / 3_600_000).toFixed(1)} h`;

export function contentStatus(
  facts: ContentFacts | { notInspected: string },
  period: FilePeriod,
  thresholds: ContentThresholds = DEFAULT_THRESHOLDS,
): ContentVerdict {
  if ('notInspected' in facts) return { status: 'unknown', reason: facts.notInspected };
  const step = facts.klines ? INTERVAL_MS[facts.klines.interval] : undefined;
  if (facts.klines && !step)
    return { status: 'unknown', reason: `${facts.klines.interval} candles do not tile the file's period` };
  // The last row's time: a candle's open time (it covers one step), a trade's own time.
  const lastCovered = step ?? 0;
  const edgeMs = facts.klines ? thresholds.klinesEdgeMs : thresholds.tradesEdgeMs;
  const evidence = {
    rows: facts.rows,
    ...(facts.klines ? { expectedRows: facts.klines.expectedRows } : {}),
    firstTime: facts.firstTime,
    expectedStart: new Date(period.startMs).toISOString(),
    lastTime: facts.lastTime,
    expectedEnd: new Date(period.endMs - (step ?? 1)).toISOString(),
    ...(facts.ids ? { firstId: facts.ids.first, lastId: facts.ids.last } : {}),
  };
  if (!facts.rows || !facts.firstTime || !facts.lastTime)
    return { status: 'cut_short', reason: 'no rows for the period', evidence };
  const shortAtStart = ms(facts.firstTime) - period.startMs;
  const shortAtEnd = period.endMs - (ms(facts.lastTime) + lastCovered);
  if (shortAtStart > edgeMs || shortAtEnd > edgeMs) {
    const where = [
      shortAtStart > edgeMs ? `starts ${hours(shortAtStart)} late` : '',
      shortAtEnd > edgeMs ? `ends ${hours(shortAtEnd)} early` : '',
    ]
      .filter(Boolean)
      .join(' and ');
    return { status: 'cut_short', reason: `${where} (threshold ${hours(edgeMs)})`, evidence };
  }
  const missing = facts.klines?.missingOpenTimes?.missing ?? facts.ids?.gaps.missing ?? 0;
  if (missing > 0)
    return {
      status: 'gaps',
      reason: facts.klines
        ? `${missing} open times missing in ${facts.klines.missingOpenTimes!.count} ranges`
        : `${missing} ids missing in ${facts.ids!.gaps.count} ranges`,
    };
  return { status: 'whole', reason: 'every row of the period is there' };
}
