/**
 * Whole markets (issue 8): symbols, data types and intervals discovered from the archive's own
 * listing ("*", patterns), dates "all" per series, the coverage table, the dry run (plan) and the
 * audit of a destination filled by another tool — each checked against an independent reader of
 * the source and the destination (plain S3 listings and hashes), not against the product's report.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { CopyObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { InvalidRequestError, collectionWorkflowId, startCollection } from '../../client/collection';
import { createSchedule } from '../../client/schedules';
import { startLatencyProxy } from '../../scripts/latency-proxy';
import { addDays, formatDay, startOfUtcDay } from '../../workflows/dates';
import type { CollectionReport } from '../../workflows/types';
import { assertTrustInvariant, hashDestination, listAll } from '../helpers/independent-check';
import { pendingActivities } from '../helpers/history';
import {
  collect,
  freshBuckets,
  minioEndpoint,
  mirror,
  readManifest,
  readText,
  s3,
  stack,
  startWorker,
  testClient,
  uniqueName,
  type TestWorker,
} from '../helpers/stack';
import { spawnWorker } from '../helpers/worker-process';

/** Every object under a prefix, by the independent reader. */
const listObjects = (bucket: string, prefix: string) => listAll(s3, bucket, prefix);

const zips = (objects: { key: string; size: number }[]) => objects.filter((o) => o.key.endsWith('.zip'));

async function failureOf(p: Promise<unknown>): Promise<{ type?: string; message: string }> {
  const err = await p.then(
    () => undefined,
    (e) => e,
  );
  assert.ok(err instanceof WorkflowFailedError, `the run failed: ${err}`);
  return { type: (err.cause as { type?: string }).type, message: err.cause?.message ?? '' };
}

