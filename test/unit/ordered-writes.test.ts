import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OrderedWrites } from '../../activities/ordered-writes';

/** A write the test finishes by hand. */
function pending() {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
const settle = () => new Promise((r) => setImmediate(r));

describe('the listing’s plan writes (OrderedWrites)', () => {
  it('runs writes side by side but sends each checkpoint only once it and every earlier write are done, in order', async () => {
    const writes = new OrderedWrites(4);
    const w = [pending(), pending(), pending()];
    const checkpoints: number[] = [];
    const started: number[] = [];
    for (const i of [0, 1, 2])
      await writes.add(
        () => {
          started.push(i);
          return w[i].promise;
        },
        () => checkpoints.push(i),
      );
    writes.after(() => checkpoints.push(99));
    assert.deepEqual(started, [0, 1, 2], 'all three in flight at once');
    w[2].resolve();
    w[1].resolve();
    await settle();
    assert.deepEqual(checkpoints, [], 'no checkpoint while the first write is in flight');
    w[0].resolve();
    await writes.done();
    assert.deepEqual(checkpoints, [0, 1, 2, 99]);
  });

  it('holds a new write back while `max` are in flight', async () => {
    const writes = new OrderedWrites(2);
    const w = [pending(), pending(), pending()];
    const started: number[] = [];
    const add = (i: number) =>
      writes.add(
        () => {
          started.push(i);
          return w[i].promise;
        },
        () => {},
      );
    await add(0);
    await add(1);
    const third = add(2);
    await settle();
    assert.deepEqual(started, [0, 1]);
    w[0].resolve();
    await third;
    assert.deepEqual(started, [0, 1, 2]);
    w[1].resolve();
    w[2].resolve();
    await writes.done();
  });

  it('a failed write stops every later checkpoint and fails done', async () => {
    const writes = new OrderedWrites(4);
    const w = [pending(), pending()];
    const checkpoints: number[] = [];
    for (const i of [0, 1])
      await writes.add(
        () => w[i].promise,
        () => checkpoints.push(i),
      );
    w[1].resolve();
    w[0].reject(new Error('PUT refused'));
    await assert.rejects(writes.done(), /PUT refused/);
    assert.deepEqual(checkpoints, []);
  });

  it('after a failed write the next add throws it and starts nothing, and settle waits out the rest', async () => {
    const writes = new OrderedWrites(4);
    const w = [pending(), pending()];
    let started = 0;
    for (const i of [0, 1])
      await writes.add(
        () => (started++, w[i].promise),
        () => {},
      );
    w[0].reject(new Error('PUT refused'));
    await settle();
    assert.throws(() => writes.check(), /PUT refused/);
    await assert.rejects(
      writes.add(
        () => (started++, Promise.resolve()),
        () => {},
      ),
      /PUT refused/,
    );
    assert.equal(started, 2, 'no write starts after a failure');
    let settled = false;
    const waiting = writes.settle().then(() => (settled = true));
    await settle();
    assert.equal(settled, false, 'settle waits for the write still in flight');
    w[1].resolve();
    await waiting;
  });
});
