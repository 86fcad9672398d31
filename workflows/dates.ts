/** UTC calendar arithmetic for archive periods. Pure, deterministic: no clock access. */

const DAY_MS = 86_400_000;

export function parseDay(s: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return undefined;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return formatDay(d) === s ? d : undefined; // rejects 2025-02-30
}

export function parseMonth(s: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})$/.exec(s);
  if (!m || +m[2] < 1 || +m[2] > 12) return undefined;
  return new Date(Date.UTC(+m[1], +m[2] - 1, 1));
}

export function formatDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export function formatMonth(d: Date): string {
  return d.toISOString().slice(0, 7);
}

export function startOfUtcDay(t: Date): Date {
  return new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()));
}

export function addDays(d: Date, n: number): Date {
  return new Date(d.getTime() + n * DAY_MS);
}

export function addMonths(d: Date, n: number): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1));
}

export function daysBetween(a: Date, b: Date): number {
  return Math.round((b.getTime() - a.getTime()) / DAY_MS);
}

/** Every day from start to end inclusive, as `YYYY-MM-DD`. */
export function enumerateDays(start: Date, end: Date): string[] {
  const out: string[] = [];
  for (let d = start; d <= end; d = addDays(d, 1)) out.push(formatDay(d));
  return out;
}

/** Every month touched by start..end inclusive, as `YYYY-MM`. */
export function enumerateMonths(start: Date, end: Date): string[] {
  const out: string[] = [];
  for (let d = addMonths(start, 0); d <= end; d = addMonths(d, 1)) out.push(formatMonth(d));
  return out;
}
