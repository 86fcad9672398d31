/**
 * The trust invariant, on the real stack: an object counts as verified only by a recorded proof that
 * its SHA-256 matched its `.CHECKSUM`, and no cancel, kill or re-upload leaves bytes a later run
 * calls verified without that match, or destroys a verified copy. Runs start the way users start
 * them (the client and its derived workflow IDs); the destination is checked by an independent
 * reader that hashes every object itself. The re-uploaded files are the real keys of Binance's own
 * correction list (test/fixtures/archive-oracle).
 */
import assert from 'node:assert/strict';
import { STORE_FEATURES, unlessStoreHas } from '../helpers/store';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { createS3Client } from '../../activities/s3';
import { StagingArea } from '../../activities/staging';
import { StateStore } from '../../activities/state-store';
import { startCollection } from '../../client/collection';
import { workerEnvFor } from '../../stack/local-stack';
import { fillMirror, fillMirrorFiles, type MirrorFile, type MirrorSeries } from '../../stack/mirror';
import { loadConfig } from '../../worker/config';
import type { CollectionReport, ManifestEntry } from '../../workflows/types';
import { runCli } from '../helpers/cli';
import { assertTrustInvariant, hashDestination } from '../helpers/independent-check';
import { signalS5cmdOnStart } from '../helpers/processes';
import { waitFor } from '../helpers/wait';
import {
  collect,
  freshBuckets,
  listKeys,
  readManifest,
  s3,
  sha256Of,
  scratchStagingDir,
  stack,
  startWorker,
  testClient,
  uniqueName,
  type TestWorker,
} from '../helpers/stack';
import { spawnWorker } from '../helpers/worker-process';

/** Binance's own list of re-uploaded monthly aggTrades files: real (often delisted) symbols and months. */
const CORRECTIONS: { series: MirrorSeries; period: string }[] = readFileSync(
  'test/fixtures/archive-oracle/binance-updates-2022-10-04-aggTrades.csv',
  'utf8',
)
  .trim()
  .split('\n')
  .slice(1)
  .map((row) => {
    const [symbol, , ...rest] = row
      .split(',')[0]
      .replace(/\.zip$/, '')
      .split('-');
    return {
      series: { market: 'spot', granularity: 'monthly' as const, dataType: 'aggTrades', symbol },
      period: rest.join('-'),
    };
  });
const CORRECTION_SYMBOLS = [...new Set(CORRECTIONS.map((c) => c.series.symbol))];
/** The request that collects exactly the months of the list (symbols × 2017-12..2018-03; the months not in the list are not published). */
const correctionsRequest = {
  markets: ['spot' as const],
  dataTypes: ['aggTrades'],
  granularity: 'monthly' as const,
  symbols: CORRECTION_SYMBOLS,
  startDate: '2017-12',
  endDate: '2018-03',
};
const CONTENT = { targetBytes: 120_000, compressionLevel: 0 as const };

function expectHashes(actual: Map<string, string>, files: MirrorFile[], what: string) {
  for (const f of files) assert.equal(actual.get(f.key), f.sha256, `${what}: ${f.key}`);
}

/** How another tool (aws s3 cp, rclone, s5cmd) stores a large file: a multipart upload. */
async function multipartPut(bucket: string, key: string, body: Uint8Array) {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const { ETag } = await s3.send(
    new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: body }),
  );
  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      UploadId,
      MultipartUpload: { Parts: [{ ETag, PartNumber: 1 }] },
    }),
  );
}

async function cancelled(p: Promise<unknown>) {
  const err = await p.then(
    () => undefined,
    (e) => e,
  );
  assert.ok(
    err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure,
    `the run ended cancelled: ${err}`,
  );
}