describe('whole markets: discovery, natural date ranges, coverage, plan and audit', () => {
  let w: TestWorker;
  let buckets: { source: string; destination: string };
  const PLANTED = 'ZPLANTEDUSDT'; // named in no list the product carries: only the source's listing has it

  before(async () => {
    buckets = await freshBuckets('markets');
    await mirror(buckets.source, {
      symbols: ['BTCUSDT'],
      startDate: '2025-05-01',
      endDate: '2025-05-10',
      faults: { missing: ['2025-05-04'] },
    });
    await mirror(buckets.source, { symbols: ['ETHUSDT'], startDate: '2025-05-01', endDate: '2025-05-10' });
    // Listed late: "all" must start it at its first file, not report 2017..2025-05-06 as not published.
    await mirror(buckets.source, { symbols: ['LATEUSDT'], startDate: '2025-05-07', endDate: '2025-05-10' });
    await mirror(buckets.source, { symbols: [PLANTED], startDate: '2025-05-02', endDate: '2025-05-04' });
    await mirror(buckets.source, {
      symbols: ['BTCUSDT'],
      dataTypes: ['aggTrades'],
      startDate: '2025-05-01',
      endDate: '2025-05-03',
    });
    w = await startWorker({ SOURCE_BUCKET: buckets.source });
  });
  after(async () => w?.stop());

  it('symbols "*" with dates "all" collects every symbol the archive lists (a planted one too), each over its own span, with a coverage table', async () => {
    const prefix = 'all/';
    const { report } = await collect(w, {
      symbols: '*',
      dates: 'all',
      filesPerShard: 12,
      destination: { bucket: buckets.destination, prefix },
    });
    assert.equal(report.discovery.discovered, true);
    assert.equal(
      report.decision.mode,
      'direct_sync',
      'patterns do not stop auto from trying (and choosing) direct sync',
    );
    assert.deepEqual(report.discovery.symbolSample, ['BTCUSDT', 'ETHUSDT', 'LATEUSDT', PLANTED]);
    assert.ok(report.discovery.listings >= 1);
    assert.ok(report.shards.total >= 2, `several shards: ${report.shards.total}`);

    // Independent: every zip of the source's klines, hashed in the destination.
    const source = zips(await listObjects(buckets.source, 'data/spot/daily/klines/'));
    const sourceHashes = await hashDestination(s3, buckets.source, '');
    const dest = await hashDestination(s3, buckets.destination, prefix);
    assert.equal(source.length, 9 + 10 + 4 + 3);
    assert.deepEqual(
      [...dest.keys()].sort(),
      source.map((o) => o.key).sort(),
      'exactly the source klines, the planted symbol included',
    );
    for (const [key, sha] of dest) assert.equal(sha, sourceHashes.get(key), key);
    const trust = await assertTrustInvariant(s3, buckets.destination, prefix, buckets.source);
    assert.equal(trust.proven.size, source.length);

    // Natural ranges: only the gap inside BTCUSDT's span is not published; LATEUSDT starts at its first file.
    assert.equal(report.files.notPublished, 1, JSON.stringify(report.files.byOutcome));
    assert.equal(report.ok, true, report.verdict);
    const csv = (await readText(buckets.destination, report.coverage.keys.csv)).trim().split('\n');
    const header = csv[0].split(',');
    const rows = csv.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [header[i], v])));
    assert.equal(rows.length, 4);
    const bySymbol = Object.fromEntries(rows.map((r) => [r.symbol, r]));
    assert.deepEqual(
      [bySymbol.BTCUSDT.first, bySymbol.BTCUSDT.last, bySymbol.BTCUSDT.archiveGaps, bySymbol.BTCUSDT.archiveGapRanges],
      ['2025-05-01', '2025-05-10', '1', '2025-05-04'],
    );
    assert.deepEqual(
      [bySymbol.LATEUSDT.first, bySymbol.LATEUSDT.published, bySymbol.LATEUSDT.status],
      ['2025-05-07', '4', 'complete'],
    );
    assert.equal(bySymbol[PLANTED].verified, '3');
    const schema = JSON.parse(await readText(buckets.destination, report.coverage.keys.schema));
    assert.deepEqual(
      schema.fields.map((f: { name: string }) => f.name),
      header,
      'the schema describes the CSV',
    );
    const json = JSON.parse(await readText(buckets.destination, report.coverage.keys.json));
    assert.equal(json.length, 4);
    assert.equal(report.coverage.withArchiveGaps, 1);
    assert.ok(report.coverage.rows.every((r) => r.timeline.length > 0));

    // A rerun copies nothing.
    const again = await collect(w, {
      symbols: '*',
      dates: 'all',
      filesPerShard: 12,
      destination: { bucket: buckets.destination, prefix },
    });
    assert.equal(again.report.files.copied, 0);
    assert.equal(again.report.files.skipped, source.length);
  });

  it('plan (dry run) with "*" for data types, symbols and intervals: its counts match an independent listing, and it writes no data', async () => {
    const prefix = 'plan/';
    // One file already there and proven, from an earlier collect of one day.
    await collect(w, {
      symbols: ['ETHUSDT'],
      startDate: '2025-05-01',
      endDate: '2025-05-01',
      destination: { bucket: buckets.destination, prefix },
    });
    const before = await listObjects(buckets.destination, `${prefix}data/`);
    const { report } = await collect(w, {
      action: 'plan',
      dataTypes: '*',
      symbols: '*',
      intervals: '*',
      dates: 'all',
      destination: { bucket: buckets.destination, prefix },
    });
    assert.deepEqual(report.discovery.dataTypes, ['aggTrades', 'klines']);
    assert.deepEqual(report.discovery.intervals, ['1d']);
    const source = zips(await listObjects(buckets.source, 'data/spot/daily/'));
    const p = report.plan!;
    assert.ok(p, 'the report holds the plan');
    assert.equal(p.files, source.length);
    assert.equal(
      p.bytes,
      source.reduce((n, o) => n + o.size, 0),
    );
    assert.equal(p.alreadyPresent, 1);
    assert.equal(p.toCopy, source.length - 1);
    assert.ok(p.requests.collectPutCopyList >= 3 * p.toCopy);
    assert.ok(p.costUsd.total > 0 && p.costUsd.requests > 0);
    assert.equal(report.files.byOutcome.pending, source.length - 1);
    assert.match(report.verdict, /^PLAN \(nothing copied\)/);
    assert.deepEqual(await listObjects(buckets.destination, `${prefix}data/`), before, 'a plan copies nothing');
    const manifest = await readManifest(report.manifest.bucket, report.manifest.key);
    assert.ok(manifest.filter((e) => e.outcome === 'pending').every((e) => e.plannedAction === 'copy'));
  });

  it('audit: proves what another tool copied, leaves wrong bytes in place and reports them, and a later collect trusts the proofs', async () => {
    const prefix = 'other-tool/';
    const source = zips(await listObjects(buckets.source, 'data/spot/daily/klines/ETHUSDT/'));
    // "Another tool" (plain S3 copies): every ETHUSDT file but one, and one with wrong bytes.
    const [wrong, absent, ...good] = source;
    for (const o of good)
      await s3.send(
        new CopyObjectCommand({
          Bucket: buckets.destination,
          Key: `${prefix}${o.key}`,
          CopySource: `${buckets.source}/${o.key}`,
        }),
      );
    await s3.send(
      new PutObjectCommand({
        Bucket: buckets.destination,
        Key: `${prefix}${wrong.key}`,
        Body: "not the archive's bytes",
      }),
    );
    const request = {
      symbols: ['ETHUSDT'],
      startDate: '2025-05-01',
      endDate: '2025-05-10',
      destination: { bucket: buckets.destination, prefix },
    };

    const { report } = await collect(w, { ...request, action: 'audit' });
    assert.equal(report.files.byOutcome.verified_in_place, good.length, JSON.stringify(report.files.byOutcome));
    assert.equal(report.files.byOutcome.checksum_mismatch, 1);
    assert.equal(report.files.byOutcome.pending, 1);
    assert.equal(report.ok, false, 'a mismatch is a finding');
    assert.match(report.verdict, /^AUDIT \(nothing copied\)/);
    const hashes = await hashDestination(s3, buckets.destination, prefix);
    assert.equal(
      hashes.get(wrong.key),
      createHash('sha256').update("not the archive's bytes").digest('hex'),
      'wrong bytes left in place',
    );
    assert.equal(hashes.has(absent.key), false, 'nothing copied');
    const trust = await assertTrustInvariant(s3, buckets.destination, prefix, buckets.source);
    assert.deepEqual([...trust.proven].sort(), good.map((o) => o.key).sort(), 'exactly the right bytes carry proof');

    const collected = await collect(w, request);
    assert.equal(collected.report.files.skipped, good.length, "the audit's proofs are trusted");
    assert.equal(collected.report.files.copied, 2, 'the absent file and the wrong one');
    const after = await assertTrustInvariant(s3, buckets.destination, prefix, buckets.source);
    assert.equal(after.proven.size, source.length);
  });

  it('refuses bad input at once, naming the field and the fix, and leaves nothing behind', async () => {
    const prefix = 'bad/';
    const dest = { bucket: buckets.destination, prefix };
    const client = await testClient();
    const start = (r: object) =>
      startCollection(client, r, { taskQueue: w.config.temporal.taskQueue }).then(({ handle }) => handle.result());

    let f = await failureOf(start({ symbols: ['BTCUSDT', 'NOPE*'], destination: dest }));
    assert.equal(f.type, 'NothingMatches');
    assert.match(f.message, /symbols\[1\]: "NOPE\*" matches no symbol/);
    f = await failureOf(start({ dataTypes: ['book*'], symbols: ['BTCUSDT'], destination: dest }));
    assert.equal(f.type, 'NothingMatches');
    assert.match(f.message, /dataTypes\[0\]: "book\*" matches no data type the archive has for spot daily/);
    f = await failureOf(
      start({
        dataTypes: ['trades'],
        symbols: ['BTCUSDT'],
        startDate: '2025-05-01',
        endDate: '2025-05-02',
        destination: dest,
      }),
    );
    assert.equal(f.type, 'SeriesNotInArchive');
    assert.match(f.message, /trades/);
    f = await failureOf(start({ symbols: '*', dates: 'all', maxFiles: 5, destination: dest }));
    assert.equal(f.type, 'CollectionTooLarge');
    assert.match(f.message, /^symbols: the request selects 4 series, .* more than maxFiles 5\. .*"maxFiles": /);
    assert.throws(
      () => collectionWorkflowId({ symbols: '*', dates: 'all', lastDays: 3 }),
      (e: Error) => e instanceof InvalidRequestError && /dates: "all" .* lastDays/.test(e.message),
    );
    assert.deepEqual(
      await listObjects(buckets.destination, prefix),
      [],
      'nothing partial: no data, no plan, no shard left',
    );
  });
});

