/**
 * The collector's idea of the archive against facts from Binance's own sources
 * (test/fixtures/archive-oracle, copied from ../shared/archive-oracle): catalog, intervals, key
 * layout and real keys. None of the expectations here come from the collector's code.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ARCHIVE_LAYOUT, MIRROR_INTERVAL_DATA_TYPES, mirrorChecksumKey, mirrorKey } from '../../stack/mirror';
import {
  CATALOG,
  DAILY_INTERVALS,
  INTERVALS,
  INTERVAL_DATA_TYPES,
  MARKETS,
  intervalsFor,
} from '../../workflows/catalog';
import { archiveKey, checksumKey, periodOf, type Series } from '../../workflows/keys';
import { expandSeries, parseCollectionRequest } from '../../workflows/request';

const ORACLE = 'test/fixtures/archive-oracle';
const catalog = JSON.parse(readFileSync(`${ORACLE}/catalog.json`, 'utf8'));
const realKeys = readFileSync(`${ORACLE}/real-keys.txt`, 'utf8')
  .split('\n')
  .filter((l) => l && !l.startsWith('#'));
const sorted = (xs: readonly string[]) => [...xs].sort();

/** A real key taken apart with the oracle's layout only. */
function parseRealKey(key: string) {
  const m =
    /^data\/(spot|futures\/um|futures\/cm|option)\/(daily|monthly)\/([^/]+)\/([^/]+)\/(?:([^/]+)\/)?([^/]+)-(\d{4}-\d{2}(?:-\d{2})?)\.zip(\.CHECKSUM)?$/.exec(
      key,
    );
  assert.ok(m, `real key does not fit the documented layout: ${key}`);
  const [, market, granularity, dataType, symbol, interval, , period, checksum] = m;
  return {
    series: { market, granularity, dataType, symbol, ...(interval ? { interval } : {}) } as Series,
    period,
    isChecksum: Boolean(checksum),
  };
}

describe("catalog against Binance's own sources", () => {
  it('has the same data types for every market and granularity', () => {
    assert.deepEqual(sorted(MARKETS), sorted(Object.keys(catalog.dataTypes)));
    for (const market of MARKETS) {
      for (const g of ['daily', 'monthly'] as const)
        assert.deepEqual(sorted(CATALOG[market][g]), sorted(catalog.dataTypes[market][g]), `${market} ${g}`);
    }
  });

  it('has the same intervals: daily only 1s…1d, 3d/1w/1mo monthly only, 1s spot only', () => {
    assert.deepEqual([...INTERVALS], catalog.intervals.all);
    assert.deepEqual([...DAILY_INTERVALS], catalog.intervals.daily);
    assert.deepEqual([...intervalsFor('spot', 'daily')], catalog.intervals.daily);
    assert.deepEqual([...intervalsFor('spot', 'monthly')], catalog.intervals.all);
    for (const market of ['futures/um', 'futures/cm'] as const) {
      assert.deepEqual(
        [...intervalsFor(market, 'daily')],
        catalog.intervals.daily.filter((i: string) => !catalog.intervals.spotOnly.includes(i)),
      );
      assert.deepEqual(
        [...intervalsFor(market, 'monthly')],
        catalog.intervals.all.filter((i: string) => !catalog.intervals.spotOnly.includes(i)),
      );
    }
    assert.deepEqual([...INTERVAL_DATA_TYPES], catalog.intervalDataTypes);
  });

  it('refuses the requests the archive cannot serve', () => {
    for (const iv of catalog.intervals.monthlyOnly)
      assert.equal(parseCollectionRequest({ intervals: [iv] }).ok, false, `daily ${iv}`);
    for (const iv of catalog.intervals.monthlyOnly)
      assert.equal(parseCollectionRequest({ intervals: [iv], granularity: 'monthly' }).ok, true, `monthly ${iv}`);
    assert.equal(parseCollectionRequest({ markets: ['futures/cm'], intervals: ['1s'] }).ok, false);
    assert.equal(parseCollectionRequest({ markets: ['spot'], intervals: ['1s'] }).ok, true);
  });
});

describe('key layout against real archive keys', () => {
  it('the mirror writes the layout Binance documents', () => {
    assert.equal(ARCHIVE_LAYOUT.withIntervalFolder, catalog.keyLayout.withIntervalFolder);
    assert.equal(ARCHIVE_LAYOUT.withoutIntervalFolder, catalog.keyLayout.withoutIntervalFolder);
    assert.equal(ARCHIVE_LAYOUT.checksum, catalog.keyLayout.checksum);
    assert.deepEqual(MIRROR_INTERVAL_DATA_TYPES, catalog.intervalDataTypes);
  });

  for (const key of realKeys) {
    it(`builds, reads back and accepts ${key}`, () => {
      const { series, period, isChecksum } = parseRealKey(key);
      const zip = archiveKey(series, period);
      assert.equal(isChecksum ? checksumKey(zip) : zip, key, 'the collector builds the real key');
      assert.equal(
        isChecksum ? mirrorChecksumKey(mirrorKey(series, period)) : mirrorKey(series, period),
        key,
        'the mirror builds the real key',
      );
      assert.equal(
        periodOf(series, zip.slice(zip.lastIndexOf('/') + 1)),
        period,
        'the collector reads the period back',
      );
      // A request for this series is valid and expands to exactly this series.
      const r = parseCollectionRequest({
        markets: [series.market],
        granularity: series.granularity,
        dataTypes: [series.dataType],
        symbols: [series.symbol],
        ...(series.interval ? { intervals: [series.interval] } : {}),
        startDate: period,
        endDate: period,
      });
      assert.ok(r.ok, JSON.stringify(r));
      assert.deepEqual(expandSeries(r.request), [series]);
    });
  }

  it("accepts every real symbol of Binance's re-upload list (many delisted) and non-ASCII symbols", () => {
    const rows = readFileSync(`${ORACLE}/binance-updates-2022-10-04-aggTrades.csv`, 'utf8').trim().split('\n').slice(1);
    const symbols = rows.map(
      (row) =>
        row
          .split(',')[0]
          .replace(/\.zip$/, '')
          .split('-')[0],
    );
    assert.ok(symbols.includes('NCASHBTC') && symbols.includes('VIBEBTC'));
    const r = parseCollectionRequest({
      symbols: [...symbols, '币安人生USDT'],
      dataTypes: ['aggTrades'],
      granularity: 'monthly',
      startDate: '2018-01',
      endDate: '2018-03',
    });
    assert.ok(r.ok, JSON.stringify(r));
    assert.ok(r.request.symbols.includes('币安人生USDT'));
  });
});
