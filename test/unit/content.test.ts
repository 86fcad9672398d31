/**
 * Content facts, status and series continuity, checked against Binance's own documented layouts (the oracle's
 * column-layouts.json, copied from binance-public-data's README) and against the real cases Binance's tracker
 * reports, written here as fixtures: cut-short days (#413, #436, #21, #86), maintenance gaps (#84, #365).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { factsReader, filePeriod, MAX_RANGES, type ContentFacts } from '../../activities/content/facts';
import { layoutOf, type ColumnLayout } from '../../activities/content/layouts';
import { contentStatus } from '../../activities/content/status';
import { edgeBreaks, seriesBreaks } from '../../activities/content/continuity';
import { readZipLines } from '../../activities/content/read-zip';
import { inspectArchiveFile } from '../../activities/content/inspect';
import { strToU8, zipSync } from 'fflate';
import { factsFileName, parseFactsKey, parseFactsRecord } from '../../activities/content/facts-record';
import { addContent, emptyContent } from '../../workflows/coverage';
import { contentVerdict } from '../../workflows/verdict';
import type { Granularity, Interval, Market } from '../../workflows/catalog';

const oracle = JSON.parse(readFileSync('test/fixtures/archive-oracle/column-layouts.json', 'utf8')) as {
  layouts: { market: Market; dataType: string; columns: string[]; sample: string }[];
};

function layout(market: Market, dataType: string): ColumnLayout {
  const l = layoutOf(market, dataType);
  assert.ok(!('notInspected' in l), `${market} ${dataType} is inspected`);
  return l;
}

function factsOf(
  lines: string[],
  opts: { market?: Market; dataType: string; granularity?: Granularity; period: string; interval?: Interval },
): ContentFacts {
  const reader = factsReader(
    layout(opts.market ?? 'spot', opts.dataType),
    filePeriod(opts.granularity ?? 'daily', opts.period),
    opts.interval,
  );
  for (const l of lines) reader.line(l);
  return reader.finish();
}

/** Kline rows as Binance writes them, one per step from `from` (inclusive) to `to` (exclusive); µs when asked. */
function klineRows(from: string, to: string, stepMs: number, unit: 'ms' | 'us' = 'ms', skip: [string, string][] = []) {
  const rows: string[] = [];
  const k = unit === 'us' ? 1000 : 1;
  for (let t = Date.parse(from); t < Date.parse(to); t += stepMs) {
    if (skip.some(([a, b]) => t >= Date.parse(a) && t < Date.parse(b))) continue;
    rows.push(`${t * k},1.0,1.1,0.9,1.0,10,${(t + stepMs) * k - 1},10,3,5,5,0`);
  }
  return rows;
}

/** Trade rows (spot layout): one trade every `everyMs` from `from` to `to`, ids from `firstId`. */
function tradeRows(from: string, to: string, everyMs: number, firstId: number, unit: 'ms' | 'us' = 'ms') {
  const rows: string[] = [];
  const k = unit === 'us' ? 1000 : 1;
  let id = firstId;
  for (let t = Date.parse(from); t < Date.parse(to); t += everyMs) rows.push(`${id++},1.0,2.0,2.0,${t * k},True,True`);
  return rows;
}

