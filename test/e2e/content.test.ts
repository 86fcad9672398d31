/**
 * Content inspection on the real stack. The archive files are written here, row by row, independently of the
 * product's mirror code, shaped like the cases Binance's tracker reports: a klines day cut at 07:36 (#413), a day
 * with an interior hour missing (maintenance, #84), trades ids skipping inside a day and breaking between two days,
 * a quiet symbol whose last trade is at 21:00 but whose ids continue, µs timestamps from 2025 and ms before, a
 * header line, CRLF line ends, and bytes that are not the data type's CSV. Facts records are read here as plain
 * JSON and matched to the destination's current objects by their own ETag and size.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { strToU8, zipSync } from 'fflate';
import { assertTrustInvariant, listAll } from '../helpers/independent-check';
import { runCli } from '../helpers/cli';
import { firstShardHistory, recordHistory } from '../helpers/history';
import { collect, freshBuckets, readManifest, readText, s3, startWorker, type TestWorker } from '../helpers/stack';
import type { CollectionReport, ManifestEntry } from '../../workflows/types';

/** Facts records are read as plain JSON, independently of the product's types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type PlainJson = Record<string, any>;

const H = 3_600_000;
const at = (iso: string) => Date.parse(iso);

/** Spot kline rows (12 columns) every `step` from `from` to `to`, skipping [skipFrom, skipTo); µs when asked. */
function klines(from: string, to: string, step: number, unit: 'ms' | 'us', skip?: [string, string]): string[] {
  const k = unit === 'us' ? 1000 : 1;
  const rows: string[] = [];
  for (let t = at(from); t < at(to); t += step) {
    if (skip && t >= at(skip[0]) && t < at(skip[1])) continue;
    rows.push(`${t * k},100.0,101.0,99.0,100.5,12.5,${(t + step) * k - 1},1250.0,42,6.0,600.0,0`);
  }
  return rows;
}

