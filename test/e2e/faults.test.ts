/**
 * Faults on a private stack. After each: every file is in the destination with SHA-256 proof that
 * an independent reader confirms, or reported failed with its reason — nothing lost, nothing
 * corrupt left looking good. Processes are signalled only by the PIDs this test started.
 */
import assert from 'node:assert/strict';
import { unlessStoreHas } from '../helpers/store';
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { collectionEvents, pendingActivities } from '../helpers/history';
import { collectionProgress, startCollection } from '../../client/collection';
import { adminClient } from '../../stack/buckets';
import { restartService, servicePid, workerEnvFor, type StackConfig } from '../../stack/local-stack';
import { fillMirror, type MirrorFile } from '../../stack/mirror';
import type { CollectionReport } from '../../workflows/types';
import { assertTrustInvariant, hashDestination } from '../helpers/independent-check';
import { commandLine, isDead, s5cmdChildren, signalS5cmdOnStart } from '../helpers/processes';
import { waitFor } from '../helpers/wait';
import { scratchStagingDir, startWorker, uniqueName, type TestWorker } from '../helpers/stack';
import { privateStack } from '../helpers/private-stack';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';

const PATIENT_RETRY = {
  default: { initialIntervalMs: 500, backoffCoefficient: 2, maximumIntervalMs: 4_000, maximumAttempts: 30 },
};

async function assertAllVerified(
  s3: S3Client,
  bucket: string,
  sourceBucket: string,
  files: MirrorFile[],
  report: CollectionReport,
) {
  assert.equal(report.files.copied, files.length, JSON.stringify(report.files));
  assert.equal(report.ok, true, report.verdict);
  const hashes = await hashDestination(s3, bucket, '');
  for (const f of files) assert.equal(hashes.get(f.key), f.sha256, f.key);
  const trust = await assertTrustInvariant(s3, bucket, '', sourceBucket);
  assert.deepEqual([...trust.proven].sort(), files.map((f) => f.key).sort(), 'every file carries a proof that holds');
}

async function whenProgress(handle: WorkflowHandle, ok: (batchesDone: number) => boolean) {
  for (let i = 0; i < 600; i++) {
    const p = await collectionProgress(handle).catch(() => undefined);
    if (p && p.phase === 'copying' && ok(p.batches.done)) return;
    await sleep(50);
  }
  throw new Error('the collection made no progress');
}

/** result() that survives the Temporal server going away for a while. */
async function patientResult(client: Client, workflowId: string): Promise<CollectionReport> {
  for (let i = 0; ; i++) {
    try {
      return (await client.workflow.getHandle(workflowId).result()) as CollectionReport;
    } catch (err) {
      if (i > 120 || (err as Error).name === 'WorkflowFailedError') throw err;
      await sleep(500);
    }
  }
}

/** Failures of activity attempts in a run's history: [activity type, failure type, message]. */
async function attemptFailures(handle: WorkflowHandle): Promise<{ type: string; message: string }[]> {
  const events = await collectionEvents(handle);
  // Pending attempts that failed and were retried are not events; the last failure of a retried activity is kept on
  // the started event. Read both kinds.
  return events.flatMap((e) => {
    const f = e.activityTaskStartedEventAttributes?.lastFailure ?? e.activityTaskFailedEventAttributes?.failure;
    return f
      ? [
          {
            type: f.applicationFailureInfo?.type ?? (f.timeoutFailureInfo ? 'timeout' : 'other'),
            message: f.message ?? '',
          },
        ]
      : [];
  });
}