describe("the content parser reads Binance's documented layouts", () => {
  const column = (columns: string[], names: RegExp) => columns.findIndex((c) => names.test(c));
  for (const l of oracle.layouts) {
    it(`${l.market} ${l.dataType}: the time and id columns, and the README's sample row`, () => {
      const ours = layout(l.market, l.dataType);
      assert.equal(ours.time, column(l.columns, /^(Open time|Timestamp|time)$/), 'time column');
      if (ours.id !== undefined) assert.equal(ours.id, column(l.columns, /^(Aggregate tradeId|trade Id)$/));
      assert.ok(ours.columns <= l.columns.length, 'no more columns required than the layout has');
      const period = new Date(Number(l.sample.split(',')[ours.time]) / (l.market === 'spot' ? 1000 : 1))
        .toISOString()
        .slice(0, 10);
      const facts = factsOf([l.sample], {
        market: l.market,
        dataType: l.dataType,
        period,
        interval: ours.family === 'klines' ? '1h' : undefined,
      });
      assert.equal(facts.rows, 1);
      assert.equal(facts.badRows, 0);
      // The README's spot samples are of 2025 (microseconds), its futures samples of 2017-2020 (milliseconds).
      assert.equal(facts.unit, l.market === 'spot' ? 'us' : 'ms');
      if (ours.id !== undefined) assert.equal(facts.ids?.first, Number(l.sample.split(',')[0]));
    });
  }

  it('files of other data types are not inspected, with the reason', () => {
    assert.deepEqual(layoutOf('futures/um', 'bookDepth'), {
      notInspected: 'bookDepth files have no documented time column',
    });
    assert.ok('notInspected' in layoutOf('option', 'BVOLIndex'));
  });

  it('reads a header line (some futures files have one) and Windows line ends', () => {
    const rows = klineRows('2024-03-01', '2024-03-02', 3_600_000).map((r) => `${r}\r`);
    const facts = factsOf(['open_time,open,high,low,close,volume,close_time,...', ...rows], {
      market: 'futures/um',
      dataType: 'klines',
      period: '2024-03-01',
      interval: '1h',
    });
    assert.equal(facts.header, true);
    assert.equal(facts.rows, 24);
    assert.equal(facts.klines?.missingOpenTimes?.missing, 0);
  });
});

