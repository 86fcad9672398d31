/** Retry policies per activity kind, overridable by the request. Pure. */
import type { RetryPolicy } from '@temporalio/common';
import type { ActivityKind, RetryOverride } from './request';

const DEFAULTS: Record<ActivityKind, RetryOverride> = {
  probe: { initialIntervalMs: 1_000, backoffCoefficient: 2, maximumIntervalMs: 30_000, maximumAttempts: 5 },
  list: { initialIntervalMs: 2_000, backoffCoefficient: 2, maximumIntervalMs: 60_000, maximumAttempts: 8 },
  // After these, the batch falls back to the traditional path.
  directSync: { initialIntervalMs: 2_000, backoffCoefficient: 2, maximumIntervalMs: 60_000, maximumAttempts: 4 },
  verify: { initialIntervalMs: 1_000, backoffCoefficient: 2, maximumIntervalMs: 60_000, maximumAttempts: 8 },
  download: { initialIntervalMs: 1_000, backoffCoefficient: 2, maximumIntervalMs: 60_000, maximumAttempts: 8 },
  upload: { initialIntervalMs: 1_000, backoffCoefficient: 2, maximumIntervalMs: 60_000, maximumAttempts: 8 },
  report: { initialIntervalMs: 1_000, backoffCoefficient: 2, maximumIntervalMs: 30_000, maximumAttempts: 10 },
};

export function retryPolicyFor(
  kind: ActivityKind,
  overrides: Partial<Record<ActivityKind | 'default', RetryOverride>>,
): RetryPolicy {
  const r = { ...DEFAULTS[kind], ...overrides.default, ...overrides[kind] };
  return {
    initialInterval: r.initialIntervalMs,
    backoffCoefficient: r.backoffCoefficient,
    maximumInterval: Math.max(r.maximumIntervalMs ?? 0, r.initialIntervalMs ?? 0),
    maximumAttempts: r.maximumAttempts,
  };
}
