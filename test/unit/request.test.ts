import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandSeries, parseCollectionRequest, resolvePeriods, summarize } from '../../workflows/request';

function problems(input: unknown): string[] {
  const r = parseCollectionRequest(input);
  assert.equal(r.ok, false, `expected ${JSON.stringify(input)} to be rejected`);
  return r.ok ? [] : r.problems;
}

function assertRejects(input: unknown, field: string, fix: RegExp) {
  const p = problems(input);
  assert.ok(p.some((line) => line.startsWith(`${field}:`) && fix.test(line)), `no problem for ${field} matching ${fix} in:\n${p.join('\n')}`);
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

  it('upper-cases symbols', () => {
    const r = parseCollectionRequest({ symbols: ['btcusdt'] });
    assert.ok(r.ok);
    assert.deepEqual(r.request.symbols, ['BTCUSDT']);
  });

  const bad: [string, unknown, string, RegExp][] = [
    ['not an object', 'spot', '(request)', /JSON object/],
    ['array', [1], '(request)', /JSON object/],
    ['unknown field', { symbol: 'BTCUSDT' }, '(request)', /unknown field.*"symbol".*symbols/],
    ['unknown market', { markets: ['spt'] }, 'markets[0]', /spot/],
    ['markets wrong type', { markets: 'spot' }, 'markets', /array/i],
    ['unknown data type', { dataTypes: ['kline'] }, 'dataTypes[0]', /unknown data type "kline".*klines/],
    ['data type not in market', { markets: ['spot'], dataTypes: ['fundingRate'], granularity: 'monthly' }, 'dataTypes[0]', /not published for spot monthly/],
    ['daily-only type monthly', { markets: ['futures/um'], dataTypes: ['metrics'], granularity: 'monthly' }, 'dataTypes[0]', /not published for futures\/um monthly/],
    ['option has no monthly', { markets: ['option'], dataTypes: ['BVOLIndex'], granularity: 'monthly' }, 'dataTypes[0]', /option monthly/],
    ['interval 1M', { intervals: ['1M'] }, 'intervals[0]', /"1mo"/],
    ['unknown interval', { intervals: ['2m'] }, 'intervals[0]', /unknown interval/],
    ['interval for trades', { dataTypes: ['trades'], intervals: ['1m'] }, 'intervals', /only to klines/],
    ['symbol with slash', { symbols: ['BTC/USDT'] }, 'symbols[0]', /archive symbol/],
    ['symbol with dots', { symbols: ['../etc'] }, 'symbols[0]', /archive symbol/],
    ['symbol injection', { symbols: ["BTC'; rm -rf /"] }, 'symbols[0]', /archive symbol/],
    ['symbol newline', { symbols: ['BTC\nUSDT'] }, 'symbols[0]', /archive symbol/],
    ['empty symbols', { symbols: [] }, 'symbols', /at least 1/],
    ['impossible date', { startDate: '2025-02-30', endDate: '2025-03-01' }, 'startDate', /real UTC date/],
    ['date format', { startDate: '01/02/2025', endDate: '2025-03-01' }, 'startDate', /YYYY-MM-DD/],
    ['start after end', { startDate: '2025-03-02', endDate: '2025-03-01' }, 'endDate', /before startDate/],
    ['start without end', { startDate: '2025-03-02' }, 'endDate', /go together/],
    ['before archive', { startDate: '2010-01-01', endDate: '2010-01-02' }, 'startDate', /2017/],
    ['huge range', { startDate: '2017-01-01', endDate: '2030-01-01' }, 'endDate', /split/],
    ['too many files', { symbols: Array.from({ length: 1500 }, (_, i) => `S${i}USDT`), intervals: ['1m', '5m'], lastDays: 400 }, 'symbols', /split/],
    ['mixed ranges', { lastDays: 3, startDate: '2025-01-01', endDate: '2025-01-02' }, 'startDate', /either/],
    ['negative lastDays', { lastDays: -1 }, 'lastDays', /greater than or equal to 1/],
    ['fractional lastDays', { lastDays: 1.5 }, 'lastDays', /integer/],
    ['bad mode', { mode: 'fast' }, 'mode', /auto.*direct_sync.*traditional/],
    ['bad verification', { verification: 'md5' }, 'verification', /checksum/],
    ['batch size 0', { batchSize: 0 }, 'batchSize', /1/],
    ['batch size huge', { batchSize: 100000 }, 'batchSize', /1000/],
    ['parallel huge', { parallelBatches: 1000 }, 'parallelBatches', /32/],
    ['bucket uppercase', { destination: { bucket: 'Bronze' } }, 'destination.bucket', /bucket name/],
    ['prefix traversal', { destination: { prefix: '../x/' } }, 'destination.prefix', /"\.\."|letters/],
    ['prefix quote', { destination: { prefix: "a'b/" } }, 'destination.prefix', /letters/],
    ['prefix no slash', { destination: { prefix: 'binance' } }, 'destination.prefix', /ending in "\/"/],
    ['destination credentials', { destination: { accessKeyId: 'AKIA' } }, 'destination', /unknown field.*accessKeyId/],
    ['retry bad kind', { retry: { s3: {} } }, 'retry', /unknown field.*"s3"/],
    ['retry bad value', { retry: { default: { maximumAttempts: 0 } } }, 'retry.default.maximumAttempts', /1/],
    ['asOf not a date', { asOf: 'yesterday' }, 'asOf', /datetime/i],
  ];
  for (const [name, input, field, fix] of bad) {
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
    const r = req({ markets: ['spot', 'futures/um'], dataTypes: ['klines', 'aggTrades'], symbols: ['BTCUSDT'], intervals: ['1m', '1h'], lastDays: 1 });
    const series = expandSeries(r);
    assert.equal(series.length, 2 * (2 + 1));
    assert.ok(series.every((s) => (s.dataType === 'klines') === (s.interval !== undefined)));
    assert.match(summarize(r, resolvePeriods(r, asOf)), /spot,futures\/um klines,aggTrades 1m,1h BTCUSDT daily 2025-07-17\.\.2025-07-17/);
  });
});
