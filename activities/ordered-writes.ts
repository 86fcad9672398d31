/**
 * Writes that run side by side (at most `max` at once), each followed by an action (the listing's checkpoint) that
 * runs only once that write and every write added before it are done, in the order they were added: a checkpoint
 * never claims a write still in flight. A failed write fails the next `add` or `done`, and no later action runs.
 */
export class OrderedWrites {
  private chain: Promise<void> = Promise.resolve();
  private readonly running: Promise<unknown>[] = [];

  constructor(private readonly max: number) {}

  /** Starts `write` once fewer than `max` are in flight, and queues `then` behind it and every earlier write. */
  async add(write: () => Promise<unknown>, then: () => void): Promise<void> {
    while (this.running.length >= this.max) await this.running.shift();
    const started = write();
    started.catch(() => undefined); // awaited in turn, by a later add or by done
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

  /** Every write done and every action run; throws the first failure. */
  async done(): Promise<void> {
    await this.chain;
  }
}
