/** The real worker as a separate process (`tsx worker/main.ts`), the way production runs it. */
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { workerEnvFor } from '../../stack/local-stack';
import { stack, uniqueName } from './stack';

export interface WorkerProcess {
  child: ChildProcess;
  taskQueue: string;
  logs: string[];
  /** The exit code, or the signal that ended the process. */
  exited: Promise<number | string | null>;
}

export async function spawnWorker(env: Record<string, string>): Promise<WorkerProcess> {
  const taskQueue = env.TEMPORAL_TASK_QUEUE ?? uniqueName('tq');
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
    env: { ...process.env, ...workerEnvFor(stack), STAGING_DIR: `${process.cwd()}/.data/test-staging-proc`, ...env, TEMPORAL_TASK_QUEUE: taskQueue },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const ready = new Promise<void>((resolve, reject) => {
    for (const stream of [child.stdout!, child.stderr!]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        logs.push(line);
        if (line.includes('worker polling')) resolve();
      });
    }
    exited.then((code) => reject(new Error(`worker exited with ${code} before polling:\n${logs.join('\n')}`)));
    setTimeout(() => reject(new Error(`worker did not start in 60s:\n${logs.join('\n')}`)), 60_000);
  });
  await ready;
  return { child, taskQueue, logs, exited };
}
