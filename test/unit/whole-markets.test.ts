import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cutShards } from '../../activities/discover';
import { estimatePlan } from '../../activities/estimate';
import {
  addCoverage,
  coverageCsvHeader,
  coverageCsvLine,
  coverageRow,
  foldRanges,
  summarizeRows,
  MAX_REPORT_ROWS,
  rankRows,
} from '../../workflows/coverage';
import { enumerateDays, parseDay } from '../../workflows/dates';
import { globMatches, parseCollectionRequest, resolvePeriods, summarize } from '../../workflows/request';
import { addCounts, countEntries } from '../../workflows/tally';
import type { ListResult, ManifestEntry, SeriesSpec } from '../../workflows/types';
import { verdictOf } from '../../workflows/verdict';

const series = (symbol: string): SeriesSpec => ({
  market: 'spot',
  granularity: 'daily',
  dataType: 'klines',
  symbol,
  interval: '1d',
});
const entry = (
  day: string,
  outcome: ManifestEntry['outcome'],
  proof: ManifestEntry['proof'] = ['copied', 'skipped'].includes(outcome) ? 'sha256' : null,
): ManifestEntry => ({
  key: `data/spot/daily/klines/X/1d/X-1d-${day}.zip`,
  size: 1,
  sha256: null,
  mode: null,
  outcome,
  proof,
  attempts: 0,
  error: null,
});
const periodOf = (key: string) => key.match(/(\d{4}-\d{2}-\d{2})\.zip$/)?.[1];

describe('whole-market requests', () => {
  it('take "*" and patterns for symbols, "*" for data types and intervals, and dates "all"', () => {
    const r = parseCollectionRequest({ symbols: '*', dataTypes: '*', intervals: '*', dates: 'all' });
    assert.ok(r.ok, r.ok ? '' : r.problems.join('\n'));
    assert.deepEqual(r.request.symbols, ['*']);
    assert.deepEqual(r.request.dataTypes, ['*']);
    assert.deepEqual(r.request.intervals, ['*']);
    const mixed = parseCollectionRequest({ symbols: ['*usdt', 'BTC?', 'ETHBTC'] });
    assert.ok(mixed.ok);
    assert.deepEqual(mixed.request.symbols, ['*USDT', 'BTC?', 'ETHBTC']);
    const range = resolvePeriods(r.request, new Date('2026-11-25T10:00:00Z'));
    assert.deepEqual([range.first, range.last, range.all], ['2017-01-01', '2026-11-24', true]);
    assert.match(summarize(r.request, range), /all dates/);
  });

  it('refuse what cannot work, naming the field and the fix', () => {
    const problems = (input: unknown) => {
      const r = parseCollectionRequest(input);
      assert.equal(r.ok, false, JSON.stringify(input));
      return r.ok ? '' : r.problems.join('\n');
    };
    assert.match(
      problems({ dates: 'all', lastDays: 3 }),
      /dates: "all" .* relative range lastDays: remove one of them/,
    );
    assert.match(
      problems({ dates: 'all', startDate: '2025-01-01', endDate: '2025-01-02' }),
      /dates: "all" .* remove startDate\/endDate/,
    );
    assert.match(problems({ dates: 'everything' }), /dates: must be "all"/);
    assert.match(problems({ dataTypes: ['zz*'] }), /dataTypes\[0\]: "zz\*" matches no data type of the archive/);
    assert.match(problems({ intervals: ['*', '1h'] }), /intervals: "\*" already means every interval/);
    assert.match(problems({ symbols: 'all' }), /symbols: must be "\*" \(everything the archive has\) or a list/);
    assert.match(problems({ symbols: ['BTC/*'] }), /symbols\[0\]: must be a symbol .* or a pattern/);
    assert.match(
      problems({ action: 'audit', verification: 'size' }),
      /verification: an audit proves bytes by their SHA-256/,
    );
    assert.match(
      problems({ symbols: ['A', 'B'], startDate: '2020-01-01', endDate: '2025-01-01', maxFiles: 100 }),
      /symbols: .* over maxFiles 100; .* or raise maxFiles/,
    );
  });

  it('glob patterns match whole names', () => {
    assert.ok(globMatches('*USDT', 'BTCUSDT'));
    assert.ok(!globMatches('*USDT', 'BTCUSDTX'));
    assert.ok(globMatches('BTC*', 'BTCUSD_PERP'));
    assert.ok(globMatches('?TC*', 'BTCUSDT'));
    assert.ok(!globMatches('BTC', 'BTCUSDT'));
    assert.ok(globMatches('*', '币安人生USDT'));
    assert.ok(!globMatches('B.C*', 'BTCUSDT'), 'a dot is a dot');
  });
});

