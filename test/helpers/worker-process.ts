/** Worker processes on the test stack, each on its own task queue unless told otherwise. */
import { spawnWorkerProcess, type WorkerProcess as StackWorkerProcess } from '../../stack/worker-process';
import { stack, uniqueName } from './stack';

export interface WorkerProcess extends StackWorkerProcess {
  taskQueue: string;
}

export async function spawnWorker(env: Record<string, string>): Promise<WorkerProcess> {
  const taskQueue = env.TEMPORAL_TASK_QUEUE ?? uniqueName('tq');
  const w = await spawnWorkerProcess(stack, {
    STAGING_DIR: `${process.cwd()}/.data/test-staging-proc`,
    DEST_ALLOWED: '*',
    ...env,
    TEMPORAL_TASK_QUEUE: taskQueue,
  });
  return { ...w, taskQueue };
}
