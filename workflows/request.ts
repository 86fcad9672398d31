/**
 * The collection request: one JSON object, every field optional, validated with zod.
 * Imported by the workflow (validation happens inside the run, so a bad Web UI input fails fast)
 * and by the client (so a bad flag fails before anything starts).
 */
import { z } from 'zod';
import {
  ALL_DATA_TYPES,
  DAILY_INTERVALS,
  GRANULARITIES,
  INTERVAL_DATA_TYPES,
  INTERVALS,
  MARKETS,
  SPOT_ONLY_INTERVALS,
  hasIntervalFolder,
  intervalsFor,
  type Granularity,
  type Interval,
  type Market,
} from './catalog';
import {
  addDays,
  addMonths,
  daysBetween,
  enumerateDays,
  enumerateMonths,
  formatDay,
  parseDay,
  parseMonth,
  startOfUtcDay,
} from './dates';
import type { Series } from './keys';

export const MODES = ['auto', 'direct_sync', 'traditional'] as const;
export type RequestedMode = (typeof MODES)[number];
export const VERIFICATION_LEVELS = ['checksum', 'size', 'none'] as const;
export type VerificationLevel = (typeof VERIFICATION_LEVELS)[number];

export const ACTIONS = ['collect', 'plan', 'audit', 'inspect'] as const;
export type CollectionAction = (typeof ACTIONS)[number];

/** audit and inspect copy nothing: they prove what the destination holds (inspect also reads its content). */
export function copiesNothing(action: CollectionAction): boolean {
  return action === 'audit' || action === 'inspect';
}

/** Whether a run reads the content of the verified files it holds (action inspect, or the inspect flag). */
export function inspectsContent(r: { action: CollectionAction; inspect?: boolean }): boolean {
  return r.action === 'inspect' || r.inspect === true;
}

export const ARCHIVE_START = '2017-01-01';
export const MAX_SPAN_DAYS = 3_700;
/** The ceiling a request may select without raising `maxFiles` explicitly. */
export const DEFAULT_MAX_FILES = 1_000_000;
/** Batches of one shard in flight unless the request says otherwise (the worker sizes its sockets for them too). */
export const DEFAULT_PARALLEL_BATCHES = 4;

// Symbols as the archive names them: BTCUSDT, 1000BONKUSDT, BTCUSD_PERP, 币安人生USDT (letters of any script).
// They reach S3 keys and s5cmd run files, so nothing else: no "/", ".", quotes, spaces or control characters.
const SYMBOL = /^[\p{L}\p{N}][\p{L}\p{N}_-]{0,39}$/u;
// Destination prefixes reach s5cmd command lines and S3 keys: a plain path of safe characters only.
const PREFIX = /^(?:[A-Za-z0-9_=.-]+\/)*$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

const PROJECT_FOLDERS = ['_collections', '_quarantine', '_verified', '_facts'];

export const BucketName = z
  .string()
  .max(63, 'must be an S3 bucket name: 3-63 lower-case letters, digits, "." or "-"')
  .regex(BUCKET, 'must be an S3 bucket name: 3-63 lower-case letters, digits, "." or "-"');

/** A destination prefix: empty, or safe path segments each ending in "/" (never ".", "..", or an absolute path). */
export const KeyPrefix = z
  .string()
  .max(200, 'must be at most 200 characters')
  .regex(
    PREFIX,
    'must be empty or path segments of letters, digits, "_", "=", ".", "-", each ending in "/", e.g. "binance/"',
  )
  .refine((p) => !p.split('/').some((seg) => seg === '.' || seg === '..'), 'must not contain "." or ".." segments')
  .refine(
    (p) => !p.split('/').some((seg) => PROJECT_FOLDERS.includes(seg)),
    'must not name the folders this project keeps beside the data (_collections, _quarantine, _verified, _facts)',
  );

/** Where files land: `s3://<bucket>/<prefix><archive key>`; both default to the worker's configuration. */
export const Destination = z
  .object({
    bucket: BucketName.optional(),
    prefix: KeyPrefix.optional(),
  })
  .strict();

