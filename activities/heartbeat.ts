import { Context } from '@temporalio/activity';

/** Often enough that a cancellation (delivered with a heartbeat response) stops an activity within about a second. */
export const HEARTBEAT_INTERVAL_MS = 1_000;

/** Heartbeats on a timer (progress details from `details`) until the returned stop function is called. */
export function heartbeatEvery(details: () => unknown, ms = HEARTBEAT_INTERVAL_MS): () => void {
  const ctx = Context.current();
  ctx.heartbeat(details());
  const timer = setInterval(() => ctx.heartbeat(details()), ms);
  return () => clearInterval(timer);
}

export async function mapPool<T, R>(items: T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}
