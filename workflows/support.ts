/** What the collection workflow and its shards share: activity options, failure reading, the progress query. */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  TimeoutFailure,
  defineQuery,
  proxyActivities,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ActivityKind, CollectionRequest } from './request';
import { retryPolicyFor } from './retry';
import type { Progress } from './types';

export const progressQuery = defineQuery<Progress>('progress');

export function activitiesFor(
  kind: ActivityKind,
  request: CollectionRequest,
  options: Parameters<typeof proxyActivities>[0],
) {
  // A cancelled collection ends only once its activities have stopped (s5cmd killed, staging cleaned).
  return proxyActivities<Activities>({
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    ...options,
    retry: retryPolicyFor(kind, request.retry),
  });
}

export function describeFailure(err: unknown): string {
  let e = err as Error & { cause?: unknown };
  const parts: string[] = [];
  while (e) {
    if (e.message && !parts.includes(e.message)) parts.push(e.message);
    e = e.cause as Error & { cause?: unknown };
  }
  return parts.join(': ').slice(0, 1_000);
}

export function workerLost(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof TimeoutFailure;
}

/** The application failure's type behind an activity or child workflow failure. */
export function failureType(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure || err instanceof ChildWorkflowFailure ? err.cause : undefined;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

export function newProgress(): Progress {
  return {
    phase: 'validating',
    mode: null,
    batches: { total: 0, done: 0 },
    files: { planned: 0, copied: 0, skipped: 0, failed: 0, fallback: 0, notPublished: 0 },
    bytes: 0,
  };
}
