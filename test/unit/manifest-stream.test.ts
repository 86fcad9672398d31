import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type ShardStateError } from '../../common/errors';
import { countListed, folderGroups, shardEntryStream, writeManifest } from '../../activities/manifest';
import type { PlanFile } from '../../activities/plan';
import { STATE_OBJECTS, StateStore } from '../../activities/state-store';
import { seriesPrefix } from '../../workflows/keys';
import { countEntries } from '../../workflows/tally';
import type { ManifestEntry, SeriesSpec, StateRef } from '../../workflows/types';

const state: StateRef = { collectionId: 'c', bucket: 'bkt', destinationPrefix: '', statePrefix: '_collections/c/' };

/** An in-memory bucket answering GET and PUT as S3 does (404 for a missing key), counting the GETs of plan objects. */
function memoryBucket() {
  const objects = new Map<string, string>();
  const planReads: string[] = [];
  // A real client (lib-storage's Upload reads its configuration) whose requests never leave the process.
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9',
    forcePathStyle: true,
    credentials: { accessKeyId: 'k', secretAccessKey: 's' },
  });
  client.send = (async (command: unknown) => {
    if (command instanceof GetObjectCommand) {
      const key = command.input.Key!;
      if (key.includes('/plan/batch-')) planReads.push(key);
      const text = objects.get(key);
      if (text === undefined) throw Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey' });
      return {
        Body: Object.assign(
          (async function* () {
            yield Buffer.from(text);
          })(),
          { transformToString: async () => text },
        ),
      };
    }
    if (command instanceof PutObjectCommand) {
      const body = command.input.Body;
      objects.set(command.input.Key!, typeof body === 'string' ? body : Buffer.from(body as Uint8Array).toString());
      return { ETag: '"e"' };
    }
    throw new Error(`unexpected ${(command as object).constructor.name}`);
  }) as S3Client['send'];
  return { objects, planReads, client };
}

const series: SeriesSpec[] = ['AAAUSDT', 'BBBUSDT', 'CCCUSDT'].map((symbol) => ({
  market: 'spot',
  granularity: 'daily',
  dataType: 'klines',
  symbol,
  interval: '1d',
}));
const keyOf = (s: SeriesSpec, day: number) =>
  `${seriesPrefix(s)}${s.symbol}-1d-2024-01-${String(day).padStart(2, '0')}.zip`;

/**
 * A shard as the listing leaves it: every series' files in key order, each either planned (in batches of
 * `batchSize`) or settled (in parts of `partSize`), so the two kinds interleave across series.
 */
function writeShard(objects: Map<string, string>, batchSize: number, partSize: number) {
  const store = (name: string) => `${state.statePrefix}${name}`;
  const planned: PlanFile[][] = [[]];
  const settled: ManifestEntry[][] = [[]];
  const all: string[] = [];
  for (const s of series)
    for (let day = 1; day <= 9; day++) {
      const key = keyOf(s, day);
      all.push(key);
      if (day % 3 === 0) {
        if (settled.at(-1)!.length === partSize) settled.push([]);
        settled.at(-1)!.push({
          key,
          size: 1,
          sha256: null,
          mode: null,
          outcome: 'skipped',
          proof: 'sha256',
          attempts: 0,
          error: null,
        });
      } else {
        if (planned.at(-1)!.length === batchSize) planned.push([]);
        planned.at(-1)!.push({ key, size: 10, etag: 'e', checksumEtag: 'c', action: 'copy' });
      }
    }
  planned.forEach((files, b) => {
    objects.set(store(STATE_OBJECTS.plan(b)), JSON.stringify(files));
    objects.set(
      store(STATE_OBJECTS.results(b, 'direct')),
      JSON.stringify(
        files.map((_, i) => ({
          i,
          outcome: 'proven',
          sha256: 'ab'.repeat(32),
          proof: 'sha256',
          attempt: 1,
          error: null,
        })),
      ),
    );
  });
  settled.forEach((entries, i) =>
    objects.set(store(STATE_OBJECTS.settledPart(i)), entries.map((e) => JSON.stringify(e)).join('\n')),
  );
  objects.set(store(STATE_OBJECTS.series), JSON.stringify(series));
  return { batchCount: planned.length, settledParts: settled.length, keys: all.sort() };
}

