import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { archiveKey, checksumKey, destinationKey, periodOf, seriesPrefix, type Series } from '../../workflows/keys';
import { CATALOG, hasIntervalFolder } from '../../workflows/catalog';

const klines: Series = { market: 'spot', granularity: 'daily', dataType: 'klines', symbol: 'BTCUSDT', interval: '1m' };
const agg: Series = { market: 'futures/um', granularity: 'monthly', dataType: 'aggTrades', symbol: 'ETHUSDT' };

describe('key layout', () => {
  it('matches data.binance.vision', () => {
    assert.equal(archiveKey(klines, '2025-07-17'), 'data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2025-07-17.zip');
    assert.equal(archiveKey(agg, '2025-06'), 'data/futures/um/monthly/aggTrades/ETHUSDT/ETHUSDT-aggTrades-2025-06.zip');
    assert.equal(checksumKey('a/b.zip'), 'a/b.zip.CHECKSUM');
    assert.equal(seriesPrefix(klines), 'data/spot/daily/klines/BTCUSDT/1m/');
    assert.equal(destinationKey('binance/', 'data/x.zip'), 'binance/data/x.zip');
  });

  it('reads periods back only from files of the series', () => {
    assert.equal(periodOf(klines, 'BTCUSDT-1m-2025-07-17.zip'), '2025-07-17');
    assert.equal(periodOf(klines, 'BTCUSDT-1m-2025-07-17.zip.CHECKSUM'), undefined);
    assert.equal(periodOf(klines, 'BTCUSDT-1h-2025-07-17.zip'), undefined);
    assert.equal(periodOf(klines, "BTCUSDT-1m-2025-07-17'$(x).zip"), undefined);
    assert.equal(periodOf(klines, 'BTCUSDT-1m-2025-07.zip'), undefined);
    assert.equal(periodOf(agg, 'ETHUSDT-aggTrades-2025-06.zip'), '2025-06');
  });

  it('catalog: intervals only for kline types; futures cm adds liquidationSnapshot', () => {
    assert.ok(hasIntervalFolder('markPriceKlines'));
    assert.ok(!hasIntervalFolder('aggTrades'));
    assert.ok(CATALOG['futures/cm'].daily.includes('liquidationSnapshot'));
    assert.ok(!CATALOG['futures/um'].daily.includes('liquidationSnapshot'));
    assert.deepEqual(CATALOG.option.monthly, []);
  });
});
