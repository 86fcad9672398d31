import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { collectArchive } from '../../workflows';
import { BAD_REQUESTS } from '../helpers/bad-requests';
import { startWorker, testClient, uniqueName, type TestWorker } from '../helpers/stack';

/** What people type into the Web UI's start form: the workflow itself must reject it at once. */
const inputs: [string, unknown, RegExp][] = [
  ['a string', 'spot', /\(request\): must be a JSON object/],
  ['a number', 42, /\(request\): must be a JSON object/],
  ['unknown field', { symbol: 'BTCUSDT' }, /unknown field\(s\) "symbol"/],
  ['1M interval', { intervals: ['1M'] }, /intervals\[0\]: the monthly interval is "1mo"/],
  ['interval on trades', { dataTypes: ['trades'], intervals: ['1h'] }, /intervals: intervals apply only to klines/],
  ['impossible date', { startDate: '2025-02-29', endDate: '2025-03-01' }, /startDate: must be a real UTC date/],
  ['injection in symbol', { symbols: ["BTC';touch /tmp/x;'"] }, /symbols\[0\]: must be a symbol as the archive names it/],
  ['traversal in prefix', { destination: { prefix: '../../etc/' } }, /destination\.prefix/],
  ['credentials in the request', { destination: { secretAccessKey: 'x' } }, /destination: unknown field\(s\) "secretAccessKey"/],
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
      `${name} (${field})`, input, new RegExp(`- ${field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*(${fix.source})`),
    ]),
  ];
  for (const [name, input, message] of all) {
    it(name, async () => {
      const client = await testClient();
      const handle = await client.workflow.start(collectArchive, { taskQueue: w.config.temporal.taskQueue, workflowId: uniqueName('bad'), args: [input] });
      const err = await handle.result().then(() => undefined, (e) => e);
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