const input = (shard: { batchCount: number; settledParts: number }) => ({
  state,
  batchCount: shard.batchCount,
  settledParts: shard.settledParts,
  batchFailures: {},
  action: 'collect' as const,
  mode: 'direct_sync' as const,
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe("a shard's entries, streamed", () => {
  it('merges settled parts and plan batches into one key-ordered stream, grouped by series', async () => {
    const { objects, client } = memoryBucket();
    const shard = writeShard(objects, 4, 2);
    const store = new StateStore(client, state);
    const entries = await collect(shardEntryStream(store, input(shard)));
    assert.deepEqual(
      entries.map((e) => e.key),
      shard.keys,
    );
    assert.equal(entries.filter((e) => e.outcome === 'skipped').length, 9);
    assert.equal(entries.filter((e) => e.outcome === 'copied').length, 18);
    const groups = await collect(folderGroups(shardEntryStream(store, input(shard))));
    assert.deepEqual(
      groups.map((g) => [g.folder, g.entries.length]),
      series.map((s) => [seriesPrefix(s), 9]),
    );
  });

  it('reads a bounded number of batches ahead, not the whole shard', async () => {
    const { objects, planReads, client } = memoryBucket();
    const shard = writeShard(objects, 1, 1); // 18 batches of one file
    const stream = shardEntryStream(new StateStore(client, state), input(shard));
    await stream.next();
    await new Promise((r) => setImmediate(r));
    assert.ok(planReads.length <= 9, `${planReads.length} plan batches read for the first entry`);
    await stream.return(undefined);
  });

  it('stops on state that is not in key order, naming it', async () => {
    const { objects, client } = memoryBucket();
    const shard = writeShard(objects, 4, 2);
    const first = `${state.statePrefix}${STATE_OBJECTS.plan(0)}`;
    const files = JSON.parse(objects.get(first)!) as PlanFile[];
    objects.set(first, JSON.stringify(files.reverse()));
    await assert.rejects(collect(shardEntryStream(new StateStore(client, state), input(shard))), (e: Error) => {
      assert.equal(e.name, 'ShardStateError');
      assert.equal((e as ShardStateError).nonRetryable, true, 'no retry reorders the state');
      assert.match(e.message, /not in key order \(.*AAAUSDT-1d-2024-01-04\.zip after .*AAAUSDT-1d-2024-01-05\.zip\)/);
      return true;
    });
  });

  it("counts the listing's settled files a few parts at a time, as the manifest counts them", async () => {
    const { objects, client } = memoryBucket();
    const shard = writeShard(objects, 4, 2);
    const settled = [...objects.entries()]
      .filter(([k]) => k.includes('/plan/settled-'))
      .flatMap(([, text]) => text.split('\n').map((l) => JSON.parse(l) as ManifestEntry));
    assert.equal(settled.length, 9);
    assert.deepEqual(await countListed(client, { state, settledParts: shard.settledParts }), countEntries(settled));
  });

  it('writes the manifest in key order with the counts and one coverage row per series', async () => {
    const { objects, client } = memoryBucket();
    const shard = writeShard(objects, 4, 2);
    const summary = await writeManifest(client, input(shard));
    const manifest = objects
      .get(`${state.statePrefix}${STATE_OBJECTS.manifest}`)!
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as ManifestEntry);
    assert.deepEqual(
      manifest.map((e) => e.key),
      shard.keys,
    );
    const { key: _key, coverage, ...counts } = summary;
    assert.deepEqual(counts, countEntries(manifest));
    const rows = objects
      .get(`${state.statePrefix}${STATE_OBJECTS.coverageRows}`)!
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { symbol: string; verified: number });
    assert.deepEqual(
      rows.map((r) => [r.symbol, r.verified]),
      series.map((s) => [s.symbol, 9]),
    );
    assert.equal(coverage.series, 3);
  });
});
