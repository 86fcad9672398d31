/** Test helpers: the running test stack, isolated buckets per test, and in-process workers on their own task queues. */
import { createHash, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime, type WorkerOptions } from '@temporalio/worker';
import { startCollection } from '../../client/collection';
import { adminClient, ensureBucket } from '../../stack/buckets';
import { minioEndpoint, stackConfig, temporalAddress, workerEnvFor, type StackConfig } from '../../stack/local-stack';
import { fillMirror, type MirrorSpec } from '../../stack/mirror';
import { loadConfig, type WorkerConfig } from '../../worker/config';
import { createCollectorWorker, type CollectorWorker } from '../../worker/create-worker';
import type { CollectionRequestInput } from '../../workflows/request';
import type { ManifestEntry } from '../../workflows/types';

try {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
} catch {
  // already installed in this process
}

export const stack = stackConfig();
export const s3: S3Client = adminClient(stack);

let clientPromise: Promise<Client> | undefined;
export function testClient(): Promise<Client> {
  clientPromise ??= Connection.connect({ address: temporalAddress(stack) }).then(
    (connection) => new Client({ connection }),
  );
  return clientPromise;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`.toLowerCase();
}

/** A staging folder of its own under .data (the worker's real disk), removed when the test process ends. */
export function scratchStagingDir(label: string): string {
  const dir = path.join(process.cwd(), '.data', uniqueName(label));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A fresh public mirror bucket and a fresh destination bucket. */
export async function freshBuckets(label: string): Promise<{ source: string; destination: string }> {
  const source = uniqueName(`src-${label}`);
  const destination = uniqueName(`dst-${label}`);
  await ensureBucket(s3, source, true);
  await ensureBucket(s3, destination);
  return { source, destination };
}

export function mirror(bucket: string, spec: MirrorSpec) {
  return fillMirror(s3, bucket, spec);
}

export interface TestWorker {
  config: WorkerConfig;
  worker: CollectorWorker;
  stop(): Promise<void>;
}

export async function startWorker(
  env: Record<string, string>,
  extra?: Partial<WorkerOptions>,
  on: StackConfig = stack,
): Promise<TestWorker> {
  const config = loadConfig({
    ...workerEnvFor(on),
    TEMPORAL_TASK_QUEUE: uniqueName('tq'),
    STAGING_DIR: `${process.cwd()}/.data/test-staging`,
    // Tests write to buckets of their own: any bucket but the source (the boundary tests set their own list).
    DEST_ALLOWED: '*',
    ...env,
  });
  const worker = await createCollectorWorker(config, { workerOptions: extra });
  const running = worker.run();
  return {
    config,
    worker,
    async stop() {
      worker.shutdown();
      await running;
    },
  };
}

/** Starts a collection the way the client does (its derived workflow ID, unless one is given) and waits for the report. */
export async function collect(w: TestWorker, request: CollectionRequestInput, workflowId?: string, client?: Client) {
  client ??= await testClient();
  const { handle, joined } = await startCollection(client, request, {
    taskQueue: w.config.temporal.taskQueue,
    workflowId,
  });
  return { handle, joined, report: await handle.result() };
}

export async function readText(bucket: string, key: string): Promise<string> {
  return (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
}

export async function readManifest(bucket: string, key: string): Promise<ManifestEntry[]> {
  const text = await readText(bucket, key);
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

export async function sha256Of(bucket: string, key: string): Promise<string> {
  const body = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray();
  return createHash('sha256').update(body).digest('hex');
}

export async function exists(bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}

/** Each object under a prefix as `<key> <LastModified>`: shows whether a later run wrote it again. */
export async function listWrites(bucket: string, prefix: string): Promise<string[]> {
  const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (page.Contents ?? []).map((o) => `${o.Key} ${o.LastModified!.toISOString()}`);
}

export async function listKeys(bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

export { minioEndpoint };
