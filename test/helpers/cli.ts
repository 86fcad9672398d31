import { execa } from 'execa';
import { temporalAddress, webUiUrl } from '../../stack/local-stack';
import { stack } from './stack';

/**
 * Runs the real command-line client (`tsx client/main.ts …`) against the test stack. Asynchronous
 * on purpose: the calling process also runs the worker, which a blocking spawn would starve.
 */
export async function runCli(
  taskQueue: string,
  ...args: string[]
): Promise<{ code: number | undefined; out: string; err: string }> {
  return runCliWithEnv({}, taskQueue, ...args);
}

/** runCli with more of the client's environment (tracing, …). */
export async function runCliWithEnv(
  extraEnv: Record<string, string>,
  taskQueue: string,
  ...args: string[]
): Promise<{ code: number | undefined; out: string; err: string }> {
  const r = await execa(process.execPath, ['--import', 'tsx', 'client/main.ts', ...args], {
    reject: false,
    env: {
      TEMPORAL_ADDRESS: temporalAddress(stack),
      TEMPORAL_TASK_QUEUE: taskQueue,
      TEMPORAL_UI_URL: webUiUrl(stack),
      NODE_NO_WARNINGS: '1',
      ...extraEnv,
    },
  });
  return { code: r.exitCode, out: r.stdout, err: r.stderr };
}