describe('the content status, on the cases Binance reported', () => {
  const status = (facts: ContentFacts, granularity: Granularity, period: string) =>
    contentStatus(facts, filePeriod(granularity, period));

  it('a whole 1m day is whole; the unit switches from ms (2024) to µs (2025) on spot', () => {
    const y2024 = factsOf(klineRows('2024-12-31', '2025-01-01', 60_000), {
      dataType: 'klines',
      period: '2024-12-31',
      interval: '1m',
    });
    const y2025 = factsOf(klineRows('2025-01-01', '2025-01-02', 60_000, 'us'), {
      dataType: 'klines',
      period: '2025-01-01',
      interval: '1m',
    });
    assert.equal(y2024.unit, 'ms');
    assert.equal(y2025.unit, 'us');
    for (const [f, p] of [
      [y2024, '2024-12-31'],
      [y2025, '2025-01-01'],
    ] as const) {
      assert.equal(f.rows, 1440);
      assert.equal(f.klines?.expectedRows, 1440);
      assert.equal(status(f, 'daily', p).status, 'whole');
    }
    assert.equal(y2025.lastTime, '2025-01-01T23:59:00.000Z');
  });

  it('#413: BTCUSDT-1m-2025-04-22 held about 7 hours under a matching checksum: cut_short, with the evidence', () => {
    const facts = factsOf(klineRows('2025-04-22T00:00:00Z', '2025-04-22T07:00:00Z', 60_000, 'us'), {
      dataType: 'klines',
      period: '2025-04-22',
      interval: '1m',
    });
    const v = status(facts, 'daily', '2025-04-22');
    assert.equal(v.status, 'cut_short');
    assert.match(v.reason, /ends 17\.0 h early/);
    assert.deepEqual(v.evidence, {
      rows: 420,
      expectedRows: 1440,
      firstTime: '2025-04-22T00:00:00.000Z',
      expectedStart: '2025-04-22T00:00:00.000Z',
      lastTime: '2025-04-22T06:59:00.000Z',
      expectedEnd: '2025-04-22T23:59:00.000Z',
    });
    assert.deepEqual(facts.klines?.missingOpenTimes, {
      missing: 1020,
      count: 1,
      ranges: [{ from: '2025-04-22T07:00:00.000Z', to: '2025-04-22T23:59:00.000Z' }],
    });
  });

  it('#436: 1s klines of 2025-07-30 ended hours early: cut_short', () => {
    const facts = factsOf(klineRows('2025-07-30T00:00:00Z', '2025-07-30T19:12:00Z', 1_000, 'us'), {
      dataType: 'klines',
      period: '2025-07-30',
      interval: '1s',
    });
    const v = status(facts, 'daily', '2025-07-30');
    assert.equal(v.status, 'cut_short');
    assert.equal(v.evidence?.lastTime, '2025-07-30T19:11:59.000Z');
    assert.equal(v.evidence?.expectedRows, 86_400);
  });

  it('#21: a daily trades file with 16 hours instead of 24: cut_short', () => {
    const facts = factsOf(tradeRows('2019-06-01T00:00:00Z', '2019-06-01T16:00:00Z', 30_000, 5_000), {
      dataType: 'trades',
      period: '2019-06-01',
    });
    const v = status(facts, 'daily', '2019-06-01');
    assert.equal(v.status, 'cut_short');
    assert.match(v.reason, /ends 8\.0 h early/);
    assert.equal(v.evidence?.firstId, 5_000);
    assert.equal(v.evidence?.lastId, 5_000 + 1_919);
  });

  it('#86: monthly trades missing the last hours of the month: cut_short', () => {
    const facts = factsOf(tradeRows('2020-08-01T00:00:00Z', '2020-08-31T14:00:00Z', 60_000, 1), {
      dataType: 'trades',
      granularity: 'monthly',
      period: '2020-08',
    });
    assert.equal(status(facts, 'monthly', '2020-08').status, 'cut_short');
  });

  it('#84, #365: hours missing inside a day (exchange maintenance, correct data to Binance): gaps, not cut_short', () => {
    const facts = factsOf(
      klineRows('2020-02-19T00:00:00Z', '2020-02-20T00:00:00Z', 60_000, 'ms', [
        ['2020-02-19T12:00:00Z', '2020-02-19T14:30:00Z'],
      ]),
      { dataType: 'klines', period: '2020-02-19', interval: '1m' },
    );
    const v = status(facts, 'daily', '2020-02-19');
    assert.equal(v.status, 'gaps');
    assert.deepEqual(facts.klines?.missingOpenTimes?.ranges, [
      { from: '2020-02-19T12:00:00.000Z', to: '2020-02-19T14:29:00.000Z' },
    ]);
    assert.equal(facts.klines?.missingOpenTimes?.missing, 150);
  });

  it("a quiet symbol's last trade hours before midnight stays within the trades threshold: whole", () => {
    const facts = factsOf(tradeRows('2023-05-05T00:20:00Z', '2023-05-05T19:30:00Z', 600_000, 77), {
      dataType: 'trades',
      period: '2023-05-05',
    });
    assert.equal(status(facts, 'daily', '2023-05-05').status, 'whole');
  });

  it('id gaps inside aggTrades are gaps; repeated and backward rows are counted', () => {
    const rows = [
      '10,1,1,100,100,1735689600000000,False,True',
      '11,1,1,101,101,1735693200000000,False,True',
      '11,1,1,101,101,1735693200000000,False,True',
      '15,1,1,105,106,1735700000000000,False,True',
      '14,1,1,104,104,1735699000000000,False,True',
      '16,1,1,107,107,1735772000000000,False,True',
      'garbage',
    ];
    const facts = factsOf(rows, { dataType: 'aggTrades', period: '2025-01-01' });
    assert.equal(facts.duplicates, 1);
    assert.equal(facts.outOfOrder, 1);
    assert.equal(facts.badRows, 1);
    assert.deepEqual(facts.ids, {
      first: 10,
      last: 16,
      gaps: { missing: 3, count: 1, ranges: [{ from: 12, to: 14 }] },
    });
    assert.equal(status(facts, 'daily', '2025-01-01').status, 'gaps');
  });

  it('an illiquid 1s file with thousands of gaps keeps its facts small (counts, plus the first ranges)', () => {
    const rows = klineRows('2025-03-03', '2025-03-04', 1_000, 'us').filter((_, n) => n % 7 === 0);
    const facts = factsOf(rows, { dataType: 'klines', period: '2025-03-03', interval: '1s' });
    assert.equal(facts.klines?.missingOpenTimes?.ranges.length, MAX_RANGES);
    assert.ok(facts.klines!.missingOpenTimes!.count > 12_000);
    assert.ok(JSON.stringify(facts).length < 4_000, `${JSON.stringify(facts).length} bytes`);
  });

  it('an empty file is cut_short; 1w candles have no grid to judge by: unknown', () => {
    const empty = factsOf([], { dataType: 'klines', period: '2025-01-01', interval: '1m' });
    assert.equal(status(empty, 'daily', '2025-01-01').status, 'cut_short');
    const weekly = factsOf(klineRows('2024-01-01', '2024-02-01', 7 * 86_400_000), {
      dataType: 'klines',
      granularity: 'monthly',
      period: '2024-01',
      interval: '1w',
    });
    assert.equal(status(weekly, 'monthly', '2024-01').status, 'unknown');
  });
});

