import assert from 'node:assert/strict';
import {
  DeleteBucketLifecycleCommand,
  GetBucketLifecycleConfigurationCommand,
  PutBucketLifecycleConfigurationCommand,
} from '@aws-sdk/client-s3';
import { execa } from 'execa';
import { after, before, describe, it } from 'node:test';
import { collectionWorkflowId } from '../../client/collection';
import type { CollectionReport } from '../../workflows/types';
import { runCli } from '../helpers/cli';
import { STORE_FEATURES, unlessStoreHas } from '../helpers/store';
import {
  freshBuckets,
  listKeys,
  mirror,
  s3,
  startWorker,
  stack,
  testClient,
  uniqueName,
  type TestWorker,
} from '../helpers/stack';

describe('the command-line client', () => {
  let w: TestWorker;
  let buckets: { source: string; destination: string };
  const flags = ['--symbols', 'ATOMUSDT', '--intervals', '1d', '--start', '2025-05-01', '--end', '2025-05-03'];

  before(async () => {
    buckets = await freshBuckets('cli');
    await mirror(buckets.source, {
      symbols: ['ATOMUSDT'],
      intervals: ['1d'],
      startDate: '2025-05-01',
      endDate: '2025-05-03',
    });
    w = await startWorker({ SOURCE_BUCKET: buckets.source });
  });
  after(async () => w?.stop());

  const cli = (...args: string[]) => runCli(w.config.temporal.taskQueue, ...args);

  it('has --help on every command', async () => {
    for (const cmd of [
      [],
      ['collect'],
      ['plan'],
      ['probe'],
      ['audit'],
      ['coverage'],
      ['status'],
      ['cancel'],
      ['list'],
      ['schedule'],
      ...['create', 'list', 'describe', 'update', 'trigger', 'pause', 'unpause', 'backfill', 'delete'].map((c) => [
        'schedule',
        c,
      ]),
      ['quarantine'],
      ['quarantine', 'list'],
      ['quarantine', 'accept'],
      ['quarantine', 'discard'],
    ]) {
      const r = await cli(...cmd, '--help');
      assert.equal(r.code, 0, `${cmd.join(' ')} --help`);
      assert.match(r.out, /Usage:/);
    }
  });

  it('probe shows what the store honours, found by trying, and the mode and proof a collection would get, copying nothing', async () => {
    const r = await cli('probe', ...flags, '--bucket', buckets.destination, '--prefix', 'probe/');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^mode {9}direct_sync: /m);
    assert.match(r.out, /^proof {8}the store's own SHA-256 of each copy/m);
    // As each store was found by hand (test/helpers/store.ts): the pinned MinIO ignores If-Match on DELETE;
    // moto ignores copy-source conditions and PUT checksums; versitygw honours all of them.
    const has = STORE_FEATURES[stack.store];
    const mark = (f: boolean) => (f ? '✓' : '✗');
    const del = mark(has.conditionalDelete);
    assert.match(
      r.out,
      new RegExp(
        `SHA-256 of a copy ✓, conditional copy ${mark(has.conditionalCopy)}, conditional PUT ✓, conditional DELETE ${del}, PUT checksum checked ${mark(has.putChecksum)}, copy if absent ${mark(has.copyIfAbsent)}`,
      ),
    );
    assert.match(
      r.out,
      del === '✓'
        ? /✓ DELETE If-Match naming another ETag: refused/
        : /✗ DELETE If-Match naming another ETag: deleted: the store ignores it/,
    );
    const left = await listKeys(buckets.destination, 'probe/');
    assert.ok(
      left.every((k) => !k.includes('.guard-probe-') && !k.includes('.copy-probe-') && !k.startsWith('probe/data/')),
      left.join(', '),
    );
  });

  it('collect --wait --json prints the report and exits 0; status and list find it', async () => {
    const r = await cli('collect', ...flags, '--bucket', buckets.destination, '--prefix', 'cli/', '--wait', '--json');
    assert.equal(r.code, 0, r.err);
    const report = JSON.parse(r.out.trim().split('\n').pop()!) as CollectionReport;
    assert.equal(report.files.copied, 3);
    const id = collectionWorkflowId({
      symbols: ['ATOMUSDT'],
      intervals: ['1d'],
      startDate: '2025-05-01',
      endDate: '2025-05-03',
      destination: { bucket: buckets.destination, prefix: 'cli/' },
    });
    assert.match(id, /^collect-spot-klines-1d-ATOMUSDT-daily-2025-05-01\.\.2025-05-03-to-/);
    // The client sets the run's summary at start: the list of runs tells collections apart at a glance.
    assert.equal(await (await (await testClient()).workflow.getHandle(id).describe()).staticSummary(), report.summary);
    const status = await cli('status', id, '--json');
    assert.equal(status.code, 0, status.err);
    assert.equal(JSON.parse(status.out).report.files.copied, 3);
    const list = await cli('list', '--limit', '50');
    assert.match(list.out, new RegExp(id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  });

  it('whole markets from the client: plan, collect and coverage of every symbol ("*") over all dates, audit of what is there', async () => {
    const all = [
      '--symbols',
      '*',
      '--intervals',
      '1d',
      '--dates',
      'all',
      '--bucket',
      buckets.destination,
      '--prefix',
      'cli-all/',
    ];
    const plan = await cli('plan', ...all);
    assert.equal(plan.code, 0, plan.err);
    assert.match(plan.out, /^started plan-spot-klines-1d-\*-daily-all-to-/m);
    assert.match(
      plan.out,
      /^result +PLAN \(nothing copied\): of 3 published files, 0 are in the destination with proof and 3 would be copied/m,
    );
    assert.match(plan.out, /^to copy +3 \(/m);
    assert.match(plan.out, /^estimated cost +\$/m);
    assert.match(
      plan.out,
      /^spot klines ATOMUSDT 1d +2025-05-01 +2025-05-03 +3 +0 +0 +3 +░░░/m,
      'the coverage table shows every file missing',
    );

    const collected = await cli('collect', ...all, '--wait', '--json');
    assert.equal(collected.code, 0, collected.err);
    const report = JSON.parse(collected.out.trim().split('\n').pop()!) as CollectionReport;
    assert.deepEqual([report.files.copied, report.discovery.symbolSample], [3, ['ATOMUSDT']]);

    const coverage = await cli('coverage', ...all);
    assert.equal(coverage.code, 0, coverage.err);
    assert.match(coverage.out, /^COVERAGE +1 series: 1 complete, 0 incomplete/m);
    assert.match(coverage.out, /^spot klines ATOMUSDT 1d +2025-05-01 +2025-05-03 +3 +0 +3 +0 +███/m);

    const audit = await cli('audit', ...all);
    assert.equal(audit.code, 0, audit.err);
    assert.match(
      audit.out,
      /^result +AUDIT \(nothing copied\): 3 of 3 published files are in the destination with proof/m,
    );

    const bad = await cli('plan', '--symbols', '*', '--dates', 'all', '--last-days', '3');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /dates: "all" .* lastDays/);
  });

  it('collect --mode traditional with its derived ID (which holds "..") copies every file through the traditional path', async () => {
    const r = await cli(
      'collect',
      ...flags,
      '--mode',
      'traditional',
      '--bucket',
      buckets.destination,
      '--prefix',
      'cli-trad/',
      '--wait',
      '--json',
    );
    assert.equal(r.code, 0, r.err);
    const report = JSON.parse(r.out.trim().split('\n').pop()!) as CollectionReport;
    assert.equal(report.decision.mode, 'traditional');
    assert.equal(report.files.byMode.traditional.copied, 3, JSON.stringify(report.files));
    assert.equal(report.files.byProof.sha256, 3);
  });

  it('a second start of a running collection says it joined; a collection that differs (intervals) gets its own run', async () => {
    await mirror(buckets.source, {
      symbols: ['JOINUSDT'],
      intervals: ['1m', '1h'],
      startDate: '2025-01-01',
      endDate: '2025-02-28',
    });
    const join = [
      '--symbols',
      'JOINUSDT',
      '--start',
      '2025-01-01',
      '--end',
      '2025-02-28',
      '--bucket',
      buckets.destination,
      '--prefix',
      'join/',
      '--json',
    ];
    const [a, b, c] = await Promise.all([
      cli('collect', ...join, '--intervals', '1m'),
      cli('collect', ...join, '--intervals', '1m'),
      cli('collect', ...join, '--intervals', '1h'),
    ]);
    const [ra, rb, rc] = [a, b, c].map((r) => {
      assert.equal(r.code, 0, r.err);
      return JSON.parse(r.out) as { workflowId: string; joined: boolean };
    });
    assert.equal(ra.workflowId, rb.workflowId);
    assert.deepEqual([ra.joined, rb.joined].sort(), [false, true], 'exactly one of two identical starts began the run');
    assert.notEqual(rc.workflowId, ra.workflowId, 'another interval is another collection');
    assert.equal(rc.joined, false);
    const text = await cli('collect', ...join.filter((x) => x !== '--json'), '--intervals', '1m');
    assert.match(text.out, /^(joined the collection already running as|started) collect-spot-klines-1m-JOINUSDT/);
    const client = await testClient();
    for (const [id, interval] of [
      [ra.workflowId, '1m'],
      [rc.workflowId, '1h'],
    ]) {
      const report = (await client.workflow.getHandle(id).result()) as CollectionReport;
      assert.equal(report.files.total, 59, `${interval}: ${JSON.stringify(report.files)}`);
      assert.equal(report.ok, true, report.verdict);
      assert.deepEqual(report.request.intervals, [interval]);
    }
  });

  it(
    'retention prints lifecycle rules the store accepts, never touching data/ or _verified/',
    { skip: unlessStoreHas('lifecycle') },
    async () => {
      const aws = await cli('retention', '--prefix', 'cli/');
      assert.equal(aws.code, 0, aws.err);
      const abort = JSON.parse(aws.out).Rules.find(
        (rule: { AbortIncompleteMultipartUpload?: object }) => rule.AbortIncompleteMultipartUpload,
      );
      assert.deepEqual(abort.AbortIncompleteMultipartUpload, { DaysAfterInitiation: 7 });
      assert.deepEqual(abort.Filter, { Prefix: 'cli/' });
      // MinIO refuses AbortIncompleteMultipartUpload (it expires stale uploads itself): 0 leaves that rule out.
      const r = await cli('retention', '--prefix', 'cli/', '--quarantine-days', '30', '--incomplete-upload-days', '0');
      assert.equal(r.code, 0, r.err);
      const config = JSON.parse(r.out);
      await s3.send(
        new PutBucketLifecycleConfigurationCommand({ Bucket: buckets.destination, LifecycleConfiguration: config }),
      );
      const back = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: buckets.destination }));
      const prefixes = (back.Rules ?? []).map((rule) => rule.Filter?.Prefix);
      assert.deepEqual(prefixes.sort(), ['cli/_collections/', 'cli/_quarantine/']);
      assert.equal(back.Rules!.find((rule) => rule.Filter?.Prefix === 'cli/_quarantine/')!.Expiration!.Days, 30);
      for (const rule of back.Rules!.filter((x) => x.Expiration))
        assert.doesNotMatch(String(rule.Filter?.Prefix), /data\/|_verified\//);
      await s3.send(new DeleteBucketLifecycleCommand({ Bucket: buckets.destination }));
      const bad = await cli('retention', '--prefix', 'no-slash');
      assert.equal(bad.code, 2);
      assert.equal(bad.err.trim(), 'retention: --prefix: must be empty or end with "/", e.g. binance/');
    },
  );

  it('bad input exits 2 with the field named, before anything starts', async () => {
    const r = await cli('collect', '--symbols', 'btc/usdt', '--intervals', '1M');
    assert.equal(r.code, 2);
    assert.match(r.err, /symbols\[0\]: must be a symbol as the archive names it/);
    assert.match(r.err, /intervals\[0\]: the monthly interval is "1mo"/);
  });

  it('exits 1 when files failed, and 4 when Temporal is unreachable', async () => {
    await mirror(buckets.source, {
      symbols: ['ATOMUSDT'],
      intervals: ['1d'],
      startDate: '2025-05-04',
      endDate: '2025-05-04',
      faults: { checksumMismatch: ['2025-05-04'] },
    });
    const r = await cli(
      'collect',
      '--symbols',
      'ATOMUSDT',
      '--intervals',
      '1d',
      '--start',
      '2025-05-04',
      '--end',
      '2025-05-04',
      '--bucket',
      buckets.destination,
      '--wait',
      '--json',
    );
    assert.equal(r.code, 1, r.err);
    const unreachable = await execa(process.execPath, ['--import', 'tsx', 'client/main.ts', 'list'], {
      reject: false,
      env: { TEMPORAL_ADDRESS: '127.0.0.1:1' },
    });
    assert.equal(unreachable.exitCode, 4);
    assert.match(unreachable.stderr, /cannot reach Temporal at 127\.0\.0\.1:1/);
  });

  it('manages a schedule: create, list, describe, trigger, pause, unpause, delete', async () => {
    const id = uniqueName('cli-sched');
    assert.equal(
      (
        await cli(
          'schedule',
          'create',
          id,
          '--preset',
          'daily',
          '--symbols',
          'ATOMUSDT',
          '--intervals',
          '1d',
          '--bucket',
          buckets.destination,
        )
      ).code,
      0,
    );
    assert.match((await cli('schedule', 'list')).out, new RegExp(`${id}\\s+active`));
    const d = JSON.parse((await cli('schedule', 'describe', id)).out);
    assert.equal(d.policies.overlap, 'SKIP');
    assert.equal(d.spec.calendars[0].hour[0].start, 7);
    assert.equal((await cli('schedule', 'trigger', id)).code, 0);
    assert.equal((await cli('schedule', 'pause', id)).code, 0);
    assert.equal(JSON.parse((await cli('schedule', 'describe', id)).out).paused, true);
    assert.equal((await cli('schedule', 'unpause', id)).code, 0);
    assert.equal(JSON.parse((await cli('schedule', 'describe', id)).out).paused, false);
    assert.equal((await cli('schedule', 'create', uniqueName('x'), '--preset', 'weekly')).code, 2);
    assert.equal((await cli('schedule', 'delete', id)).code, 0);
    assert.doesNotMatch((await cli('schedule', 'list')).out, new RegExp(id));
  });
});
