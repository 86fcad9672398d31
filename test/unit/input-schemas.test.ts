/**
 * Property-based tests of every input schema (workflow arguments, continue-as-new state, activity inputs):
 * whatever a namespace user sends, parsing never throws, errors stay small and name fields, and what passes
 * keeps the boundary (state folders under `_collections/`, known verification levels, no "..").
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { z } from 'zod';
import { parseCollectionRequest, VERIFICATION_LEVELS } from '../../workflows/request';
import { ReviewRequest } from '../../workflows/review';
import {
  AcceptQuarantinedSchema,
  AssembleInputSchema,
  BatchRefSchema,
  CollectCarriedSchema,
  CountBatchSchema,
  CountListedSchema,
  DiscardQuarantinedSchema,
  ListInputSchema,
  ListQuarantineSchema,
  ManifestInputSchema,
  ProbeInputSchema,
  ShardCarriedSchema,
  ShardInputSchema,
  StagedBatchSchema,
  WriteReportSchema,
  isStateFolder,
  parseWith,
} from '../../workflows/schemas';
import { emptyTotals } from '../../workflows/collect';
import { emptyCounts, emptyListCounts } from '../../workflows/tally';
import type { ListResult } from '../../workflows/types';

const request = (() => {
  const r = parseCollectionRequest({ symbols: ['BTCUSDT'], startDate: '2025-01-01', endDate: '2025-01-02' });
  assert.ok(r.ok);
  return r.request;
})();
const range = { first: '2025-01-01', last: '2025-01-02', asOf: '2025-01-03T00:00:00.000Z' };
const collectionState = {
  collectionId: 'wf-1234',
  bucket: 'bronze',
  destinationPrefix: 'binance/',
  statePrefix: 'binance/_collections/wf-1234/',
};
const shardState = { ...collectionState, statePrefix: 'binance/_collections/wf-1234/shards/shard-000000/' };
const list = emptyListCounts() as ListResult;
const tally = { fallbackBatches: 0, fallbackFiles: 0, bytesThroughWorker: 0, s3Requests: 0, peakLocalDiskBytes: 0 };
const batch = { state: shardState, batch: 0, verification: 'checksum', stallMs: 90_000 };
const probe = {
  s5cmd: { available: true, checksums: true, detail: 'x' },
  sharedEndpoint: { shared: true, detail: 'x' },
  sourceOverHttp: false,
  serverSideCopy: { works: true, detail: 'x' },
  storeChecksum: { supported: true, detail: 'x' },
  destination: { bucket: 'bronze', writable: true, detail: 'x' },
};
const discovery = {
  series: 1,
  shards: 1,
  estimatedFiles: 2,
  dataTypes: ['klines'],
  intervals: ['1d'],
  symbols: 1,
  symbolSample: ['BTCUSDT'],
  discovered: false,
  skipped: [],
  listings: 0,
  ms: 3,
};
const sha = 'a'.repeat(64);
const key = 'data/spot/daily/klines/BTCUSDT/1d/BTCUSDT-1d-2025-01-01.zip';

/** Every schema at the edge, with one valid input each (so the properties also try near-valid inputs). */
const SCHEMAS: [string, z.ZodType<unknown>, Record<string, unknown>][] = [
  [
    'collectShard input',
    ShardInputSchema,
    {
      request,
      range,
      shard: 0,
      state: shardState,
      decision: { mode: 'direct_sync', reason: 'x', proofBy: 'store', transfersBy: 's5cmd' },
      summary: 'x',
    },
  ],
  [
    'collectShard carried',
    ShardCarriedSchema,
    {
      list,
      nextBatch: 1,
      tally: { ...tally, batchesDone: 1 },
      counts: emptyCounts(),
      batchFailures: {},
      phaseMs: { listing: 1 },
      runs: 1,
    },
  ],
  [
    'collectArchive carried',
    CollectCarriedSchema,
    {
      request,
      range,
      collectionId: 'wf-1234',
      state: collectionState,
      probe,
      decision: { mode: 'traditional', reason: 'x' },
      discovery,
      searchAttributes: false,
      nextShard: 0,
      totals: emptyTotals(),
      phaseMs: {},
      runs: 1,
    },
  ],
  [
    'reviewQuarantine',
    ReviewRequest as z.ZodType<unknown>,
    { action: 'accept', key, sha256: sha, reason: 'looks right' },
  ],
  ['probeEnvironment', ProbeInputSchema, { bucket: 'bronze', prefix: 'binance/', request }],
  ['listShard / discoverSeries', ListInputSchema, { request, range, state: shardState }],
  ['directSyncBatch / proveCopied', BatchRefSchema, { ...batch, only: [1, 2], storeChecksum: true }],
  ['download / verify / upload / cleanup', StagedBatchSchema, { ...batch, stagingId: 'run-b0-p1' }],
  ['countListed', CountListedSchema, { state: shardState, settledParts: 1 }],
  ['countBatch', CountBatchSchema, { state: shardState, batch: 0, action: 'collect' }],
  [
    'writeManifest',
    ManifestInputSchema,
    {
      state: shardState,
      batchCount: 1,
      settledParts: 0,
      mode: 'direct_sync',
      action: 'collect',
      batchFailures: { '0': 'x' },
    },
  ],
  [
    'assembleCollection',
    AssembleInputSchema,
    { state: collectionState, shards: 1, plan: { list, mode: 'traditional' } },
  ],
  [
    'writeReport',
    WriteReportSchema,
    {
      state: collectionState,
      report: {
        collectionId: 'wf-1234',
        action: 'collect',
        ok: true,
        coverage: { missingFiles: 0, archiveGapPeriods: 0 },
      },
    },
  ],
  ['listQuarantine', ListQuarantineSchema, { bucket: 'bronze', limit: 10 }],
  ['acceptQuarantined', AcceptQuarantinedSchema, { key, sha256: sha, reason: 'why', decidedBy: 'review x' }],
  ['discardQuarantined', DiscardQuarantinedSchema, { prefix: 'binance/', key }],
];