describe('series continuity', () => {
  it('trade ids continue from one day into the next; a break names the files and the missing ids', () => {
    const day = (d: string, firstId: number, n: number) => ({
      key: `BTCUSDT-trades-${d}.zip`,
      facts: factsOf(tradeRows(`${d}T00:00:00Z`, `${d}T23:59:59Z`, 86_400_000 / n, firstId), {
        dataType: 'trades',
        period: d,
      }),
    });
    const files = [day('2024-01-01', 100, 100), day('2024-01-02', 200, 100), day('2024-01-03', 310, 100)];
    assert.deepEqual(seriesBreaks(files), [
      { before: files[1].key, after: files[2].key, kind: 'ids', from: 300, to: 309 },
    ]);
  });

  it('kline open times continue from one file into the next', () => {
    const day = (d: string, next: string, cutAt?: string) => ({
      key: `BTCUSDT-1h-${d}.zip`,
      facts: factsOf(klineRows(`${d}T00:00:00Z`, cutAt ?? `${next}T00:00:00Z`, 3_600_000), {
        dataType: 'klines',
        period: d,
        interval: '1h',
      }),
    });
    const whole = [day('2024-01-01', '2024-01-02'), day('2024-01-02', '2024-01-03')];
    assert.deepEqual(seriesBreaks(whole), []);
    const cut = [day('2024-01-01', '2024-01-02', '2024-01-01T20:00:00Z'), day('2024-01-02', '2024-01-03')];
    assert.deepEqual(seriesBreaks(cut), [
      {
        before: cut[0].key,
        after: cut[1].key,
        kind: 'openTimes',
        from: '2024-01-01T20:00:00.000Z',
        to: '2024-01-01T23:00:00.000Z',
      },
    ]);
  });
});

describe('reading an archive zip in one pass', () => {
  const csv = klineRows('2025-04-22T00:00:00Z', '2025-04-22T07:00:00Z', 60_000, 'us').join('\n') + '\n';
  const zip = zipSync({ 'BTCUSDT-1m-2025-04-22.csv': strToU8(csv) });
  async function* chunks(bytes: Uint8Array, size: number) {
    for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
  }

  it('gives every CSV line, whatever the chunk boundaries, to the facts reader', async () => {
    for (const size of [7, 1024, zip.length]) {
      const reader = factsReader(layout('spot', 'klines'), filePeriod('daily', '2025-04-22'), '1m');
      const { entry } = await readZipLines(chunks(zip, size), (b, s, e) => reader.lineBytes(b, s, e));
      assert.equal(entry, 'BTCUSDT-1m-2025-04-22.csv');
      const facts = reader.finish();
      assert.equal(facts.rows, 420, `chunks of ${size}`);
      assert.equal(facts.badRows, 0);
      assert.equal(facts.lastTime, '2025-04-22T06:59:00.000Z');
    }
  });

  it('refuses a zip cut short in transit or in the store', async () => {
    await assert.rejects(
      readZipLines(chunks(zip.subarray(0, Math.floor(zip.length / 2)), 512), () => {}),
      /ended inside|unexpected EOF|invalid/i,
    );
  });
});

describe('inspecting an archive file', () => {
  it('reads the facts and the status of a zip, and names why other data types are not read', async () => {
    const csv = tradeRows('2019-06-01T00:00:00Z', '2019-06-01T16:00:00Z', 30_000, 5_000).join('\n');
    const zip = zipSync({ 'BTCUSDT-trades-2019-06-01.csv': strToU8(csv) });
    const series = { market: 'spot' as const, granularity: 'daily' as const, dataType: 'trades', symbol: 'BTCUSDT' };
    let reads = 0;
    const bytes = () => {
      reads++;
      return (async function* () {
        yield zip;
      })();
    };
    const trades = await inspectArchiveFile(series, '2019-06-01', bytes);
    assert.equal(trades.verdict.status, 'cut_short');
    assert.equal(reads, 1);
    const depth = await inspectArchiveFile(
      { ...series, market: 'futures/um', dataType: 'bookDepth' },
      '2024-01-01',
      bytes,
    );
    assert.deepEqual(depth.verdict, { status: 'unknown', reason: 'bookDepth files have no documented time column' });
    assert.equal(reads, 1, 'a file that is not inspected is not read');
  });
});