describe('shards', () => {
  it('cut series in order into shards of at most filesPerShard, at least one series each', () => {
    const s = ['A', 'B', 'C', 'D', 'E'].map(series);
    assert.deepEqual(
      cutShards(s, 10, 25).map((x) => x.map((y) => y.symbol)),
      [['A', 'B'], ['C', 'D'], ['E']],
    );
    assert.deepEqual(cutShards(s, 100, 25).length, 5, 'a series larger than a shard is a shard');
    assert.deepEqual(cutShards([], 10, 25), []);
  });

  it('sum their counts to what counting all their entries at once gives', () => {
    const a = [entry('2025-01-01', 'copied'), entry('2025-01-02', 'not_published')];
    const b = [entry('2025-01-03', 'skipped'), entry('2025-01-04', 'checksum_mismatch')];
    assert.deepEqual(addCounts(countEntries(a), countEntries(b)), countEntries([...a, ...b]));
  });
});

describe('coverage', () => {
  it('finds the span, the archive gaps inside it and what the destination misses', () => {
    const days = enumerateDays(parseDay('2025-01-01')!, parseDay('2025-01-10')!);
    const outcome = (d: string): ManifestEntry['outcome'] =>
      d < '2025-01-03' || d === '2025-01-10'
        ? 'not_published'
        : d === '2025-01-05' || d === '2025-01-06'
          ? 'not_published'
          : d === '2025-01-08'
            ? 'failed'
            : 'copied';
    const row = coverageRow(
      series('X'),
      days.map((d) => entry(d, outcome(d))),
      periodOf,
    );
    assert.deepEqual([row.first, row.last, row.span, row.published], ['2025-01-03', '2025-01-09', 7, 5]);
    assert.deepEqual([row.archiveGaps, row.archiveGapRanges], [2, '2025-01-05..2025-01-06']);
    assert.deepEqual([row.verified, row.missing, row.missingRanges, row.status], [4, 1, '2025-01-08', 'incomplete']);
    assert.equal(row.timeline, '  ██··█▒█ '.replace('▒', '░'));
    assert.equal(row.timelineScale, 'day from 2025-01-01');
    const weak = coverageRow(
      series('W'),
      [entry('2025-01-01', 'copied', 'size'), entry('2025-01-02', 'copied', 'accepted')],
      periodOf,
    );
    assert.deepEqual([weak.verified, weak.missing], [1, 1], 'a copy checked only by size is not verified');
    const empty = coverageRow(series('Y'), [entry('2025-01-01', 'not_published')], periodOf);
    assert.equal(empty.status, 'empty');
  });

  it('shows content apart from copies: cut-short periods, content gaps and breaks; a series with none stays as it was', () => {
    const withContent = (d: string, status: 'whole' | 'gaps' | 'cut_short'): ManifestEntry => ({
      ...entry(d, 'copied'),
      content: { status, reason: status, record: `_facts/${d}` },
    });
    const row = coverageRow(
      series('C'),
      [withContent('2025-01-01', 'whole'), withContent('2025-01-02', 'cut_short'), withContent('2025-01-03', 'gaps')],
      periodOf,
      [{}],
    );
    assert.equal(row.status, 'complete', 'content never changes what the destination holds with proof');
    assert.deepEqual(
      [row.contentKnown, row.cutShort, row.cutShortRanges, row.contentGaps, row.seriesBreaks],
      [3, 1, '2025-01-02', 1, 1],
    );
    assert.equal(row.timeline, '█!█');
    const plain = coverageRow(series('P'), [entry('2025-01-01', 'copied')], periodOf);
    assert.equal(plain.contentKnown, undefined);
    assert.equal(rankRows([plain, row])[0].symbol, 'C', 'a series with a cut-short file is read before a whole one');
  });

  it('folds periods into ranges', () => {
    const all = enumerateDays(parseDay('2025-01-01')!, parseDay('2025-01-31')!);
    assert.equal(
      foldRanges(['2025-01-01', '2025-01-02', '2025-01-03', '2025-01-05'], all),
      '2025-01-01..2025-01-03 2025-01-05',
    );
    assert.equal(
      foldRanges(
        all.filter((_, i) => i % 2 === 0),
        all,
        3,
      ),
      '2025-01-01 2025-01-03 2025-01-05 …',
    );
  });

  it('keeps the incomplete series first and at most MAX_REPORT_ROWS rows, counting the rest', () => {
    const complete = coverageRow(series('OK'), [entry('2025-01-01', 'copied')], periodOf);
    const incomplete = coverageRow(series('BAD'), [entry('2025-01-01', 'failed')], periodOf);
    const many = summarizeRows(Array.from({ length: MAX_REPORT_ROWS + 5 }, () => complete));
    const total = addCoverage(many, summarizeRows([incomplete]));
    assert.equal(total.series, MAX_REPORT_ROWS + 6);
    assert.equal(total.rows.length, MAX_REPORT_ROWS);
    assert.equal(total.rowsOmitted, 6);
    assert.equal(total.rows[0].symbol, 'BAD');
    assert.equal(total.incomplete, 1);
  });

  it('writes CSV that quotes what needs quoting', () => {
    const row = { ...coverageRow(series('X'), [entry('2025-01-01', 'copied')], periodOf), archiveGapRanges: 'a,b' };
    assert.equal(coverageCsvHeader().split(',').length, coverageCsvLine(row).replace('"a,b"', 'ab').split(',').length);
    assert.match(coverageCsvLine(row), /"a,b"/);
  });
});

