/**
 * s5cmd `run` files: one shell-quoted command per line (parsed by go-shellquote), and the NDJSON
 * s5cmd prints back. Pure functions.
 */

// A line break ends a command in a run file and other control characters have no business in a
// key, so keys holding them are never written to a run file: they go to the traditional fallback.
// eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
const UNSAFE = /[\u0000-\u001f\u007f]/;

export function canQuoteSafely(value: string): boolean {
  return !UNSAFE.test(value) && value.length > 0 && !value.endsWith('/') && Buffer.byteLength(value) <= 1024;
}

/** s5cmd 2.3.0 sends the copy source of a key with a space as `+` (its issue #397): S3 answers NoSuchKey. */
export function canCopyServerSide(key: string): boolean {
  return canQuoteSafely(key) && !key.includes(' ');
}

/** POSIX single quoting, which go-shellquote reads back byte for byte: `it's` → `'it'\''s'`. */
export function shellQuote(value: string): string {
  if (UNSAFE.test(value))
    throw new Error(`refusing to quote a value with control characters: ${JSON.stringify(value)}`);
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * Per-command regions for requests that read the source, when the source bucket lives in another region than the
 * destination (the real archive is in ap-northeast-1): without them every such request of a run configured for the
 * destination's region answers 301 PermanentRedirect on AWS. Each request is signed for its bucket's region, as
 * the SDK's clients do; with a custom endpoint the source's region is the destination's unless SOURCE_REGION says.
 */
export function sourceRegionFlags(
  source: { region: string },
  destination: { region: string },
  to: 'local' | 's3',
): Pick<CopyRequest, 'sourceRegion' | 'destinationRegion'> {
  if (source.region === destination.region) return {};
  return to === 's3'
    ? { sourceRegion: source.region, destinationRegion: destination.region }
    : { sourceRegion: source.region };
}

export function s3Url(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

/** One `cp` of a run file: S3→S3, S3→local or local→S3. */
export interface CopyRequest {
  /** Position in the batch. */
  index: number;
  /** What the copy is for, e.g. `zip`, `sidecar`, `proof`: several commands may serve one position. */
  tag?: string;
  /** `s3://bucket/key` or a local path. */
  from: string;
  to: string;
  /**
   * Never overwrite. `stat`: s5cmd HEADs the destination and skips the copy when it exists (`cp -n`);
   * `conditional`: the copy carries `If-None-Match: *` and the store refuses it when the key exists (`cp --if-absent`,
   * the project's build; only where the store was seen to honour it). Both print the same "object already exists".
   */
  noClobber?: 'stat' | 'conditional';
  /** Ask the store for the object's SHA-256 and print it with its ETag and size (the project's s5cmd build). */
  checksum?: boolean;
  /** The source bucket's region when it differs from the run's (AWS answers 301 PermanentRedirect otherwise). */
  sourceRegion?: string;
  /** The destination bucket's region, for S3→S3 copies given a source region (else s5cmd sends the copy there). */
  destinationRegion?: string;
}

export interface CopyCommand {
  id: number;
  index: number;
  tag: string;
  from: string;
  to: string;
}

export interface CommandsFile {
  text: string;
  commands: CopyCommand[];
  /** Positions whose keys cannot be written to a run file safely or copied server-side. */
  rejected: number[];
}

const keyOf = (url: string) => (url.startsWith('s3://') ? url.slice(url.indexOf('/', 5) + 1) : url);

/** `cp --raw` keeps s5cmd from expanding `*` and `?` in keys as wildcards. */
export function buildCommandsFile(requests: CopyRequest[]): CommandsFile {
  const commands: CopyCommand[] = [];
  const rejected = new Set<number>();
  const lines: string[] = [];
  for (const r of requests) {
    if (!canCopyServerSide(keyOf(r.from)) || !canCopyServerSide(keyOf(r.to))) {
      rejected.add(r.index);
      continue;
    }
    commands.push({ id: commands.length, index: r.index, tag: r.tag ?? 'zip', from: r.from, to: r.to });
    const regions = [
      r.sourceRegion ? `--source-region ${shellQuote(r.sourceRegion)}` : '',
      r.destinationRegion ? `--destination-region ${shellQuote(r.destinationRegion)}` : '',
    ];
    const noClobber = r.noClobber ? { stat: '-n', conditional: '--if-absent' }[r.noClobber] : '';
    const flags = [noClobber, r.checksum ? '--checksum-algorithm SHA256' : '', ...regions, '--raw']
      .filter(Boolean)
      .join(' ');
    lines.push(`cp ${flags} ${shellQuote(r.from)} ${shellQuote(r.to)}`);
  }
  return { text: lines.length ? `${lines.join('\n')}\n` : '', commands, rejected: [...rejected] };
}

/** What s5cmd says about the object it wrote (the project's build, with --checksum-algorithm). */
export interface WrittenObject {
  etag?: string;
  size?: number;
  /** Base64 of the store's full-object SHA-256. */
  checksumSha256?: string;
}

export type LineResult =
  | { kind: 'ok'; source: string; destination: string; object: WrittenObject }
  /** `cp -n` found the destination occupied (printed at `--log debug`). */
  | { kind: 'exists'; command: string }
  | { kind: 'error'; command: string; error: string }
  | { kind: 'other'; text: string };

const EXISTS = 'object already exists';

/** One line of `s5cmd --json` output. */
export function parseS5cmdLine(line: string): LineResult | undefined {
  const trimmed = line.trim();
  if (!trimmed) return undefined;
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(trimmed);
  } catch {
    return { kind: 'other', text: trimmed };
  }
  if (obj.success === true && typeof obj.source === 'string' && typeof obj.destination === 'string') {
    const o = (obj.object ?? {}) as Record<string, unknown>;
    const object: WrittenObject = {
      ...(typeof o.etag === 'string' ? { etag: o.etag } : {}),
      ...(typeof o.size === 'number' ? { size: o.size } : {}),
      ...(typeof o.checksum_sha256 === 'string' ? { checksumSha256: o.checksum_sha256 } : {}),
    };
    return { kind: 'ok', source: obj.source, destination: obj.destination, object };
  }
  if (typeof obj.error === 'string') {
    // Errors name their command in "command"; debug lines (the -n skips) in "job".
    const command = typeof obj.command === 'string' ? obj.command : typeof obj.job === 'string' ? obj.job : '';
    if (obj.error === EXISTS) return { kind: 'exists', command };
    if (typeof obj.job === 'string' && typeof obj.command !== 'string') return { kind: 'other', text: trimmed };
    return { kind: 'error', command, error: obj.error };
  }
  return { kind: 'other', text: trimmed };
}

export type CommandResult =
  { status: 'ok'; object: WrittenObject } | { status: 'exists' } | { status: 'failed'; error: string };

export interface CopyOutcomes {
  /** Per command id. Commands with no line at all count as failed. */
  byCommand: Map<number, CommandResult>;
  /** Errors that name no command of the run (a whole-run problem). */
  general: string[];
}

/** s5cmd prints a local path as it was given and a URL without quotes or flags: `cp s3://src/k /tmp/x`. */
export function matchOutcomes(commands: CopyCommand[], results: LineResult[]): CopyOutcomes {
  const byPair = new Map(commands.map((c) => [`${c.from}\u0000${c.to}`, c.id]));
  const byEcho = new Map(commands.map((c) => [`cp ${c.from} ${c.to}`, c.id]));
  const byCommand = new Map<number, CommandResult>();
  const general: string[] = [];
  for (const r of results) {
    if (r.kind === 'ok') {
      const id = byPair.get(`${r.source}\u0000${r.destination}`);
      if (id !== undefined) byCommand.set(id, { status: 'ok', object: r.object });
    } else if (r.kind === 'exists') {
      const id = byEcho.get(r.command);
      if (id !== undefined && byCommand.get(id)?.status !== 'ok') byCommand.set(id, { status: 'exists' });
    } else if (r.kind === 'error') {
      const id = byEcho.get(r.command);
      if (id === undefined) general.push(r.error);
      else if (!byCommand.has(id)) byCommand.set(id, { status: 'failed', error: r.error });
    }
  }
  for (const c of commands) {
    if (!byCommand.has(c.id))
      byCommand.set(c.id, { status: 'failed', error: general[0] ?? 's5cmd reported nothing for this file' });
  }
  return { byCommand, general };
}

const RETRYABLE =
  /connection refused|connection reset|no such host|i\/o timeout|timeout|EOF|dial tcp|ServiceUnavailable|SlowDown|InternalError|RequestTimeout|503|500/i;
const DENIED = /AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|Forbidden|status code: 403/i;

export type BatchFailureKind = 'access_denied' | 'unreachable' | 'other';

export function classifyBatchFailure(errors: string[]): BatchFailureKind {
  if (errors.some((e) => DENIED.test(e))) return 'access_denied';
  if (errors.some((e) => RETRYABLE.test(e))) return 'unreachable';
  return 'other';
}