describe('trust: a verified file is verified', () => {
  let w: TestWorker;
  let buckets: { source: string; destination: string };
  let rev0: MirrorFile[];
  let rev1: MirrorFile[];
  const dest = (prefix: string) => ({
    ...correctionsRequest,
    batchSize: 12,
    parallelBatches: 2,
    destination: { bucket: buckets.destination, prefix },
  });

  before(async () => {
    buckets = await freshBuckets('trust');
    rev0 = await fillMirrorFiles(s3, buckets.source, CORRECTIONS, { ...CONTENT, revision: 0 });
    w = await startWorker({ SOURCE_BUCKET: buckets.source, S5CMD_NUMWORKERS: '2' });
  });
  after(async () => w?.stop());

  it("collects Binance's real correction list with SHA-256 proof that an independent reader confirms", async () => {
    assert.equal(rev0.length, 132);
    const { report } = await collect(w, dest('a/'));
    assert.equal(report.ok, true, report.verdict);
    assert.equal(report.files.copied, 132);
    assert.equal(report.files.byProof.sha256, 132);
    assert.match(report.verdict, /^OK: all 132 published files .* SHA-256 proof/);
    expectHashes(await hashDestination(s3, buckets.destination, 'a/'), rev0, 'first copy');
    const trust = await assertTrustInvariant(s3, buckets.destination, 'a/', buckets.source);
    assert.equal(trust.proven.size, 132);
  });

  it('a correction cancelled in its copy step (every s5cmd frozen as it starts, then the run cancelled) leaves every verified copy in place; the next run replaces them only once verified', async () => {
    // Binance re-uploads every file with a new, matching .CHECKSUM.
    rev1 = await fillMirrorFiles(s3, buckets.source, CORRECTIONS, { ...CONTENT, revision: 1 });
    const client = await testClient();
    // Every batch in flight is frozen in its copy step (s5cmd stopped as it starts), then the run is cancelled.
    const freezer = signalS5cmdOnStart('SIGSTOP');
    try {
      const { handle } = await startCollection(client, dest('a/'), { taskQueue: w.config.temporal.taskQueue });
      await freezer.started(30_000);
      await handle.cancel();
      await cancelled(handle.result());
    } finally {
      freezer.stop();
    }
    // The proofs first: whatever the bytes, each must hold (a failure here is a trust failure, not a racy cut).
    const trust = await assertTrustInvariant(s3, buckets.destination, 'a/', buckets.source);
    assert.equal(trust.proven.size, 132, 'their proofs still hold');
    expectHashes(
      await hashDestination(s3, buckets.destination, 'a/'),
      rev0,
      'after the cancel, the verified copies are untouched',
    );

    const { report } = await collect(w, dest('a/'));
    assert.equal(report.ok, true, report.verdict);
    assert.equal(report.files.byOutcome.replaced, 132, JSON.stringify(report.files.byOutcome));
    // Where the store ignores x-amz-copy-source-if-match (moto), no copy goes over a verified file: uploads do.
    const replacedBy = STORE_FEATURES[stack.store].conditionalCopy ? 'direct_sync' : 'traditional';
    assert.equal(report.files.byMode[replacedBy].copied, 132, JSON.stringify(report.files.byMode));
    assert.equal(report.files.byOutcome.skipped, undefined, 'nothing whose source changed is skipped');
    expectHashes(await hashDestination(s3, buckets.destination, 'a/'), rev1, 'after the rerun');
    assert.equal((await assertTrustInvariant(s3, buckets.destination, 'a/', buckets.source)).proven.size, 132);
  });

  it('a correction cancelled right after the copies, before or while they are proven: the next run never calls unproven bytes verified', async () => {
    const rev2 = await fillMirrorFiles(s3, buckets.source, CORRECTIONS, { ...CONTENT, revision: 2 });
    const client = await testClient();
    const { handle } = await startCollection(client, dest('a/'), { taskQueue: w.config.temporal.taskQueue });
    await waitFor(
      'the first batch to be copied',
      async () => {
        const keys = await listKeys(buckets.destination, 'a/_collections/');
        return keys.some(
          (k) =>
            k.startsWith(`a/_collections/`) && k.includes(handle.firstExecutionRunId) && k.endsWith('.direct.json'),
        )
          ? true
          : undefined;
      },
      30_000,
    );
    await handle.cancel();
    await cancelled(handle.result());
    // Whatever the cut, each file holds either the old verified bytes or the new ones, with a proof that holds.
    const hashes = await hashDestination(s3, buckets.destination, 'a/');
    for (const [i, f] of rev2.entries()) assert.ok([rev1[i].sha256, f.sha256].includes(hashes.get(f.key)!), f.key);
    await assertTrustInvariant(s3, buckets.destination, 'a/', buckets.source);

    const { report } = await collect(w, dest('a/'));
    assert.equal(report.ok, true, report.verdict);
    // Cut between a promotion and its proof, a file is proven in place; cut before, replaced; cut after, skipped.
    assert.equal(
      (report.files.byOutcome.replaced ?? 0) +
        (report.files.byOutcome.skipped ?? 0) +
        (report.files.byOutcome.verified_in_place ?? 0),
      132,
    );
    expectHashes(await hashDestination(s3, buckets.destination, 'a/'), rev2, 'after the rerun');
    for (const e of await readManifest(report.manifest.bucket, report.manifest.key)) {
      if (e.outcome === 'skipped')
        assert.equal(
          await sha256Of(buckets.destination, `a/${e.key}`),
          rev2.find((f) => f.key === e.key)!.sha256,
          `${e.key} was skipped only because its new bytes were proven`,
        );
    }
    rev1 = rev2;
  });

  it('a worker killed (SIGKILL) while it records proofs: a second worker finishes, and every proof holds', async () => {
    const rev3 = await fillMirrorFiles(s3, buckets.source, CORRECTIONS, { ...CONTENT, revision: 3 });
    const taskQueue = uniqueName('tq');
    const workerEnv = {
      ...workerEnvFor(stack),
      DEST_ALLOWED: '*',
      SOURCE_BUCKET: buckets.source,
      TEMPORAL_TASK_QUEUE: taskQueue,
      S5CMD_NUMWORKERS: '2',
    };
    const a = await spawnWorker(workerEnv);
    try {
      const client = await testClient();
      const before = new Set(await listKeys(buckets.destination, 'a/_verified/'));
      const { handle } = await startCollection(client, { ...dest('a/'), heartbeatTimeoutSeconds: 3 }, { taskQueue });
      await waitFor(
        'the first new proofs',
        async () =>
          (await listKeys(buckets.destination, 'a/_verified/')).some((k) => !before.has(k)) ? true : undefined,
        30_000,
      );
      a.child.kill('SIGKILL');
      await assertTrustInvariant(s3, buckets.destination, 'a/', buckets.source);
      const b = await spawnWorker(workerEnv);
      try {
        const report = (await handle.result()) as CollectionReport;
        assert.equal(report.ok, true, report.verdict);
        expectHashes(await hashDestination(s3, buckets.destination, 'a/'), rev3, 'after the second worker');
        assert.equal((await assertTrustInvariant(s3, buckets.destination, 'a/', buckets.source)).proven.size, 132);
      } finally {
        b.child.kill('SIGKILL');
      }
    } finally {
      if (a.child.exitCode === null) a.child.kill('SIGKILL');
    }
    rev1 = rev3;
  });

  it('a zip re-uploaded under its old .CHECKSUM (a stale sidecar) keeps the verified copy, puts the new bytes aside with their evidence, and an operator can accept or discard them', async () => {
    const stale = CORRECTIONS.filter(
      (c) => c.series.symbol === 'BNBBTC' || c.series.symbol === 'EOSETH' || c.series.symbol === 'QTUMETH',
    );
    assert.equal(stale.length, 3);
    const changed = await fillMirrorFiles(s3, buckets.source, stale, {
      ...CONTENT,
      revision: 99,
      faults: { staleChecksum: stale.map((s) => s.period) },
    });
    const { report } = await collect(w, dest('a/'));
    assert.equal(report.ok, false);
    assert.equal(report.files.byOutcome.stale_checksum, 3, JSON.stringify(report.files.byOutcome));
    assert.match(report.verdict, /3 stale_checksum.*quarantine/);
    const kept = rev1.filter((f) => stale.some((s) => f.key.includes(`/${s.series.symbol}-`)));
    expectHashes(await hashDestination(s3, buckets.destination, 'a/'), rev1, 'the verified copies are kept');
    const manifest = await readManifest(report.manifest.bucket, report.manifest.key);
    for (const f of changed) {
      const e = manifest.find((m) => m.key === f.key)! as ManifestEntry & {
        evidence: {
          actualSha256: string;
          expectedSha256: string;
          quarantineKey: string;
          source: { size: number; etag: string };
          kept: { size: number; etag: string };
        };
      };
      const old = kept.find((k) => k.key === f.key)!;
      assert.equal(e.outcome, 'stale_checksum');
      assert.equal(e.proof, 'sha256', 'the destination still holds a verified copy');
      assert.equal(e.evidence.actualSha256, f.sha256, "the new bytes' hash");
      assert.equal(e.evidence.expectedSha256, old.sha256, "the sidecar's hash is the old file's");
      assert.equal(e.evidence.source.size, f.size, 'the new size');
      assert.equal(e.evidence.kept.size, old.size, "the kept copy's size");
      assert.ok(e.evidence.kept.etag && e.evidence.source.etag, 'old and new ETags');
      assert.equal(
        await sha256Of(buckets.destination, e.evidence.quarantineKey),
        f.sha256,
        'the new bytes are put aside',
      );
    }

    const tq = w.config.temporal.taskQueue;
    const target = ['--bucket', buckets.destination, '--prefix', 'a/'];
    const list = await runCli(tq, 'quarantine', 'list', ...target);
    assert.equal(list.code, 0, list.err);
    for (const f of changed)
      assert.match(list.out, new RegExp(`stale_checksum  ${f.key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const [accept, discard] = changed;
    assert.match(list.out, new RegExp(`SHA-256 ${accept.sha256}`), 'list prints the hash an accept must name');
    const noReason = await runCli(
      tq,
      'quarantine',
      'accept',
      accept.key,
      ...target,
      '--sha256',
      accept.sha256,
      '--reason',
      '',
    );
    assert.equal(noReason.code, 2, 'an accept without a reason is bad input');
    assert.match(noReason.err, /reason: give the reason/);
    const unreviewed = await runCli(
      tq,
      'quarantine',
      'accept',
      accept.key,
      ...target,
      '--sha256',
      discard.sha256,
      '--reason',
      'looks fine',
    );
    assert.equal(unreviewed.code, 2, 'bytes other than the reviewed ones are never accepted');
    assert.match(
      unreviewed.err,
      new RegExp(`now have SHA-256 ${accept.sha256}, not the ${discard.sha256} you reviewed`),
    );
    const reason = 'Binance confirmed the re-upload in its changelog; the sidecar is stale';
    const accepted = await runCli(
      tq,
      'quarantine',
      'accept',
      accept.key,
      ...target,
      '--sha256',
      accept.sha256,
      '--reason',
      reason,
    );
    assert.equal(accepted.code, 0, accepted.err);
    const again = await runCli(
      tq,
      'quarantine',
      'accept',
      accept.key,
      ...target,
      '--sha256',
      accept.sha256,
      '--reason',
      reason,
    );
    assert.equal(again.code, 0, 'accepting twice is harmless');
    assert.match(again.out, /already accepted/);
    const discarded = await runCli(
      tq,
      'quarantine',
      'discard',
      discard.key,
      ...target,
      '--sha256',
      discard.sha256,
      '--reason',
      'wait for a corrected sidecar',
    );
    assert.equal(discarded.code, 0, discarded.err);
    assert.equal(
      await sha256Of(buckets.destination, `a/${accept.key}`),
      accept.sha256,
      'accepted: the new bytes are in place',
    );
    assert.equal(
      await sha256Of(buckets.destination, `a/${discard.key}`),
      kept.find((k) => k.key === discard.key)!.sha256,
      'discarded: the verified copy stays',
    );
    const trust = await assertTrustInvariant(s3, buckets.destination, 'a/', buckets.source);
    assert.ok(
      trust.accepted.has(accept.key) && !trust.proven.has(accept.key),
      'the accepted file is proven as accepted, not as verified',
    );

    const next = (await collect(w, dest('a/'))).report;
    const entries = await readManifest(next.manifest.bucket, next.manifest.key);
    const byKey = new Map(entries.map((e) => [e.key, e]));
    assert.deepEqual([byKey.get(accept.key)!.outcome, byKey.get(accept.key)!.proof], ['skipped', 'accepted']);
    assert.equal(byKey.get(discard.key)!.outcome, 'stale_checksum', 'a discarded file is judged again on the next run');
    assert.equal(next.files.byOutcome.stale_checksum, 2);
    assert.match(next.verdict, /COMPLETED WITH FAILURES/);
  });

  it('two collections over overlapping keys at the same time: no file lost, none wrongly verified', async () => {
    const client = await testClient();
    const half = CORRECTION_SYMBOLS.slice(0, 40);
    const [x, y] = await Promise.all([
      startCollection(client, { ...dest('b/') }, { taskQueue: w.config.temporal.taskQueue }),
      startCollection(client, { ...dest('b/'), symbols: half }, { taskQueue: w.config.temporal.taskQueue }),
    ]);
    assert.notEqual(x.handle.workflowId, y.handle.workflowId, 'different collections never join each other');
    const [rx, ry] = await Promise.all([x.handle.result(), y.handle.result()]);
    assert.notEqual(rx.collectionId, ry.collectionId);
    // Three zips of the source sit under a stale .CHECKSUM (previous test): those can never be proven.
    const good = rev1.filter((f) => !['BNBBTC', 'EOSETH', 'QTUMETH'].some((s) => f.key.includes(`/${s}-`)));
    assert.equal(rx.files.byOutcome.checksum_mismatch, 3, JSON.stringify(rx.files.byOutcome));
    const hashes = await hashDestination(s3, buckets.destination, 'b/');
    const trust = await assertTrustInvariant(s3, buckets.destination, 'b/', buckets.source);
    assert.deepEqual(
      [...trust.proven].sort(),
      good.map((f) => f.key).sort(),
      'every good file is in place with a proof that holds',
    );
    expectHashes(hashes, good, 'both collections wrote the same good bytes');
  });
});

describe('trust: weaker runs record weaker proofs, and proof never depends on ETag = MD5', () => {
  let w: TestWorker;
  let buckets: { source: string; destination: string };
  let files: MirrorFile[];
  const request = { symbols: ['ETAGUSDT'], intervals: ['1h'], startDate: '2025-04-01', endDate: '2025-04-08' };

  before(async () => {
    buckets = await freshBuckets('weak');
    files = await fillMirror(s3, buckets.source, { ...request, targetBytes: 90_000, compressionLevel: 0 });
    w = await startWorker({ SOURCE_BUCKET: buckets.source });
  });
  after(async () => w?.stop());

  it('verification "none" records only that; a later "checksum" run proves the files in place, copying nothing, and replaces the one that is wrong', async () => {
    const target = { bucket: buckets.destination, prefix: 'n/' };
    const none = (await collect(w, { ...request, verification: 'none', destination: target })).report;
    assert.equal(none.files.byProof.none, 8);
    assert.match(none.verdict, /8 not checked/);
    // Each file's .CHECKSUM is beside it, byte for byte the source's (copied after the zips at this level).
    for (const f of files)
      assert.equal(
        await sha256Of(buckets.destination, `n/${f.key}.CHECKSUM`),
        await sha256Of(buckets.source, `${f.key}.CHECKSUM`),
        `${f.key}.CHECKSUM`,
      );
    assert.equal(
      (await assertTrustInvariant(s3, buckets.destination, 'n/', buckets.source)).proven.size,
      0,
      'nothing counts as verified yet',
    );
    // Someone damages one copy, keeping its size: only a hash can tell.
    const victim = files[3];
    const garbage = Buffer.alloc(victim.size, 7);
    await s3.send(new PutObjectCommand({ Bucket: buckets.destination, Key: `n/${victim.key}`, Body: garbage }));

    const checked = (await collect(w, { ...request, destination: target })).report;
    assert.equal(checked.ok, true, checked.verdict);
    assert.equal(checked.files.byOutcome.verified_in_place, 7, JSON.stringify(checked.files.byOutcome));
    assert.equal(checked.files.byOutcome.copied, 1, 'the damaged copy is replaced');
    assert.equal(checked.files.byProof.sha256, 8);
    expectHashes(await hashDestination(s3, buckets.destination, 'n/'), files, 'after the checksum run');
    assert.equal((await assertTrustInvariant(s3, buckets.destination, 'n/', buckets.source)).proven.size, 8);
  });

  it('files another tool uploaded in parts (ETag not an MD5) are proven by their bytes once, then skipped by their own ETag without reading them', async () => {
    const prefix = 'mp/';
    for (const f of files) {
      const body = await (
        await s3.send(new GetObjectCommand({ Bucket: buckets.source, Key: f.key }))
      ).Body!.transformToByteArray();
      await multipartPut(buckets.destination, `${prefix}${f.key}`, body);
    }
    // A multipart upload, even of one part, gets a composite "-1" ETag: not the content's MD5.
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: buckets.destination, Prefix: `${prefix}data/` }));
    assert.ok(
      listed.Contents!.every((o) => /-\d+"?$/.test(o.ETag!)),
      `multipart ETags: ${listed.Contents!.map((o) => o.ETag).join(', ')}`,
    );

    const first = (await collect(w, { ...request, destination: { bucket: buckets.destination, prefix } })).report;
    assert.equal(first.files.byOutcome.verified_in_place, 8, JSON.stringify(first.files.byOutcome));
    assert.equal(first.bytes.copied, 0, 'nothing copied');
    const second = (await collect(w, { ...request, destination: { bucket: buckets.destination, prefix } })).report;
    assert.equal(second.files.skipped, 8);
    assert.equal(second.bytes.throughWorker, 0, 'skipped by the proof bound to their ETag, without reading a byte');
    assert.equal((await assertTrustInvariant(s3, buckets.destination, prefix, buckets.source)).proven.size, 8);
  });

  it('the same collection started twice within a minute keeps two separate records', async () => {
    const input = { ...request, destination: { bucket: buckets.destination, prefix: 'twice/' } };
    const one = await collect(w, input);
    const two = await collect(w, input);
    assert.equal(
      one.handle.workflowId,
      two.handle.workflowId,
      `the client derives one ID for one collection: ${one.handle.workflowId} ${two.handle.workflowId}`,
    );
    assert.notEqual(one.report.collectionId, two.report.collectionId);
    assert.notEqual(one.report.manifest.key, two.report.manifest.key);
    const first = await readManifest(one.report.manifest.bucket, one.report.manifest.key);
    const second = await readManifest(two.report.manifest.bucket, two.report.manifest.key);
    assert.ok(
      first.every((e) => e.outcome === 'copied'),
      "the first run's manifest is its own",
    );
    assert.ok(second.every((e) => e.outcome === 'skipped'));
  });
});

describe('trust: proving is safe to run twice', () => {
  it(
    'a quarantined mismatch and a promoted replacement are recognised by a second attempt, not failed',
    {
      skip:
        unlessStoreHas('conditionalCopy') &&
        'no promotion on a store that ignores conditional copy (replacements go through the traditional path)',
    },
    async () => {
      const buckets = await freshBuckets('twice');
      const files = await fillMirror(s3, buckets.source, {
        symbols: ['TWICEUSDT'],
        intervals: ['1d'],
        startDate: '2025-01-01',
        endDate: '2025-01-02',
        faults: { checksumMismatch: ['2025-01-02'] },
      });
      const config = loadConfig({
        ...workerEnvFor(stack),
        DEST_ALLOWED: buckets.destination,
        SOURCE_BUCKET: buckets.source,
        STAGING_DIR: scratchStagingDir('twice'),
      });
      const acts = createActivities({
        config,
        staging: new StagingArea(config.staging.dir, config.staging.maxBytes),
        workerTaskQueue: 'unused',
        source: createS3Client(config.source),
        destination: createS3Client(config.destination),
      });
      const state = {
        collectionId: 'twice',
        bucket: buckets.destination,
        destinationPrefix: '',
        statePrefix: '_collections/twice/',
      };
      const store = new StateStore(createS3Client(config.destination), state);
      await store.putJson(
        'plan/batch-000000.json',
        files.map((f) => ({ key: f.key, size: f.size, etag: '"e"', checksumEtag: '"c"', action: 'copy' })),
      );
      const env = new MockActivityEnvironment();
      const ref = { state, batch: 0, verification: 'checksum' as const, stallMs: 30_000 };
      type Result<K extends keyof typeof acts> = Awaited<ReturnType<(typeof acts)[K]>>;
      const copied = (await env.run(acts.directSyncBatch, ref)) as Result<'directSyncBatch'>;
      // What the batch's files came to, counted from the recorded results as the workflow counts them.
      const outcomes = async (batch: number) =>
        ((await env.run(acts.countBatch, { state, batch, action: 'collect' as const })) as Result<'countBatch'>)
          .byOutcome;
      await env.run(acts.proveCopied, { ...ref, only: copied.copied });
      assert.deepEqual(await outcomes(0), { copied: 1, checksum_mismatch: 1 });
      await env.run(acts.proveCopied, { ...ref, only: copied.copied });
      assert.deepEqual(
        await outcomes(0),
        { copied: 1, checksum_mismatch: 1 },
        'the second attempt finds the same outcome',
      );
      assert.equal(await sha256Of(buckets.destination, `_quarantine/${files[1].key}`), files[1].sha256);

      // A correction of the good file: copied beside it, promoted, then the same step runs again.
      const [corrected] = await fillMirror(s3, buckets.source, {
        symbols: ['TWICEUSDT'],
        intervals: ['1d'],
        startDate: '2025-01-01',
        endDate: '2025-01-01',
        revision: 1,
      });
      const head = await s3.send(new HeadObjectCommand({ Bucket: buckets.destination, Key: files[0].key }));
      await store.putJson('plan/batch-000001.json', [
        {
          key: corrected.key,
          size: corrected.size,
          etag: '"e2"',
          checksumEtag: '"c2"',
          action: 'replace',
          kept: { etag: head.ETag!, size: head.ContentLength!, level: 'sha256', sidecarUnchanged: false },
          seen: { etag: head.ETag!, size: head.ContentLength! },
        },
      ]);
      const ref1 = { ...ref, batch: 1 };
      const copied1 = (await env.run(acts.directSyncBatch, ref1)) as Result<'directSyncBatch'>;
      await env.run(acts.proveCopied, { ...ref1, only: copied1.copied });
      assert.deepEqual(await outcomes(1), { replaced: 1 });
      await env.run(acts.proveCopied, { ...ref1, only: copied1.copied });
      assert.deepEqual(await outcomes(1), { replaced: 1 }, 'the retry recognises its own promotion');
      assert.equal(await sha256Of(buckets.destination, corrected.key), corrected.sha256);
      const results = (await store.getJson<{ outcome: string }[]>('results/batch-000001.prove.json'))!;
      assert.equal(results[0].outcome, 'replaced');
    },
  );
});
