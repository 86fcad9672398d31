import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandSeries, parseCollectionRequest, resolvePeriods, summarize } from '../../workflows/request';
import { BAD_REQUESTS } from '../helpers/bad-requests';

function problems(input: unknown): string[] {
  const r = parseCollectionRequest(input);
  assert.equal(r.ok, false, `expected ${JSON.stringify(input)} to be rejected`);
  return r.ok ? [] : r.problems;
}

function assertRejects(input: unknown, field: string, fix: RegExp) {
  const p = problems(input);
  assert.ok(
    p.some((line) => line.startsWith(`${field}:`) && fix.test(line)),
    `no problem for ${field} matching ${fix} in:\n${p.join('\n')}`,
  );
}

describe('collection request', () => {
  it('accepts {} and undefined with documented defaults', () => {
    for (const input of [{}, undefined, null]) {
      const r = parseCollectionRequest(input);
      assert.ok(r.ok);
      assert.deepEqual(r.request.markets, ['spot']);
      assert.deepEqual(r.request.dataTypes, ['klines']);
      assert.deepEqual(r.request.symbols, ['BTCUSDT']);
      assert.equal(r.request.mode, 'auto');
      assert.equal(r.request.verification, 'checksum');
      assert.equal(r.request.granularity, 'daily');
    }
  });

  it('upper-cases symbols and asks for each value once', () => {
    const r = parseCollectionRequest({
      symbols: ['btcusdt', 'BTCUSDT', ' ethusdt '],
      intervals: ['1m', '1m'],
      dataTypes: ['klines', 'klines'],
    });
    assert.ok(r.ok);
    assert.deepEqual(r.request.symbols, ['BTCUSDT', 'ETHUSDT']);
    assert.deepEqual(r.request.intervals, ['1m']);
    assert.deepEqual(r.request.dataTypes, ['klines']);
  });

  it('accepts symbols as the archive names them, of any script', () => {
    const r = parseCollectionRequest({
      symbols: ['币安人生USDT', 'BTCUSD_PERP', '1000BONKUSDT', 'BTC-240329-60000-C'],
    });
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.request.symbols, ['币安人生USDT', 'BTCUSD_PERP', '1000BONKUSDT', 'BTC-240329-60000-C']);
  });

  for (const [name, input, field, fix] of BAD_REQUESTS) {
    it(`rejects ${name} naming ${field}`, () => assertRejects(input, field, fix));
  }

  it('reports every problem at once', () => {
    const p = problems({ markets: ['x'], mode: 'y', batchSize: -1 });
    assert.ok(p.length >= 3, p.join('\n'));
  });
});

describe('date ranges', () => {
  const asOf = new Date('2025-07-18T05:00:00Z');
  const req = (x: object) => {
    const r = parseCollectionRequest(x);
    assert.ok(r.ok, JSON.stringify(r));
    return r.request;
  };

  it('lastDays ends yesterday', () => {
    const r = resolvePeriods(req({ lastDays: 3 }), asOf);
    assert.deepEqual(r.periods, ['2025-07-15', '2025-07-16', '2025-07-17']);
  });

  it('default is the last 7 days', () => {
    assert.equal(resolvePeriods(req({}), asOf).periods.length, 7);
  });

  it('lastMonths monthly is the previous complete months', () => {
    const r = resolvePeriods(req({ granularity: 'monthly', lastMonths: 2 }), asOf);
    assert.deepEqual(r.periods, ['2025-05', '2025-06']);
  });

  it('lastMonths across a year boundary', () => {
    const r = resolvePeriods(req({ granularity: 'monthly', lastMonths: 1 }), new Date('2026-01-03T00:00:00Z'));
    assert.deepEqual(r.periods, ['2025-12']);
  });

  it('absolute range is inclusive', () => {
    const r = resolvePeriods(req({ startDate: '2024-02-27', endDate: '2024-03-01' }), asOf);
    assert.deepEqual(r.periods, ['2024-02-27', '2024-02-28', '2024-02-29', '2024-03-01']);
  });

  it('monthly absolute range accepts days and months', () => {
    const r = resolvePeriods(req({ granularity: 'monthly', startDate: '2024-11-15', endDate: '2025-01' }), asOf);
    assert.deepEqual(r.periods, ['2024-11', '2024-12', '2025-01']);
  });

  it('expands series and summarizes', () => {
    const r = req({
      markets: ['spot', 'futures/um'],
      dataTypes: ['klines', 'aggTrades'],
      symbols: ['BTCUSDT'],
      intervals: ['1m', '1h'],
      lastDays: 1,
    });
    const series = expandSeries(r);
    assert.equal(series.length, 2 * (2 + 1));
    assert.ok(series.every((s) => (s.dataType === 'klines') === (s.interval !== undefined)));
    assert.match(
      summarize(r, resolvePeriods(r, asOf)),
      /spot,futures\/um klines,aggTrades 1m,1h BTCUSDT daily 2025-07-17\.\.2025-07-17/,
    );
  });
});
