/**
 * Coverage: per series, the span the archive publishes, the gaps inside it, and what the
 * destination holds with proof — computed from the manifest's entries of the series. Pure.
 */
import {
  PRESENT_OUTCOMES,
  type ContentSummary,
  type CoverageRow,
  type CoverageSummary,
  type ManifestEntry,
  type SeriesSpec,
} from './types';

export const COVERAGE_LEGEND =
  '█ complete · ▓ complete, the archive skips some periods · ▒ partly missing in the destination · ░ missing in the destination · ' +
  "· nothing published (archive gap) · ! complete, a verified file is cut short · blank: outside the series' span";

/** Cells of a timeline: periods grouped into days, months or quarters so that a series fits in about 60 characters. */
function cellOf(period: string, unit: 'period' | 'month' | 'quarter'): string {
  if (unit === 'period') return period;
  if (unit === 'month') return period.slice(0, 7);
  const month = Number(period.slice(5, 7));
  return `${period.slice(0, 4)}-Q${Math.ceil(month / 3)}`;
}

function unitFor(periods: string[]): 'period' | 'month' | 'quarter' {
  if (periods.length <= 62) return 'period';
  const months = new Set(periods.map((p) => p.slice(0, 7))).size;
  return months <= 60 ? 'month' : 'quarter';
}

/** `a..b c d..e`: consecutive periods (in the listed order) folded into ranges, at most `max` ranges. */
export function foldRanges(periods: string[], all: string[], max = 20): string {
  if (!periods.length) return '';
  const position = new Map(all.map((p, i) => [p, i]));
  const ranges: string[] = [];
  let start = periods[0];
  let prev = periods[0];
  for (const p of periods.slice(1)) {
    if (position.get(p) === (position.get(prev) ?? -2) + 1) {
      prev = p;
      continue;
    }
    ranges.push(start === prev ? start : `${start}..${prev}`);
    start = prev = p;
  }
  ranges.push(start === prev ? start : `${start}..${prev}`);
  return ranges.length > max ? `${ranges.slice(0, max).join(' ')} …` : ranges.join(' ');
}

type PeriodState = 'verified' | 'missing' | 'gap';

/**
 * One series' row. `entries` are the manifest entries of the series (any order); `periodOf` reads a
 * key's period. The span runs from the first to the last published period.
 */
