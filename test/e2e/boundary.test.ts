/**
 * The Temporal namespace as a trust boundary, attacked from outside on the real stack. A worker runs with
 * DEST_ALLOWED set; the test then does what any namespace user can: starts each registered workflow type
 * directly with edited internal inputs and forged continue-as-new state, and, from a workflow of its own
 * worker, schedules this project's activities on the project's task queue with hostile arguments. Then an
 * independent reader lists every bucket the credentials reach and hashes every proven object: nothing
 * was written outside the allow-list, no proof stands for bytes that do not match, each refusal is clear.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, HeadObjectCommand, ListBucketsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { ensureBucket } from '../../stack/buckets';
import { temporalAddress } from '../../stack/local-stack';
import { proofFileName, proofNameOf, type ProofRecord } from '../../activities/proof';
import { emptyTotals } from '../../workflows/collect';
import type { ShardInput } from '../../workflows/shard';
import type { CollectionReport, ManifestEntry } from '../../workflows/types';
import { assertTrustInvariant, listAll } from '../helpers/independent-check';
import {
  collect,
  freshBuckets,
  mirror,
  readManifest,
  s3,
  stack,
  startWorker,
  testClient,
  uniqueName,
  type TestWorker,
} from '../helpers/stack';

const here = path.dirname(fileURLToPath(import.meta.url));
const RANGE = { startDate: '2025-03-01', endDate: '2025-03-12' };
const FAULTS = { checksumMismatch: ['2025-03-02', '2025-03-05'], missingChecksum: ['2025-03-03', '2025-03-08'] };

/** Types and messages along a failure's cause chain (workflow → activity or child → application failure). */
function chain(err: unknown): { types: string[]; text: string } {
  const types: string[] = [];
  const messages: string[] = [];
  for (let e = err as { type?: string; message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.type) types.push(e.type);
    if (e.message) messages.push(e.message);
  }
  return { types, text: messages.join(' | ') };
}

async function failureOf(run: Promise<unknown>): Promise<{ types: string[]; text: string }> {
  const err = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError, `the run must fail, it ended with ${String(err)}`);
  const c = chain(err);
  assert.ok(c.text.length < 8_000, `a small error, not ${c.text.length} characters`);
  return c;
}

