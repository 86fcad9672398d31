import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { collectArchive } from '../../workflows';
import { BAD_REQUESTS } from '../helpers/bad-requests';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  collect,
  freshBuckets,
  mirror,
  s3,
  startWorker,
  testClient,
  uniqueName,
  type TestWorker,
} from '../helpers/stack';

/** What people type into the Web UI's start form: the workflow itself must reject it at once. */
const inputs: [string, unknown, RegExp][] = [
  ['a string', 'spot', /\(request\): must be a JSON object/],
  ['a number', 42, /\(request\): must be a JSON object/],
  ['unknown field', { symbol: 'BTCUSDT' }, /unknown field\(s\) "symbol"/],
  ['1M interval', { intervals: ['1M'] }, /intervals\[0\]: the monthly interval is "1mo"/],
  ['interval on trades', { dataTypes: ['trades'], intervals: ['1h'] }, /intervals: intervals apply only to klines/],
  ['impossible date', { startDate: '2025-02-29', endDate: '2025-03-01' }, /startDate: must be a real UTC date/],
  [
    'injection in symbol',
    { symbols: ["BTC';touch /tmp/x;'"] },
    /symbols\[0\]: must be a symbol as the archive names it/,
  ],
  ['traversal in prefix', { destination: { prefix: '../../etc/' } }, /destination\.prefix/],
  [
    'credentials in the request',
    { destination: { secretAccessKey: 'x' } },
    /destination: unknown field\(s\) "secretAccessKey"/,
  ],
];

describe('invalid requests fail the run at once with a readable, non-retryable error', () => {
  let w: TestWorker;
  before(async () => {
    w = await startWorker({});
  });
  after(async () => w?.stop());

  const all: [string, unknown, RegExp][] = [
    ...inputs,
    // The failure names the field, then says what is wrong: `  - field: …`.
    ...BAD_REQUESTS.map(([name, input, field, fix]): [string, unknown, RegExp] => [
      `${name} (${field})`,
      input,
      new RegExp(`- ${field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*(${fix.source})`),
    ]),
  ];
  for (const [name, input, message] of all) {
    it(name, async () => {
      const client = await testClient();
      const handle = await client.workflow.start(collectArchive, {
        taskQueue: w.config.temporal.taskQueue,
        workflowId: uniqueName('bad'),
        args: [input],
      });
      const err = await handle.result().then(
        () => undefined,
        (e) => e,
      );
      assert.ok(err instanceof WorkflowFailedError);
      assert.ok(err.cause instanceof ApplicationFailure);
      assert.equal(err.cause.type, 'InvalidCollectionRequest');
      assert.equal(err.cause.nonRetryable, true);
      assert.match(err.cause.message, message);
      const history = await handle.fetchHistory();
      const taskFailures = history.events!.filter((e) => e.workflowTaskFailedEventAttributes);
      assert.equal(taskFailures.length, 0, 'no workflow task retried forever');
      assert.ok(history.events!.length < 10);
    });
  }
});

