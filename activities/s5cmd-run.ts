/**
 * Runs `s5cmd --json … run FILE` with execa, in one of the worker's S5CMD_PROCESSES slots, heartbeating
 * its progress. When the activity is cancelled, or s5cmd shows no progress for longer than the batch can
 * justify, s5cmd is killed (SIGTERM, then SIGKILL) and the cancellation or a retryable StalledError is thrown.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { execa } from 'execa';
import type { WorkerConfig } from '../worker/config';
import { heartbeatWhileProgressing, type Beat } from './heartbeat';
import { parseS5cmdLine, type LineResult } from './s5cmd-commands';
import { observeS5cmdRun } from './metrics';
import { withS5cmdSlot, type SlotKind } from './s5cmd-slots';
import { inSpan } from './tracing';

/** Every s5cmd this worker started, so a shutdown can kill them (and a test can find its own by PID). */
export const runningS5cmd = new Set<{ pid?: number; kill: (signal?: NodeJS.Signals) => boolean }>();

export interface S5cmdRun {
  results: LineResult[];
  exitCode: number | undefined;
  signal: string | undefined;
  stderr: string;
}

/** Which store a run talks to: the destination (copies, uploads), or the source (the traditional path's downloads). */
export type S5cmdSide = 'destination' | 'source';

/** Network settings s5cmd honours whatever its credentials: proxies and trusted roots (Go reads SSL_CERT_*). */
export const NETWORK_VARIABLES = [
  'HTTPS_PROXY',
  'HTTP_PROXY',
  'NO_PROXY',
  'https_proxy',
  'http_proxy',
  'no_proxy',
  'AWS_CA_BUNDLE',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
] as const;

/** What the AWS default credential chain reads: passed on only when a side uses it. */
export const DEFAULT_CHAIN_VARIABLES = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_ROLE_ARN',
  'AWS_ROLE_SESSION_NAME',
  'AWS_STS_REGIONAL_ENDPOINTS',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
  'AWS_EC2_METADATA_DISABLED',
  'AWS_EC2_METADATA_SERVICE_ENDPOINT',
  'AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE',
] as const;

/**
 * s5cmd's whole environment: the side's region, the network settings, and its keys or (default chain) the
 * chain's own variables. Nothing else of the worker's environment (the other side's keys, Temporal's API key, …).
 */
export function s5cmdEnv(
  config: WorkerConfig,
  side: S5cmdSide,
  from: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const e = config[side];
  const env: Record<string, string> = { AWS_REGION: e.region, HOME: from.HOME ?? os.tmpdir(), PATH: from.PATH ?? '' };
  for (const name of NETWORK_VARIABLES) if (from[name]) env[name] = from[name]!;
  if (e.anonymous) return env;
  if (e.credentials)
    return {
      ...env,
      AWS_ACCESS_KEY_ID: e.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: e.credentials.secretAccessKey,
    };
  for (const name of DEFAULT_CHAIN_VARIABLES) if (from[name]) env[name] = from[name]!;
  return env;
}

/**
 * Go's garbage-collector settings for one s5cmd run. Left alone, Go lets a bookkeeping run's heap (small copies and
 * uploads at twice the workers) grow to about twice what it holds between collections: ~50 MB of RSS for 500–2,000
 * commands at 128 workers. A soft limit of 32 MiB held it at ~40 MB, in the same time, locally and at 400 ms a
 * response; 24 MiB (~33 MB) was free locally but, at 400 ms, where every worker holds a request in flight, made Go
 * collect almost continuously (four times the CPU, 15 % more time). A copy run is left alone: its live heap (`cp -n`'s
 * HEADs) is larger, and 24 MiB cost it 20 % more CPU locally. GOMEMLIMIT or GOGC in the worker's environment decide
 * for every run instead.
 */
export function s5cmdGoRuntimeEnv(slot: SlotKind, chosen: WorkerConfig['s5cmd']['goRuntime']): Record<string, string> {
  if (chosen.GOMEMLIMIT || chosen.GOGC) return { ...chosen };
  return slot === 'bookkeeping' ? { GOMEMLIMIT: BOOKKEEPING_GOMEMLIMIT } : {};
}
export const BOOKKEEPING_GOMEMLIMIT = '32MiB';

// With util-linux's setpriv the kernel kills s5cmd when its worker dies (SIGKILL, OOM): no orphan
// keeps writing to the destination behind the retry that Temporal starts on another worker.
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => process.platform === 'linux' && existsSync(p));

function command(s5cmdPath: string, args: string[]): [string, string[]] {
  return SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', s5cmdPath, ...args]] : [s5cmdPath, args];
}

