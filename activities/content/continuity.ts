/**
 * Series continuity across files: for trades and aggTrades the ids continue from one file to the next (the last id
 * of a day + 1 is the first id of the next), the strongest completeness proof the archive offers, independent of
 * timestamps; for klines the next file's first open time is the last one's plus one interval. Pure.
 */
import type { Granularity } from '../../workflows/catalog';
import type { ContentFacts } from './facts';
import { filePeriod, INTERVAL_MS } from './facts';

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

/** Why a file whose own rows look whole is cut short: the id sequence breaks at its edge. */
export interface ContinuityVerdict {
  status: 'cut_short';
  reason: string;
  evidence: Record<string, unknown>;
  /** The file on the other side of the break. */
  neighbour: string;
}

export interface PeriodFile extends SeriesFile {
  period: string;
}

const fileName = (key: string) => key.slice(key.lastIndexOf('/') + 1);

/**
 * Where the id sequence breaks between files of adjacent periods, one of them lost rows at its edge: the one whose
 * edge lies further from its period's edge is cut short, with the missing ids as evidence. A break across a period
 * the archive does not publish, or ids that overlap (repeated, not missing), is reported as a break only. Pure.
 */
export function edgeBreaks(
  granularity: Granularity,
  files: PeriodFile[],
  breaks: SeriesBreak[],
): Map<string, ContinuityVerdict> {
  const byKey = new Map(files.map((f) => [f.key, f]));
  const marks = new Map<string, ContinuityVerdict>();
  for (const b of breaks) {
    if (b.kind !== 'ids' || (b.from as number) > (b.to as number)) continue;
    const before = byKey.get(b.before)!;
    const after = byKey.get(b.after)!;
    const a = filePeriod(granularity, before.period);
    const z = filePeriod(granularity, after.period);
    if (a.endMs !== z.startMs) continue;
    const shortAtEnd = a.endMs - (before.facts.lastTime ? Date.parse(before.facts.lastTime) : a.startMs);
    const lateAtStart = (after.facts.firstTime ? Date.parse(after.facts.firstTime) : z.endMs) - z.startMs;
    const culprit = shortAtEnd >= lateAtStart ? before : after;
    const other = culprit === before ? after : before;
    const f = culprit.facts;
    marks.set(culprit.key, {
      status: 'cut_short',
      reason: `the id sequence breaks at its ${culprit === before ? 'end' : 'start'}: ids ${b.from}..${b.to} are in neither ${fileName(b.before)} nor ${fileName(b.after)}`,
      evidence: {
        rows: f.rows,
        firstId: f.ids?.first,
        lastId: f.ids?.last,
        firstTime: f.firstTime,
        lastTime: f.lastTime,
        missingIds: { from: b.from, to: b.to },
      },
      neighbour: other.key,
    });
  }
  return marks;
}
