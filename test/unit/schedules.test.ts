import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PRESETS } from '../../client/schedules';
import { parseCollectionRequest, resolvePeriods } from '../../workflows/request';

const periodsAt = (request: object, asOf: Date) => {
  const r = parseCollectionRequest(request);
  assert.ok(r.ok);
  return resolvePeriods(r.request, asOf).periods;
};

/** Binance publishes a month's files on the first Monday of the next month (its README). */
function firstMonday(year: number, month0: number): Date {
  const d = new Date(Date.UTC(year, month0, 1));
  while (d.getUTCDay() !== 1) d.setUTCDate(d.getUTCDate() + 1);
  return d;
}

describe('schedule presets', () => {
  it('monthly: every month from 2017 to 2040 is collected after it is published, by two runs', () => {
    const cal = PRESETS.monthly.spec.calendars[0];
    for (let year = 2017; year <= 2040; year++) {
      for (let month0 = 0; month0 < 12; month0++) {
        const month = `${year}-${String(month0 + 1).padStart(2, '0')}`;
        const runs = [1, 2].map(
          (ahead) => new Date(Date.UTC(year, month0 + ahead, cal.dayOfMonth, cal.hour, cal.minute)),
        );
        const publishedAt = firstMonday(year, month0 + 1);
        assert.ok(
          runs[0] > publishedAt,
          `${month}: the first run (${runs[0].toISOString()}) comes after publication (${publishedAt.toISOString()})`,
        );
        for (const run of runs)
          assert.ok(
            periodsAt(PRESETS.monthly.request, run).includes(month),
            `${month} collected by the run of ${run.toISOString()}`,
          );
      }
    }
  });

  it('daily: every day is looked at by three runs, from the day after', () => {
    const cal = PRESETS.daily.spec.calendars[0];
    for (let t = Date.UTC(2024, 0, 1); t < Date.UTC(2025, 0, 1); t += 864e5) {
      const day = new Date(t).toISOString().slice(0, 10);
      const covering = [1, 2, 3, 4]
        .map((n) => new Date(t + n * 864e5 + (cal.hour * 60 + cal.minute) * 6e4))
        .filter((run) => periodsAt(PRESETS.daily.request, run).includes(day));
      assert.equal(covering.length, 3, day);
    }
  });
});
