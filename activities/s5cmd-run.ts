/**
 * Runs `s5cmd --json … run FILE` with execa, heartbeating its progress on a timer. When the activity
 * is cancelled s5cmd is killed (SIGTERM, then SIGKILL) and the cancellation, not a failure, is thrown.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Context } from '@temporalio/activity';
import { execa } from 'execa';
import type { WorkerConfig } from '../worker/config';
import { heartbeatEvery } from './heartbeat';
import { parseS5cmdLine, type LineResult } from './s5cmd-commands';

/** Every s5cmd this worker started, so a shutdown can kill them. */
export const runningS5cmd = new Set<{ kill: (signal?: NodeJS.Signals) => boolean }>();

export interface S5cmdRun {
  results: LineResult[];
  exitCode: number | undefined;
  signal: string | undefined;
  stderr: string;
}

function s5cmdEnv(config: WorkerConfig): { env: Record<string, string>; extendEnv: boolean } {
  const d = config.destination;
  const base: Record<string, string> = { AWS_REGION: d.region, HOME: process.env.HOME ?? os.tmpdir(), PATH: process.env.PATH ?? '' };
  if (d.credentials) {
    // Only the destination's credentials reach s5cmd; nothing else of the worker's environment does.
    return { env: { ...base, AWS_ACCESS_KEY_ID: d.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: d.credentials.secretAccessKey }, extendEnv: false };
  }
  return { env: base, extendEnv: true };
}

export async function runS5cmdFile(config: WorkerConfig, commandsText: string, onLine: (r: LineResult) => void): Promise<S5cmdRun> {
  const ctx = Context.current();
  const file = path.join(os.tmpdir(), `s5cmd-run-${randomUUID()}.txt`);
  await writeFile(file, commandsText, { mode: 0o600 });
  const args = ['--json', '--numworkers', String(config.s5cmd.numWorkers), '--retry-count', '3'];
  if (config.destination.endpoint) args.push('--endpoint-url', config.destination.endpoint);
  args.push('run', file);
  const { env, extendEnv } = s5cmdEnv(config);
  const results: LineResult[] = [];
  const child = execa(config.s5cmd.path, args, {
    env,
    extendEnv,
    reject: false,
    buffer: { stdout: false, stderr: true },
    cancelSignal: ctx.cancellationSignal,
    forceKillAfterDelay: 3_000,
    stdin: 'ignore',
    // The worker ends s5cmd itself (cancellation, shutdown). execa's own cleanup re-raises SIGTERM,
    // which would cut Temporal's graceful shutdown short.
    cleanup: false,
  });
  runningS5cmd.add(child);
  const stopHeartbeat = heartbeatEvery(() => ({ s5cmdLines: results.length }));
  try {
    const lines = readline.createInterface({ input: child.stdout! });
    const closed = once(lines, 'close');
    lines.on('line', (line) => {
      const r = parseS5cmdLine(line);
      if (r) {
        results.push(r);
        onLine(r);
      }
    });
    const done = await child;
    await closed;
    if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
    return { results, exitCode: done.exitCode, signal: done.signal, stderr: String(done.stderr ?? '') };
  } finally {
    stopHeartbeat();
    runningS5cmd.delete(child);
    await rm(file, { force: true });
  }
}
