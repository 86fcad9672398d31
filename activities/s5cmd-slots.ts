/**
 * At most `S5CMD_PROCESSES` s5cmd processes at once per worker, whatever the batches, shards and collections it
 * serves: each is a few tens of MB, so this (not the requests' parallelism) sets the worker's memory. With two or more, one is
 * kept for bookkeeping runs (a batch's proofs and `.CHECKSUM` copies), so that they never hold up the next batch's
 * copies and overlap them instead; with one, both kinds take turns in it. A run waiting for a slot heartbeats, keeps
 * its activity's own stall watch quiet, and stops waiting when the activity is cancelled.
 */
import { Context } from '@temporalio/activity';
import pLimit, { type LimitFunction } from 'p-limit';
import type { WorkerConfig } from '../worker/config';
import { HEARTBEAT_INTERVAL_MS, type Beat } from './heartbeat';

/** copy: copies, downloads and uploads (a batch's main run); bookkeeping: the small objects recorded after them. */
export type SlotKind = 'copy' | 'bookkeeping';

// One pair of limiters per worker configuration: a worker process has one; tests that run several workers keep theirs apart.
type Processes = Pick<WorkerConfig['s5cmd'], 'processes'>;
const limiters = new WeakMap<Processes, Record<SlotKind, LimitFunction>>();

export function slotLimiters(s5cmd: Processes): Record<SlotKind, LimitFunction> {
  let pair = limiters.get(s5cmd);
  if (!pair) {
    const copy = pLimit(Math.max(1, s5cmd.processes - 1));
    pair = { copy, bookkeeping: s5cmd.processes > 1 ? pLimit(1) : copy };
    limiters.set(s5cmd, pair);
  }
  return pair;
}

/**
 * Runs `fn` once fewer than `limit.concurrency` runs are in progress. If `signal` aborts while this one still waits,
 * it rejects with the signal's reason and `fn` never runs (its turn passes straight to the next).
 */
export function inSlot<T>(limit: LimitFunction, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const gaveUp = () => reject(signal.reason);
    signal.addEventListener('abort', gaveUp, { once: true });
    limit(async () => {
      if (signal.aborted) return;
      signal.removeEventListener('abort', gaveUp);
      await fn().then(resolve, reject);
    }).catch(reject);
  });
}

/** `fn` (which starts one s5cmd) in one of this worker's s5cmd slots, heartbeating while it waits for one. */
export async function withS5cmdSlot<T>(
  s5cmd: WorkerConfig['s5cmd'],
  kind: SlotKind,
  caller: Pick<Beat, 'allowQuiet'> | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  const ctx = Context.current();
  // At once, then every second: the step before may have been quiet for most of a short heartbeat timeout.
  const beat = () => {
    ctx.heartbeat({ waitingForS5cmdSlot: true });
    caller?.allowQuiet(2 * HEARTBEAT_INTERVAL_MS);
  };
  beat();
  const waiting = setInterval(beat, HEARTBEAT_INTERVAL_MS);
  try {
    return await inSlot(slotLimiters(s5cmd)[kind], ctx.cancellationSignal, () => {
      clearInterval(waiting);
      return fn();
    });
  } finally {
    clearInterval(waiting);
  }
}
