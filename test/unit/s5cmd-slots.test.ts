import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import { inSlot, slotLimiters } from '../../activities/s5cmd-slots';

describe('s5cmd slots', () => {
  it('runs at most the limit at once, and every run gets its turn', async () => {
    const limit = pLimit(2);
    let now = 0;
    let most = 0;
    const ran: number[] = [];
    await Promise.all(
      Array.from({ length: 7 }, (_, i) =>
        inSlot(limit, new AbortController().signal, async () => {
          most = Math.max(most, ++now);
          await sleep(5);
          now--;
          ran.push(i);
        }),
      ),
    );
    assert.equal(most, 2);
    assert.deepEqual(
      ran.sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 5, 6],
    );
  });

  it(
    'a run cancelled while it waits rejects at once with the reason, never starts, and the next one takes its turn',
    { timeout: 5_000 },
    async () => {
      const limit = pLimit(1);
      let release!: () => void;
      const first = inSlot(limit, new AbortController().signal, () => new Promise<void>((r) => (release = r)));
      const cancel = new AbortController();
      let secondStarted = false;
      const second = inSlot(limit, cancel.signal, async () => {
        secondStarted = true;
      });
      let thirdStarted = false;
      const third = inSlot(limit, new AbortController().signal, async () => {
        thirdStarted = true;
      });
      await sleep(10);
      const reason = new Error('activity cancelled');
      cancel.abort(reason);
      await assert.rejects(second, (e) => e === reason);
      assert.equal(thirdStarted, false, 'still behind the first run');
      release();
      await first;
      await third;
      assert.equal(secondStarted, false);
      assert.equal(thirdStarted, true);
      await sleep(1);
      assert.equal(limit.activeCount + limit.pendingCount, 0, 'no slot is left taken');
    },
  );

  it('a run cancelled once started is left to stop itself (its s5cmd is killed by its own watch)', async () => {
    const limit = pLimit(1);
    const cancel = new AbortController();
    const run = inSlot(limit, cancel.signal, async () => {
      cancel.abort(new Error('cancelled'));
      await sleep(5);
      return 'finished';
    });
    assert.equal(await run, 'finished');
  });

  it(
    'with two or more processes one is kept for bookkeeping: it runs while every copy slot is taken',
    { timeout: 5_000 },
    async () => {
      const { copy, bookkeeping } = slotLimiters({ processes: 3 });
      assert.equal(copy.concurrency, 2);
      assert.equal(bookkeeping.concurrency, 1);
      const never = new AbortController().signal;
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const copies = [1, 2, 3].map(() => inSlot(copy, never, () => held));
      await sleep(1);
      assert.equal(copy.pendingCount, 1, 'the third copy waits');
      assert.equal(await inSlot(bookkeeping, never, async () => 'recorded'), 'recorded');
      release();
      await Promise.all(copies);
      assert.equal(slotLimiters({ processes: 3 }).copy === copy, false, 'each configuration has its own');
    },
  );

  it('with one process, copies and bookkeeping take turns in it', () => {
    const { copy, bookkeeping } = slotLimiters({ processes: 1 });
    assert.equal(copy, bookkeeping);
    assert.equal(copy.concurrency, 1);
  });

  it('an already cancelled run does not queue', async () => {
    const limit = pLimit(1);
    const cancel = new AbortController();
    cancel.abort(new Error('gone'));
    assert.throws(() => inSlot(limit, cancel.signal, async () => 1), /gone/);
    assert.equal(limit.pendingCount, 0);
  });
});
