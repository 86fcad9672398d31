/**
 * Temporal Schedules for collections. Presets:
 *  - daily:   every day at 07:30 UTC, the last 3 complete days. Binance publishes a day's files
 *             hours after UTC midnight, sometimes a day or two late; each day is therefore looked
 *             at by three runs, and what is already proven is skipped for the price of a listing.
 *  - monthly: the 8th of each month at 07:30 UTC, the last 2 complete months. Binance publishes
 *             monthly files on the first Monday of the next month, which falls on the 1st to the
 *             7th: on the 8th last month is out, and the month before is looked at again for files
 *             published late, so a month is never missed by one late publication or one failed run.
 * Relative dates resolve from each run's scheduled time, so late and backfilled runs collect their own period.
 */
import { ScheduleOverlapPolicy, type Client, type ScheduleSpec } from '@temporalio/client';
import type { CollectionRequestInput } from '../workflows/request';
import { parseCollectionRequest } from '../workflows/request';
import { InvalidRequestError } from './collection';

export const PRESETS = {
  daily: {
    spec: {
      calendars: [{ hour: 7, minute: 30, comment: 'daily at 07:30 UTC, after Binance publishes the previous day' }],
    } satisfies ScheduleSpec,
    request: { granularity: 'daily', lastDays: 3 } satisfies CollectionRequestInput,
    // A run still going when the next is due: skip it; the next run's window covers the gap.
    overlap: ScheduleOverlapPolicy.SKIP,
    // Missed while the cluster was down: still run within a day.
    catchupWindow: '1 day',
  },
  monthly: {
    spec: {
      calendars: [
        {
          dayOfMonth: 8,
          hour: 7,
          minute: 30,
          comment: 'monthly on the 8th at 07:30 UTC, after the first Monday (1st-7th) when Binance publishes',
        },
      ],
    } satisfies ScheduleSpec,
    request: { granularity: 'monthly', lastMonths: 2 } satisfies CollectionRequestInput,
    overlap: ScheduleOverlapPolicy.SKIP,
    catchupWindow: '7 days',
  },
} as const;
export type PresetName = keyof typeof PRESETS;

export interface ScheduleOptions {
  scheduleId: string;
  taskQueue: string;
  preset?: PresetName;
  request?: CollectionRequestInput;
  /** Overrides the preset's timing, e.g. every 30 seconds in tests: `{ intervals: [{ every: '30s' }] }`. */
  spec?: ScheduleSpec;
  paused?: boolean;
}

function validated(request: CollectionRequestInput): CollectionRequestInput {
  if (request.startDate || request.endDate) {
    throw new InvalidRequestError([
      'startDate: a schedule collects relative dates; use lastDays or lastMonths instead of startDate/endDate',
    ]);
  }
  const parsed = parseCollectionRequest(request);
  if (!parsed.ok) throw new InvalidRequestError(parsed.problems);
  return request;
}

export async function createSchedule(client: Client, o: ScheduleOptions) {
  const preset = PRESETS[o.preset ?? 'daily'];
  // A request's own relative range replaces the preset's.
  const own = o.request ?? {};
  const range =
    own.lastDays !== undefined || own.lastMonths !== undefined || own.dates === 'all'
      ? { granularity: preset.request.granularity }
      : preset.request;
  const request = validated({ ...range, ...own });
  return client.schedule.create({
    scheduleId: o.scheduleId,
    spec: o.spec ?? preset.spec,
    action: {
      type: 'startWorkflow',
      workflowType: 'collectArchive',
      taskQueue: o.taskQueue,
      args: [request],
      workflowId: o.scheduleId,
    },
    policies: { overlap: preset.overlap, catchupWindow: preset.catchupWindow },
    state: { paused: o.paused ?? false, note: `preset ${o.preset ?? 'daily'}` },
  });
}

export async function updateScheduleRequest(client: Client, scheduleId: string, request: CollectionRequestInput) {
  const valid = validated(request);
  await client.schedule.getHandle(scheduleId).update((prev) => ({
    ...prev,
    action: { ...prev.action, args: [valid] } as typeof prev.action,
  }));
}

export async function backfillSchedule(client: Client, scheduleId: string, start: Date, end: Date) {
  // Each missed period runs in turn, each collecting the period it stands for.
  await client.schedule.getHandle(scheduleId).backfill({ start, end, overlap: ScheduleOverlapPolicy.BUFFER_ALL });
}