export const RetryOverride = z
  .object({
    initialIntervalMs: z.number().int().min(1).max(3_600_000).optional(),
    backoffCoefficient: z.number().min(1).max(10).optional(),
    maximumIntervalMs: z.number().int().min(1).max(86_400_000).optional(),
    maximumAttempts: z.number().int().min(1).max(1_000).optional(),
  })
  .strict();
export type RetryOverride = z.infer<typeof RetryOverride>;

export const ACTIVITY_KINDS = ['probe', 'list', 'directSync', 'verify', 'download', 'upload', 'report'] as const;
export type ActivityKind = (typeof ACTIVITY_KINDS)[number];

const RetryOverrides = z
  .object({
    default: RetryOverride.optional(),
    ...Object.fromEntries(ACTIVITY_KINDS.map((k) => [k, RetryOverride.optional()])),
  })
  .strict() as z.ZodType<Partial<Record<ActivityKind | 'default', RetryOverride>>>;

// A pattern is matched against the symbols the archive lists; "*" any run of characters, "?" one.
const SYMBOL_PATTERN = /^[\p{L}\p{N}_*?-]{1,40}$/u;

/** True for a glob (`*`, `BTC*`, `*USDT`, `?BTC`), false for a plain name. */
export function isPattern(value: string): boolean {
  return value.includes('*') || value.includes('?');
}

const symbolField = z
  .string()
  .max(64, 'must be a symbol of at most 40 characters, e.g. BTCUSDT')
  .transform((s) => s.trim().normalize('NFC').toUpperCase())
  .refine((s) => (isPattern(s) ? SYMBOL_PATTERN.test(s) : SYMBOL.test(s)), {
    message:
      'must be a symbol as the archive names it (e.g. BTCUSDT, BTCUSD_PERP, 币安人生USDT): letters of any script and digits, with "_" or "-", at most 40 characters; or a pattern of those with "*" and "?" (e.g. "*", "*USDT", "BTC*")',
  });

/** `"*"` alone stands for every value the archive has; otherwise a list. */
const allOr = <T extends z.ZodTypeAny>(item: T, max: number) =>
  z.union([z.literal('*').transform(() => ['*']), z.array(item).min(1).max(max)], {
    errorMap: (issue, ctx) =>
      issue.code === 'invalid_union'
        ? { message: 'must be "*" (everything the archive has) or a list, e.g. ["BTCUSDT", "ETH*"]' }
        : { message: ctx.defaultError },
  });

/** The same value twice is asked once: duplicates would plan each key twice, in racing batches. */
const unique = <T>(xs: T[]): T[] => [...new Set(xs)];

const dateField = z
  .string()
  .max(10, 'must be a date YYYY-MM-DD (or a month YYYY-MM)')
  .refine((s) => parseDay(s) !== undefined || parseMonth(s) !== undefined, {
    message: 'must be a real UTC date YYYY-MM-DD (or a month YYYY-MM)',
  });

