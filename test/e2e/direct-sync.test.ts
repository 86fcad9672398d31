import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { checksumKey } from '../../workflows/keys';
import { quarantineKey } from '../../workflows/keys';
import { collectionProgress, startCollection } from '../../client/collection';
import { progressQuery } from '../../workflows';
import { firstShardHistory, recordHistory } from '../helpers/history';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import {
  collect,
  exists,
  freshBuckets,
  listKeys,
  listWrites,
  mirror,
  readManifest,
  readText,
  s3,
  sha256Of,
  startWorker,
  testClient,
  type TestWorker,
} from '../helpers/stack';

describe('direct sync on the real stack', () => {
  let w: TestWorker;
  let buckets: { source: string; destination: string };
  const request = {
    symbols: ['BTCUSDT', 'ETHUSDT'],
    intervals: ['1m', '1h'],
    startDate: '2025-03-01',
    endDate: '2025-03-10',
    batchSize: 7,
    parallelBatches: 3,
  };
  let written: Awaited<ReturnType<typeof mirror>>;

  before(async () => {
    buckets = await freshBuckets('direct');
    written = await mirror(buckets.source, {
      ...request,
      faults: { checksumMismatch: ['2025-03-04'], missingChecksum: ['2025-03-05'], missing: ['2025-03-06'] },
    });
    w = await startWorker({ SOURCE_BUCKET: buckets.source });
  });
  after(async () => w?.stop());

  it('copies every good file with s5cmd, verifies it, quarantines a bad one and reports the rest', async () => {
    const { handle, report } = await collect(w, {
      ...request,
      destination: { bucket: buckets.destination, prefix: 'bronze/' },
    });
    assert.equal(report.decision.mode, 'direct_sync');
    assert.match(
      report.decision.reason,
      /auto: direct sync possible.*a server-side copy of s3:\/\/.* with the destination's credentials worked.*proven by the store's SHA-256/,
    );
    assert.equal(report.decision.proofBy, 'store');
    const expectedGood = written.filter((f) => !f.fault);
    assert.equal(report.files.total, 40);
    assert.equal(report.files.copied, expectedGood.length);
    assert.equal(report.files.byMode.direct_sync.copied, expectedGood.length);
    assert.equal(report.files.byOutcome.checksum_mismatch, 4);
    assert.equal(report.files.byOutcome.missing_checksum, 4);
    assert.equal(report.files.notPublished, 4);
    assert.equal(report.ok, false);
    assert.ok(report.s3Requests > 0);
    assert.equal(report.peakLocalDiskBytes, 0, 'direct sync must not stage files on local disk');
    assert.equal(
      report.files.byProofMethod['store-sha256'],
      expectedGood.length,
      "every good copy was proven by the store's own SHA-256",
    );
    // Only the 4 mismatching copies are read back (to be put aside after a second look); the good ones never.
    const mismatchBytes = written.filter((f) => f.fault === 'checksumMismatch').reduce((n, f) => n + f.size, 0);
    assert.ok(report.bytes.throughWorker <= mismatchBytes, `${report.bytes.throughWorker} bytes through the worker`);

    for (const f of expectedGood) {
      assert.equal(await sha256Of(buckets.destination, `bronze/${f.key}`), f.sha256, f.key);
      assert.ok(
        await exists(buckets.destination, `bronze/${checksumKey(f.key)}`),
        `verified ${f.key} has its .CHECKSUM`,
      );
    }
    for (const f of written.filter((x) => x.fault === 'checksumMismatch')) {
      assert.equal(
        await exists(buckets.destination, `bronze/${f.key}`),
        false,
        'a mismatching zip is not left in place',
      );
      assert.ok(await exists(buckets.destination, quarantineKey('bronze/', f.key)), 'it is quarantined');
    }
    for (const f of written.filter((x) => x.fault === 'missingChecksum')) {
      assert.equal(await exists(buckets.destination, `bronze/${f.key}`), false, 'an unverifiable zip is not copied');
    }

    const manifest = await readManifest(report.manifest.bucket, report.manifest.key);
    assert.equal(manifest.length, 40);
    for (const e of manifest.filter((m) => m.outcome === 'copied')) {
      assert.equal(e.mode, 'direct_sync');
      assert.equal(e.sha256, written.find((f) => f.key === e.key)!.sha256);
      assert.ok(e.attempts >= 1);
    }
    const bad = manifest.find((m) => m.outcome === 'checksum_mismatch')!;
    assert.match(bad.error!, /does not match \.CHECKSUM/);
    assert.ok(await exists(report.manifest.bucket, report.reportKey));

    // Keep a real history for the replay test.
    const client = await testClient();
    const history = await client.workflow.getHandle(handle.workflowId).fetchHistory();
    recordHistory('direct-sync', history);
    recordHistory('direct-sync-shard', await firstShardHistory(handle));
  });

  it('a rerun copies nothing already present and identical, nor bytes already put aside for an unchanged source', async () => {
    const before = await listKeys(buckets.destination, 'bronze/data/');
    const putAside = () => listWrites(buckets.destination, 'bronze/_quarantine/');
    const aside = await putAside();
    assert.equal(aside.length, 4);
    const { report } = await collect(w, {
      ...request,
      destination: { bucket: buckets.destination, prefix: 'bronze/' },
    });
    assert.equal(report.files.copied, 0);
    assert.equal(report.bytes.copied, 0);
    assert.equal(report.files.byOutcome.checksum_mismatch, 4, 'the mismatches are still reported');
    assert.equal(report.files.quarantined, 4, 'they still wait in the quarantine');
    assert.match(report.verdict, /4 put aside in the quarantine/);
    assert.deepEqual(await putAside(), aside, 'not copied and put aside again');
    const manifest = await readManifest(report.manifest.bucket, report.manifest.key);
    for (const e of manifest.filter((m) => m.outcome === 'checksum_mismatch')) {
      assert.match(e.error!, /put aside at .* by an earlier run .* not copied again/);
      assert.ok((e.evidence as { quarantinedEarlier?: string }).quarantinedEarlier);
    }
    assert.equal(report.files.skipped, written.filter((f) => !f.fault).length);
    assert.deepEqual(await listKeys(buckets.destination, 'bronze/data/'), before);
  });

  it('re-copies a source file that changed (a Binance re-upload)', async () => {
    const changed = await mirror(buckets.source, {
      ...request,
      symbols: ['ETHUSDT'],
      intervals: ['1h'],
      startDate: '2025-03-01',
      endDate: '2025-03-02',
      revision: 1,
    });
    const { report } = await collect(w, {
      ...request,
      destination: { bucket: buckets.destination, prefix: 'bronze/' },
    });
    assert.equal(report.files.copied, 2, 'only the two changed files are copied');
    assert.equal(report.files.byOutcome.checksum_mismatch, 4);
    for (const f of changed) assert.equal(await sha256Of(buckets.destination, `bronze/${f.key}`), f.sha256);
  });

  it('continues as new every batchesPerRun batches and still reports every file', async () => {
    const { report, handle } = await collect(w, {
      ...request,
      batchSize: 4,
      batchesPerRun: 2,
      destination: { bucket: buckets.destination, prefix: 'can/' },
    });
    // The shard's first run, which ends by continuing as new (a replay fixture).
    recordHistory('continue-as-new-shard', await firstShardHistory(handle));
    assert.equal(
      report.workflowRuns,
      1 + 4,
      'the collection, and its one shard: 32 planned files in 4-file batches, 8 batches, 2 a run',
    );
    assert.equal(report.files.total, 40);
    assert.equal(report.files.copied, written.filter((f) => !f.fault).length);
    const manifest = await readManifest(report.manifest.bucket, report.manifest.key);
    assert.equal(new Set(manifest.map((e) => e.key)).size, 40);
    // The shard's last run counted on from what its earlier runs carried: its progress adds up to the report.
    const [shardId] = (await handle.fetchHistory()).events!.flatMap((e) =>
      e.childWorkflowExecutionCompletedEventAttributes
        ? [e.childWorkflowExecutionCompletedEventAttributes.workflowExecution!.workflowId!]
        : [],
    );
    const { files } = await handle.client.getHandle(shardId).query(progressQuery);
    assert.deepEqual(
      [files.copied, files.skipped, files.failed, files.notPublished],
      [report.files.copied, report.files.skipped, report.files.failed, report.files.notPublished],
    );
  });

  it('cuts a collection into shards (child workflows) and joins their manifests in key order', async () => {
    const { report, handle } = await collect(w, {
      ...request,
      filesPerShard: 10,
      parallelShards: 3,
      destination: { bucket: buckets.destination, prefix: 'shards/' },
    });
    // 4 series of 10 days: one series per shard.
    assert.equal(report.discovery.series, 4);
    assert.equal(report.shards.total, 4);
    assert.equal(report.shards.failed, 0);
    assert.equal(report.files.total, 40);
    const manifest = await readManifest(report.manifest.bucket, report.manifest.key);
    const keys = manifest.map((e) => e.key);
    assert.deepEqual(keys, [...keys].sort(), 'one manifest, in key order');
    assert.equal(new Set(keys).size, 40);
    const children: string[] = [];
    for (const ev of (await handle.fetchHistory()).events ?? []) {
      if (ev.childWorkflowExecutionCompletedEventAttributes)
        children.push(ev.childWorkflowExecutionCompletedEventAttributes.workflowExecution!.workflowId!);
    }
    assert.equal(children.length, 4, 'one completed child workflow per shard');
    assert.ok(
      children.every((id) => id.startsWith(`${handle.workflowId}/`)),
      children.join(', '),
    );
    // Progress, the client's view and the shards' own running counts (listing, then batch by batch), shows
    // what the report, counted from the manifest, shows.
    const shown = (p: { files: { copied: number; skipped: number; failed: number; notPublished: number } }) => [
      p.files.copied,
      p.files.skipped,
      p.files.failed,
      p.files.notPublished,
    ];
    const reported = [report.files.copied, report.files.skipped, report.files.failed, report.files.notPublished];
    assert.deepEqual(shown(await collectionProgress(handle)), reported);
    const perShard = await Promise.all(children.map((id) => handle.client.getHandle(id).query(progressQuery)));
    assert.deepEqual(
      perShard.map(shown).reduce((a, b) => a.map((x, i) => x + b[i])),
      reported,
      'the shards add up to the report',
    );
    // The coverage table, read as CSV: one row per series, each complete but for the planted faults.
    const csv = (await readText(report.manifest.bucket, report.coverage.keys.csv)).trim().split('\n');
    assert.equal(csv.length, 1 + 4);
    assert.equal(report.coverage.series, 4);
  });

  it('starting the same collection while it runs joins the running one', async () => {
    const client = await testClient();
    const input = { ...request, destination: { bucket: buckets.destination, prefix: 'join/' } };
    const [a, b] = await Promise.all([
      startCollection(client, input, { taskQueue: w.config.temporal.taskQueue }),
      startCollection(client, input, { taskQueue: w.config.temporal.taskQueue }),
    ]);
    assert.equal(a.handle.workflowId, b.handle.workflowId);
    assert.match(
      a.handle.workflowId,
      /^collect-spot-klines-1h\+1m-BTCUSDT\+ETHUSDT-daily-2025-03-01\.\.2025-03-10-to-/,
    );
    assert.equal(a.handle.firstExecutionRunId, b.handle.firstExecutionRunId);
    assert.deepEqual(
      [a.joined, b.joined].sort(),
      [false, true],
      'exactly one start began the run; the other says it joined',
    );
    await a.handle.result();
  });
});