export function coverageRow(
  series: SeriesSpec,
  entries: ManifestEntry[],
  periodOf: (key: string) => string | undefined,
  breaks?: unknown[],
): CoverageRow {
  const states = new Map<string, PeriodState>();
  const content = new Map<string, string>();
  for (const e of entries) {
    const period = periodOf(e.key);
    if (!period) continue;
    if (e.content) content.set(period, e.content.status);
    // Verified means SHA-256 proof (or an operator's acceptance); a copy checked by size or not at all counts as missing.
    const proven = PRESENT_OUTCOMES.includes(e.outcome) && (e.proof === 'sha256' || e.proof === 'accepted');
    states.set(period, e.outcome === 'not_published' ? 'gap' : proven ? 'verified' : 'missing');
  }
  const periods = [...states.keys()].sort();
  const published = periods.filter((p) => states.get(p) !== 'gap');
  const base = {
    market: series.market,
    granularity: series.granularity,
    dataType: series.dataType,
    symbol: series.symbol,
    interval: series.interval ?? null,
  };
  const cutShort = [...content.entries()].filter(([, c]) => c === 'cut_short').map(([p]) => p);
  const contentColumns = content.size
    ? {
        contentKnown: content.size,
        cutShort: cutShort.length,
        cutShortRanges: foldRanges(cutShort.sort(), periods),
        contentGaps: [...content.values()].filter((c) => c === 'gaps').length,
        seriesBreaks: breaks?.length ?? 0,
      }
    : {};
  if (!published.length) {
    return {
      ...base,
      ...contentColumns,
      first: null,
      last: null,
      span: 0,
      published: 0,
      archiveGaps: 0,
      archiveGapRanges: '',
      verified: 0,
      missing: 0,
      missingRanges: '',
      status: 'empty',
      timeline: '',
      timelineScale: '',
    };
  }
  const first = published[0];
  const last = published[published.length - 1];
  const span = periods.filter((p) => p >= first && p <= last);
  const gaps = span.filter((p) => states.get(p) === 'gap');
  const missing = published.filter((p) => states.get(p) === 'missing');
  const verified = published.length - missing.length;

  // The timeline covers every period the entries name (for a fixed range, also before and after the span).
  const unit = unitFor(periods);
  const cells = new Map<string, PeriodState[]>();
  for (const p of periods) {
    const c = cellOf(p, unit);
    cells.set(c, [...(cells.get(c) ?? []), states.get(p)!]);
  }
  const cellsCutShort = new Set(cutShort.map((p) => cellOf(p, unit)));
  const firstCell = cellOf(first, unit);
  const lastCell = cellOf(last, unit);
  const timeline = [...cells.entries()]
    .map(([cell, s]) => {
      if (cell < firstCell || cell > lastCell) return ' ';
      const v = s.filter((x) => x === 'verified').length;
      const m = s.filter((x) => x === 'missing').length;
      const g = s.length - v - m;
      if (v + m === 0) return '·';
      if (m === 0 && cellsCutShort.has(cell)) return '!';
      if (m === 0) return g ? '▓' : '█';
      return v === 0 ? '░' : '▒';
    })
    .join('');
  return {
    ...base,
    first,
    last,
    span: span.length,
    published: published.length,
    archiveGaps: gaps.length,
    archiveGapRanges: foldRanges(gaps, periods),
    verified,
    missing: missing.length,
    missingRanges: foldRanges(missing, periods),
    status: missing.length ? 'incomplete' : 'complete',
    ...contentColumns,
    timeline,
    timelineScale: `${unit === 'period' ? (series.granularity === 'daily' ? 'day' : 'month') : unit} from ${cellOf(periods[0], unit)}`,
  };
}

/** The rows a person reads first: incomplete series, then series with archive gaps, then the rest; each group in key order. */
export function rankRows(rows: CoverageRow[]): CoverageRow[] {
  const rank = (r: CoverageRow) =>
    r.status === 'incomplete' ? 0 : r.cutShort ? 1 : r.archiveGaps ? 2 : r.status === 'empty' ? 3 : 4;
  return rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => rank(a.r) - rank(b.r) || a.i - b.i)
    .map((x) => x.r);
}

// Rows carried in results and the report (each can be ~1 KB): the full table is in the coverage objects.
export const MAX_REPORT_ROWS = 60;

export function emptyCoverage(): CoverageSummary {
  return {
    series: 0,
    complete: 0,
    incomplete: 0,
    empty: 0,
    withArchiveGaps: 0,
    archiveGapPeriods: 0,
    missingFiles: 0,
    rows: [],
    rowsOmitted: 0,
    legend: COVERAGE_LEGEND,
  };
}

/** Adds rows (or another summary) into a summary, keeping the MAX_REPORT_ROWS rows ranked first. */
export function addCoverage(into: CoverageSummary, add: CoverageSummary): CoverageSummary {
  const rows = rankRows([...into.rows, ...add.rows]);
  const kept = rows.slice(0, MAX_REPORT_ROWS);
  return {
    series: into.series + add.series,
    complete: into.complete + add.complete,
    incomplete: into.incomplete + add.incomplete,
    empty: into.empty + add.empty,
    withArchiveGaps: into.withArchiveGaps + add.withArchiveGaps,
    archiveGapPeriods: into.archiveGapPeriods + add.archiveGapPeriods,
    missingFiles: into.missingFiles + add.missingFiles,
    rows: kept,
    rowsOmitted: into.rowsOmitted + add.rowsOmitted + (rows.length - kept.length),
    legend: COVERAGE_LEGEND,
    ...withContent(addContent(into.content, add.content)),
  };
}

const withContent = (content: ContentSummary | undefined) => (content ? { content } : {});

export function emptyContent(): ContentSummary {
  return {
    known: 0,
    whole: 0,
    gaps: 0,
    cutShort: 0,
    unknown: 0,
    seriesBreaks: 0,
    inspectedNow: 0,
    bytesRead: 0,
    notInspected: 0,
  };
}

