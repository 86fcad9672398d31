/**
 * Files put aside: once per source version (a rerun copies nothing while the source is unchanged, and puts the
 * new bytes aside once when it changes), and an operator's acceptance stands on reruns, with or without a
 * `.CHECKSUM` (issue 17 items 4 and 5). Checked with an independent reader of the destination.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { encodeEvidence, type QuarantineEvidence } from '../../activities/destination';
import { fillMirror } from '../../stack/mirror';
import { reviewQuarantine } from '../../workflows';
import { assertTrustInvariant } from '../helpers/independent-check';
import {
  collect,
  freshBuckets,
  readManifest,
  listWrites,
  s3,
  startWorker,
  testClient,
  uniqueName,
  type TestWorker,
} from '../helpers/stack';

describe('the quarantine across reruns', () => {
  let w: TestWorker;
  let buckets: { source: string; destination: string };
  before(async () => {
    buckets = await freshBuckets('aside');
    w = await startWorker({ SOURCE_BUCKET: buckets.source });
  });
  after(async () => w?.stop());

  it('puts a failing file aside once per source version, and keeps an accepted one accepted without its .CHECKSUM', async () => {
    const spec = { symbols: ['ASIDEUSDT'], intervals: ['1d'], startDate: '2025-05-01', endDate: '2025-05-03' };
    const files = await fillMirror(s3, buckets.source, { ...spec, faults: { checksumMismatch: ['2025-05-02'] } });
    const bad = files.find((f) => f.fault === 'checksumMismatch')!;
    const request = { ...spec, destination: { bucket: buckets.destination, prefix: 'q/' } };
    const lastModified = () => listWrites(buckets.destination, 'q/_quarantine/');

    const first = await collect(w, request);
    assert.equal(first.report.files.byOutcome.checksum_mismatch, 1);
    const aside = await lastModified();
    assert.equal(aside.length, 1);

    for (const mode of ['direct_sync', 'traditional'] as const) {
      const rerun = await collect(w, { ...request, mode });
      assert.equal(rerun.report.files.byOutcome.checksum_mismatch, 1, mode);
      assert.equal(rerun.report.bytes.copied + rerun.report.bytes.throughWorker, 0, `${mode}: no byte moved`);
      assert.deepEqual(await lastModified(), aside, `${mode}: not put aside again`);
    }

    // The source changes (a re-upload, still wrong against its .CHECKSUM): put aside once more, then settled again.
    await fillMirror(s3, buckets.source, {
      ...spec,
      startDate: '2025-05-02',
      endDate: '2025-05-02',
      revision: 1,
      faults: { checksumMismatch: ['2025-05-02'] },
    });
    await collect(w, request);
    const changed = await lastModified();
    assert.notDeepEqual(changed, aside, 'the new source version is put aside');
    await collect(w, request);
    assert.deepEqual(await lastModified(), changed);

    // A zip the archive publishes without a .CHECKSUM, put aside by the traditional path (its sidecar vanished
    // between listing and download, as its quarantine object records), accepted by an operator: reruns keep it.
    const [lone] = await fillMirror(s3, buckets.source, {
      ...spec,
      startDate: '2025-05-04',
      endDate: '2025-05-04',
      faults: { missingChecksum: ['2025-05-04'] },
    });
    const before = await collect(w, { ...request, endDate: '2025-05-04' });
    assert.equal(before.report.files.byOutcome.missing_checksum, 1);
    const head = await s3.send(new HeadObjectCommand({ Bucket: buckets.source, Key: lone.key }));
    const bytes = await (
      await s3.send(new GetObjectCommand({ Bucket: buckets.source, Key: lone.key }))
    ).Body!.transformToByteArray();
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const evidence: QuarantineEvidence = {
      outcome: 'missing_checksum',
      reason: 'the source has no .CHECKSUM for this file',
      expectedSha256: null,
      actualSha256: sha256,
      source: { etag: head.ETag!, size: head.ContentLength! },
      sidecarEtag: null,
      kept: null,
      collectionId: 'traditional-run',
      at: new Date().toISOString(),
    };
    await s3.send(
      new PutObjectCommand({
        Bucket: buckets.destination,
        Key: `q/_quarantine/${lone.key}`,
        Body: bytes,
        Metadata: { outcome: evidence.outcome, evidence: encodeEvidence(evidence) },
      }),
    );
    const client = await testClient();
    await client.workflow.execute(reviewQuarantine, {
      taskQueue: w.config.temporal.taskQueue,
      workflowId: uniqueName('review'),
      args: [
        {
          action: 'accept',
          destination: request.destination,
          key: lone.key,
          sha256,
          reason: 'checked by hand against the exchange',
        },
      ],
    });
    const after = await collect(w, { ...request, endDate: '2025-05-04' });
    const kept = (await readManifest(after.report.manifest.bucket, after.report.manifest.key)).find(
      (e) => e.key === lone.key,
    )!;
    assert.equal(kept.outcome, 'skipped', JSON.stringify(kept));
    assert.equal(kept.proof, 'accepted');
    const { accepted } = await assertTrustInvariant(s3, buckets.destination, 'q/', buckets.source);
    assert.ok(accepted.has(lone.key));
    assert.ok(!accepted.has(bad.key));
  });
});