describe('files above DIRECT_COPY_MAX_BYTES', () => {
  it('are copied server-side in parts by the worker (never through it) and proven by streaming', async () => {
    const buckets = await freshBuckets('large');
    const request = { symbols: ['BIGUSDT'], intervals: ['1s'], startDate: '2025-01-01', endDate: '2025-01-03' };
    const written = await mirror(buckets.source, { ...request, targetBytes: 7 * 1024 * 1024, compressionLevel: 0 });
    assert.ok(written.every((f) => f.size > 6 * 1024 * 1024));
    const w = await startWorker({ SOURCE_BUCKET: buckets.source, DIRECT_COPY_MAX_BYTES: String(6 * 1024 * 1024) });
    try {
      const { report } = await collect(w, { ...request, destination: { bucket: buckets.destination, prefix: '' } });
      assert.equal(report.ok, true, report.verdict);
      assert.equal(report.decision.mode, 'direct_sync');
      assert.equal(report.files.byProofMethod.streamed, 3, JSON.stringify(report.files.byProofMethod));
      assert.equal(report.peakLocalDiskBytes, 0);
      const listed = await listKeys(buckets.destination, 'data/');
      assert.equal(listed.filter((k) => k.endsWith('.zip')).length, 3);
      for (const f of written) {
        assert.equal(await sha256Of(buckets.destination, f.key), f.sha256);
        const head = await s3.send(new HeadObjectCommand({ Bucket: buckets.destination, Key: f.key }));
        assert.match(head.ETag!, /-2"$/, 'copied in two parts (5 MiB and the rest)');
      }
    } finally {
      await w.stop();
    }
  });
});
