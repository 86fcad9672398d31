/**
 * s5cmd `run` files: one shell-quoted command per line (parsed by go-shellquote), and the NDJSON
 * s5cmd prints back. Pure functions.
 */

// A line break ends a command in a run file and other control characters have no business in a
// key, so keys holding them are never written to a run file: they go to the traditional fallback.
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
  if (UNSAFE.test(value)) throw new Error(`refusing to quote a value with control characters: ${JSON.stringify(value)}`);
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

export interface CopyCommand {
  /** Position in the batch. */
  index: number;
  sourceUrl: string;
  destinationUrl: string;
}

export interface CopyRequest {
  index: number;
  sourceBucket: string;
  sourceKey: string;
  destinationBucket: string;
  destinationKey: string;
  /** Never overwrite: s5cmd skips the copy when the destination exists (`cp -n`). */
  noClobber: boolean;
}

export function s3Url(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

export interface CommandsFile {
  text: string;
  commands: CopyCommand[];
  /** Positions whose keys cannot be written to a run file safely. */
  rejected: number[];
}

/** `cp --raw` keeps s5cmd from expanding `*` and `?` in keys as wildcards. */
export function buildCommandsFile(copies: CopyRequest[]): CommandsFile {
  const commands: CopyCommand[] = [];
  const rejected: number[] = [];
  const lines: string[] = [];
  for (const c of copies) {
    if (!canCopyServerSide(c.sourceKey) || !canCopyServerSide(c.destinationKey)) {
      if (!rejected.includes(c.index)) rejected.push(c.index);
      continue;
    }
    const cmd = { index: c.index, sourceUrl: s3Url(c.sourceBucket, c.sourceKey), destinationUrl: s3Url(c.destinationBucket, c.destinationKey) };
    commands.push(cmd);
    lines.push(`cp ${c.noClobber ? '-n ' : ''}--raw ${shellQuote(cmd.sourceUrl)} ${shellQuote(cmd.destinationUrl)}`);
  }
  return { text: lines.length ? `${lines.join('\n')}\n` : '', commands, rejected };
}

export type LineResult =
  | { kind: 'ok'; source: string; destination: string }
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
    return { kind: 'ok', source: obj.source, destination: obj.destination };
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

export interface CopyOutcomes {
  copied: Set<number>;
  /** `cp -n` skipped these: the destination was occupied when s5cmd looked. */
  appeared: Set<number>;
  failed: Map<number, string>;
  /** Errors that name no command of the batch (a whole-run problem). */
  general: string[];
}

/** Matches s5cmd's lines to the batch's commands. Commands with no line at all count as failed. */
export function matchOutcomes(commands: CopyCommand[], results: LineResult[]): CopyOutcomes {
  const bySource = new Map(commands.map((c) => [c.sourceUrl, c.index]));
  // s5cmd echoes a failed line unquoted and without flags: `cp s3://src/k s3://dst/k`.
  const byEcho = new Map(commands.map((c) => [`cp ${c.sourceUrl} ${c.destinationUrl}`, c.index]));
  const copied = new Set<number>();
  const appeared = new Set<number>();
  const failed = new Map<number, string>();
  const general: string[] = [];
  for (const r of results) {
    if (r.kind === 'ok') {
      const index = bySource.get(r.source);
      if (index !== undefined) copied.add(index);
    } else if (r.kind === 'exists') {
      const index = byEcho.get(r.command);
      if (index !== undefined) appeared.add(index);
    } else if (r.kind === 'error') {
      const index = byEcho.get(r.command);
      if (index !== undefined) failed.set(index, r.error);
      else general.push(r.error);
    }
  }
  for (const c of commands) {
    if (!copied.has(c.index) && !appeared.has(c.index) && !failed.has(c.index)) failed.set(c.index, general[0] ?? 's5cmd reported nothing for this file');
  }
  for (const i of [...copied, ...appeared]) failed.delete(i);
  return { copied, appeared, failed, general };
}

const RETRYABLE = /connection refused|connection reset|no such host|i\/o timeout|timeout|EOF|dial tcp|ServiceUnavailable|SlowDown|InternalError|RequestTimeout|503|500/i;
const DENIED = /AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|Forbidden|status code: 403/i;

export type BatchFailureKind = 'access_denied' | 'unreachable' | 'other';

export function classifyBatchFailure(errors: string[]): BatchFailureKind {
  if (errors.some((e) => DENIED.test(e))) return 'access_denied';
  if (errors.some((e) => RETRYABLE.test(e))) return 'unreachable';
  return 'other';
}