describe('a schedule of "every symbol" picks up a symbol listed since its last run', () => {
  let w: TestWorker;
  let buckets: { source: string; destination: string };
  before(async () => {
    buckets = await freshBuckets('sched-all');
    w = await startWorker({ SOURCE_BUCKET: buckets.source });
  });
  after(async () => w?.stop());

  async function runs(client: Client, scheduleId: string, n: number): Promise<CollectionReport[]> {
    for (let i = 0; i < 120; i++) {
      const done: CollectionReport[] = [];
      for await (const x of client.workflow.list({ query: `TemporalScheduledById="${scheduleId}"` })) {
        if (x.status.name === 'COMPLETED')
          done.push((await client.workflow.getHandle(x.workflowId).result()) as CollectionReport);
      }
      if (done.length >= n) return done.sort((a, b) => a.range.asOf.localeCompare(b.range.asOf));
      await sleep(500);
    }
    throw new Error(`fewer than ${n} scheduled runs completed`);
  }

  it('the second triggered run collects the new symbol, without anyone editing the schedule', async () => {
    const client = await testClient();
    const yesterday = formatDay(addDays(startOfUtcDay(new Date()), -1));
    await mirror(buckets.source, { symbols: ['OLDUSDT'], startDate: yesterday, endDate: yesterday });
    const scheduleId = uniqueName('every-symbol');
    const handle = await createSchedule(client, {
      scheduleId,
      taskQueue: w.config.temporal.taskQueue,
      preset: 'daily',
      paused: true,
      request: { symbols: '*', lastDays: 1, destination: { bucket: buckets.destination, prefix: 'sched/' } },
    });
    try {
      await handle.trigger();
      const [first] = await runs(client, scheduleId, 1);
      assert.deepEqual(first.discovery.symbolSample, ['OLDUSDT']);
      await mirror(buckets.source, { symbols: ['NEWUSDT'], startDate: yesterday, endDate: yesterday });
      await handle.trigger();
      const second = (await runs(client, scheduleId, 2))[1];
      assert.deepEqual(second.discovery.symbolSample, ['NEWUSDT', 'OLDUSDT']);
      assert.equal(second.files.copied, 1);
      assert.equal(second.files.skipped, 1);
      const dest = await hashDestination(s3, buckets.destination, 'sched/');
      assert.ok(
        [...dest.keys()].some((k) => k.includes('/NEWUSDT/')),
        'the new symbol is in the destination',
      );
    } finally {
      await handle.delete();
    }
  });

  it('a scheduled plan of a symbol pattern over all dates says what a collection would copy', async () => {
    const client = await testClient();
    const scheduleId = uniqueName('plan-pattern');
    const handle = await createSchedule(client, {
      scheduleId,
      taskQueue: w.config.temporal.taskQueue,
      preset: 'daily',
      paused: true,
      request: {
        symbols: ['NEW*', 'OLD*'],
        dates: 'all',
        action: 'plan',
        destination: { bucket: buckets.destination, prefix: 'sched-plan/' },
      },
    });
    try {
      await handle.trigger();
      const [report] = await runs(client, scheduleId, 1);
      assert.equal(report.action, 'plan');
      assert.deepEqual(report.discovery.symbolSample, ['NEWUSDT', 'OLDUSDT']);
      const source = zips(await listObjects(buckets.source, 'data/spot/daily/klines/'));
      assert.deepEqual([report.plan?.files, report.plan?.toCopy], [source.length, source.length]);
      assert.deepEqual(await listObjects(buckets.destination, 'sched-plan/data/'), []);
    } finally {
      await handle.delete();
    }
  });
});

