/**
 * Series continuity across files: for trades and aggTrades the ids continue from one file to the next (the last id
 * of a day + 1 is the first id of the next), the strongest completeness proof the archive offers, independent of
 * timestamps; for klines the next file's first open time is the last one's plus one interval. Pure.
 */
import type { ContentFacts } from './facts';
import { INTERVAL_MS } from './facts';

export interface SeriesFile {
  key: string;
  facts: ContentFacts;
}

export interface SeriesBreak {
  /** The file before the break and the file after it. */
  before: string;
  after: string;
  /** What is missing between them: ids, or open times (ISO), inclusive; `from > to` means they overlap. */
  kind: 'ids' | 'openTimes';
  from: number | string;
  to: number | string;
}

/** The breaks between consecutive files of one series, given in period order. */
export function seriesBreaks(files: SeriesFile[]): SeriesBreak[] {
  const breaks: SeriesBreak[] = [];
  for (let n = 1; n < files.length; n++) {
    const a = files[n - 1];
    const b = files[n];
    if (a.facts.ids && b.facts.ids) {
      if (b.facts.ids.first !== a.facts.ids.last + 1)
        breaks.push({
          before: a.key,
          after: b.key,
          kind: 'ids',
          from: a.facts.ids.last + 1,
          to: b.facts.ids.first - 1,
        });
      continue;
    }
    const step = a.facts.klines ? INTERVAL_MS[a.facts.klines.interval] : undefined;
    if (step && a.facts.lastTime && b.facts.firstTime) {
      const next = Date.parse(a.facts.lastTime) + step;
      const first = Date.parse(b.facts.firstTime);
      if (first !== next)
        breaks.push({
          before: a.key,
          after: b.key,
          kind: 'openTimes',
          from: new Date(next).toISOString(),
          to: new Date(first - step).toISOString(),
        });
    }
  }
  return breaks;
}
