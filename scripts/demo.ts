/**
 * `npm run demo`: the whole product on the embedded local stack. Starts Temporal (Web UI) and the S3 server (versitygw),
 * fills a local mirror of the Binance archive (with a few planted faults), runs a worker, runs a
 * collection of 100+ files, prints its report, and leaves the stack up for the Web UI.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Runtime } from '@temporalio/worker';
import { followCollection, startCollection } from '../client/collection';
import { formatBytes, formatCoverage, formatPlan, formatProgress, formatReport } from '../client/format';
import { formatQuarantine, runReview } from '../client/review';
import { connectClient } from '../client/connection';
import { adminClient, ensureStackBuckets } from '../stack/buckets';
import { minioEndpoint, stackConfig, stackUp, webUiUrl, workerEnvFor } from '../stack/local-stack';
import { fillMirror } from '../stack/mirror';
import { PROJECT_ROOT, loadConfig } from '../worker/config';
import { jsonLogger } from '../worker/logger';
import { createCollectorWorker } from '../worker/create-worker';
import type { CollectionRequestInput } from '../workflows/request';
import type { CollectionReport } from '../workflows/types';

const stack = stackConfig();
await stackUp(stack);
await ensureStackBuckets(stack);

const request = {
  markets: ['spot'],
  dataTypes: ['klines'],
  symbols: ['BTCUSDT', 'ETHUSDT'],
  intervals: ['1m', '1h'],
  granularity: 'daily',
  startDate: '2025-06-01',
  endDate: '2025-06-30',
  destination: { bucket: stack.destBucket, prefix: 'binance/' },
} satisfies CollectionRequestInput;
console.log('filling the local archive mirror (deterministic Binance-format zips with .CHECKSUM files)…');
const mirror = await fillMirror(adminClient(stack), stack.sourceBucket, {
  ...request,
  faults: { checksumMismatch: ['2025-06-10'], missingChecksum: ['2025-06-20'], missing: ['2025-06-30'] },
});
console.log(
  `mirror: ${mirror.length} zip files in s3://${stack.sourceBucket} (faults planted: a bad checksum on 06-10, no .CHECKSUM on 06-20, 06-30 not published)`,
);

const env = { ...process.env, ...workerEnvFor(stack) };
// The worker's logs (JSON lines, task tokens and all) go to a file; the terminal keeps progress and reports.
const logFile = path.join(PROJECT_ROOT, '.data', stack.name, 'worker.log');
mkdirSync(path.dirname(logFile), { recursive: true });
const log = createWriteStream(logFile, { flags: 'a' });
Runtime.install({ logger: jsonLogger((line) => log.write(line)) });
console.log(`worker logs: ${path.relative(process.cwd(), logFile)}`);
const config = loadConfig(env);
const worker = await createCollectorWorker(config);
const running = worker.run();

const client = await connectClient({
  target: config.temporal.target,
  TEMPORAL_TASK_QUEUE: config.temporal.taskQueue,
  TEMPORAL_UI_URL: webUiUrl(stack),
  OTEL_SERVICE_NAME: 'archive-collector-demo', // no OTLP endpoint here: only the worker traces, if set
});
const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15).toLowerCase();

async function run(label: string, input: CollectionRequestInput): Promise<CollectionReport> {
  console.log(`\n== ${label}`);
  // The workflow ID is derived from the request, as the client derives it.
  const { handle } = await startCollection(client, input, { taskQueue: config.temporal.taskQueue });
  console.log(`started ${handle.workflowId}`);
  let last = '';
  const report = await followCollection(
    handle,
    (p) => {
      const line = formatProgress(p);
      if (line !== last) console.log(`  ${line}`);
      last = line;
    },
    500,
  );
  console.log(
    `${formatReport(report)}\n  Web UI: ${webUiUrl(stack)}/namespaces/default/workflows/${encodeURIComponent(handle.workflowId)}`,
  );
  return report;
}

const prefix = `demo-${stamp}/`;
const destination = { bucket: stack.destBucket, prefix };
const first = await run('1. auto mode (direct sync with s5cmd where it can, traditional fallback where it cannot)', {
  ...request,
  destination,
});
const rerun = await run('2. the same collection again: every file already has SHA-256 proof, nothing is copied', {
  ...request,
  destination,
});
const traditional = await run('3. traditional mode: download (hashing), verify SHA-256, upload, clean up', {
  ...request,
  mode: 'traditional',
  destination: { ...destination, prefix: `${prefix}traditional/` },
});

// Binance re-uploads: 06-05 corrected (new zip, new .CHECKSUM), 06-06 changed under its old .CHECKSUM.
const s3 = adminClient(stack);
await fillMirror(s3, stack.sourceBucket, { ...request, startDate: '2025-06-05', endDate: '2025-06-05', revision: 1 });
await fillMirror(s3, stack.sourceBucket, {
  ...request,
  startDate: '2025-06-06',
  endDate: '2025-06-06',
  revision: 1,
  faults: { staleChecksum: ['2025-06-06'] },
});
const reupload = await run(
  '4. after Binance re-uploaded 06-05 (with a new .CHECKSUM) and 06-06 (under its old, now stale .CHECKSUM)',
  { ...request, destination },
);
console.log(
  `\n== 5. files put aside for review (npm run client -- quarantine list --bucket ${stack.destBucket} --prefix ${prefix})`,
);
console.log(
  formatQuarantine((await runReview(client, config.temporal.taskQueue, { action: 'list', destination })) as never),
);

const plan = await run(
  '6. plan (a dry run): every symbol the mirror lists ("*"), over all the dates it has ("all") — what a collection would copy and cost, and the coverage of the destination',
  {
    symbols: '*',
    intervals: ['1m', '1h'],
    dates: 'all',
    action: 'plan',
    destination,
  },
);
console.log(`\n${formatPlan(plan)}\n\n${formatCoverage(plan)}`);

console.log(
  `\nSummary: ${first.files.copied} files copied by ${first.decision.mode} in ${(first.phaseMs.copying / 1000).toFixed(1)}s; rerun copied ${rerun.files.copied} and skipped ${rerun.files.skipped}; traditional copied ${traditional.files.copied} in ${(traditional.phaseMs.copying / 1000).toFixed(1)}s (peak local disk ${formatBytes(traditional.peakLocalDiskBytes)}).`,
);
console.log(
  `Faults were caught: ${first.files.byOutcome.checksum_mismatch ?? 0} checksum mismatches quarantined, ${first.files.byOutcome.missing_checksum ?? 0} files without .CHECKSUM not copied, ${first.files.notPublished} not published.`,
);
console.log(
  `Re-uploads: ${reupload.files.byOutcome.replaced ?? 0} corrected files replaced once verified; ${reupload.files.byOutcome.stale_checksum ?? 0} changed under a stale .CHECKSUM kept their verified copy, the new bytes put aside.`,
);
console.log(
  `\nTemporal Web UI: ${webUiUrl(stack)}  ·  S3 (${stack.store}): ${minioEndpoint(stack)} (${stack.minioUser}/${stack.minioPassword})`,
  `\nLook at the buckets with any S3 tool, e.g. the s5cmd this project built:\n  AWS_ACCESS_KEY_ID=${stack.minioUser} AWS_SECRET_ACCESS_KEY=${stack.minioPassword} .tools/bin/s5cmd --endpoint-url ${minioEndpoint(stack)} ls 's3://${stack.destBucket}/*'`,
);
console.log(`Worker logs (JSON lines): ${path.relative(process.cwd(), logFile)}`);
console.log('The stack keeps running for you to look around; stop it with: npm run stack -- down');
worker.shutdown();
await running;
await client.connection.close();