const RequestFields = z
  .object({
    markets: z.array(z.enum(MARKETS)).min(1).max(4).default(['spot']),
    dataTypes: allOr(z.string().max(64, 'must be a data type such as klines or aggTrades'), 20).default(['klines']),
    symbols: allOr(symbolField, 2_000).default(['BTCUSDT']),
    intervals: allOr(z.string().max(16, 'must be an interval such as 1m or 1d'), INTERVALS.length)
      .optional()
      .describe(
        'kline intervals; default ["1d"]; only for klines, indexPriceKlines, markPriceKlines, premiumIndexKlines',
      ),
    granularity: z.enum(GRANULARITIES).default('daily'),
    /** "all": each series from the first to the last file the archive has for it. */
    dates: z
      .literal('all', {
        errorMap: () => ({
          message:
            'must be "all" (each series over the span the archive has), or leave it out and give startDate/endDate, lastDays or lastMonths',
        }),
      })
      .optional(),
    startDate: dateField.optional(),
    endDate: dateField.optional(),
    lastDays: z.number().int().min(1).max(MAX_SPAN_DAYS).optional(),
    lastMonths: z.number().int().min(1).max(120).optional(),
    asOf: z.string().max(40).datetime({ offset: true }).optional(),
    destination: Destination.default({}),
    /**
     * collect: copy and prove; plan: a dry run (what a collection would do and cost); audit: prove what the destination
     * already holds, copying nothing; inspect: an audit that also reads the content of every verified file not read yet.
     */
    action: z.enum(ACTIONS).default('collect'),
    /** The most files a request may select; raise it to collect more in one go. */
    maxFiles: z.number().int().min(1).max(1_000_000_000).default(DEFAULT_MAX_FILES),
    mode: z.enum(MODES).default('auto'),
    batchSize: z.number().int().min(1).max(1_000).default(250),
    parallelBatches: z.number().int().min(1).max(32).default(DEFAULT_PARALLEL_BATCHES),
    /** Batches one workflow run starts before it continues as new, keeping each history small. */
    batchesPerRun: z.number().int().min(1).max(2_000).default(200),
    /** Files per shard: each shard is listed, copied and reported by its own child workflow. */
    filesPerShard: z.number().int().min(10).max(200_000).default(20_000),
    /** Shards (child workflows) running at once. */
    parallelShards: z.number().int().min(1).max(64).default(2),
    verification: z.enum(VERIFICATION_LEVELS).default('checksum'),
    /**
     * audit only: read the record of every proof bound to the files it lists, void those whose record cannot be
     * true (a sha256 proof no hash stands behind, a body that does not match its name) and prove those files again.
     */
    recheckProofs: z.boolean().default(false),
    /** collect and audit: also read the content of every verified file whose bytes were not read yet (see docs/content.md). */
    inspect: z.boolean().default(false),
    /** How long a silent worker keeps an activity before Temporal retries it elsewhere. */
    heartbeatTimeoutSeconds: z.number().int().min(2).max(600).default(30),
    retry: RetryOverrides.default({}),
  })
  .strict();

// Deduplicated last: a transform before the checks would hide every other problem behind the first.
export const CollectionRequest = RequestFields.superRefine((r, ctx) => checkCatalog(r, ctx)).transform((r) => ({
  ...r,
  markets: unique(r.markets),
  dataTypes: unique(r.dataTypes),
  symbols: unique(r.symbols),
  ...(r.intervals ? { intervals: unique(r.intervals) } : {}),
}));

export type CollectionRequestInput = z.input<typeof CollectionRequest>;
export type CollectionRequest = z.output<typeof CollectionRequest>;

