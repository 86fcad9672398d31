/**
 * One worker process = two Temporal workers sharing one set of activities: one on the shared task
 * queue (workflows and activities), one on a queue only this process polls, for the traditional
 * steps that must run where the staged files are (the samples' worker-specific task queues).
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createS3Client } from '../activities/s3';
import { runningS5cmd } from '../activities/s5cmd-run';
import { StagingArea } from '../activities/staging';
import { connectChecked } from '../common/temporal-connection';
import { DEFAULT_PARALLEL_BATCHES } from '../workflows/request';
import type { WorkerConfig } from './config';
import { WORKFLOW_TRACING_MODULE, startTracing, type WorkerTracing } from './tracing';
import { workflowSource } from './workflow-source';

export interface CollectorWorker {
  workerTaskQueue: string;
  /** This process's staging folder (traditional path, s5cmd run files). */
  stagingRoot: string;
  run(): Promise<void>;
  shutdown(): void;
}

export async function createCollectorWorker(
  config: WorkerConfig,
  options: { connection?: NativeConnection; workerOptions?: Partial<WorkerOptions>; tracing?: WorkerTracing } = {},
): Promise<CollectorWorker> {
  const connection = options.connection;
  const conn =
    connection ??
    (await connectChecked(config.temporal.target, () =>
      NativeConnection.connect(config.temporal.target.connectionOptions),
    ));
  const workerTaskQueue = `${config.temporal.taskQueue}/${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const staging = new StagingArea(config.staging.dir, config.staging.maxBytes);
  // Sockets per store for the transfers, and for the .CHECKSUM reads of a request's default parallelBatches
  // (BOOKKEEPING_CONCURRENCY each; a heuristic: only batches holding a copy slot read, so at the defaults this is
  // room to spare): with fewer, on a distant store the reads queue for a socket and the batches wait for them after
  // their copies.
  const sockets = Math.max(config.transferConcurrency * 2, config.bookkeepingConcurrency * DEFAULT_PARALLEL_BATCHES);
  const activities = createActivities({
    config,
    source: createS3Client(config.source, sockets, config.s3RequestTimeoutMs),
    destination: createS3Client(config.destination, sockets, config.s3RequestTimeoutMs),
    staging,
    workerTaskQueue,
  });
  const tracing = options.tracing ?? startTracing({ serviceName: 'unused' });
  const common: Partial<WorkerOptions> = {
    connection: conn,
    ...tracing.workerOptions,
    namespace: config.temporal.namespace,
    activities,
    maxConcurrentActivityTaskExecutions: config.maxConcurrentActivities,
    shutdownGraceTime: config.shutdownGraceMs,
    // Cancellation reaches an activity with a heartbeat response: keep them frequent so a cancelled
    // collection stops s5cmd within about a second rather than 0.8 × heartbeatTimeout.
    maxHeartbeatThrottleInterval: '1s',
    defaultHeartbeatThrottleInterval: '1s',
    ...options.workerOptions,
  };
  const source = await workflowSource();
  // A prebuilt bundle has the workflow tracing interceptors in it (worker/bundle.ts); sources get them here.
  const workflowModules =
    'workflowsPath' in source
      ? { interceptors: { ...common.interceptors, workflowModules: [WORKFLOW_TRACING_MODULE] } }
      : {};
  const shared = await Worker.create({
    ...common,
    taskQueue: config.temporal.taskQueue,
    ...source,
    ...workflowModules,
  });
  const pinned = await Worker.create({ ...common, taskQueue: workerTaskQueue });
  return {
    workerTaskQueue,
    stagingRoot: staging.root,
    async run() {
      try {
        await Promise.all([shared.run(), pinned.run()]);
      } finally {
        for (const child of runningS5cmd) child.kill('SIGKILL');
        if (!connection) await conn.close();
      }
    },
    shutdown() {
      for (const w of [shared, pinned]) if (w.getState() === 'RUNNING') w.shutdown();
    },
  };
}
