/**
 * The shard workflow's batch logic with stubbed activities (the samples' workflows-mocks pattern): a real
 * Temporal dev server started by the SDK's TestWorkflowEnvironment, no MinIO, no s5cmd. Each branch of
 * direct sync, proof, fallback, traditional rounds, failures, audit, plan and continue-as-new.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { PROJECT_ROOT } from '../../worker/config';
import { startTracing } from '../../worker/tracing';
import { buildWorkflowBundle } from '../../worker/bundle';
import { emptyContent, emptyCoverage } from '../../workflows/coverage';
import { parseCollectionRequest, type CollectionRequestInput } from '../../workflows/request';
import type { ShardInput } from '../../workflows/shard';
import { emptyCounts } from '../../workflows/tally';
import type {
  BatchRef,
  ContentSummary,
  DirectSyncResult,
  DownloadResult,
  ListResult,
  ManifestCounts,
  Mode,
  Progress,
  ShardResult,
  StagedBatch,
  TraditionalResult,
  VerifyResult,
} from '../../workflows/types';

try {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
} catch {
  // installed already
}

type Call = { name: string; input: Record<string, unknown> };
type Behaviour = {
  directSyncBatch?: (ref: BatchRef) => Promise<DirectSyncResult> | DirectSyncResult;
  proveCopied?: (ref: BatchRef) => Promise<VerifyResult> | VerifyResult;
  downloadBatch?: (ref: StagedBatch, round: number) => Promise<DownloadResult> | DownloadResult;
  uploadStaged?: (ref: StagedBatch) => Promise<TraditionalResult> | TraditionalResult;
  inspectShard?: (input: { inspect: boolean }) => Promise<ContentSummary> | ContentSummary;
};

/** What a batch's recorded results come to: 9 copied (100 bytes each) and 1 failed unless the batch failed. */
const batchCounts = (input: { batch: number; batchFailure?: string }): ManifestCounts => ({
  ...emptyCounts(),
  total: 10,
  byOutcome: input.batchFailure ? { failed: 10 } : { copied: 9, checksum_mismatch: 1 },
  bytesCopied: input.batchFailure ? 0 : 900,
});
const listedCounts = (): ManifestCounts => ({
  ...emptyCounts(),
  total: 3,
  byOutcome: { skipped: 2, not_published: 1 },
});

const directOk = (ref: BatchRef, over: Partial<DirectSyncResult> = {}): DirectSyncResult => ({
  copied: [],
  appeared: [],
  fallback: [],
  bytes: 1000 + ref.batch,
  s3Requests: 1,
  s5cmdLines: 10,
  ...over,
});
const verifyOk = (over: Partial<VerifyResult> = {}): VerifyResult => ({
  fallback: [],
  bytesRead: 0,
  s3Requests: 1,
  ...over,
});
const downloaded = (over: Partial<DownloadResult> = {}): DownloadResult => ({
  downloaded: [],
  deferred: [],
  bytes: 100,
  peakStagingBytes: 100,
  s3Requests: 1,
  ...over,
});
const uploaded = (over: Partial<TraditionalResult> = {}): TraditionalResult => ({
  bytesUploaded: 100,
  s3Requests: 1,
  ...over,
});
const nonRetryable = (message: string) =>
  ApplicationFailure.create({ message, type: 'TestFailure', nonRetryable: true });

/** Shard 0's folder in collection c's folder: the only state a shard accepts. */
const SHARD_STATE = {
  collectionId: 'c',
  bucket: 'bkt',
  destinationPrefix: '',
  statePrefix: '_collections/c/shards/shard-000000/',
};