describe('facts records, bytes that are not the CSV, and what content adds to the verdict', () => {
  it('a facts record name binds a token and a status; anything else is not a record', () => {
    const folder = 'binance/_facts/';
    const key = 'data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2025-04-22.zip';
    const name = { token: '0123456789abcdef', status: 'cut_short' as const };
    assert.equal(factsFileName(name), '0123456789abcdef.cut_short.json');
    assert.deepEqual(parseFactsKey(folder, `${folder}${key}/${factsFileName(name)}`), { sourceKey: key, name });
    for (const bad of ['0123456789abcdef.broken.json', '0123.whole.json', 'x/../0123456789abcdef.whole.json.tmp'])
      assert.equal(parseFactsKey(folder, `${folder}${key}/${bad}`), undefined, bad);
    assert.equal(parseFactsRecord(key, '{"key":"other"}'), undefined);
    assert.equal(parseFactsRecord(key, 'not json'), undefined);
  });

  it('a bomb stops at the ceiling; an inflate failure or a non-zip is unknown, not a crash', async () => {
    const series = { market: 'spot' as const, granularity: 'daily' as const, dataType: 'aggTrades', symbol: 'X' };
    const once = (b: Uint8Array) => () =>
      (async function* () {
        yield b;
      })();
    const bomb = zipSync({ 'X-aggTrades-2025-01-01.csv': strToU8('1,1,1,1,1,1,1,1\n'.repeat(200_000)) });
    const r = await inspectArchiveFile(series, '2025-01-01', once(bomb), { maxExpandedBytes: 1_000_000 });
    assert.equal(r.verdict.status, 'unknown');
    assert.match(r.verdict.reason, /expands past 1000000 bytes/);
    assert.ok(r.expandedBytes <= 1_100_000, `stopped near the ceiling, not at ${r.expandedBytes}`);
    const garbage = await inspectArchiveFile(series, '2025-01-01', once(strToU8('PK\u0003\u0004 not really a zip')));
    assert.equal(garbage.verdict.status, 'unknown');
  });

  it("content changes an inspect run's OK (cut short, or inspection failed), never a collect's", () => {
    const c = { ...emptyContent(), known: 3, whole: 2, cutShort: 1 };
    assert.deepEqual(contentVerdict(c, true, 'inspect').ok, false);
    assert.deepEqual(contentVerdict(c, true, 'collect').ok, true);
    assert.match(
      contentVerdict(c, true, 'collect').sentence,
      /CONTENT of 3 verified files \(0 read by this run\): 2 whole/,
    );
    assert.equal(contentVerdict({ ...emptyContent(), notInspected: 5 }, false, 'collect').sentence, '');
    assert.equal(contentVerdict({ ...emptyContent(), failure: 'x' }, true, 'inspect').ok, false);
    assert.deepEqual(addContent(undefined, c), c);
    assert.equal(addContent(c, c)!.cutShort, 2);
  });
});

describe('bytes that break the reader are an answer, never a crash or a hang', () => {
  const series = { market: 'spot' as const, granularity: 'daily' as const, dataType: 'trades', symbol: 'X' };
  const inChunks =
    (b: Uint8Array, size = 64 * 1024) =>
    () =>
      (async function* () {
        for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
      })();
  const csv = () =>
    strToU8(
      tradeRows('2024-01-01T00:00:00Z', '2024-01-01T23:59:00Z', 3_000, 1)
        .map((r, i) => `${r},${(i * 7919) % 104729}`)
        .join('\n'),
    );

  it('a corrupt deflate stream (zlib fails mid-way): unknown, and the process lives on', async () => {
    const zip = zipSync({ 'X-trades-2024-01-01.csv': csv() });
    assert.ok(zip.length > 100_000);
    for (let i = 400; i < 464; i++) zip[i] ^= 0xa5;
    const r = await inspectArchiveFile(series, '2024-01-01', inChunks(zip));
    assert.equal(r.verdict.status, 'unknown');
    assert.match(r.verdict.reason, /cannot be inflated|not a readable zip/);
  });

  it('a compression method the reader does not know (deflate64): unknown', async () => {
    const zip = zipSync({ 'X-trades-2024-01-01.csv': csv() });
    zip[8] = 9; // the local header's compression method
    const r = await inspectArchiveFile(series, '2024-01-01', inChunks(zip));
    assert.equal(r.verdict.status, 'unknown');
    assert.match(r.verdict.reason, /not a readable zip|cannot be inflated/);
  });

  it('a CSV with no line end (a bomb under the ceiling): unknown once a line passes 64 KiB, nothing more read', async () => {
    const zip = zipSync({ 'X-trades-2024-01-01.csv': new Uint8Array(64 * 1024 ** 2).fill(0x41) });
    const r = await inspectArchiveFile(series, '2024-01-01', inChunks(zip));
    assert.equal(r.verdict.status, 'unknown');
    assert.match(r.verdict.reason, /line longer than 65536 bytes/);
    assert.ok(r.expandedBytes < 4 * 1024 ** 2, `stopped early, not after ${r.expandedBytes} bytes`);
  });

  it('a second file, or a first file that is not a CSV, stops the reading there', async () => {
    const two = zipSync({ 'X-trades-2024-01-01.csv': csv(), 'notes.txt': new Uint8Array(10_000_000) });
    const r2 = await inspectArchiveFile(series, '2024-01-01', inChunks(two));
    assert.match(r2.verdict.reason, /holds 2 files or more/);
    const txt = zipSync({ 'X-trades-2024-01-01.txt': new Uint8Array(10_000_000) });
    const r3 = await inspectArchiveFile(series, '2024-01-01', inChunks(txt));
    assert.match(r3.verdict.reason, /is not a CSV/);
    assert.equal(r3.expandedBytes, 0);
  });
});