describe("the archive's listing has the last word on which series exist", () => {
  let w: TestWorker;
  let buckets: { source: string; destination: string };
  before(async () => {
    buckets = await freshBuckets('series');
    await mirror(buckets.source, {
      symbols: ['BTCUSDT', 'ETHUSDT'],
      intervals: ['1h'],
      startDate: '2024-06-01',
      endDate: '2024-06-03',
    });
    await mirror(buckets.source, {
      markets: ['futures/um'],
      dataTypes: ['klines', 'metrics'],
      symbols: ['BTCUSDT'],
      intervals: ['1h'],
      startDate: '2024-06-01',
      endDate: '2024-06-02',
    });
    w = await startWorker({ SOURCE_BUCKET: buckets.source });
  });
  after(async () => w?.stop());

  const failure = async (request: object) => {
    const err = await collect(w, { ...request, destination: { bucket: buckets.destination, prefix: '' } }).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(err instanceof WorkflowFailedError, String(err));
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, 'SeriesNotInArchive');
    assert.equal(err.cause.nonRetryable, true);
    return err.cause.message;
  };

  it('a symbol the archive does not have fails at once, naming the closest ones', async () => {
    const message = await failure({
      symbols: ['BTCUSTD'],
      intervals: ['1h'],
      startDate: '2024-06-01',
      endDate: '2024-06-03',
    });
    assert.match(message, /the archive has no symbol BTCUSTD in klines spot daily; did you mean BTCUSDT/);
  });

  it('a data type the archive withdrew (or never had) for a market fails at once, listing what it has', async () => {
    const message = await failure({
      markets: ['futures/um'],
      dataTypes: ['bookTicker'],
      symbols: ['BTCUSDT'],
      startDate: '2024-06-01',
      endDate: '2024-06-02',
    });
    assert.match(message, /the archive has no bookTicker for futures\/um daily .*it has: klines, metrics/);
  });

  it('a data type the catalog lists for other markets is checked against the archive, not refused by a hard-coded list', async () => {
    const message = await failure({
      markets: ['futures/um'],
      dataTypes: ['liquidationSnapshot'],
      symbols: ['BTCUSDT'],
      startDate: '2024-06-01',
      endDate: '2024-06-02',
    });
    assert.match(message, /the archive has no liquidationSnapshot for futures\/um daily .*it has: klines, metrics/);
    const monthly = await failure({
      dataTypes: ['fundingRate'],
      granularity: 'monthly',
      startDate: '2024-05',
      endDate: '2024-06',
    });
    assert.match(monthly, /the archive has no fundingRate for spot monthly .*it has: nothing/);
  });

  it('an interval the symbol does not have fails at once, listing the ones it has', async () => {
    const message = await failure({
      symbols: ['ETHUSDT'],
      intervals: ['4h'],
      startDate: '2024-06-01',
      endDate: '2024-06-03',
    });
    assert.match(message, /no 4h klines for ETHUSDT \(spot daily\); it has: 1h/);
  });

  it('a series that exists but has nothing in the range is not "OK"', async () => {
    const { report } = await collect(w, {
      symbols: ['BTCUSDT'],
      intervals: ['1h'],
      startDate: '2023-01-01',
      endDate: '2023-01-03',
      destination: { bucket: buckets.destination, prefix: '' },
    });
    assert.equal(report.ok, false);
    assert.equal(report.files.notPublished, 3);
    assert.match(report.verdict, /NOTHING PUBLISHED/);
  });
});

describe('a worker with a destination allow-list (DEST_ALLOWED)', () => {
  let w: TestWorker;
  let buckets: { source: string; destination: string };
  const request = { symbols: ['ALLOWUSDT'], startDate: '2025-05-01', endDate: '2025-05-02' };
  before(async () => {
    buckets = await freshBuckets('allow');
    await mirror(buckets.source, request);
    w = await startWorker({ SOURCE_BUCKET: buckets.source, DEST_ALLOWED: `${buckets.destination}/lake/` });
  });
  after(async () => w?.stop());

  it('collects under an allowed prefix, and refuses any other destination at once, writing nothing there', async () => {
    const ok = await collect(w, { ...request, destination: { bucket: buckets.destination, prefix: 'lake/binance/' } });
    assert.equal(ok.report.files.copied, 2);
    const client = await testClient();
    for (const prefix of ['elsewhere/', 'lak/']) {
      const workflowId = uniqueName('not-allowed');
      const handle = await client.workflow.start(collectArchive, {
        taskQueue: w.config.temporal.taskQueue,
        workflowId,
        args: [{ ...request, destination: { bucket: buckets.destination, prefix } }],
      });
      const err = await handle.result().then(
        () => undefined,
        (e) => e,
      );
      assert.ok(err instanceof WorkflowFailedError);
      assert.ok(err.cause instanceof ApplicationFailure);
      assert.equal(err.cause.type, 'DestinationNotAllowed');
      assert.match(
        err.cause.message,
        new RegExp(
          `destination: s3://${buckets.destination}/${prefix} is not among .*DEST_ALLOWED: ${buckets.destination}/lake/`,
        ),
      );
      const attempts = ((await handle.fetchHistory()).events ?? []).filter(
        (e) => e.activityTaskStartedEventAttributes,
      ).length;
      assert.equal(attempts, 1, 'not retried');
    }
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: buckets.destination }));
    assert.ok(
      (listed.Contents ?? []).every((o) => o.Key!.startsWith('lake/')),
      'nothing written outside the allowed prefix',
    );
  });
});