describe('plan estimate', () => {
  const list: ListResult = {
    batchCount: 4,
    planned: 1_000,
    plannedBytes: 1_000 * 1024 ** 2,
    alreadyPresent: 500,
    alreadyPresentBytes: 500 * 1024 ** 2,
    replacements: 100,
    verifyOnly: 200,
    notPublished: 3,
    missingChecksum: 1,
    listedObjects: 3_000,
    settledParts: 1,
    s3Requests: 12,
  };
  const prices = { putCopyListPer1000: 0.005, getHeadPer1000: 0.0004, transferPerGb: 0.09, storagePerGbMonth: 0.023 };

  it('counts requests by what each file needs and prices them; direct sync moves no bytes through a worker', () => {
    const p = estimatePlan(list, 'direct_sync', prices);
    assert.deepEqual([p.files, p.toCopy, p.toReplace, p.toProveInPlace], [1_501, 700, 100, 200]);
    assert.equal(p.requests.collectPutCopyList, 700 * 3 + 100 * 4 + 200 * 2);
    assert.equal(p.requests.collectGetHead, 1_000 * 2);
    assert.equal(p.costUsd.transfer, 0);
    assert.equal(p.costUsd.requests, Math.round((2.9 * 0.005 + 2 * 0.0004) * 10_000) / 10_000);
    const t = estimatePlan(list, 'traditional', prices);
    assert.ok(t.costUsd.transfer > 0);
    assert.equal(t.toCopyBytes, 800 * 1024 ** 2);
  });
});

describe('plan and audit verdicts', () => {
  const files = (byOutcome: Record<string, number>) => ({
    total: Object.values(byOutcome).reduce((a, b) => a + b, 0),
    notPublished: byOutcome.not_published ?? 0,
    failed: byOutcome.checksum_mismatch ?? 0,
    quarantined: 0,
    byOutcome,
    byProof: {},
  });
  it('say nothing was copied and what a collect run would do', () => {
    assert.match(
      verdictOf(files({ skipped: 2, pending: 3 }), 'plan').verdict,
      /^PLAN \(nothing copied\): of 5 published files, 2 .* 3 would be copied/,
    );
    const audit = verdictOf(files({ verified_in_place: 4, pending: 1, checksum_mismatch: 1 }), 'audit');
    assert.equal(audit.ok, false);
    assert.match(
      audit.verdict,
      /^AUDIT \(nothing copied\): 4 of 6 published files .* 1 are not there .* 1 do not match/,
    );
  });
});