export interface RunOptions {
  /** Where the run file is written: a folder of this worker process, removed if the worker dies. */
  runDir: string;
  /** Commands in flight (S5CMD_NUMWORKERS unless given). */
  numWorkers?: number;
  /** How long s5cmd may print nothing before it counts as hung. */
  stallMs: number;
  side?: S5cmdSide;
  /** The calling activity's own stall watch, if it has one: waiting for an s5cmd slot is not a stall. */
  caller?: Pick<Beat, 'allowQuiet'>;
  /** Which of the worker's s5cmd slots it takes (copy unless given). */
  slot?: SlotKind;
  /** Called once the run has its slot, as s5cmd starts. */
  onSlot?: () => void;
}

export function runS5cmdFile(
  config: WorkerConfig,
  commandsText: string,
  onLine: (r: LineResult) => void,
  opts: RunOptions,
): Promise<S5cmdRun> {
  const commands = commandsText.split('\n').filter(Boolean).length;
  return inSpan(
    's5cmd run',
    {
      's5cmd.commands': commands,
      's5cmd.side': opts.side ?? 'destination',
      's5cmd.numworkers': opts.numWorkers ?? config.s5cmd.numWorkers,
      's5cmd.slot': opts.slot ?? 'copy',
    },
    async (span) => {
      const queued = performance.now();
      return withS5cmdSlot(config.s5cmd, opts.slot ?? 'copy', opts.caller, async () => {
        const started = performance.now();
        span.setAttribute('s5cmd.slot_wait_ms', Math.round(started - queued));
        opts.onSlot?.();
        let run: S5cmdRun | undefined;
        try {
          run = await runS5cmd(config, commandsText, onLine, opts);
          span.setAttributes({ 's5cmd.exit_code': run.exitCode ?? -1, 's5cmd.lines': run.results.length });
          return run;
        } finally {
          // Runs killed by a cancellation or a stall are timed too (exit="killed").
          observeS5cmdRun(opts.side ?? 'destination', performance.now() - started, run ? run.exitCode : 'killed');
        }
      });
    },
  );
}

async function runS5cmd(
  config: WorkerConfig,
  commandsText: string,
  onLine: (r: LineResult) => void,
  opts: RunOptions,
): Promise<S5cmdRun> {
  await mkdir(opts.runDir, { recursive: true });
  const file = path.join(opts.runDir, `s5cmd-run-${randomUUID()}.txt`);
  await writeFile(file, commandsText, { mode: 0o600 });
  // --log debug: the only level at which `cp -n` says which copies it skipped.
  const side = opts.side ?? 'destination';
  const workers = opts.numWorkers ?? config.s5cmd.numWorkers;
  const args = ['--json', '--log', 'debug', '--numworkers', String(workers), '--retry-count', '3'];
  if (config[side].endpoint) args.push('--endpoint-url', config[side].endpoint!);
  if (config[side].anonymous) args.push('--no-sign-request');
  args.push('run', file);
  const env = { ...s5cmdEnv(config, side), ...s5cmdGoRuntimeEnv(opts.slot ?? 'copy', config.s5cmd.goRuntime) };
  const results: LineResult[] = [];
  const beat = heartbeatWhileProgressing(() => ({ s5cmdLines: results.length }), opts.stallMs);
  const child = execa(...command(config.s5cmd.path, args), {
    env,
    extendEnv: false,
    reject: false,
    buffer: { stdout: false, stderr: false },
    cancelSignal: beat.signal,
    forceKillAfterDelay: 3_000,
    stdin: 'ignore',
    // The worker ends s5cmd itself (cancellation, stall, shutdown). execa's own cleanup re-raises
    // SIGTERM, which would cut Temporal's graceful shutdown short.
    cleanup: false,
  });
  runningS5cmd.add(child);
  const stderr: string[] = [];
  try {
    // s5cmd prints successes on stdout and errors on stderr, one JSON object a line.
    const streams = [child.stdout!, child.stderr!].map((input, i) => {
      const lines = readline.createInterface({ input });
      lines.on('line', (line) => {
        const r = parseS5cmdLine(line);
        if (!r) return;
        if (i === 1 && r.kind === 'other' && stderr.length < 50) stderr.push(r.text);
        results.push(r);
        onLine(r);
      });
      return once(lines, 'close');
    });
    const done = await child;
    await Promise.all(streams);
    if (beat.signal.aborted) throw beat.signal.reason;
    return { results, exitCode: done.exitCode, signal: done.signal, stderr: stderr.join('\n') };
  } finally {
    beat.stop();
    runningS5cmd.delete(child);
    await rm(file, { force: true });
  }
}