describe('continuity at the edges of files', () => {
  const day = (period: string, first: number, last: number, firstTime: string, lastTime: string) => ({
    key: `data/spot/daily/trades/X/X-trades-${period}.zip`,
    period,
    facts: {
      ...factsOf([], { dataType: 'trades', period }),
      rows: last - first + 1,
      firstTime,
      lastTime,
      ids: { first, last, gaps: { missing: 0, count: 0, ranges: [] } },
    },
  });
  it('marks the file whose edge lies further from its period edge; an overlap or a gap across a missing day marks nothing', () => {
    const a = day('2025-03-02', 1, 100, '2025-03-02T00:00:00.000Z', '2025-03-02T23:59:59.000Z');
    const b = day('2025-03-03', 600, 700, '2025-03-03T00:30:00.000Z', '2025-03-03T23:50:00.000Z');
    const marks = edgeBreaks('daily', [a, b], seriesBreaks([a, b]));
    assert.deepEqual([...marks.keys()], [b.key]);
    assert.match(marks.get(b.key)!.reason, /breaks at its start: ids 101\.\.599/);
    assert.equal(marks.get(b.key)!.neighbour, a.key);
    const overlap = day('2025-03-03', 90, 200, '2025-03-03T00:00:00.000Z', '2025-03-03T23:59:00.000Z');
    assert.equal(seriesBreaks([a, overlap]).length, 1, 'an overlap is a break');
    assert.equal(edgeBreaks('daily', [a, overlap], seriesBreaks([a, overlap])).size, 0, 'but no id is missing');
    const later = day('2025-03-05', 600, 700, '2025-03-05T00:30:00.000Z', '2025-03-05T23:50:00.000Z');
    assert.equal(
      edgeBreaks('daily', [a, later], seriesBreaks([a, later])).size,
      0,
      'the days between are not published',
    );
  });
});

describe('rows no parser expects', () => {
  it('a time past what a date holds is a bad row, not a crash (klines and trades)', async () => {
    const k = factsOf(
      ['99999999999999999999,1,1,1,1,1,1,1,1,1,1,0', ...klineRows('2025-01-01', '2025-01-02', 3_600_000)],
      {
        dataType: 'klines',
        period: '2025-01-01',
        interval: '1h',
      },
    );
    assert.deepEqual([k.badRows, k.rows, k.unit], [1, 24, 'ms']);
    const zip = zipSync({
      'X-1h-2025-01-01.csv': strToU8(
        ['1,1,1,1,1,1,1,1,1,1,1,0', '99999999999999999999,1,1,1,1,1,1,1,1,1,1,0'].join('\n'),
      ),
    });
    const series = {
      market: 'spot' as const,
      granularity: 'daily' as const,
      dataType: 'klines',
      symbol: 'X',
      interval: '1h',
    };
    const r = await inspectArchiveFile(series, '2025-01-01', () =>
      (async function* () {
        yield zip;
      })(),
    );
    assert.ok(['unknown', 'cut_short'].includes(r.verdict.status));
  });
});
