import assert from 'node:assert/strict';
import { SCHEDULED_START_TIME } from '../../workflows/search-attributes';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { Client, ScheduleSpec } from '@temporalio/client';
import { backfillSchedule, createSchedule, updateScheduleRequest } from '../../client/schedules';
import { addDays, formatDay, startOfUtcDay } from '../../workflows/dates';
import type { CollectionReport } from '../../workflows/types';
import { freshBuckets, mirror, startWorker, testClient, uniqueName, type TestWorker } from '../helpers/stack';

async function completedRuns(
  client: Client,
  scheduleId: string,
  atLeast: number,
  timeoutMs = 90_000,
): Promise<{ id: string; report: CollectionReport; scheduledAt: Date }[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const runs: { id: string; report: CollectionReport; scheduledAt: Date }[] = [];
    for await (const w of client.workflow.list({ query: `TemporalScheduledById="${scheduleId}"` })) {
      if (w.status.name !== 'COMPLETED') continue;
      const scheduledAt = w.typedSearchAttributes.get(SCHEDULED_START_TIME)!;
      runs.push({
        id: w.workflowId,
        report: (await client.workflow.getHandle(w.workflowId).result()) as CollectionReport,
        scheduledAt,
      });
    }
    if (runs.length >= atLeast) return runs;
    if (Date.now() > deadline) throw new Error(`only ${runs.length} of ${atLeast} scheduled runs completed`);
    await sleep(1_000);
  }
}

describe('schedules', () => {
  let w: TestWorker;
  let buckets: { source: string; destination: string };
  const base = { symbols: ['LTCUSDT'], intervals: ['1d'] };

  before(async () => {
    buckets = await freshBuckets('sched');
    const today = startOfUtcDay(new Date());
    // Recent days for the interval schedule, and March 2025 for the backfill.
    await mirror(buckets.source, {
      ...base,
      startDate: formatDay(addDays(today, -4)),
      endDate: formatDay(addDays(today, -1)),
    });
    await mirror(buckets.source, { ...base, startDate: '2025-02-27', endDate: '2025-03-05' });
    w = await startWorker({ SOURCE_BUCKET: buckets.source });
  });
  after(async () => w?.stop());

  /** A daily-preset schedule collecting yesterday into `<label>/`, on this file's worker. */
  async function dailySchedule(client: Client, label: string, spec?: ScheduleSpec, extra: object = {}) {
    const scheduleId = uniqueName(label);
    const handle = await createSchedule(client, {
      scheduleId,
      taskQueue: w.config.temporal.taskQueue,
      preset: 'daily',
      spec,
      request: { ...base, lastDays: 1, ...extra, destination: { bucket: buckets.destination, prefix: `${label}/` } },
    });
    return { scheduleId, handle };
  }

  it('a schedule with a short interval starts real runs that complete, collecting the day before each scheduled time', async () => {
    const client = await testClient();
    const { scheduleId, handle } = await dailySchedule(client, 'every', { intervals: [{ every: '4s' }] });
    try {
      const runs = await completedRuns(client, scheduleId, 2);
      for (const r of runs) {
        assert.equal(r.report.range.last, formatDay(addDays(startOfUtcDay(r.scheduledAt), -1)));
        assert.equal(r.report.range.asOf, r.scheduledAt.toISOString(), 'dates resolve from the scheduled time');
      }
      assert.ok(
        runs.some((r) => r.report.files.copied === 1),
        'one run copied the file',
      );
      const d = await handle.describe();
      assert.equal(d.policies.overlap, 'SKIP');
      await handle.pause('test');
      assert.equal((await handle.describe()).state.paused, true);
      await updateScheduleRequest(client, scheduleId, {
        ...base,
        lastDays: 2,
        destination: { bucket: buckets.destination, prefix: 'every/' },
      });
      const action = (await handle.describe()).action as { args?: unknown[] };
      assert.equal((action.args?.[0] as { lastDays: number }).lastDays, 2);
    } finally {
      await handle.delete();
    }
  });

  it('a backfill over a date range starts one run per period, each collecting its own period (in traditional mode)', async () => {
    const client = await testClient();
    const { scheduleId, handle } = await dailySchedule(client, 'backfill', undefined, { mode: 'traditional' });
    try {
      await backfillSchedule(client, scheduleId, new Date('2025-03-01T07:00:00Z'), new Date('2025-03-04T08:00:00Z'));
      const runs = await completedRuns(client, scheduleId, 4);
      const periods = runs.map((r) => `${r.report.range.first}..${r.report.range.last}`).sort();
      assert.deepEqual(periods, [
        '2025-02-28..2025-02-28',
        '2025-03-01..2025-03-01',
        '2025-03-02..2025-03-02',
        '2025-03-03..2025-03-03',
      ]);
      assert.ok(
        runs.every(
          (r) =>
            r.report.files.copied === 1 &&
            r.report.ok &&
            r.report.decision.mode === 'traditional' &&
            r.report.files.byProof.sha256 === 1,
        ),
        JSON.stringify(runs.map((r) => r.report.verdict)),
      );
    } finally {
      await handle.delete();
    }
  });

  it('refuses absolute dates in a schedule', async () => {
    const client = await testClient();
    await assert.rejects(
      createSchedule(client, {
        scheduleId: uniqueName('abs'),
        taskQueue: 'x',
        request: { startDate: '2025-01-01', endDate: '2025-01-02' },
      }),
      /use lastDays or lastMonths/,
    );
  });
});