describe('collectShard with stubbed activities (TestWorkflowEnvironment)', () => {
  let env: TestWorkflowEnvironment;
  let workflowBundle: { codePath: string };
  let n = 0;

  before(async () => {
    env = await TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'existing-path', path: path.join(PROJECT_ROOT, '.tools/bin/temporal') } },
    });
    // npm test builds the bundle once for every test; alone (npm run test:unit) this file builds its own, once.
    const prebuilt = process.env.WORKFLOW_BUNDLE_PATH;
    workflowBundle = {
      codePath:
        prebuilt && existsSync(prebuilt)
          ? prebuilt
          : await buildWorkflowBundle(path.join(PROJECT_ROOT, '.build/unit-workflow-bundle.js')),
    };
  });
  after(async () => env?.teardown());

  async function runShard(
    requestInput: CollectionRequestInput,
    list: Partial<ListResult>,
    behaviour: Behaviour,
    mode: Mode = 'direct_sync',
  ): Promise<{ result: ShardResult; calls: Call[]; maxInFlight: number; progressAtReport: Progress }> {
    const parsed = parseCollectionRequest({
      symbols: ['BTCUSDT'],
      startDate: '2025-06-01',
      endDate: '2025-06-10',
      retry: { default: { maximumAttempts: 1 } },
      ...requestInput,
    });
    assert.ok(parsed.ok);
    const request = parsed.request;
    const taskQueue = `shard-test-${++n}`;
    const calls: Call[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const rounds = new Map<number, number>();
    const workflowId = `${taskQueue}-wf`;
    let progressAtReport: Progress | undefined;
    const record = (name: string, input: object) => calls.push({ name, input: input as Record<string, unknown> });
    const listResult: ListResult = {
      batchCount: 1,
      planned: 10,
      plannedBytes: 1000,
      alreadyPresent: 0,
      alreadyPresentBytes: 0,
      replacements: 0,
      verifyOnly: 0,
      notPublished: 0,
      missingChecksum: 0,
      listedObjects: 20,
      settledParts: 0,
      s3Requests: 2,
      ...list,
    };
    const activities = {
      async listShard(input: object) {
        record('listShard', input);
        return listResult;
      },
      async directSyncBatch(ref: BatchRef) {
        record('directSyncBatch', ref);
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        try {
          await sleep(30);
          return await (behaviour.directSyncBatch ?? directOk)(ref);
        } finally {
          inFlight--;
        }
      },
      async proveCopied(ref: BatchRef) {
        record('proveCopied', ref);
        return (behaviour.proveCopied ?? (() => verifyOk()))(ref);
      },
      async getWorkerTaskQueue() {
        record('getWorkerTaskQueue', {});
        return taskQueue;
      },
      async downloadBatch(ref: StagedBatch) {
        record('downloadBatch', ref);
        const round = (rounds.get(ref.batch) ?? 0) + 1;
        rounds.set(ref.batch, round);
        return (behaviour.downloadBatch ?? (() => downloaded()))(ref, round);
      },
      async verifyStaged(ref: StagedBatch) {
        record('verifyStaged', ref);
      },
      async uploadStaged(ref: StagedBatch) {
        record('uploadStaged', ref);
        return (behaviour.uploadStaged ?? (() => uploaded()))(ref);
      },
      async cleanupStaging(ref: StagedBatch) {
        record('cleanupStaging', ref);
      },
      async countListed(input: object) {
        record('countListed', input);
        return { ...listedCounts(), s3Requests: 1 };
      },
      async countBatch(input: { batch: number; batchFailure?: string }) {
        record('countBatch', input);
        return { ...batchCounts(input), s3Requests: 1 };
      },
      async inspectShard(input: { inspect: boolean }) {
        record('inspectShard', input);
        return { ...(await (behaviour.inspectShard ?? (() => emptyContent()))(input)), s3Requests: 1 };
      },
      async writeManifest(input: object) {
        record('writeManifest', input);
        progressAtReport = await env.client.workflow.getHandle(workflowId).query<Progress>('progress');
        return { ...emptyCounts(), key: 'manifest', coverage: emptyCoverage(), s3Requests: 1 };
      },
    };
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      activities,
      workflowBundle,
      ...startTracing({ serviceName: 'test' }).workerOptions,
    });
    const input: ShardInput = {
      request,
      range: { first: '2025-06-01', last: '2025-06-10', asOf: '2025-06-11T00:00:00.000Z' },
      shard: 0,
      state: SHARD_STATE,
      decision: { mode, reason: 'test', proofBy: 'store', transfersBy: 's5cmd' },
      summary: 'test',
    };
    const result = await worker.runUntil(
      env.client.workflow.execute('collectShard', { taskQueue, workflowId, args: [input] }),
    );
    return { result: result as ShardResult, calls, maxInFlight, progressAtReport: progressAtReport! };
  }
  const named = (calls: Call[], name: string) => calls.filter((c) => c.name === name).map((c) => c.input);

  it('direct sync: every batch once, at most parallelBatches at a time; store-proven copies need no proof step', async () => {
    const { result, calls, maxInFlight } = await runShard(
      { batchSize: 10, parallelBatches: 2 },
      { batchCount: 5, planned: 50 },
      {},
    );
    assert.deepEqual(
      named(calls, 'directSyncBatch')
        .map((r) => r.batch as number)
        .sort(),
      [0, 1, 2, 3, 4],
    );
    assert.equal(maxInFlight, 2);
    assert.equal(named(calls, 'proveCopied').length, 0);
    assert.equal(named(calls, 'downloadBatch').length, 0);
    assert.equal(named(calls, 'directSyncBatch')[0].storeChecksum, true);
    assert.deepEqual(result.tally.fallbackBatches, 0);
    assert.equal(result.batchFailures, 0);
    assert.equal(named(calls, 'writeManifest').length, 1);
  });

  it('progress counts each finished batch once, from its recorded results, as the manifest counts them', async () => {
    const { calls, progressAtReport } = await runShard(
      { batchSize: 10, parallelBatches: 2, mode: 'traditional' },
      { batchCount: 3, planned: 30, settledParts: 2 },
      {
        uploadStaged: (ref) => {
          if (ref.batch === 2) throw nonRetryable('destination refused the upload');
          return uploaded();
        },
      },
      'traditional',
    );
    assert.deepEqual(named(calls, 'countListed'), [{ state: SHARD_STATE, settledParts: 2 }]);
    const counted = named(calls, 'countBatch').sort((x, y) => Number(x.batch) - Number(y.batch));
    assert.deepEqual(
      counted.map((c) => [c.batch, c.action]),
      [
        [0, 'collect'],
        [1, 'collect'],
        [2, 'collect'],
      ],
    );
    assert.equal(counted[0].batchFailure, undefined);
    assert.match(String(counted[2].batchFailure), /traditional copy failed: .*destination refused the upload/);
    // Each batch is counted after its last step (its staging cleaned).
    const order = calls.map((c) => `${c.name}:${String(c.input.batch)}`);
    for (const b of [0, 1, 2])
      assert.ok(order.lastIndexOf(`cleanupStaging:${b}`) < order.indexOf(`countBatch:${b}`), `batch ${b} counted last`);
    // 2 batches × (9 copied, 1 mismatch), 1 failed batch × 10, and the listing's 2 skipped and 1 not published.
    assert.equal(progressAtReport.phase, 'reporting');
    assert.deepEqual(progressAtReport.files, {
      planned: 30,
      copied: 18,
      skipped: 2,
      failed: 12,
      fallback: 0,
      notPublished: 1,
    });
    assert.equal(progressAtReport.bytes, 1800);
    assert.equal(progressAtReport.batches.done, 3);
  });

  it('copies the store did not prove are proven; wrong ones and s5cmd failures take the traditional path together', async () => {
    const { result, calls } = await runShard(
      { batchSize: 10 },
      {},
      {
        directSyncBatch: (ref) => directOk(ref, { copied: [1, 2, 3], appeared: [3], fallback: [7] }),
        proveCopied: () => verifyOk({ fallback: [2] }),
      },
    );
    const [proof] = named(calls, 'proveCopied');
    assert.deepEqual(proof.only, [1, 2, 3]);
    assert.deepEqual(proof.appeared, [3]);
    const [download] = named(calls, 'downloadBatch');
    assert.deepEqual(download.only, [7, 2], 'the s5cmd failure and the wrong copy, in one traditional run');
    assert.equal(named(calls, 'uploadStaged').length, 1);
    assert.equal(result.tally.fallbackBatches, 1);
    assert.equal(result.tally.fallbackFiles, 2);
    assert.equal(result.batchFailures, 0);
  });

  it('a direct-sync batch that fails outright falls back whole to the traditional path', async () => {
    const { result, calls } = await runShard(
      { batchSize: 10 },
      { batchCount: 2, planned: 15 },
      {
        directSyncBatch: (ref) => {
          if (ref.batch === 1) throw nonRetryable('s5cmd could not copy anything');
          return directOk(ref);
        },
      },
    );
    const downloads = named(calls, 'downloadBatch');
    assert.deepEqual(
      downloads.map((d) => [d.batch, d.only]),
      [[1, undefined]],
      'all of batch 1',
    );
    assert.equal(result.tally.fallbackBatches, 1);
    assert.equal(result.tally.fallbackFiles, 5, 'the last batch holds 15 - 10 files');
    assert.equal(result.batchFailures, 0);
  });

  it('traditional mode: bytes already there are proven first, then the batch is copied, then what proved wrong is replaced', async () => {
    const { calls } = await runShard(
      { batchSize: 10, mode: 'traditional' },
      { verifyOnly: 2 },
      { proveCopied: () => verifyOk({ fallback: [4] }) },
      'traditional',
    );
    const [proof] = named(calls, 'proveCopied');
    assert.deepEqual(proof.actions, ['verify_only']);
    assert.deepEqual(
      named(calls, 'downloadBatch').map((d) => d.only),
      [undefined, [4]],
    );
    assert.equal(named(calls, 'directSyncBatch').length, 0);
    const steps = calls.map((c) => c.name).filter((n) => !['listShard', 'countListed', 'writeManifest'].includes(n));
    assert.deepEqual(steps.slice(0, 6), [
      'proveCopied',
      'getWorkerTaskQueue',
      'downloadBatch',
      'verifyStaged',
      'uploadStaged',
      'cleanupStaging',
    ]);
  });

  it('traditional rounds: what did not fit in staging is downloaded in the next round, after the space is freed', async () => {
    const { result, calls } = await runShard(
      { batchSize: 10, mode: 'traditional' },
      {},
      {
        downloadBatch: (_ref, round) =>
          round === 1 ? downloaded({ deferred: [5, 6], peakStagingBytes: 700 }) : downloaded({ peakStagingBytes: 300 }),
      },
      'traditional',
    );
    const steps = calls
      .map((c) => c.name)
      .filter(
        (n) =>
          !['listShard', 'countListed', 'countBatch', 'inspectShard', 'writeManifest', 'getWorkerTaskQueue'].includes(
            n,
          ),
      );
    assert.deepEqual(steps, [
      'downloadBatch',
      'verifyStaged',
      'uploadStaged',
      'cleanupStaging',
      'downloadBatch',
      'verifyStaged',
      'uploadStaged',
      'cleanupStaging',
    ]);
    assert.deepEqual(
      named(calls, 'downloadBatch').map((d) => d.only),
      [undefined, [5, 6]],
    );
    assert.equal(result.tally.peakLocalDiskBytes, 700);
    assert.equal(result.tally.bytesThroughWorker, 100 + 100 + 100 + 100, 'downloads and uploads of both rounds');
  });

  it('a failed traditional copy is recorded with its message, and its staging is still cleaned', async () => {
    const { result, calls } = await runShard(
      { batchSize: 10, mode: 'traditional' },
      {},
      {
        uploadStaged: () => {
          throw nonRetryable('destination refused the upload');
        },
      },
      'traditional',
    );
    assert.equal(result.batchFailures, 1);
    assert.match(result.firstBatchFailure!, /^traditional copy failed: .*destination refused the upload/);
    assert.equal(named(calls, 'cleanupStaging').length, 1);
  });

  it('a failed proof step is recorded and its files are counted with that failure; the batch goes on', async () => {
    const { result, calls } = await runShard(
      { batchSize: 10 },
      {},
      {
        directSyncBatch: (ref) => directOk(ref, { copied: [0, 1, 2] }),
        proveCopied: () => {
          throw nonRetryable('cannot read the copies');
        },
      },
    );
    assert.equal(result.batchFailures, 1);
    assert.match(result.firstBatchFailure!, /^proving the copies failed: .*cannot read the copies/);
    assert.equal(named(calls, 'downloadBatch').length, 0);
    const [counted] = named(calls, 'countBatch');
    assert.match(String(counted.batchFailure), /^proving the copies failed/);
  });

  it('an audit only proves what is there: no copy, no traditional path', async () => {
    const { calls } = await runShard({ batchSize: 10, action: 'audit' }, { batchCount: 2, planned: 20 }, {});
    const proofs = named(calls, 'proveCopied');
    assert.deepEqual(
      // Batches run in parallel: their order is not fixed.
      proofs.map((p) => [p.batch, p.audit, p.actions]).sort((x, y) => Number(x[0]) - Number(y[0])),
      [
        [0, true, ['verify_only']],
        [1, true, ['verify_only']],
      ],
    );
    assert.equal(named(calls, 'directSyncBatch').length + named(calls, 'downloadBatch').length, 0);
  });

  it('a plan lists and writes its manifest, and runs no batch', async () => {
    const { calls } = await runShard({ batchSize: 10, action: 'plan' }, { batchCount: 3, planned: 30 }, {});
    assert.deepEqual(
      calls.map((c) => c.name),
      ['listShard', 'countListed', 'inspectShard', 'writeManifest'],
      'a plan counts what its listing settled, looks up content facts already recorded, and writes its manifest',
    );
    assert.equal(named(calls, 'inspectShard')[0].inspect, false, 'a plan reads no bytes');
  });

  it('content: an inspect run proves in place like an audit and reads content; a collect reads it only when asked', async () => {
    const inspect = await runShard({ batchSize: 10, action: 'inspect' }, { batchCount: 2, planned: 20 }, {});
    assert.equal(named(inspect.calls, 'directSyncBatch').length + named(inspect.calls, 'downloadBatch').length, 0);
    assert.deepEqual(
      named(inspect.calls, 'proveCopied').map((p) => [p.audit, p.actions]),
      [
        [true, ['verify_only']],
        [true, ['verify_only']],
      ],
    );
    assert.deepEqual(
      named(inspect.calls, 'inspectShard').map((c) => c.inspect),
      [true],
    );
    // The content step runs after every batch and before the manifest, which reads what it wrote.
    const order = inspect.calls.map((c) => c.name);
    assert.ok(order.lastIndexOf('proveCopied') < order.indexOf('inspectShard'));
    assert.equal(order.indexOf('inspectShard') + 1, order.indexOf('writeManifest'));

    const asked = await runShard({ batchSize: 10, inspect: true }, { batchCount: 1, planned: 10 }, {});
    assert.deepEqual(
      named(asked.calls, 'inspectShard').map((c) => c.inspect),
      [true],
    );
    const plain = await runShard({ batchSize: 10 }, { batchCount: 1, planned: 10 }, {});
    assert.deepEqual(
      named(plain.calls, 'inspectShard').map((c) => c.inspect),
      [false],
    );
  });

  it('content: a failed inspection is reported beside the copies and changes none of their outcomes', async () => {
    const { result, calls } = await runShard(
      { batchSize: 10, inspect: true },
      { batchCount: 2, planned: 20 },
      {
        inspectShard: () => {
          throw nonRetryable('the store refused the facts record');
        },
      },
    );
    assert.equal(named(calls, 'directSyncBatch').length, 2);
    assert.equal(result.batchFailures, 0);
    assert.equal(named(calls, 'writeManifest').length, 1);
    assert.match(result.coverage.content?.failure ?? '', /content inspection failed: .*refused the facts record/);
  });

  it('continues as new every batchesPerRun batches, listing once and running every batch once, in order', async () => {
    const { result, calls } = await runShard(
      { batchSize: 10, batchesPerRun: 2, parallelBatches: 1 },
      { batchCount: 5, planned: 50 },
      {},
    );
    assert.equal(result.runs, 3);
    assert.equal(named(calls, 'listShard').length, 1);
    assert.deepEqual(
      named(calls, 'directSyncBatch').map((r) => r.batch),
      [0, 1, 2, 3, 4],
    );
  });
});
