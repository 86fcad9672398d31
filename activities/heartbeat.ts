import { setMaxListeners } from 'node:events';
import { Context } from '@temporalio/activity';
import { StalledError } from './errors';

/** Often enough that a cancellation (delivered with a heartbeat response) stops an activity within about a second. */
export const HEARTBEAT_INTERVAL_MS = 1_000;

export interface Beat {
  /** Aborted when the activity is cancelled or its work stalls: pass it to S3 calls, pools and child processes. */
  signal: AbortSignal;
  /** Before a step that reports nothing while it runs (a server-side copy): this much silence is not a stall. */
  allowQuiet(ms: number): void;
  stop(): void;
}

/**
 * Heartbeats every second with `progress()` as details, and watches it: when the progress has not
 * changed for `stallMs`, `signal` aborts with a StalledError (retryable), so a hung request or a
 * frozen child process gives the batch back instead of holding it until start-to-close.
 */
export function heartbeatWhileProgressing(
  progress: () => Record<string, unknown>,
  stallMs: number,
  ms = HEARTBEAT_INTERVAL_MS,
): Beat {
  const ctx = Context.current();
  const stall = new AbortController();
  let last = JSON.stringify(progress());
  let changedAt = Date.now();
  let quietUntil = 0;
  ctx.heartbeat(progress());
  const timer = setInterval(() => {
    const now = progress();
    const text = JSON.stringify(now);
    if (text !== last) {
      last = text;
      changedAt = Date.now();
    } else if (Date.now() - Math.max(changedAt, quietUntil) > stallMs && !stall.signal.aborted) {
      stall.abort(
        new StalledError(
          `no progress for ${Math.round((Date.now() - changedAt) / 1000)} s (${text}); giving the work back to be retried`,
        ),
      );
    }
    ctx.heartbeat(now);
  }, ms);
  const signal = AbortSignal.any([ctx.cancellationSignal, stall.signal]);
  // Every S3 request of the activity listens on it: hundreds at once are expected, not a leak.
  setMaxListeners(0, signal);
  return {
    signal,
    allowQuiet: (ms) => {
      quietUntil = Math.max(quietUntil, Date.now() + ms);
    },
    stop: () => clearInterval(timer),
  };
}