/** Adds two content summaries (the first failure kept); absent when neither side has one. */
export function addContent(a: ContentSummary | undefined, b: ContentSummary | undefined): ContentSummary | undefined {
  if (!a) return b;
  if (!b) return a;
  const failure = a.failure ?? b.failure;
  return {
    known: a.known + b.known,
    whole: a.whole + b.whole,
    gaps: a.gaps + b.gaps,
    cutShort: a.cutShort + b.cutShort,
    unknown: a.unknown + b.unknown,
    seriesBreaks: a.seriesBreaks + b.seriesBreaks,
    inspectedNow: a.inspectedNow + b.inspectedNow,
    bytesRead: a.bytesRead + b.bytesRead,
    notInspected: a.notInspected + b.notInspected,
    ...(failure ? { failure } : {}),
  };
}

export function summarizeRows(rows: CoverageRow[], content?: ContentSummary): CoverageSummary {
  return addCoverage(emptyCoverage(), {
    ...withContent(content),
    series: rows.length,
    complete: rows.filter((r) => r.status === 'complete').length,
    incomplete: rows.filter((r) => r.status === 'incomplete').length,
    empty: rows.filter((r) => r.status === 'empty').length,
    withArchiveGaps: rows.filter((r) => r.archiveGaps > 0).length,
    archiveGapPeriods: rows.reduce((n, r) => n + r.archiveGaps, 0),
    missingFiles: rows.reduce((n, r) => n + r.missing, 0),
    rows,
    rowsOmitted: 0,
    legend: COVERAGE_LEGEND,
  });
}

/** CSV columns, in order, with their Table Schema types (frictionlessdata.io table-schema). */
export const COVERAGE_FIELDS: [keyof CoverageRow, 'string' | 'integer', string][] = [
  ['market', 'string', 'spot, futures/um, futures/cm or option'],
  ['granularity', 'string', 'daily or monthly'],
  ['dataType', 'string', 'klines, aggTrades, …'],
  ['symbol', 'string', 'as the archive names it'],
  ['interval', 'string', 'kline interval, empty for other data types'],
  ['first', 'string', 'first period the archive publishes for the series (YYYY-MM-DD or YYYY-MM)'],
  ['last', 'string', 'last period the archive publishes'],
  ['span', 'integer', 'periods from first to last, inclusive'],
  ['published', 'integer', 'files the archive publishes in the span'],
  ['archiveGaps', 'integer', 'periods inside the span the archive does not publish'],
  ['archiveGapRanges', 'string', 'those periods as ranges'],
  ['verified', 'integer', 'published files the destination holds with proof'],
  ['missing', 'integer', 'published files the destination does not hold with proof'],
  ['missingRanges', 'string', 'those periods as ranges'],
  ['status', 'string', 'complete, incomplete or empty'],
  ['contentKnown', 'integer', 'verified files whose content was inspected (empty: none)'],
  ['cutShort', 'integer', 'of those, files cut short of their period (see docs/content.md)'],
  ['cutShortRanges', 'string', 'their periods as ranges'],
  ['contentGaps', 'integer', 'files with interior gaps (missing open times or ids; may be maintenance)'],
  ['seriesBreaks', 'integer', 'breaks in the id or open-time sequence between consecutive files (inspect runs)'],
];

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function coverageCsvHeader(): string {
  return COVERAGE_FIELDS.map(([name]) => name).join(',');
}

export function coverageCsvLine(r: CoverageRow): string {
  return COVERAGE_FIELDS.map(([name]) => csvCell(r[name])).join(',');
}

export function coverageTableSchema(csvKey: string) {
  return {
    $schema: 'https://specs.frictionlessdata.io/schemas/table-schema.json',
    path: csvKey,
    dialect: { delimiter: ',', header: true },
    fields: COVERAGE_FIELDS.map(([name, type, description]) => ({ name, type, description })),
    primaryKey: ['market', 'granularity', 'dataType', 'symbol', 'interval'],
  };
}
