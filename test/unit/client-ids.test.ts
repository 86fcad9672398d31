import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collectionWorkflowId } from '../../client/collection';

const now = new Date('2025-07-18T05:00:00Z');
const id = (r: object) => collectionWorkflowId(r, now);

describe('derived workflow IDs', () => {
  const base = { symbols: ['BTCUSDT'], intervals: ['1m'], startDate: '2025-06-01', endDate: '2025-06-05' };

  it('are the same for the same collection, however it is written', () => {
    assert.equal(id(base), id({ ...base, symbols: ['btcusdt'] }));
    assert.equal(id({ ...base, intervals: ['1m', '1h'] }), id({ ...base, intervals: ['1h', '1m', '1h'] }));
    assert.equal(id(base), id({ ...base, batchSize: 10, parallelBatches: 2 }), 'how it runs is not what it collects');
  });

  it('differ for every field that makes two collections different', () => {
    const variants = [
      base,
      { ...base, intervals: ['1h'] },
      { ...base, mode: 'traditional' },
      { ...base, mode: 'direct_sync' },
      { ...base, verification: 'size' },
      { ...base, destination: { bucket: 'other' } },
      { ...base, destination: { prefix: 'x/' } },
      { ...base, endDate: '2025-06-06' },
      { ...base, markets: ['futures/um'] },
      { ...base, dataTypes: ['klines', 'aggTrades'] },
      { ...base, symbols: ['ETHUSDT'] },
    ];
    const ids = variants.map(id);
    assert.equal(new Set(ids).size, variants.length, ids.join('\n'));
  });

  it('stay short and distinct when the request is long', () => {
    const many = Array.from({ length: 500 }, (_, i) => `S${i}USDT`);
    const a = id({ ...base, symbols: many });
    const b = id({ ...base, symbols: many.slice(1) });
    assert.ok(a.length < 260 && b.length < 260);
    assert.notEqual(a, b);
    assert.match(
      a,
      /^collect-spot-klines-1m-S0USDT\+S100USDT\+S101USDT\+497more-daily-2025-06-01\.\.2025-06-05-[0-9a-f]{10}$/,
    );
  });
});