describe('faults', () => {
  let env: Awaited<ReturnType<typeof privateStack>>;
  let stack: StackConfig;
  let s3: S3Client;
  const request = {
    symbols: ['FAULTUSDT'],
    intervals: ['1m'],
    startDate: '2024-01-01',
    endDate: '2024-02-29',
    batchSize: 5,
    parallelBatches: 2,
    retry: PATIENT_RETRY,
  };
  let files: MirrorFile[];

  before(async () => {
    env = await privateStack('faults', 24233);
    stack = env.stack;
    s3 = adminClient(stack);
    files = await fillMirror(s3, stack.sourceBucket, { ...request, targetBytes: 200_000, compressionLevel: 0 });
  });
  after(async () => env?.stop());

  async function freshDestination(): Promise<string> {
    const bucket = uniqueName('dst');
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    return bucket;
  }

  it(
    'the S3 server stopped for 20 s mid-run: retries with backoff, the run completes',
    {
      skip: unlessStoreHas('persistent'),
    },
    async () => {
      const w: TestWorker = await startWorker({}, undefined, stack);
      try {
        const bucket = await freshDestination();
        const { handle } = await startCollection(
          env.client,
          { ...request, destination: { bucket, prefix: '' } },
          { taskQueue: w.config.temporal.taskQueue },
        );
        await whenProgress(handle, (done) => done >= 2);
        await restartService(stack, stack.store, 20_000);
        const report = await handle.result();
        await assertAllVerified(s3, bucket, stack.sourceBucket, files, report);
      } finally {
        await w.stop();
      }
    },
  );

  it('the S3 server frozen (SIGSTOP) mid-run: hung requests time out, the stalled batch is given back and retried; after SIGCONT the run completes', async () => {
    const minio = servicePid(stack, stack.store);
    assert.ok(minio, `the ${stack.store} this stack started is running`);
    const w: TestWorker = await startWorker({ S3_REQUEST_TIMEOUT_MS: '2000' }, undefined, stack);
    try {
      const bucket = await freshDestination();
      const { handle } = await startCollection(
        env.client,
        { ...request, heartbeatTimeoutSeconds: 2, destination: { bucket, prefix: '' } },
        { taskQueue: w.config.temporal.taskQueue },
      );
      await whenProgress(handle, (done) => done >= 2);
      process.kill(minio, 'SIGSTOP');
      // Thawed once an activity attempt has given its batch back (stalled or timed out), not after a fixed time.
      const failure = await waitFor(
        'a hung attempt to be given back',
        async () => {
          const pending = await pendingActivities(handle);
          return pending
            .map((p) => p.lastFailure?.message)
            .find((m) => m && /no progress for|timed out|timeout|socket hang up|ECONNRESET/i.test(m));
        },
        60_000,
      );
      process.kill(minio, 'SIGCONT');
      const report = await handle.result();
      await assertAllVerified(s3, bucket, stack.sourceBucket, files, report);
      assert.ok(failure, 'a hung attempt was given back while MinIO was frozen');
    } finally {
      process.kill(minio, 'SIGCONT');
      await w.stop();
    }
  });

  it('the Temporal dev server restarted mid-run (persisted database): the run completes', async () => {
    const w: TestWorker = await startWorker({}, undefined, stack);
    try {
      const bucket = await freshDestination();
      const { handle } = await startCollection(
        env.client,
        { ...request, destination: { bucket, prefix: '' } },
        { taskQueue: w.config.temporal.taskQueue },
      );
      await whenProgress(handle, (done) => done >= 2);
      await restartService(stack, 'temporal', 2_000);
      const report = await patientResult(env.client, handle.workflowId);
      await assertAllVerified(s3, bucket, stack.sourceBucket, files, report);
    } finally {
      await w.stop();
    }
  });

  it('s5cmd killed (SIGKILL) as its batch starts: the batch is retried, the run completes', async () => {
    const w: TestWorker = await startWorker({ S5CMD_NUMWORKERS: '1' }, undefined, stack);
    const killer = signalS5cmdOnStart('SIGKILL', 1);
    try {
      const bucket = await freshDestination();
      const { handle } = await startCollection(
        env.client,
        { ...request, batchSize: 60, parallelBatches: 1, destination: { bucket, prefix: '' } },
        { taskQueue: w.config.temporal.taskQueue },
      );
      await killer.started();
      const report = await handle.result();
      await assertAllVerified(s3, bucket, stack.sourceBucket, files, report);
      const events = await collectionEvents(handle);
      const retried = events.filter(
        (e) => e.activityTaskStartedEventAttributes && (e.activityTaskStartedEventAttributes.attempt ?? 1) > 1,
      );
      assert.ok(retried.length >= 1, 'a retried attempt is in the history');
    } finally {
      killer.stop();
      await w.stop();
    }
  });

  it('s5cmd frozen (SIGSTOP) mid-batch: no progress for longer than the batch justifies, so the worker kills it and the batch is retried', async () => {
    const w: TestWorker = await startWorker({ S5CMD_NUMWORKERS: '1' }, undefined, stack);
    const freezer = signalS5cmdOnStart('SIGSTOP', 1);
    try {
      const bucket = await freshDestination();
      const { handle } = await startCollection(
        env.client,
        {
          ...request,
          batchSize: 60,
          parallelBatches: 1,
          heartbeatTimeoutSeconds: 2,
          destination: { bucket, prefix: '' },
        },
        { taskQueue: w.config.temporal.taskQueue },
      );
      await freezer.started();
      const frozenAt = Date.now();
      const report = await handle.result();
      await assertAllVerified(s3, bucket, stack.sourceBucket, files, report);
      const stalls = (await attemptFailures(handle)).filter((f) => f.type === 'StalledError');
      assert.ok(stalls.length >= 1, 'the frozen run was given up as stalled');
      assert.match(stalls[0].message, /no progress for \d+ s/);
      // 3 heartbeat timeouts (6 s) plus the largest file's allowance: far from the 2 h start-to-close.
      assert.ok(
        Date.now() - frozenAt < 60_000,
        `the batch was back within a minute, not held until start-to-close (${Date.now() - frozenAt} ms)`,
      );
    } finally {
      freezer.stop();
      await w.stop();
    }
  });

  it("a worker killed with SIGKILL mid-batch while a second worker runs: the other finishes the job, and the dead worker's s5cmd dies with it", async () => {
    const taskQueue = uniqueName('tq');
    const workerEnv = {
      ...workerEnvFor(stack),
      DEST_ALLOWED: '*',
      TEMPORAL_TASK_QUEUE: taskQueue,
      S5CMD_NUMWORKERS: '1',
    };
    const a: WorkerProcess = await spawnWorker(workerEnv);
    const b: WorkerProcess = await spawnWorker(workerEnv);
    try {
      const bucket = await freshDestination();
      const { handle } = await startCollection(
        env.client,
        {
          ...request,
          batchSize: 30,
          parallelBatches: 2,
          heartbeatTimeoutSeconds: 3,
          destination: { bucket, prefix: '' },
        },
        { taskQueue },
      );
      const [victim, orphans] = await waitFor('a worker running s5cmd', () => {
        const w = [a, b].find((x) => s5cmdChildren(x.child.pid!).length > 0);
        return w ? ([w, s5cmdChildren(w.child.pid!)] as const) : undefined;
      });
      victim.child.kill('SIGKILL');
      const report = await handle.result();
      await assertAllVerified(s3, bucket, stack.sourceBucket, files, report);
      const survivor = victim === a ? b : a;
      assert.ok(
        survivor.logs.some((l) => l.includes('s5cmd batch done')),
        'the surviving worker processed batches',
      );
      for (const pid of orphans)
        assert.ok(isDead(pid), `s5cmd ${pid} of the killed worker did not outlive it: ${commandLine(pid).join(' ')}`);
    } finally {
      for (const w of [a, b]) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    }
  });

  it('a worker stopped with SIGTERM mid-batch: after its grace time s5cmd is killed and the batch is retried on the other worker', async () => {
    const taskQueue = uniqueName('tq');
    const workerEnv = {
      ...workerEnvFor(stack),
      DEST_ALLOWED: '*',
      TEMPORAL_TASK_QUEUE: taskQueue,
      S5CMD_NUMWORKERS: '1',
      SHUTDOWN_GRACE_MS: '1000',
    };
    const a: WorkerProcess = await spawnWorker(workerEnv);
    const b: WorkerProcess = await spawnWorker(workerEnv);
    try {
      const bucket = await freshDestination();
      const { handle } = await startCollection(
        env.client,
        {
          ...request,
          batchSize: 60,
          parallelBatches: 1,
          heartbeatTimeoutSeconds: 5,
          destination: { bucket, prefix: '' },
        },
        { taskQueue },
      );
      const victim = await waitFor('a worker running s5cmd', () =>
        [a, b].find((w) => s5cmdChildren(w.child.pid!).length > 0),
      );
      victim.child.kill('SIGTERM');
      const exit = await victim.exited;
      assert.equal(exit, 0, `the stopped worker exits cleanly:\n${victim.logs.slice(-15).join('\n')}`);
      const report = await handle.result();
      await assertAllVerified(s3, bucket, stack.sourceBucket, files, report);
    } finally {
      for (const w of [a, b]) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    }
  });

  it('staging smaller than a batch in traditional mode: the batch goes in rounds of what fits, every file copied, staging cleaned', async () => {
    const staging = scratchStagingDir('small-staging');
    const largest = Math.max(...files.map((f) => f.size));
    const maxBytes = Math.floor(largest * 2.5);
    const w: TestWorker = await startWorker(
      { STAGING_DIR: staging, STAGING_MAX_BYTES: String(maxBytes) },
      undefined,
      stack,
    );
    try {
      const bucket = await freshDestination();
      const subset = files.slice(0, 10);
      const { handle } = await startCollection(
        env.client,
        { ...request, endDate: '2024-01-10', mode: 'traditional', destination: { bucket, prefix: '' } },
        { taskQueue: w.config.temporal.taskQueue },
      );
      const report = await handle.result();
      await assertAllVerified(s3, bucket, stack.sourceBucket, subset, report);
      assert.ok(
        report.peakLocalDiskBytes <= maxBytes,
        `peak staging ${report.peakLocalDiskBytes} within STAGING_MAX_BYTES=${maxBytes}`,
      );
      const left = readdirSync(staging, { recursive: true, withFileTypes: true }).filter((d) => d.isFile());
      assert.deepEqual(
        left.map((d) => d.name),
        [],
      );
    } finally {
      await w.stop();
    }
  });

  it('a file larger than the whole staging space fails at once with a clear message, without retries, and nothing corrupt is written', async () => {
    const staging = scratchStagingDir('tiny-staging');
    const w: TestWorker = await startWorker({ STAGING_DIR: staging, STAGING_MAX_BYTES: '50000' }, undefined, stack);
    try {
      const bucket = await freshDestination();
      const { handle } = await startCollection(
        env.client,
        {
          ...request,
          endDate: '2024-01-10',
          mode: 'traditional',
          destination: { bucket, prefix: '' },
        },
        { taskQueue: w.config.temporal.taskQueue },
      );
      const report = await handle.result();
      assert.equal(report.ok, false);
      assert.equal(report.files.copied, 0);
      assert.equal(report.files.failed, 10);
      const manifest = (
        await (
          await s3.send(new GetObjectCommand({ Bucket: bucket, Key: report.manifest.key }))
        ).Body!.transformToString()
      )
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
      assert.ok(
        manifest.every(
          (e) =>
            e.outcome === 'failed' &&
            /do not fit in the whole staging space \(STAGING_MAX_BYTES=50000\).*direct sync/.test(e.error),
        ),
        manifest[0]?.error,
      );
      for (const f of files.slice(0, 10)) {
        await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: f.key })), 'nothing uploaded');
      }
      const retried = (await collectionEvents(handle)).filter(
        (e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1,
      );
      assert.equal(retried.length, 0, 'no step was retried: no retry can make the file fit');
      const left = readdirSync(staging, { recursive: true, withFileTypes: true }).filter((d) => d.isFile());
      assert.deepEqual(
        left.map((d) => d.name),
        [],
      );
    } finally {
      await w.stop();
    }
  });
});