function checkCatalog(r: z.output<typeof RequestFields>, ctx: z.RefinementCtx) {
  const issue = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: z.ZodIssueCode.custom, path, message });

  // A data type the catalog knows is let through to the listing, which has the last word for each
  // market (folders come and go: liquidationSnapshot, bookTicker). An unknown name is a typo.
  r.dataTypes.forEach((dt, i) => {
    if (isPattern(dt)) {
      if (!ALL_DATA_TYPES.some((known) => globMatches(dt, known))) {
        issue(['dataTypes', i], `"${dt}" matches no data type of the archive; it has: ${ALL_DATA_TYPES.join(', ')}`);
      }
    } else if (!ALL_DATA_TYPES.includes(dt)) {
      issue(['dataTypes', i], `unknown data type "${dt}"; the archive has: ${ALL_DATA_TYPES.join(', ')}`);
    }
  });

  const klineTypes = r.dataTypes.filter((dt) =>
    isPattern(dt) ? INTERVAL_DATA_TYPES.some((k) => globMatches(dt, k)) : hasIntervalFolder(dt),
  );
  if (r.intervals) {
    if (klineTypes.length === 0) {
      issue(
        ['intervals'],
        'intervals apply only to klines, indexPriceKlines, markPriceKlines and premiumIndexKlines; remove "intervals"',
      );
    }
    if (r.intervals.includes('*') && r.intervals.length > 1)
      issue(['intervals'], '"*" already means every interval; give "*" alone or a list of intervals');
    r.intervals.forEach((iv, i) => {
      if (iv === '*') return;
      if (iv === '1M') issue(['intervals', i], 'the monthly interval is "1mo" in the archive, not "1M"');
      else if (!(INTERVALS as readonly string[]).includes(iv)) {
        issue(['intervals', i], `unknown interval "${iv}"; use one of ${INTERVALS.join(', ')}`);
      } else if (r.granularity === 'daily' && !DAILY_INTERVALS.includes(iv as Interval)) {
        issue(
          ['intervals', i],
          `"${iv}" kline files are published monthly only; use granularity "monthly", or a daily interval (${DAILY_INTERVALS.join(', ')})`,
        );
      } else if (SPOT_ONLY_INTERVALS.includes(iv as Interval) && r.markets.some((m) => m !== 'spot')) {
        const others = r.markets.filter((m) => !intervalsFor(m, r.granularity).includes(iv as Interval));
        issue(
          ['intervals', i],
          `"${iv}" klines exist for spot only, not for ${others.join(', ')}; collect those markets in a separate request`,
        );
      }
    });
  }

  if (r.recheckProofs && !copiesNothing(r.action)) {
    issue(
      ['recheckProofs'],
      'proofs are rechecked by an audit: set "action": "audit" (or "inspect") with it, or remove "recheckProofs"',
    );
  }
  if (copiesNothing(r.action) && r.verification !== 'checksum') {
    issue(
      ['verification'],
      `an ${r.action} proves bytes by their SHA-256 against the .CHECKSUMs; "${r.verification}" would prove nothing: remove "verification" (or set "checksum")`,
    );
  }
  if (r.inspect && r.action === 'plan') {
    issue(['inspect'], 'a plan reads no bytes: use "action": "inspect" to read the content, or remove "inspect"');
  }
  if (r.dates === 'all') {
    const relative = r.lastDays !== undefined ? 'lastDays' : r.lastMonths !== undefined ? 'lastMonths' : undefined;
    if (relative)
      issue(
        ['dates'],
        `"all" takes each series over the whole span the archive has; it does not go with the relative range ${relative}: remove one of them`,
      );
    if (r.startDate !== undefined || r.endDate !== undefined)
      issue(
        ['dates'],
        '"all" takes each series over the whole span the archive has; remove startDate/endDate, or remove "dates" to collect that range',
      );
  }
  const dateModes = [
    r.startDate !== undefined || r.endDate !== undefined,
    r.lastDays !== undefined,
    r.lastMonths !== undefined,
  ];
  if (dateModes.filter(Boolean).length > 1) {
    issue(['startDate'], 'give either startDate/endDate, lastDays or lastMonths, not several');
  }
  if ((r.startDate === undefined) !== (r.endDate === undefined)) {
    issue(
      [r.startDate === undefined ? 'startDate' : 'endDate'],
      'startDate and endDate go together: give both (inclusive, UTC)',
    );
  }
  if (r.granularity === 'daily' && r.lastMonths !== undefined && r.lastMonths > 120) {
    issue(['lastMonths'], 'at most 120 months');
  }
  if (r.startDate && r.endDate) {
    const start = periodStart(r.startDate);
    const end = periodStart(r.endDate);
    if (start && end) {
      if (start > end)
        issue(
          ['endDate'],
          `endDate ${r.endDate} is before startDate ${r.startDate}; the range is inclusive, start first`,
        );
      if (formatDay(start) < ARCHIVE_START)
        issue(['startDate'], `the archive starts in 2017; use a startDate on or after ${ARCHIVE_START}`);
      if (daysBetween(start, end) > MAX_SPAN_DAYS)
        issue(['endDate'], `the range spans more than ${MAX_SPAN_DAYS} days; split it into several collections`);
    }
  }
  // With patterns the archive's listing decides how many series there are: the ceiling is checked after discovery.
  if (!r.symbols.length || hasPatterns(r) || r.dates === 'all') return;
  const expected = expandSeries(r).length * periodsPerSeries(r);
  if (expected > r.maxFiles) {
    issue(
      ['symbols'],
      `this request expands to about ${expected.toLocaleString('en-US')} files, over maxFiles ${r.maxFiles.toLocaleString('en-US')}; split it by symbol or date range, or raise maxFiles`,
    );
  }
}

/** True when symbols, data types or intervals are patterns the archive's listing resolves. */
export function hasPatterns(r: Pick<CollectionRequest, 'symbols' | 'dataTypes' | 'intervals'>): boolean {
  return [...r.symbols, ...r.dataTypes, ...(r.intervals ?? [])].some(isPattern);
}

