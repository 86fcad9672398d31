/**
 * A namespace user's own workflow, run by the test's own worker on a task queue of its own: it schedules this
 * project's activities by name on the project's task queue with whatever arguments it was given, as anyone
 * who may start workflows can. The boundary tests use it to attack the activities directly.
 */
import { proxyActivities } from '@temporalio/workflow';

export async function scheduleTheirActivity(taskQueue: string, activity: string, args: unknown[]): Promise<unknown> {
  const acts = proxyActivities<Record<string, (...a: unknown[]) => Promise<unknown>>>({
    taskQueue,
    startToCloseTimeout: '2m',
    retry: { maximumAttempts: 1 },
  });
  return acts[activity](...args);
}
