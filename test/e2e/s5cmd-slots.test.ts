/**
 * A worker runs at most S5CMD_PROCESSES s5cmd processes at once, whatever the batches in flight: the batches beyond
 * it wait (heartbeating), and a cancellation reaches them while they wait.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { collectionEvents } from '../helpers/history';
import { startCollection } from '../../client/collection';
import { isAlive, signalS5cmdOnStart, watchS5cmdStarts } from '../helpers/processes';
import {
  collect,
  freshBuckets,
  listKeys,
  mirror,
  sha256Of,
  startWorker,
  testClient,
  uniqueName,
  type TestWorker,
} from '../helpers/stack';

describe("a worker's s5cmd processes", () => {
  let buckets: { source: string; destination: string };
  const request = {
    symbols: ['SLOTUSDT'],
    intervals: ['1m'],
    startDate: '2024-05-01',
    endDate: '2024-05-24',
    batchSize: 4,
    parallelBatches: 4,
    mode: 'direct_sync' as const,
  };
  let written: Awaited<ReturnType<typeof mirror>>;
  let w: TestWorker;

  before(async () => {
    buckets = await freshBuckets('slots');
    written = await mirror(buckets.source, request);
    w = await startWorker({ SOURCE_BUCKET: buckets.source, S5CMD_PROCESSES: '2' });
  });
  after(async () => w?.stop());

  it('never run more than S5CMD_PROCESSES at once, with more batches than that in flight, and every file is verified', async () => {
    const watch = watchS5cmdStarts();
    let report;
    try {
      ({ report } = await collect(w, { ...request, destination: { bucket: buckets.destination, prefix: 'a/' } }));
    } finally {
      watch.stop();
    }
    assert.equal(report.files.copied, written.length, report.verdict);
    assert.equal(report.files.byProofMethod['store-sha256'], written.length, 'every copy proven by its SHA-256');
    // Six batches, four at once, two s5cmd runs each: the copies in the one copy slot, then the proofs and .CHECKSUMs
    // in the bookkeeping slot. Two at once: a batch's bookkeeping ran beside another's copies.
    assert.ok(watch.starts.total >= 6, `${watch.starts.total} s5cmd runs`);
    assert.equal(watch.starts.mostAtOnce, 2, 'two s5cmd at most, and the bookkeeping slot ran beside the copies');
    // Read back by an independent reader: every zip is there with the archive's bytes.
    const keys = new Set(await listKeys(buckets.destination, 'a/'));
    for (const f of written) {
      assert.ok(keys.has(`a/${f.key}`), f.key);
      assert.equal(await sha256Of(buckets.destination, `a/${f.key}`), f.sha256, f.key);
    }
  });

  it('a batch waiting for a slot stops at a cancel without starting s5cmd, and nothing is recorded as failed', async () => {
    const one = await startWorker({ SOURCE_BUCKET: buckets.source, S5CMD_PROCESSES: '1' });
    // The first s5cmd is frozen as it starts: the other batches can only wait for its slot.
    const freezer = signalS5cmdOnStart('SIGSTOP', 1);
    let err;
    let handle;
    try {
      ({ handle } = await startCollection(
        await testClient(),
        // A wait longer than the heartbeat timeout outlives its activity unless the wait heartbeats.
        { ...request, heartbeatTimeoutSeconds: 2, destination: { bucket: buckets.destination, prefix: 'b/' } },
        { taskQueue: one.config.temporal.taskQueue, workflowId: uniqueName('slots-cancel') },
      ));
      await freezer.started(20_000);
      // Longer than the heartbeat timeout, shorter than the frozen run's own stall watch (a few heartbeat timeouts).
      await sleep(3_000);
      assert.equal(freezer.starts.total, 1, 'no other s5cmd started while the slot was taken');
      await handle.cancel();
      err = await handle.result().then(
        () => undefined,
        (e) => e,
      );
      assert.equal(freezer.starts.total, 1, 'the waiting batches never started s5cmd');
    } finally {
      freezer.stop();
      await one.stop();
    }
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure, String(err));
    for (let i = 0; i < 100 && freezer.signalled.some(isAlive); i++) await sleep(100);
    assert.deepEqual(freezer.signalled.filter(isAlive), [], 'the frozen s5cmd was killed');
    const events = await collectionEvents(handle);
    assert.ok(!events.some((e) => e.activityTaskFailedEventAttributes), 'no activity failure recorded');
    assert.ok(
      !events.some((e) => e.activityTaskTimedOutEventAttributes),
      'the waiting batches heartbeat: none timed out',
    );
    // A heartbeat timeout that was retried shows only as a later attempt.
    assert.deepEqual(
      events
        .flatMap((e) => (e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt] : []))
        .filter((a) => a !== 1),
      [],
      'every activity ran once',
    );
    assert.ok(
      events.filter((e) => e.activityTaskCanceledEventAttributes).length >= 2,
      'the running batch and the waiting ones ended cancelled',
    );
  });
});
