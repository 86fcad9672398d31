import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { firstShardHistory, recordHistory } from '../helpers/history';
import { after, before, describe, it } from 'node:test';
import { checksumKey, quarantineKey } from '../../workflows/keys';
import { assertTrustInvariant } from '../helpers/independent-check';
import {
  collect,
  exists,
  freshBuckets,
  listKeys,
  mirror,
  readManifest,
  s3,
  sha256Of,
  startWorker,
  type TestWorker,
} from '../helpers/stack';

describe('traditional mode on the real stack', () => {
  let w: TestWorker;
  let buckets: { source: string; destination: string };
  const stagingDir = `${process.cwd()}/.data/test-staging-traditional`;
  const request = {
    markets: ['futures/um' as const],
    dataTypes: ['aggTrades', 'klines'],
    symbols: ['BTCUSDT'],
    intervals: ['5m'],
    startDate: '2025-01-01',
    endDate: '2025-01-08',
    batchSize: 5,
    mode: 'traditional' as const,
  };
  let written: Awaited<ReturnType<typeof mirror>>;

  before(async () => {
    buckets = await freshBuckets('trad');
    written = await mirror(buckets.source, {
      ...request,
      faults: { checksumMismatch: ['2025-01-03'], missingChecksum: ['2025-01-04'], missing: ['2025-01-05'] },
    });
    // A small multipart threshold so that some uploads go in parts.
    w = await startWorker({
      SOURCE_BUCKET: buckets.source,
      STAGING_DIR: stagingDir,
      MULTIPART_THRESHOLD_BYTES: '20000',
    });
  });
  after(async () => w?.stop());

  it('downloads, verifies, uploads and cleans up; a mismatching file is never uploaded', async () => {
    const { handle, report } = await collect(w, {
      ...request,
      destination: { bucket: buckets.destination, prefix: '' },
    });
    // Keep a real history for the replay test.
    recordHistory('traditional', await handle.fetchHistory());
    recordHistory('traditional-shard', await firstShardHistory(handle));
    assert.equal(report.decision.mode, 'traditional');
    assert.equal(report.decision.reason, 'traditional mode was requested');
    assert.equal(report.decision.transfersBy, 's5cmd', 'the bytes move through s5cmd; the worker only hashes them');
    const good = written.filter((f) => !f.fault);
    assert.equal(report.files.byMode.traditional.copied, good.length);
    assert.equal(report.files.byMode.direct_sync.copied, 0);
    assert.equal(report.files.byOutcome.checksum_mismatch, 2);
    assert.equal(report.files.byOutcome.missing_checksum, 2);
    assert.equal(report.files.notPublished, 2);
    assert.ok(report.peakLocalDiskBytes > 0, 'files were staged');
    assert.ok(report.bytes.throughWorker >= 2 * good.reduce((n, f) => n + f.size, 0));

    for (const f of good) {
      assert.equal(await sha256Of(buckets.destination, f.key), f.sha256);
      assert.ok(await exists(buckets.destination, checksumKey(f.key)));
    }
    for (const f of written.filter((x) => x.fault)) {
      assert.equal(
        await exists(buckets.destination, f.key),
        false,
        `${f.key} (${f.fault}) must never reach its final key`,
      );
    }
    for (const f of written.filter((x) => x.fault === 'checksumMismatch')) {
      assert.equal(
        await sha256Of(buckets.destination, quarantineKey('', f.key)),
        f.sha256,
        'the bytes that failed are put aside for review',
      );
    }
    const manifest = await readManifest(report.manifest.bucket, report.manifest.key);
    const mismatch = manifest.filter((e) => e.outcome === 'checksum_mismatch');
    assert.equal(mismatch.length, 2);
    assert.ok(
      mismatch.every(
        (e) => e.mode === 'traditional' && /put aside at _quarantine\//.test(e.error!) && e.proof === null,
      ),
      JSON.stringify(mismatch),
    );
    assert.ok(
      manifest
        .filter((e) => e.outcome === 'copied')
        .every((e) => e.sha256 && e.mode === 'traditional' && e.proof === 'sha256'),
    );
    const trust = await assertTrustInvariant(s3, buckets.destination, '', buckets.source);
    assert.deepEqual([...trust.proven].sort(), good.map((f) => f.key).sort(), 'exactly the good files carry proof');

    const leftovers = readdirSync(stagingDir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile());
    assert.deepEqual(
      leftovers.map((d) => d.name),
      [],
      'staging is cleaned',
    );
  });

  it('a rerun copies nothing again', async () => {
    const keys = await listKeys(buckets.destination, 'data/');
    const { report } = await collect(w, { ...request, destination: { bucket: buckets.destination, prefix: '' } });
    assert.equal(report.files.copied, 0);
    assert.equal(report.files.skipped, written.filter((f) => !f.fault).length);
    assert.deepEqual(await listKeys(buckets.destination, 'data/'), keys);
  });
});