/** Trade rows: ids from `firstId`, one trade every `every` ms from `from` to `to`; spot has 7 columns, futures 6. */
function trades(
  from: string,
  to: string,
  every: number,
  firstId: number,
  opts: { unit: 'ms' | 'us'; futures?: boolean; skipIds?: [number, number] },
): { rows: string[]; lastId: number } {
  const k = opts.unit === 'us' ? 1000 : 1;
  const rows: string[] = [];
  let id = firstId;
  for (let t = at(from); t < at(to); t += every) {
    if (opts.skipIds && id === opts.skipIds[0]) id = opts.skipIds[1] + 1;
    rows.push(
      opts.futures ? `${id},50000.1,0.01,500.001,${t * k},true` : `${id},50000.1,0.01,500.001,${t * k},True,True`,
    );
    id++;
  }
  return { rows, lastId: id - 1 };
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('content inspection on the real stack', () => {
  let w: TestWorker;
  let buckets: { source: string; destination: string };
  const destination = () => ({ bucket: buckets.destination, prefix: '' });

  /** Publishes a file as Binance does: the zip (one CSV named like it, unless `entries` says otherwise) and its .CHECKSUM. */
  async function publish(key: string, lines: string[] | Record<string, Uint8Array>, eol = '\n') {
    const name = key.slice(key.lastIndexOf('/') + 1);
    const entries = Array.isArray(lines) ? { [name.replace(/\.zip$/, '.csv')]: strToU8(lines.join(eol) + eol) } : lines;
    const zip = zipSync(entries);
    await s3.send(new PutObjectCommand({ Bucket: buckets.source, Key: key, Body: zip }));
    await s3.send(
      new PutObjectCommand({ Bucket: buckets.source, Key: `${key}.CHECKSUM`, Body: `${sha256(zip)}  ${name}\n` }),
    );
    return sha256(zip);
  }

  /** Facts records bound to the destination's current bytes (by their own ETag and size), by archive key. */
  async function factsNow(): Promise<Map<string, { status: string; record: PlainJson }>> {
    const objects = new Map((await listAll(s3, buckets.destination, 'data/')).map((o) => [o.key, o]));
    const out = new Map<string, { status: string; record: PlainJson }>();
    for (const f of await listAll(s3, buckets.destination, '_facts/')) {
      const record = JSON.parse(await readText(buckets.destination, f.key));
      const here = objects.get(record.key);
      if (!here || here.etag.replaceAll('"', '') !== record.destination.etag.replaceAll('"', '')) continue;
      if (here.size !== record.destination.size) continue;
      const status = f.key.split('.').at(-2)!;
      const holds = record.continuity ? 'cut_short' : record.verdict.status;
      assert.equal(holds, status, `${f.key}: its name says the status its body holds`);
      assert.ok(!out.has(record.key), `${record.key} has one facts record bound to its bytes`);
      out.set(record.key, { status, record });
    }
    return out;
  }

  async function manifestOf(report: CollectionReport): Promise<Map<string, ManifestEntry>> {
    return new Map((await readManifest(report.manifest.bucket, report.manifest.key)).map((e) => [e.key, e]));
  }

  const KL = 'data/spot/daily/klines/BTCUSDT/1m/';
  const klinesRequest = {
    symbols: ['BTCUSDT'],
    intervals: ['1m'],
    startDate: '2025-04-21',
    endDate: '2025-04-23',
  };

  before(async () => {
    buckets = await freshBuckets('content');
    w = await startWorker({ SOURCE_BUCKET: buckets.source, CONTENT_MAX_EXPANDED_BYTES: '4000000' });
    // Klines, µs (spot from 2025): a whole day with CRLF line ends, a day cut at 07:36, a day with 03:00-04:00 missing.
    await publish(`${KL}BTCUSDT-1m-2025-04-21.zip`, klines('2025-04-21', '2025-04-22', 60_000, 'us'), '\r\n');
    await publish(
      `${KL}BTCUSDT-1m-2025-04-22.zip`,
      klines('2025-04-22T00:00:00Z', '2025-04-22T07:36:00Z', 60_000, 'us'),
    );
    await publish(
      `${KL}BTCUSDT-1m-2025-04-23.zip`,
      klines('2025-04-23', '2025-04-24', 60_000, 'us', ['2025-04-23T03:00:00Z', '2025-04-23T04:00:00Z']),
    );
    // Klines in ms before 2025 and µs after, continuing across the change of unit.
    const EK = 'data/spot/daily/klines/ETHUSDT/1h/';
    await publish(`${EK}ETHUSDT-1h-2024-12-31.zip`, klines('2024-12-31', '2025-01-01', H, 'ms'));
    await publish(`${EK}ETHUSDT-1h-2025-01-01.zip`, klines('2025-01-01', '2025-01-02', H, 'us'));
    // Futures trades (a header line, ms): whole; ids skipping inside; the next day's ids break from the day before.
    const FT = 'data/futures/um/daily/trades/BTCUSDT/';
    const header = 'id,price,qty,quote_qty,time,is_buyer_maker';
    const d1 = trades('2025-03-01', '2025-03-02', 60_000, 1_000, { unit: 'ms', futures: true });
    const d2 = trades('2025-03-02', '2025-03-03', 60_000, d1.lastId + 1, {
      unit: 'ms',
      futures: true,
      skipIds: [d1.lastId + 101, d1.lastId + 150],
    });
    const d3 = trades('2025-03-03T00:30:00Z', '2025-03-04', 60_000, d2.lastId + 501, { unit: 'ms', futures: true });
    await publish(`${FT}BTCUSDT-trades-2025-03-01.zip`, [header, ...d1.rows]);
    await publish(`${FT}BTCUSDT-trades-2025-03-02.zip`, [header, ...d2.rows]);
    await publish(`${FT}BTCUSDT-trades-2025-03-03.zip`, [header, ...d3.rows]);
    // A quiet spot symbol: its last trade of the day at 21:00, its ids continuing the next day from 03:00.
    const QT = 'data/spot/daily/trades/QUIETUSDT/';
    const q1 = trades('2025-02-01T00:30:00Z', '2025-02-01T21:00:01Z', 1_800_000, 77, { unit: 'us' });
    const q2 = trades('2025-02-02T03:00:00Z', '2025-02-02T23:50:00Z', 1_800_000, q1.lastId + 1, { unit: 'us' });
    await publish(`${QT}QUIETUSDT-trades-2025-02-01.zip`, q1.rows);
    await publish(`${QT}QUIETUSDT-trades-2025-02-02.zip`, q2.rows);
    // Bytes that are not the data type's CSV (spot aggTrades).
    const BA = 'data/spot/daily/aggTrades/BADUSDT/';
    const csv = (name: string) => `BADUSDT-aggTrades-${name}.csv`;
    await publish(`${BA}BADUSDT-aggTrades-2025-05-01.zip`, {});
    await publish(`${BA}BADUSDT-aggTrades-2025-05-02.zip`, {
      [csv('2025-05-02')]: strToU8('1,1.0,1.0,1,1,1746144000000,True,True\n'),
      'README.txt': strToU8('two entries'),
    });
    await publish(`${BA}BADUSDT-aggTrades-2025-05-03.zip`, { 'BADUSDT-aggTrades-2025-05-03.txt': strToU8('1,2,3\n') });
    await publish(`${BA}BADUSDT-aggTrades-2025-05-04.zip`, ['a,b,c,d,e,f,g,h', 'i,j,k,l,m,n,o,p', 'q,r,s,t,u,v,w,x']);
    await publish(`${BA}BADUSDT-aggTrades-2025-05-05.zip`, {
      [csv('2025-05-05')]: strToU8('1,1,1,1,1,1,1,1\n'.repeat(400_000)),
    });
    await publish(`${BA}BADUSDT-aggTrades-2025-05-06.zip`, [
      '1,1.0,1.0,1,1,not-a-time,True,True',
      '2,1.0,1.0,2,2,later,True,True',
    ]);
  });
  after(async () => w?.stop());

  it('klines: a day cut at 07:36 is cut_short with its evidence, an interior hour missing is gaps, CRLF and µs read', async () => {
    const { handle, report } = await collect(w, { ...klinesRequest, destination: destination(), inspect: true });
    // Keep a real history with the content step for the replay test.
    recordHistory('content', await handle.fetchHistory());
    recordHistory('content-shard', await firstShardHistory(handle));
    assert.equal(report.ok, true, 'a collect stays OK: its outcome is about copies and proofs');
    assert.equal(report.files.copied, 3);
    const facts = await factsNow();
    const day = (d: string) => facts.get(`${KL}BTCUSDT-1m-${d}.zip`)!;
    assert.equal(day('2025-04-21').status, 'whole');
    assert.equal(day('2025-04-21').record.facts.unit, 'us');
    assert.equal(day('2025-04-21').record.facts.rows, 1440);
    assert.equal(day('2025-04-21').record.facts.lastTime, '2025-04-21T23:59:00.000Z');
    assert.equal(day('2025-04-22').status, 'cut_short');
    assert.equal(day('2025-04-22').record.facts.lastTime, '2025-04-22T07:35:00.000Z');
    assert.deepEqual(
      {
        rows: day('2025-04-22').record.verdict.evidence.rows,
        expectedRows: day('2025-04-22').record.verdict.evidence.expectedRows,
      },
      { rows: 456, expectedRows: 1440 },
    );
    assert.equal(day('2025-04-23').status, 'gaps');
    assert.deepEqual(day('2025-04-23').record.facts.klines.missingOpenTimes.ranges, [
      { from: '2025-04-23T03:00:00.000Z', to: '2025-04-23T03:59:00.000Z' },
    ]);

    // Beside the outcome in the manifest, in the coverage and in the verdict.
    const manifest = await manifestOf(report);
    assert.equal(manifest.get(`${KL}BTCUSDT-1m-2025-04-22.zip`)!.content?.status, 'cut_short');
    assert.equal(manifest.get(`${KL}BTCUSDT-1m-2025-04-22.zip`)!.outcome, 'copied');
    const row = report.coverage.rows[0];
    assert.deepEqual([row.contentKnown, row.cutShort, row.cutShortRanges, row.contentGaps], [3, 1, '2025-04-22', 1]);
    assert.match(row.timeline, /!/);
    assert.equal(report.coverage.content?.inspectedNow, 3);
    assert.match(
      report.verdict,
      /CONTENT of 3 verified files \(3 read by this run\): 1 whole, 1 with interior gaps, 1 cut short/,
    );
    const csv = await readText(buckets.destination, report.coverage.keys.csv);
    assert.match(csv.split('\n')[0], /contentKnown,cutShort,cutShortRanges,contentGaps,seriesBreaks$/);
    const { proven } = await assertTrustInvariant(s3, buckets.destination, '', buckets.source);
    assert.equal(proven.size, 3, 'inspection changes no proof');
  });

  it('a rerun inspects nothing unchanged; an inspect run exits 1 on a cut-short file; coverage shows it', async () => {
    const before = await listAll(s3, buckets.destination, '_facts/');
    const { report } = await collect(w, { ...klinesRequest, destination: destination(), action: 'inspect' });
    assert.equal(report.coverage.content?.inspectedNow, 0, 'no file is read again while its bytes are unchanged');
    assert.equal(report.coverage.content?.known, 3);
    assert.equal(report.ok, false, 'an inspect run that finds a cut-short file is not OK');
    assert.deepEqual(await listAll(s3, buckets.destination, '_facts/'), before, 'no facts record written again');

    const cli = await runCli(
      w.config.temporal.taskQueue,
      'inspect',
      '--symbols',
      'BTCUSDT',
      '--intervals',
      '1m',
      '--start',
      '2025-04-21',
      '--end',
      '2025-04-23',
      '--bucket',
      buckets.destination,
      '--prefix',
      '',
    );
    assert.equal(cli.code, 1, `client inspect exits 1 on a cut-short file:\n${cli.out}\n${cli.err}`);
    assert.match(cli.out, /CONTENT {2}3 verified files inspected: 1 whole, 1 with interior gaps, 1 cut short/);
    assert.match(cli.out, /cut short 2025-04-22/);

    // A plan (client coverage) reads no bytes but shows what earlier runs found.
    const coverage = await runCli(
      w.config.temporal.taskQueue,
      'coverage',
      '--symbols',
      'BTCUSDT',
      '--intervals',
      '1m',
      '--start',
      '2025-04-21',
      '--end',
      '2025-04-23',
      '--bucket',
      buckets.destination,
      '--prefix',
      '',
    );
    assert.equal(coverage.code, 0, coverage.err);
    assert.match(coverage.out, /cut short 2025-04-22/);
  });

  it('a corrected re-upload replaces the cut-short file once verified, and its new bytes are read', async () => {
    const fixed = await publish(`${KL}BTCUSDT-1m-2025-04-22.zip`, klines('2025-04-22', '2025-04-23', 60_000, 'us'));
    const { report } = await collect(w, { ...klinesRequest, destination: destination(), inspect: true });
    assert.equal(report.ok, true);
    const manifest = await manifestOf(report);
    const entry = manifest.get(`${KL}BTCUSDT-1m-2025-04-22.zip`)!;
    assert.equal(entry.outcome, 'replaced');
    assert.equal(entry.sha256, fixed);
    assert.equal(report.coverage.content?.inspectedNow, 1, 'only the new bytes are read');
    const facts = await factsNow();
    assert.equal(facts.get(`${KL}BTCUSDT-1m-2025-04-22.zip`)!.status, 'whole');
    assert.equal(report.coverage.content?.cutShort, 0);
    assert.equal(report.coverage.rows[0].cutShort, 0);
  });

  it('ms before 2025 and µs after: both read, and the open times continue across the change of unit', async () => {
    const { report } = await collect(w, {
      symbols: ['ETHUSDT'],
      intervals: ['1h'],
      startDate: '2024-12-31',
      endDate: '2025-01-01',
      destination: destination(),
      inspect: true,
    });
    assert.equal(report.ok, true, report.verdict);
    const facts = await factsNow();
    const ms = facts.get('data/spot/daily/klines/ETHUSDT/1h/ETHUSDT-1h-2024-12-31.zip')!;
    const us = facts.get('data/spot/daily/klines/ETHUSDT/1h/ETHUSDT-1h-2025-01-01.zip')!;
    assert.deepEqual(
      [ms.record.facts.unit, ms.status, ms.record.facts.firstTime],
      ['ms', 'whole', '2024-12-31T00:00:00.000Z'],
    );
    assert.deepEqual(
      [us.record.facts.unit, us.status, us.record.facts.firstTime],
      ['us', 'whole', '2025-01-01T00:00:00.000Z'],
    );
    assert.equal(report.coverage.content?.seriesBreaks, 0);
  });

  it('trades: ids skipping inside a day are gaps; ids breaking between two days mark the day that lost them; a header is read', async () => {
    const request = {
      markets: ['futures/um' as const],
      dataTypes: ['trades'],
      symbols: ['BTCUSDT'],
      startDate: '2025-03-01',
      endDate: '2025-03-03',
      destination: destination(),
    };
    const { report } = await collect(w, { ...request, inspect: true });
    const facts = await factsNow();
    const day = (d: string) => facts.get(`data/futures/um/daily/trades/BTCUSDT/BTCUSDT-trades-${d}.zip`)!;
    assert.equal(day('2025-03-01').record.facts.header, true);
    assert.equal(day('2025-03-01').record.facts.rows, 1440);
    assert.equal(day('2025-03-01').record.facts.ids.first, 1000);
    assert.equal(day('2025-03-02').status, 'gaps');
    assert.equal(day('2025-03-02').record.facts.ids.gaps.missing, 50);
    // The day after the break is whole on its own (it starts 30 min late, under the 6 h threshold): the break marks it,
    // in its record too, so that runs that only look facts up show it.
    assert.equal(day('2025-03-03').record.verdict.status, 'whole');
    assert.equal(day('2025-03-03').status, 'cut_short');
    assert.equal(
      day('2025-03-03').record.continuity.neighbour,
      'data/futures/um/daily/trades/BTCUSDT/BTCUSDT-trades-2025-03-02.zip',
    );
    const manifest = await manifestOf(report);
    const after = manifest.get('data/futures/um/daily/trades/BTCUSDT/BTCUSDT-trades-2025-03-03.zip')!.content!;
    assert.equal(after.status, 'cut_short');
    const lastOfDay2 = day('2025-03-02').record.facts.ids.last;
    assert.match(
      after.reason,
      new RegExp(`id sequence breaks at its start: ids ${lastOfDay2 + 1}\\.\\.${lastOfDay2 + 500}`),
    );
    assert.equal(report.coverage.content?.seriesBreaks, 1);
    assert.equal(report.coverage.rows[0].seriesBreaks, 1);
    assert.equal(report.ok, true, 'a collect stays OK: its outcome is about copies and proofs');
    const inspect = await collect(w, { ...request, action: 'inspect' });
    assert.equal(inspect.report.coverage.content?.inspectedNow, 0);
    assert.equal(inspect.report.coverage.content?.seriesBreaks, 1, 'continuity is checked again from the records');
    assert.equal(inspect.report.ok, false, 'an inspect run with a cut-short file is not OK');
    const lookup = await collect(w, request);
    assert.equal(lookup.report.coverage.content?.cutShort, 1, 'a collect that reads nothing shows the mark');
    assert.equal(lookup.report.coverage.content?.inspectedNow, 0);
  });

  it('a quiet symbol whose last trade is at 21:00 and whose ids continue into the next day is whole', async () => {
    const { report } = await collect(w, {
      dataTypes: ['trades'],
      symbols: ['QUIETUSDT'],
      startDate: '2025-02-01',
      endDate: '2025-02-02',
      destination: destination(),
      inspect: true,
    });
    assert.equal(report.ok, true, report.verdict);
    const manifest = await manifestOf(report);
    for (const e of manifest.values()) assert.equal(e.content?.status, 'whole', `${e.key}: ${e.content?.reason}`);
    assert.equal(report.coverage.content?.seriesBreaks, 0);
    const facts = await factsNow();
    assert.equal(
      facts.get('data/spot/daily/trades/QUIETUSDT/QUIETUSDT-trades-2025-02-01.zip')!.record.facts.lastTime,
      '2025-02-01T21:00:00.000Z',
    );
  });

  it('bytes that are not the data type CSV: content unknown with the reason, copies and proofs as they are', async () => {
    const request = {
      dataTypes: ['aggTrades'],
      symbols: ['BADUSDT'],
      startDate: '2025-05-01',
      endDate: '2025-05-06',
      destination: destination(),
    };
    // A collect that does not ask for inspection reads nothing and says nothing about content.
    const plain = await collect(w, request);
    assert.equal(plain.report.ok, true);
    assert.equal(plain.report.files.copied, 6);
    assert.doesNotMatch(plain.report.verdict, /CONTENT/);
    assert.equal(plain.report.coverage.content?.notInspected, 6);
    assert.equal(
      (await listAll(s3, buckets.destination, '_facts/data/spot/daily/aggTrades/')).length,
      0,
      'nothing was read',
    );

    const { report } = await collect(w, { ...request, action: 'inspect' });
    assert.equal(report.coverage.content?.unknown, 6, report.verdict);
    const manifest = await manifestOf(report);
    const reason = (d: string) =>
      manifest.get(`data/spot/daily/aggTrades/BADUSDT/BADUSDT-aggTrades-${d}.zip`)!.content!;
    assert.match(reason('2025-05-01').reason, /holds no file/);
    assert.match(reason('2025-05-02').reason, /holds 2 files/);
    assert.match(reason('2025-05-03').reason, /is not a CSV/);
    assert.match(reason('2025-05-04').reason, /do not have the data type's columns/);
    assert.match(reason('2025-05-05').reason, /expands past 4000000 bytes/);
    assert.match(reason('2025-05-06').reason, /do not have the data type's columns/);
    for (const e of manifest.values()) {
      assert.equal(e.content?.status, 'unknown');
      assert.equal(e.proof, 'sha256', `${e.key}: its proof stays`);
    }
    const { proven } = await assertTrustInvariant(s3, buckets.destination, '', buckets.source);
    assert.ok(proven.size >= 6 + 3);
  });
});