/** Values a hostile or careless caller sends. */
const hostile = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    '../',
    '../../etc/',
    '/abs/',
    'outside/',
    'sha256',
    'data.binance.vision',
    'binance-mirror',
    '',
    '*',
    -1,
    1e21,
    Number.NaN,
    null,
    'x'.repeat(300_000),
    Array.from({ length: 5_000 }, (_, i) => i),
    { __proto__: { polluted: true } },
  ),
);

/** Every path into a value, for edits. */
function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (v && typeof v === 'object') {
    const entries = Array.isArray(v) ? v.map((x, i) => [i, x] as const) : Object.entries(v);
    return [at, ...entries.flatMap(([k, x]) => paths(x, [...at, k]))];
  }
  return [at];
}

function edited(v: Record<string, unknown>, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(v) as Record<string | number, unknown>;
  let node = copy;
  for (const p of path.slice(0, -1)) node = node[p] as Record<string | number, unknown>;
  node[path[path.length - 1]] = value;
  return copy;
}

function checkOutcome(name: string, schema: z.ZodType<unknown>, input: unknown) {
  const r = parseWith(schema, input);
  if (!r.ok) {
    assert.ok(r.problems.length >= 1 && r.problems.length <= 21, `${name}: ${r.problems.length} problems`);
    const size = r.problems.join('\n').length;
    assert.ok(size < 10_000, `${name}: an error of ${size} characters`);
    return;
  }
  // What passes keeps the boundary.
  const walk = (v: unknown, key = ''): void => {
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if ('statePrefix' in o) assert.ok(isStateFolder(o as never), `${name}: state folder ${String(o.statePrefix)}`);
      for (const [k, x] of Object.entries(o)) walk(x, k);
    } else if (
      typeof v === 'string' &&
      ['prefix', 'destinationPrefix', 'statePrefix', 'stagingId', 'key'].includes(key)
    ) {
      assert.ok(!v.split('/').some((s) => s === '..'), `${name}: ${key} ${v}`);
      assert.ok(!v.startsWith('/'), `${name}: ${key} ${v}`);
    } else if (key === 'verification') {
      assert.ok((VERIFICATION_LEVELS as readonly unknown[]).includes(v), `${name}: verification ${String(v)}`);
    }
  };
  walk(r.value);
}

describe('input schemas at the edge (property-based)', () => {
  for (const [name, schema, valid] of SCHEMAS) {
    it(`${name}: its valid input passes`, () => {
      const r = parseWith(schema, valid);
      assert.ok(r.ok, `${name}: ${r.ok ? '' : r.problems.join('; ')}`);
    });

    it(`${name}: any JSON value is parsed or refused with a small error, never thrown`, () => {
      fc.assert(
        fc.property(hostile, (v) => checkOutcome(name, schema, v)),
        { numRuns: 150 },
      );
    });

    it(`${name}: a valid input with any one field edited keeps the boundary or is refused`, () => {
      const all = paths(valid);
      fc.assert(
        fc.property(fc.constantFrom(...all), hostile, (path, value) =>
          checkOutcome(name, schema, edited(valid, path, value)),
        ),
        { numRuns: 300 },
      );
    });
  }

  it('a 1 MB data type is refused by name, in a small error', () => {
    const r = parseCollectionRequest({ dataTypes: ['k'.repeat(1_000_000)] });
    assert.ok(!r.ok);
    assert.match(r.problems[0], /^dataTypes\[0\]: /);
    assert.ok(r.problems.join('\n').length < 500);
  });

  it('thousands of bad symbols give at most 20 lines and a count of the rest', () => {
    const r = parseCollectionRequest({ symbols: Array.from({ length: 2_000 }, () => '../x') });
    assert.ok(!r.ok);
    assert.equal(r.problems.length, 21);
    assert.match(r.problems[20], /and 1980 more problems/);
  });

  it('a huge unknown field name is shown cut short', () => {
    const r = parseCollectionRequest({ ['z'.repeat(100_000)]: 1 });
    assert.ok(!r.ok);
    assert.ok(r.problems[0].length < 600, r.problems[0].slice(0, 100));
  });
});
