import pLimit from 'p-limit';

class Skipped extends Error {}

/**
 * Maps items with at most `concurrency` at once. On the first failure (or when `signal` aborts) no
 * further item starts, and the call settles only once every started item has: an activity that
 * fails never leaves writers running behind the retry that follows it.
 */
export async function mapPool<T, R>(
  items: T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
  signal?: AbortSignal,
): Promise<R[]> {
  const limit = pLimit(Math.max(1, concurrency));
  let failure: { error: unknown } | undefined;
  const settled = await Promise.allSettled(
    items.map((item, i) =>
      limit(async () => {
        if (failure) throw new Skipped();
        if (signal?.aborted) {
          failure ??= { error: signal.reason };
          throw new Skipped();
        }
        try {
          return await fn(item, i);
        } catch (error) {
          failure ??= { error };
          throw error;
        }
      }),
    ),
  );
  if (failure) throw failure.error;
  return settled.map((s) => (s as PromiseFulfilledResult<R>).value);
}
