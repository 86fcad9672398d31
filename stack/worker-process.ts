/** The real worker as a separate process (`tsx worker/main.ts`) on a stack, the way production runs it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { PROJECT_ROOT } from '../worker/config';
import { workerEnvFor, type StackConfig } from './local-stack';

export interface WorkerProcess {
  child: ChildProcess;
  /** Every line it printed, stdout and stderr. */
  logs: string[];
  /** The exit code, or the signal that ended the process. */
  exited: Promise<number | string | null>;
}

/**
 * How a worker process is started (here, `npm run worker` and the Dockerfile alike; a unit test keeps them equal).
 * A small young generation and a bounded old one make V8 collect before its heap grows (the worker keeps little
 * that lives long), and optimizing for size lets the old one grow less between collections (at scale the heap in
 * use about doubled between them); two malloc arenas keep the Temporal core's threads from each growing their own.
 */
export const WORKER_NODE_ARGS = ['--max-semi-space-size=1', '--max-old-space-size=512', '--optimize-for-size'];
export const WORKER_PROCESS_ENV = { MALLOC_ARENA_MAX: '2' };

/**
 * Starts a worker process and resolves once it polls its task queues: the compiled worker
 * (`npm run build`, as production runs it) when it is built, else the sources through tsx.
 */
export async function spawnWorkerProcess(stack: StackConfig, env: Record<string, string>): Promise<WorkerProcess> {
  const compiled = path.join(PROJECT_ROOT, '.build/worker.mjs');
  const args = existsSync(compiled)
    ? [...WORKER_NODE_ARGS, compiled]
    : [...WORKER_NODE_ARGS, '--import', 'tsx', path.join(PROJECT_ROOT, 'worker/main.ts')];
  const child = spawn(process.execPath, args, {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...WORKER_PROCESS_ENV, ...workerEnvFor(stack), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  await new Promise<void>((resolve, reject) => {
    for (const stream of [child.stdout!, child.stderr!]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        logs.push(line);
        if (line.includes('worker polling')) resolve();
      });
    }
    void exited.then((code) => reject(new Error(`worker exited with ${code} before polling:\n${logs.join('\n')}`)));
    setTimeout(() => reject(new Error(`worker did not start in 60s:\n${logs.join('\n')}`)), 60_000);
  });
  return { child, logs, exited };
}
