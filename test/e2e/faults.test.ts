/**
 * Faults on the real stack. After each: every file is in the destination and verified, or
 * reported failed with its reason — nothing lost, nothing corrupt left looking good.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { createHash } from 'node:crypto';
import { startCollection } from '../../client/collection';
import { adminClient } from '../../stack/buckets';
import { restartService, workerEnvFor, type StackConfig } from '../../stack/local-stack';
import { fillMirror, type MirrorFile } from '../../stack/mirror';
import { progressQuery } from '../../workflows';
import { checksumKey } from '../../workflows/keys';
import type { CollectionReport } from '../../workflows/types';
import { startWorker, uniqueName, type TestWorker } from '../helpers/stack';
import { privateStack } from '../helpers/private-stack';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';

const PATIENT_RETRY = { default: { initialIntervalMs: 500, backoffCoefficient: 2, maximumIntervalMs: 4_000, maximumAttempts: 30 } };

async function assertAllVerified(s3: S3Client, bucket: string, prefix: string, files: MirrorFile[], report: CollectionReport) {
  assert.equal(report.files.copied, files.length, JSON.stringify(report.files));
  assert.equal(report.ok, true);
  for (const f of files) {
    const body = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: prefix + f.key }))).Body!.transformToByteArray();
    assert.equal(createHash('sha256').update(body).digest('hex'), f.sha256, f.key);
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: prefix + checksumKey(f.key) }));
  }
}

async function whenProgress(handle: WorkflowHandle, ok: (batchesDone: number) => boolean) {
  for (let i = 0; i < 600; i++) {
    const p = await handle.query(progressQuery).catch(() => undefined);
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

describe('faults', () => {
  let env: Awaited<ReturnType<typeof privateStack>>;
  let stack: StackConfig;
  let s3: S3Client;
  const request = { symbols: ['FAULTUSDT'], intervals: ['1m'], startDate: '2024-01-01', endDate: '2024-02-29', batchSize: 5, parallelBatches: 2, retry: PATIENT_RETRY };
  let files: MirrorFile[];

  before(async () => {
    env = await privateStack('faults', 24233);
    stack = env.stack;
    s3 = adminClient(stack);
    files = await fillMirror(s3, stack.sourceBucket, { ...request, targetBytes: 200_000 });
  });
  after(async () => env?.stop());

  async function freshDestination(): Promise<string> {
    const bucket = uniqueName('dst');
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    return bucket;
  }

  it('MinIO stopped for 20 s mid-run: retries with backoff, the run completes', async () => {
    const w: TestWorker = await startWorker({}, undefined, stack);
    try {
      const bucket = await freshDestination();
      const { handle } = await startCollection(env.client, { ...request, destination: { bucket, prefix: '' } }, { taskQueue: w.config.temporal.taskQueue, workflowId: uniqueName('minio-down') });
      await whenProgress(handle, (done) => done >= 2);
      await restartService(stack, 'minio', 20_000);
      const report = await handle.result();
      await assertAllVerified(s3, bucket, '', files, report);
    } finally {
      await w.stop();
    }
  });

  it('the Temporal dev server restarted mid-run (persisted database): the run completes', async () => {
    const w: TestWorker = await startWorker({}, undefined, stack);
    try {
      const bucket = await freshDestination();
      const workflowId = uniqueName('temporal-restart');
      const { handle } = await startCollection(env.client, { ...request, destination: { bucket, prefix: '' } }, { taskQueue: w.config.temporal.taskQueue, workflowId });
      await whenProgress(handle, (done) => done >= 2);
      await restartService(stack, 'temporal', 2_000);
      const report = await patientResult(env.client, workflowId);
      await assertAllVerified(s3, bucket, '', files, report);
    } finally {
      await w.stop();
    }
  });

  it('s5cmd killed mid-run: the batch is retried, the run completes', async () => {
    const w: TestWorker = await startWorker({ S5CMD_NUMWORKERS: '1' }, undefined, stack);
    try {
      const bucket = await freshDestination();
      const { handle } = await startCollection(env.client, { ...request, batchSize: 60, parallelBatches: 1, destination: { bucket, prefix: '' } }, { taskQueue: w.config.temporal.taskQueue, workflowId: uniqueName('s5cmd-kill') });
      let killed = false;
      for (let i = 0; i < 400 && !killed; i++) {
        try {
          execFileSync('pkill', ['-KILL', '-f', 's5cmd-run-']);
          killed = true;
        } catch {
          await sleep(25);
        }
      }
      assert.ok(killed, 'caught s5cmd running');
      const report = await handle.result();
      await assertAllVerified(s3, bucket, '', files, report);
      const events = (await handle.fetchHistory()).events!;
      const started = events.filter((e) => e.activityTaskStartedEventAttributes && (e.activityTaskStartedEventAttributes.attempt ?? 1) > 1);
      assert.ok(started.length >= 1, 'a retried attempt is in the history');
    } finally {
      await w.stop();
    }
  });

  it('a worker killed with SIGKILL mid-batch while a second worker runs: the other finishes the job', async () => {
    const taskQueue = uniqueName('tq');
    const workerEnv = { ...workerEnvFor(stack), TEMPORAL_TASK_QUEUE: taskQueue, S5CMD_NUMWORKERS: '2' };
    const a: WorkerProcess = await spawnWorker(workerEnv);
    const b: WorkerProcess = await spawnWorker(workerEnv);
    try {
      const bucket = await freshDestination();
      const { handle } = await startCollection(env.client, { ...request, heartbeatTimeoutSeconds: 3, destination: { bucket, prefix: '' } }, { taskQueue, workflowId: uniqueName('sigkill') });
      await whenProgress(handle, (done) => done >= 1);
      a.child.kill('SIGKILL');
      const report = await handle.result();
      await assertAllVerified(s3, bucket, '', files, report);
      assert.ok(b.logs.some((l) => l.includes('s5cmd batch done')), 'the surviving worker processed batches');
    } finally {
      for (const w of [a, b]) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    }
  });

  it('a worker stopped with SIGTERM mid-batch: after its grace time s5cmd is killed and the batch is retried on the other worker', async () => {
    const taskQueue = uniqueName('tq');
    const workerEnv = { ...workerEnvFor(stack), TEMPORAL_TASK_QUEUE: taskQueue, S5CMD_NUMWORKERS: '1', SHUTDOWN_GRACE_MS: '1000' };
    const a: WorkerProcess = await spawnWorker(workerEnv);
    const b: WorkerProcess = await spawnWorker(workerEnv);
    try {
      const bucket = await freshDestination();
      const { handle } = await startCollection(env.client, { ...request, batchSize: 60, parallelBatches: 1, heartbeatTimeoutSeconds: 5, destination: { bucket, prefix: '' } }, { taskQueue, workflowId: uniqueName('sigterm') });
      // Wait until one worker runs s5cmd, and stop that one.
      let victim: WorkerProcess | undefined;
      for (let i = 0; i < 400 && !victim; i++) {
        victim = [a, b].find((w) => spawnSync('pgrep', ['-P', String(w.child.pid), 's5cmd']).status === 0);
        if (!victim) await sleep(25);
      }
      assert.ok(victim, 'a worker ran s5cmd');
      victim.child.kill('SIGTERM');
      const exit = await victim.exited;
      assert.equal(exit, 0, `the stopped worker exits cleanly:\n${victim.logs.slice(-15).join('\n')}`);
      const report = await handle.result();
      await assertAllVerified(s3, bucket, '', files, report);
    } finally {
      for (const w of [a, b]) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    }
  });

  it('staging folder full in traditional mode: a clear failure, nothing corrupt, staging cleaned', async () => {
    const staging = `${process.cwd()}/.data/${uniqueName('tiny-staging')}`;
    const w: TestWorker = await startWorker({ STAGING_DIR: staging, STAGING_MAX_BYTES: '300000' }, undefined, stack);
    try {
      const bucket = await freshDestination();
      const report = (await startCollection(env.client, {
        ...request, endDate: '2024-01-10', mode: 'traditional', retry: { default: { initialIntervalMs: 100, maximumAttempts: 2 } }, destination: { bucket, prefix: '' },
      }, { taskQueue: w.config.temporal.taskQueue, workflowId: uniqueName('staging-full') }).then((h) => h.result()));
      assert.equal(report.ok, false);
      assert.equal(report.files.copied, 0);
      assert.equal(report.files.failed, 10);
      const manifest = (await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: report.manifest.key }))).Body!.transformToString()).split('\n').filter(Boolean).map((l) => JSON.parse(l));
      assert.ok(manifest.every((e) => e.outcome === 'failed' && /staging folder .* is full.*STAGING_MAX_BYTES=300000/.test(e.error)), manifest[0]?.error);
      for (const f of files.slice(0, 10)) {
        await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: f.key })), 'nothing uploaded');
      }
      const left = readdirSync(staging, { recursive: true, withFileTypes: true }).filter((d) => d.isFile());
      assert.deepEqual(left.map((d) => d.name), []);
    } finally {
      await w.stop();
    }
  });
});