describe('the namespace is a trust boundary: no input buys a proof or a write outside the allow-list', () => {
  let w: TestWorker;
  let hostile: Worker;
  let hostileRun: Promise<void>;
  let hostileQueue: string;
  let connection: NativeConnection;
  let buckets: { source: string; destination: string };
  let other: string;
  let legit: CollectionReport;
  let shardInput: ShardInput;
  let sourceBefore: Map<string, string>;
  const marker = `outside-${randomUUID().slice(0, 8)}`;

  before(async () => {
    buckets = await freshBuckets('edge');
    other = uniqueName('dst-other');
    await ensureBucket(s3, other);
    await mirror(buckets.source, { symbols: ['EDGEUSDT'], intervals: ['1d'], ...RANGE, faults: FAULTS });
    sourceBefore = new Map((await listAll(s3, buckets.source, '')).map((o) => [o.key, o.etag]));
    w = await startWorker({ SOURCE_BUCKET: buckets.source, DEST_ALLOWED: `${buckets.destination}/allowed/` });

    // A namespace user's own worker, with a workflow that schedules our activities on our task queue.
    hostileQueue = uniqueName('tq-hostile');
    connection = await NativeConnection.connect({ address: temporalAddress(stack) });
    hostile = await Worker.create({
      connection,
      taskQueue: hostileQueue,
      workflowsPath: path.join(here, '../helpers/hostile-workflows.ts'),
    });
    hostileRun = hostile.run();

    // A real collection inside the allow-list: its shard's input is what an attacker edits.
    const run = await collect(w, {
      symbols: ['EDGEUSDT'],
      intervals: ['1d'],
      ...RANGE,
      destination: { bucket: buckets.destination, prefix: 'allowed/' },
    });
    legit = run.report;
    const [shardId] = (await run.handle.fetchHistory()).events!.flatMap((e) =>
      e.childWorkflowExecutionCompletedEventAttributes
        ? [e.childWorkflowExecutionCompletedEventAttributes.workflowExecution!.workflowId!]
        : [],
    );
    const client = await testClient();
    const started = (await client.workflow.getHandle(shardId).fetchHistory()).events![0]
      .workflowExecutionStartedEventAttributes!;
    shardInput = defaultPayloadConverter.fromPayload(started.input!.payloads![0] as never) as ShardInput;
  });

  after(async () => {
    hostile?.shutdown();
    await hostileRun;
    await connection?.close();
    await w?.stop();
  });

  const startShard = async (args: unknown[]) => {
    const client = await testClient();
    return failureOf(
      client.workflow.execute('collectShard', {
        taskQueue: w.config.temporal.taskQueue,
        workflowId: uniqueName('attack-shard'),
        args,
      }),
    );
  };
  const outsideState = (prefix: string, bucket = shardInput.state.bucket) => ({
    ...shardInput.state,
    bucket,
    destinationPrefix: prefix,
    statePrefix: `${prefix}_collections/${shardInput.state.collectionId}/shards/shard-000000/`,
  });

  it('the legitimate collection ran inside the allow-list, and proved only what matches', () => {
    assert.equal(legit.files.total, 12);
    assert.equal(legit.files.copied, 8);
    assert.equal(legit.files.byOutcome.checksum_mismatch, 2);
    assert.equal(legit.files.byOutcome.missing_checksum, 2);
  });

  it('collectShard started directly with an unknown verification level and a prefix outside: refused, naming the field', async () => {
    // The reported attack: a finished shard's input, verification "sha256", prefix "outside/".
    const f = await startShard([
      { ...shardInput, request: { ...shardInput.request, verification: 'sha256' }, state: outsideState(`${marker}/`) },
    ]);
    assert.ok(f.types.includes('InvalidShardInput'), f.text);
    assert.match(f.text, /request\.verification: Invalid enum value/);
  });

  for (const [name, state, reason] of [
    ['a prefix outside the allow-list', () => outsideState(`${marker}/`), /is not among the destinations/],
    ['the source bucket', () => outsideState('allowed/', buckets.source), /is the source bucket/],
    ['another bucket the credentials reach', () => outsideState('allowed/', other), /not among the destinations/],
  ] as const) {
    it(`collectShard with well-formed input aimed at ${name}: every activity refuses it`, async () => {
      const f = await startShard([
        { ...shardInput, request: { ...shardInput.request, verification: 'none' }, state: state() },
      ]);
      assert.ok(f.types.includes('DestinationNotAllowedError'), f.text);
      assert.match(f.text, reason);
    });
  }

  for (const [name, edit, field] of [
    ['a state folder moved out of the data prefix', { statePrefix: `${marker}/_collections/x/` }, /state\.statePrefix/],
    ['".." in the prefix', { destinationPrefix: '../', statePrefix: '../_collections/x/' }, /state\.destinationPrefix/],
    [
      'an absolute prefix',
      { destinationPrefix: '/etc/', statePrefix: '/etc/_collections/x/' },
      /state\.destinationPrefix/,
    ],
    ['a bucket that is not a bucket name', { bucket: 'a/../b' }, /state\.bucket/],
  ] as const) {
    it(`collectShard with ${name}: refused at the edge`, async () => {
      const f = await startShard([{ ...shardInput, state: { ...shardInput.state, ...edit } }]);
      assert.ok(f.types.includes('InvalidShardInput'), f.text);
      assert.match(f.text, field);
    });
  }

  it('collectShard with wrong types, huge arrays and forged continue-as-new state: refused, small errors', async () => {
    for (const args of [
      [42],
      [{ ...shardInput, shard: -1 }],
      [
        {
          ...shardInput,
          request: { ...shardInput.request, symbols: Array.from({ length: 50_000 }, () => 'x'.repeat(30)) },
        },
      ],
      [shardInput, { list: 'all', nextBatch: 1e30, batchFailures: { x: 'y'.repeat(100_000) } }],
    ]) {
      const f = await startShard(args);
      assert.ok(f.types.includes('InvalidShardInput'), f.text.slice(0, 300));
    }
  });

  it('collectArchive with forged continue-as-new state: refused before any activity runs', async () => {
    const client = await testClient();
    const forged = {
      request: legit.request,
      range: legit.range,
      collectionId: legit.collectionId,
      state: { ...shardInput.state, statePrefix: `allowed/_collections/${legit.collectionId}/` },
      probe: legit.probe,
      decision: legit.decision,
      discovery: legit.discovery,
      searchAttributes: false,
      nextShard: legit.discovery.shards,
      totals: { manifest: legit.files },
      phaseMs: {},
      runs: 1,
    };
    for (const carried of [
      forged,
      { ...forged, state: { ...forged.state, bucket: buckets.source } },
      'x'.repeat(1_000),
    ]) {
      const handle = await client.workflow.start('collectArchive', {
        taskQueue: w.config.temporal.taskQueue,
        workflowId: uniqueName('attack-collect'),
        args: [{}, carried],
      });
      const f = await failureOf(handle.result());
      assert.ok(f.types.includes('InvalidCollectionState'), f.text);
      const events = (await handle.fetchHistory()).events ?? [];
      assert.ok(!events.some((e) => e.activityTaskScheduledEventAttributes), 'no activity was scheduled');
    }
    // Well-formed, but about another collection: a run may only carry its own state.
    const wellFormed = {
      ...forged,
      totals: { ...emptyTotals(), shardsDone: 1, shardRuns: 1 },
    };
    const handle = await client.workflow.start('collectArchive', {
      taskQueue: w.config.temporal.taskQueue,
      workflowId: uniqueName('attack-collect'),
      args: [{}, wellFormed],
    });
    const f = await failureOf(handle.result());
    assert.ok(f.types.includes('InvalidCollectionState'), f.text);
    assert.match(f.text, /collectionId must be this run's own/);
  });

  it('collectArchive and reviewQuarantine aimed outside the allow-list, or with a 1 MB field: refused by name', async () => {
    const client = await testClient();
    const start = (type: string, input: unknown) =>
      failureOf(
        client.workflow.execute(type, {
          taskQueue: w.config.temporal.taskQueue,
          workflowId: uniqueName('attack'),
          args: [input],
        }),
      );
    const huge = await start('collectArchive', { dataTypes: ['k'.repeat(1_000_000)] });
    assert.ok(huge.types.includes('InvalidCollectionRequest'));
    assert.match(huge.text, /dataTypes\[0\]: /);
    assert.ok(huge.text.length < 1_000, `${huge.text.length} characters`);
    const source = await start('collectArchive', { destination: { bucket: buckets.source } });
    assert.match(source.text, /is the source bucket/);
    const review = await start('reviewQuarantine', { action: 'list', destination: { bucket: other } });
    assert.match(review.text, /not among the destinations/);
    const accept = await start('reviewQuarantine', {
      action: 'accept',
      destination: { bucket: buckets.destination, prefix: `${marker}/` },
      key: 'data/spot/daily/klines/EDGEUSDT/1d/EDGEUSDT-1d-2025-03-02.zip',
      sha256: 'a'.repeat(64),
      reason: 'trust me',
    });
    assert.match(accept.text, /not among the destinations/);
  });

  describe("a workflow of the caller's own worker scheduling our activities with hostile arguments", () => {
    const call = async (activity: string, ...args: unknown[]) => {
      const client = await testClient();
      return failureOf(
        client.workflow.execute('scheduleTheirActivity', {
          taskQueue: hostileQueue,
          workflowId: uniqueName('attack-activity'),
          args: [w.config.temporal.taskQueue, activity, args],
        }),
      );
    };
    const batch = () => ({ state: shardInput.state, batch: 0, verification: 'checksum', stallMs: 60_000 });
    const collectionState = () => ({ ...shardInput.state, statePrefix: `allowed/_collections/${legit.collectionId}/` });

    const cases: [string, string, () => unknown, string, RegExp][] = [
      [
        'proveCopied with verification "sha256"',
        'proveCopied',
        () => ({ ...batch(), verification: 'sha256' }),
        'InvalidInputError',
        /verification/,
      ],
      [
        'proveCopied outside the allow-list',
        'proveCopied',
        () => ({ ...batch(), state: outsideState(`${marker}/`) }),
        'DestinationNotAllowedError',
        /not among/,
      ],
      [
        'directSyncBatch into the source bucket',
        'directSyncBatch',
        () => ({ ...batch(), state: outsideState('allowed/', buckets.source) }),
        'DestinationNotAllowedError',
        /source bucket/,
      ],
      [
        'directSyncBatch with a negative position',
        'directSyncBatch',
        () => ({ ...batch(), only: [-1] }),
        'InvalidInputError',
        /only\[0\]/,
      ],
      [
        'uploadStaged with verification "sha256"',
        'uploadStaged',
        () => ({ ...batch(), verification: 'sha256', stagingId: 'x' }),
        'InvalidInputError',
        /verification/,
      ],
      [
        'downloadBatch with a staging id that climbs out',
        'downloadBatch',
        () => ({ ...batch(), stagingId: '../../etc' }),
        'InvalidInputError',
        /stagingId/,
      ],
      [
        'listShard with verification "sha256"',
        'listShard',
        () => ({
          request: { ...shardInput.request, verification: 'sha256' },
          range: shardInput.range,
          state: shardInput.state,
        }),
        'InvalidInputError',
        /request\.verification/,
      ],
      [
        'discoverSeries in another bucket',
        'discoverSeries',
        () => ({ request: shardInput.request, range: shardInput.range, state: outsideState('allowed/', other) }),
        'DestinationNotAllowedError',
        /not among/,
      ],
      [
        'writeManifest in another bucket',
        'writeManifest',
        () => ({
          state: outsideState('allowed/', other),
          batchCount: 0,
          settledParts: 0,
          mode: 'direct_sync',
          action: 'collect',
          batchFailures: {},
        }),
        'DestinationNotAllowedError',
        /not among/,
      ],
      [
        'countBatch outside',
        'countBatch',
        () => ({ state: outsideState(`${marker}/`), batch: 0, action: 'collect' }),
        'DestinationNotAllowedError',
        /not among/,
      ],
      [
        'assembleCollection in the source bucket',
        'assembleCollection',
        () => ({ state: { ...collectionState(), bucket: buckets.source }, shards: 1 }),
        'DestinationNotAllowedError',
        /source bucket/,
      ],
      [
        'writeReport in the source bucket',
        'writeReport',
        () => ({
          state: { ...collectionState(), bucket: buckets.source },
          report: reportOf(legit.collectionId),
        }),
        'DestinationNotAllowedError',
        /source bucket/,
      ],
      [
        'writeReport for another collection',
        'writeReport',
        () => ({ state: collectionState(), report: reportOf('someone-else') }),
        'InvalidInputError',
        /report\.collectionId/,
      ],
      [
        'probeEnvironment of the source bucket',
        'probeEnvironment',
        () => ({ bucket: buckets.source, prefix: '' }),
        'DestinationNotAllowedError',
        /source bucket/,
      ],
      [
        'acceptQuarantined outside',
        'acceptQuarantined',
        () => ({
          bucket: other,
          key: 'data/spot/daily/klines/EDGEUSDT/1d/EDGEUSDT-1d-2025-03-02.zip',
          sha256: 'a'.repeat(64),
          reason: 'trust me',
          decidedBy: 'x',
        }),
        'DestinationNotAllowedError',
        /not among/,
      ],
      [
        'discardQuarantined with a key that climbs out',
        'discardQuarantined',
        () => ({ key: 'data/../../x.zip' }),
        'InvalidInputError',
        /key/,
      ],
      [
        'countListed with a huge input',
        'countListed',
        () => ({ state: shardInput.state, settledParts: 1, extra: 'x'.repeat(500_000) }),
        'InvalidInputError',
        /unknown field/,
      ],
    ];
    for (const [name, activity, args, type, message] of cases) {
      it(`${name}: refused (${type})`, async () => {
        const f = await call(activity, args());
        assert.ok(f.types.includes(type), `${f.types.join(', ')}: ${f.text.slice(0, 400)}`);
        assert.match(f.text, message);
      });
    }

    it('the traditional steps never mix levels or batches: verified at "none", uploaded as "checksum", or in another batch’s folder', async () => {
      const client = await testClient();
      const run = (activity: string, input: unknown) =>
        client.workflow.execute('scheduleTheirActivity', {
          taskQueue: hostileQueue,
          workflowId: uniqueName('attack-activity'),
          args: [w.config.temporal.taskQueue, activity, [input]],
        });
      const staged = { ...batch(), verification: 'none', stagingId: `mix-${marker}` };
      await run('downloadBatch', staged);
      await run('verifyStaged', staged);
      const asChecksum = await failureOf(run('uploadStaged', { ...staged, verification: 'checksum' }));
      assert.ok(asChecksum.types.includes('InvalidInputError'), asChecksum.text);
      assert.match(asChecksum.text, /checked for a none proof, not sha256/);
      const elsewhere = await failureOf(
        run('uploadStaged', {
          ...staged,
          state: {
            ...shardInput.state,
            statePrefix: shardInput.state.statePrefix.replace('shard-000000', 'shard-000001'),
          },
        }),
      );
      assert.match(elsewhere.text, /holds files of another batch or collection/);
      await run('cleanupStaging', staged);
    });

    it('writeReport over an existing report leaves it as the collection wrote it', async () => {
      const key = legit.reportKey;
      const before = await text(buckets.destination, key);
      const client = await testClient();
      await client.workflow.execute('scheduleTheirActivity', {
        taskQueue: hostileQueue,
        workflowId: uniqueName('attack-activity'),
        args: [
          w.config.temporal.taskQueue,
          'writeReport',
          [
            {
              state: collectionState(),
              report: { ...reportOf(legit.collectionId), verdict: 'ALL VERIFIED (forged)' },
            },
          ],
        ],
      });
      assert.equal(await text(buckets.destination, key), before);
    });
  });

  it('an independent reader finds nothing written outside the allow-list and no proof for bytes that do not match', async () => {
    const { Buckets } = await s3.send(new ListBucketsCommand({}));
    for (const { Name } of Buckets ?? []) {
      const keys = await listAll(s3, Name!, '').catch((e: { name?: string }) => {
        if (e.name === 'NoSuchBucket') return [];
        throw e;
      });
      assert.deepEqual(
        keys.filter((o) => o.key.includes(marker)).map((o) => `${Name}/${o.key}`),
        [],
        'nothing under the attack prefix in any bucket',
      );
    }
    const dest = await listAll(s3, buckets.destination, '');
    assert.deepEqual(
      dest.filter((o) => !o.key.startsWith('allowed/')).map((o) => o.key),
      [],
      'the destination holds nothing outside allowed/',
    );
    assert.deepEqual(await listAll(s3, other, ''), [], 'the other bucket is untouched');
    const sourceAfter = new Map((await listAll(s3, buckets.source, '')).map((o) => [o.key, o.etag]));
    assert.deepEqual(sourceAfter, sourceBefore, 'the source bucket is exactly as it was');
    const { proven } = await assertTrustInvariant(s3, buckets.destination, 'allowed/', buckets.source);
    assert.equal(proven.size, 8, 'the 8 files that match, and no other');
    for (const day of [...FAULTS.checksumMismatch, ...FAULTS.missingChecksum])
      assert.ok(![...proven].some((k) => k.includes(day)), `${day} is not proven`);
  });
});

describe('proofs forged before the fix stop counting (audit recheckProofs)', () => {
  let w: TestWorker;
  let buckets: { source: string; destination: string };
  before(async () => {
    buckets = await freshBuckets('forged');
    w = await startWorker({ SOURCE_BUCKET: buckets.source });
  });
  after(async () => w?.stop());

  it('an audit voids a sha256 proof nobody earned, reports the bytes, and the next collect no longer skips them', async () => {
    const files = await mirror(buckets.source, {
      symbols: ['FORGEUSDT'],
      intervals: ['1d'],
      startDate: '2025-04-01',
      endDate: '2025-04-03',
      faults: { checksumMismatch: ['2025-04-02'] },
    });
    const request = {
      symbols: ['FORGEUSDT'],
      intervals: ['1d'],
      startDate: '2025-04-01',
      endDate: '2025-04-03',
      destination: { bucket: buckets.destination, prefix: 'lake/' },
    };
    const first = await collect(w, request);
    assert.equal(first.report.files.copied, 2);
    // What an older version let a namespace user write: the mismatching bytes at the key, with a sha256 proof
    // whose method is "unchecked" (the verification-level bypass), named exactly as real proofs are.
    const bad = files.find((f) => f.fault === 'checksumMismatch')!;
    const body = await bytes(buckets.source, bad.key);
    await s3.send(new PutObjectCommand({ Bucket: buckets.destination, Key: `lake/${bad.key}`, Body: body }));
    const dst = await s3.send(new HeadObjectCommand({ Bucket: buckets.destination, Key: `lake/${bad.key}` }));
    const src = await s3.send(new HeadObjectCommand({ Bucket: buckets.source, Key: bad.key }));
    const sidecar = await s3.send(new HeadObjectCommand({ Bucket: buckets.source, Key: `${bad.key}.CHECKSUM` }));
    const record: ProofRecord = {
      key: bad.key,
      level: 'sha256',
      sha256: null,
      checksum: { sha256: null, etag: sidecar.ETag! },
      destination: { key: `lake/${bad.key}`, etag: dst.ETag!, size: dst.ContentLength! },
      source: { etag: src.ETag!, size: src.ContentLength! },
      method: 'unchecked',
      collectionId: 'forged',
      recordedAt: new Date().toISOString(),
    };
    const proofKey = `lake/_verified/${bad.key}/${proofFileName(proofNameOf(record))}`;
    await s3.send(new PutObjectCommand({ Bucket: buckets.destination, Key: proofKey, Body: JSON.stringify(record) }));
    const fooled = await collect(w, request);
    assert.equal(fooled.report.files.skipped, 3, 'the forged proof counts until it is rechecked');

    const audit = await collect(w, { ...request, action: 'audit', recheckProofs: true });
    const entries: ManifestEntry[] = await readManifest(audit.report.manifest.bucket, audit.report.manifest.key);
    const entry = entries.find((e) => e.key === bad.key)!;
    assert.equal(entry.outcome, 'checksum_mismatch');
    assert.equal(entry.proof, null);
    const voided = (entry.evidence as { voidedProofs?: { problem: string }[] }).voidedProofs!;
    assert.equal(voided.length, 1);
    assert.match(voided[0].problem, /cannot be earned by method "unchecked"/);
    assert.ok(!(await listAll(s3, buckets.destination, proofKey)).length, 'the forged proof is gone');
    assert.equal(audit.report.files.skipped, 2, 'true proofs stand and are kept');

    const after = await collect(w, request);
    assert.equal(after.report.files.skipped, 2);
    assert.equal(after.report.files.byOutcome.checksum_mismatch, 1, 'the wrong bytes are no longer taken as verified');
    const { proven } = await assertTrustInvariant(s3, buckets.destination, 'lake/', buckets.source);
    assert.ok(!proven.has(bad.key));
  });
});

function reportOf(collectionId: string) {
  return { collectionId, action: 'collect', ok: true, coverage: { missingFiles: 0, archiveGapPeriods: 0 } };
}
async function bytes(bucket: string, key: string): Promise<Uint8Array> {
  return (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray();
}
async function text(bucket: string, key: string): Promise<string> {
  return Buffer.from(await bytes(bucket, key)).toString('utf8');
}