/** Upper bound of the files one series of the request holds (its whole range, every period published). */
export function periodsPerSeries(
  r: Pick<CollectionRequest, 'granularity' | 'startDate' | 'endDate' | 'lastDays' | 'lastMonths' | 'dates'>,
  asOf?: Date,
): number {
  const days =
    r.dates === 'all'
      ? Math.max(1, daysBetween(parseDay(ARCHIVE_START)!, asOf ?? new Date(Date.UTC(2030, 0, 1))))
      : spanDays(r);
  return r.granularity === 'daily' ? days : Math.ceil(days / 28);
}

/** Glob matching as the request means it: "*" any run of characters, "?" exactly one; the whole value must match. */
export function globMatches(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${[...pattern].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('')}$`,
    'u',
  );
  return re.test(value);
}

function periodStart(s: string): Date | undefined {
  return parseDay(s) ?? parseMonth(s);
}

function spanDays(r: { startDate?: string; endDate?: string; lastDays?: number; lastMonths?: number }): number {
  if (r.startDate && r.endDate) {
    const a = periodStart(r.startDate);
    const b = periodStart(r.endDate);
    return a && b ? Math.max(1, daysBetween(a, b) + 1) : 1;
  }
  if (r.lastMonths) return r.lastMonths * 31;
  return r.lastDays ?? DEFAULT_LAST_DAYS;
}

export const DEFAULT_LAST_DAYS = 7;

/** The request's date range, inclusive; small enough to travel in every payload (periods are enumerated where needed). */
export interface ResolvedRange {
  /** `YYYY-MM-DD` for daily, `YYYY-MM` for monthly. */
  first: string;
  last: string;
  /** The instant relative dates were resolved from. */
  asOf: string;
  /** dates "all": each series is taken from the first to the last period the archive has for it, within first..last. */
  all?: boolean;
}

/** Every period of the range, in order. */
export function periodsOf(range: Pick<ResolvedRange, 'first' | 'last'>, granularity: Granularity): string[] {
  return granularity === 'daily'
    ? enumerateDays(parseDay(range.first)!, parseDay(range.last)!)
    : enumerateMonths(parseMonth(range.first)!, parseMonth(range.last)!);
}

/**
 * Resolves the date range into periods. Relative ranges end with the last complete period before
 * `asOf` (yesterday; last month), so a scheduled run collects the period it was scheduled for.
 */
export function resolvePeriods(r: CollectionRequest, asOf: Date): ResolvedRange & { periods: string[] } {
  const today = startOfUtcDay(asOf);
  let start: Date;
  let end: Date;
  if (r.dates === 'all') {
    start = parseDay(ARCHIVE_START)!;
    end = r.granularity === 'daily' ? addDays(today, -1) : addDays(addMonths(today, 0), -1);
  } else if (r.startDate && r.endDate) {
    start = periodStart(r.startDate)!;
    end = periodStart(r.endDate)!;
    if (r.granularity === 'daily' && parseMonth(r.endDate)) end = addDays(addMonths(end, 1), -1);
  } else if (r.lastMonths) {
    const thisMonth = addMonths(today, 0);
    start = addMonths(thisMonth, -r.lastMonths);
    end = addDays(thisMonth, -1);
  } else {
    const n = r.lastDays ?? DEFAULT_LAST_DAYS;
    start = addDays(today, -n);
    end = addDays(today, -1);
  }
  const periods = r.granularity === 'daily' ? enumerateDays(start, end) : enumerateMonths(start, end);
  return {
    periods,
    first: periods[0],
    last: periods[periods.length - 1],
    asOf: asOf.toISOString(),
    ...(r.dates === 'all' ? { all: true } : {}),
  };
}

/** The range as it travels in payloads: without its period list. */
export function compactRange(range: ResolvedRange): ResolvedRange {
  return { first: range.first, last: range.last, asOf: range.asOf, ...(range.all ? { all: true } : {}) };
}

/** Every series (market × data type × symbol × interval) the request names; patterns are resolved by listing the archive instead. */
export function expandSeries(
  r: Pick<CollectionRequest, 'markets' | 'dataTypes' | 'symbols' | 'intervals' | 'granularity'>,
): Series[] {
  const out: Series[] = [];
  for (const market of r.markets as Market[]) {
    for (const dataType of r.dataTypes) {
      for (const symbol of r.symbols) {
        if (hasIntervalFolder(dataType)) {
          for (const interval of r.intervals ?? ['1d']) {
            out.push({ market, granularity: r.granularity as Granularity, dataType, symbol, interval });
          }
        } else {
          out.push({ market, granularity: r.granularity as Granularity, dataType, symbol });
        }
      }
    }
  }
  return out;
}

/** At most this many problems are listed (then how many more), each at most PROBLEM_CHARS long: errors stay small whatever the input. */
export const MAX_PROBLEMS = 20;
const PROBLEM_CHARS = 400;

/** A value from the input as a message may show it: quoted, and cut short. */
export function shown(value: unknown, max = 40): string {
  const text = typeof value === 'string' ? value : String(JSON.stringify(value) ?? value);
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}

/** One readable line per problem: `field: what is wrong (fix)`; at most MAX_PROBLEMS of them. */
export function describeIssues(
  error: z.ZodError,
  allowedKeys: (path: (string | number)[]) => string[] = requestFieldsAt,
): string[] {
  const lines = error.issues.slice(0, MAX_PROBLEMS).map((i) => {
    const field = i.path.length
      ? i.path
          .slice(0, 8)
          .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p).slice(0, 40)}`))
          .join('')
          .replace(/^\./, '')
      : '(request)';
    let line: string;
    if (i.code === 'unrecognized_keys') {
      const keys = i.keys.slice(0, 5).map((k) => shown(k));
      const more = i.keys.length > 5 ? ` and ${i.keys.length - 5} more` : '';
      const allowed = allowedKeys(i.path);
      line = `${field}: unknown field(s) ${keys.join(', ')}${more}${allowed.length ? `; allowed: ${allowed.join(', ')}` : ''}`;
    } else if (i.code === 'invalid_type' && i.path.length === 0) {
      line = `(request): must be a JSON object such as {} or {"symbols":["BTCUSDT"]}, got ${i.received}`;
    } else {
      line = `${field}: ${i.message}`;
    }
    return line.length > PROBLEM_CHARS ? `${line.slice(0, PROBLEM_CHARS)}…` : line;
  });
  if (error.issues.length > MAX_PROBLEMS) lines.push(`… and ${error.issues.length - MAX_PROBLEMS} more problems`);
  return lines;
}

