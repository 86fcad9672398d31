import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { collectionEvents, firstShardHistory, recordHistory } from '../helpers/history';
import { startCollection } from '../../client/collection';
import { isAlive, signalS5cmdOnStart } from '../helpers/processes';
import {
  freshBuckets,
  mirror,
  scratchStagingDir,
  startWorker,
  testClient,
  uniqueName,
  type TestWorker,
} from '../helpers/stack';

describe('cancelling a collection', () => {
  let w: TestWorker;
  let buckets: { source: string; destination: string };
  // Many small files, one s5cmd worker: each batch takes seconds, long enough to cancel in the middle
  // even on a loaded machine.
  const request = {
    symbols: ['DOGEUSDT'],
    intervals: ['1d'],
    startDate: '2017-01-01',
    endDate: '2025-02-28',
    batchSize: 1000,
    parallelBatches: 1,
    verification: 'none' as const,
  };

  before(async () => {
    buckets = await freshBuckets('cancel');
    await mirror(buckets.source, request);
    w = await startWorker({ SOURCE_BUCKET: buckets.source, S5CMD_NUMWORKERS: '1' });
  });
  after(async () => w?.stop());

  it('kills s5cmd and records a cancellation, not a failure', async () => {
    const client = await testClient();
    const freezer = signalS5cmdOnStart('SIGSTOP');
    let handle;
    let err;
    try {
      ({ handle } = await startCollection(
        client,
        { ...request, destination: { bucket: buckets.destination, prefix: '' } },
        { taskQueue: w.config.temporal.taskQueue, workflowId: uniqueName('cancel') },
      ));
      // Frozen as it starts, so the batch cannot finish before the cancellation arrives: only the worker's
      // kill (SIGTERM, then SIGKILL, which also ends a stopped process) can end it now.
      await freezer.started(10_000);
      await handle.cancel();
      err = await handle.result().then(
        () => undefined,
        (e) => e,
      );
    } finally {
      freezer.stop();
    }
    const pids = freezer.signalled;
    assert.ok(err instanceof WorkflowFailedError);
    assert.ok(err.cause instanceof CancelledFailure, String(err.cause));
    for (let i = 0; i < 100 && pids.some(isAlive); i++) await sleep(100);
    assert.deepEqual(pids.filter(isAlive), [], 's5cmd was killed');
    recordHistory('cancelled', await handle.fetchHistory());
    recordHistory('cancelled-shard', await firstShardHistory(handle));
    const events = await collectionEvents(handle);
    const types = events.map((e) => e.eventType).join(',');
    assert.ok(
      events.some((e) => e.activityTaskCanceledEventAttributes),
      `the activity ended as cancelled: ${types}`,
    );
    assert.ok(!events.some((e) => e.activityTaskFailedEventAttributes), 'no activity failure recorded');
  });
});

describe('cancelling a traditional collection with several batches in flight', () => {
  it('every batch stops and cleans its staging before the run ends cancelled', async () => {
    const buckets = await freshBuckets('cancel-trad');
    const request = {
      symbols: ['TRADUSDT'],
      intervals: ['1m'],
      startDate: '2024-03-01',
      endDate: '2024-03-30',
      batchSize: 5,
      parallelBatches: 3,
      mode: 'traditional' as const,
    };
    await mirror(buckets.source, { ...request, targetBytes: 400_000, compressionLevel: 0 });
    const staging = scratchStagingDir('cancel-staging');
    const w = await startWorker({ SOURCE_BUCKET: buckets.source, STAGING_DIR: staging, TRANSFER_CONCURRENCY: '1' });
    try {
      const client = await testClient();
      const { handle } = await startCollection(
        client,
        { ...request, destination: { bucket: buckets.destination, prefix: '' } },
        { taskQueue: w.config.temporal.taskQueue },
      );
      // Wait until three batches have files staged at once, then cancel.
      const stagedBatches = () =>
        existsSync(w.worker.stagingRoot)
          ? readdirSync(w.worker.stagingRoot).filter(
              (d) => d !== 's5cmd' && readdirSync(path.join(w.worker.stagingRoot, d)).length > 0,
            ).length
          : 0;
      for (let i = 0; i < 600 && stagedBatches() < 3; i++) await sleep(20);
      assert.ok(stagedBatches() >= 2, 'several batches were staged when the cancel came');
      await handle.cancel();
      const err = await handle.result().then(
        () => undefined,
        (e) => e,
      );
      assert.ok(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure, String(err));
      const left = readdirSync(w.worker.stagingRoot, { recursive: true, withFileTypes: true }).filter((d) =>
        d.isFile(),
      );
      assert.deepEqual(
        left.map((d) => d.name),
        [],
        'no staged file is left behind',
      );
    } finally {
      await w.stop();
    }
  });
});
