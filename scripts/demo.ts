/**
 * `npm run demo`: the whole product on the embedded local stack. Starts Temporal (Web UI) and MinIO,
 * fills a local mirror of the Binance archive (with a few planted faults), runs a worker, runs a
 * collection of 100+ files, prints its report, and leaves the stack up for the Web UI.
 */
import { Runtime } from '@temporalio/worker';
import { followCollection, startCollection } from '../client/collection';
import { formatProgress, formatReport } from '../client/format';
import { connectClient } from '../client/connection';
import { adminClient, ensureStackBuckets } from '../stack/buckets';
import { stackConfig, stackUp, webUiUrl, workerEnvFor } from '../stack/local-stack';
import { fillMirror } from '../stack/mirror';
import { loadConfig } from '../worker/config';
import { createCollectorWorker } from '../worker/create-worker';
import type { CollectionRequestInput } from '../workflows/request';

const stack = stackConfig();
await stackUp(stack);
await ensureStackBuckets(stack);

const request: CollectionRequestInput = {
  markets: ['spot'],
  dataTypes: ['klines'],
  symbols: ['BTCUSDT', 'ETHUSDT'],
  intervals: ['1m', '1h'],
  granularity: 'daily',
  startDate: '2025-06-01',
  endDate: '2025-06-30',
  destination: { bucket: stack.destBucket, prefix: 'binance/' },
};
console.log('filling the local archive mirror (deterministic Binance-format zips with .CHECKSUM files)…');
const mirror = await fillMirror(adminClient(stack), stack.sourceBucket, {
  ...request,
  faults: { checksumMismatch: ['2025-06-10'], missingChecksum: ['2025-06-20'], missing: ['2025-06-30'] },
});
console.log(`mirror: ${mirror.length} zip files in s3://${stack.sourceBucket} (faults planted: a bad checksum on 06-10, no .CHECKSUM on 06-20, 06-30 not published)`);

const env = { ...process.env, ...workerEnvFor(stack) };
Object.assign(process.env, workerEnvFor(stack));
Runtime.install({ logger: undefined });
const config = loadConfig(env);
const worker = await createCollectorWorker(config);
const running = worker.run();

const client = await connectClient({ TEMPORAL_ADDRESS: config.temporal.address, TEMPORAL_NAMESPACE: 'default', TEMPORAL_TASK_QUEUE: config.temporal.taskQueue, TEMPORAL_UI_URL: webUiUrl(stack) });
const handle = await startCollection(client, request, { taskQueue: config.temporal.taskQueue, workflowId: `demo-${Date.now()}` });
console.log(`started ${handle.workflowId}`);
let last = '';
const report = await followCollection(handle, (p) => {
  const line = formatProgress(p);
  if (line !== last) console.log(`  ${line}`);
  last = line;
});
console.log(`\n${formatReport(report)}\n`);
console.log(`Inspect the run in the Temporal Web UI: ${webUiUrl(stack)}/namespaces/default/workflows/${handle.workflowId}`);
console.log(`MinIO console: http://${stack.host}:${stack.minioConsolePort} (user ${stack.minioUser}). Stop the stack with: npm run stack -- down`);
worker.shutdown();
await running;
await client.connection.close();