describe('a listing killed part way resumes from its last checkpoint', () => {
  it('SIGKILL of the worker (by PID) while it lists: the retry goes on from the heartbeat checkpoint, and no file is lost or listed twice', async () => {
    const buckets = await freshBuckets('resume');
    const symbols = Array.from({ length: 64 }, (_, i) => `RS${String(i).padStart(2, '0')}USDT`);
    await mirror(buckets.source, { symbols, startDate: '2025-06-01', endDate: '2025-06-08' });
    // Both sides through a proxy that adds latency, so the listing takes long enough to be killed in the middle, and
    // its plan objects are still being written (a few at once) while it lists on.
    const proxy = await startLatencyProxy(minioEndpoint(stack), 150);
    const env = { SOURCE_BUCKET: buckets.source, SOURCE_ENDPOINT: proxy.endpoint, DEST_ENDPOINT: proxy.endpoint };
    const first = await spawnWorker(env);
    let second: Awaited<ReturnType<typeof spawnWorker>> | undefined;
    try {
      const client = await testClient();
      const { handle } = await startCollection(
        client,
        {
          action: 'plan',
          symbols,
          startDate: '2025-06-01',
          endDate: '2025-06-08',
          batchSize: 16,
          heartbeatTimeoutSeconds: 2,
          destination: { bucket: buckets.destination, prefix: '' },
        },
        { taskQueue: first.taskQueue },
      );
      // Wait for a checkpoint past the first series to reach the server, then kill the worker that holds the listing.
      const checkpoint = await (async () => {
        for (let i = 0; i < 600; i++) {
          const listing = (await pendingActivities(handle)).find((a) => a.activityType?.name === 'listShard');
          const details = listing?.heartbeatDetails?.payloads?.[0]?.data;
          if (details) {
            const c = JSON.parse(Buffer.from(details).toString('utf8'));
            if (c.series > 0 && c.series < symbols.length) return c;
          }
          await sleep(20);
        }
        throw new Error('no listing checkpoint seen');
      })();
      first.child.kill('SIGKILL');
      await first.exited;
      second = await spawnWorker({ ...env, TEMPORAL_TASK_QUEUE: first.taskQueue });
      const report = (await handle.result()) as CollectionReport;
      assert.equal(report.shards.resumedListings, 1, 'the listing resumed from a checkpoint');
      assert.ok(checkpoint.series > 0);
      const source = zips(await listObjects(buckets.source, 'data/'));
      assert.equal(report.plan!.toCopy, source.length, 'every file once');
      const manifest = await readManifest(report.manifest.bucket, report.manifest.key);
      const keys = manifest.map((e) => e.key);
      assert.equal(new Set(keys).size, keys.length, 'no file listed twice');
      assert.deepEqual(keys.sort(), source.map((o) => o.key).sort(), 'no file lost');
    } finally {
      if (first.child.exitCode === null && first.child.signalCode === null) first.child.kill('SIGKILL');
      if (second) {
        second.child.kill('SIGTERM');
        await second.exited;
      }
      await proxy.stop();
    }
  });
});