function requestFieldsAt(path: (string | number)[]): string[] {
  if (path.length === 0) return Object.keys(RequestFields.shape);
  if (path[0] === 'destination') return ['bucket', 'prefix'];
  if (path[0] === 'retry' && path.length === 1) return ['default', ...ACTIVITY_KINDS];
  if (path[0] === 'retry') return ['initialIntervalMs', 'backoffCoefficient', 'maximumIntervalMs', 'maximumAttempts'];
  return [];
}

export type ParseResult = { ok: true; request: CollectionRequest } | { ok: false; problems: string[] };

export function parseCollectionRequest(input: unknown): ParseResult {
  const result = CollectionRequest.safeParse(input ?? {});
  return result.success ? { ok: true, request: result.data } : { ok: false, problems: describeIssues(result.error) };
}

/** A short human summary, e.g. `spot klines 1d BTCUSDT daily 2025-01-01..2025-01-07`. */
export function summarize(r: CollectionRequest, range: ResolvedRange): string {
  const intervals = r.dataTypes.some((dt) => isPattern(dt) || hasIntervalFolder(dt))
    ? ` ${(r.intervals ?? ['1d']).join(',')}`
    : '';
  const symbols =
    r.symbols.length > 3 ? `${r.symbols.slice(0, 3).join(',')}+${r.symbols.length - 3}` : r.symbols.join(',');
  const dates = range.all ? `all dates (to ${range.last})` : `${range.first}..${range.last}`;
  const action = r.action === 'collect' ? '' : `${r.action}: `;
  return `${action}${r.markets.join(',')} ${r.dataTypes.join(',')}${intervals} ${symbols} ${r.granularity} ${dates}`;
}
