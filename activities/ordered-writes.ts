/**
 * Writes that run side by side (at most `max` at once), each followed by an action (the listing's checkpoint) that
 * runs only once that write and every write added before it are done, in the order they were added: a checkpoint
 * never claims a write still in flight. After a failed write, `add`, `check` and `done` throw it, no later write
 * starts and no later action runs.
 */
export class OrderedWrites {
  private chain: Promise<void> = Promise.resolve();
  private readonly running: Promise<unknown>[] = [];
  private failure: { error: unknown } | undefined;

  constructor(private readonly max: number) {}

  /** Starts `write` once fewer than `max` are in flight, and queues `then` behind it and every earlier write. */
  async add(write: () => Promise<unknown>, then: () => void): Promise<void> {
    this.check();
    while (this.running.length >= this.max) await this.running.shift();
    this.check();
    const started = write();
    started.catch((error: unknown) => (this.failure ??= { error }));
    this.running.push(started);
    this.after(() => started.then(then));
  }

  /** Queues `then` behind every write added so far. */
  after(then: () => unknown): void {
    this.chain = this.chain.then(async () => {
      await then();
    });
    this.chain.catch(() => undefined);
  }

  /** Throws the first write that failed, if one did. */
  check(): void {
    if (this.failure) throw this.failure.error;
  }

  /** Every write done and every action run; throws the first failure. */
  async done(): Promise<void> {
    await this.chain;
  }

  /** Waits out the writes still in flight, whatever they come to (before giving up: none outlives its caller). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.running);
  }
}
