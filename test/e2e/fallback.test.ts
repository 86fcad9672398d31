import assert from 'node:assert/strict';
import { firstShardHistory, recordHistory } from '../helpers/history';
import { after, before, describe, it } from 'node:test';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, Next } from '@temporalio/worker';
import { type Context } from '@temporalio/activity';
import {
  collect,
  freshBuckets,
  mirror,
  readManifest,
  s3,
  sha256Of,
  startWorker,
  type TestWorker,
} from '../helpers/stack';

/**
 * Fault injection around the real activity: while the real s5cmd runs, one source object is
 * missing (so s5cmd fails for that one file with a real NoSuchKey); it is back before the fallback.
 */
function hideDuringDirectSync(bucket: string, key: string) {
  return (ctx: Context): { inbound: ActivityInboundCallsInterceptor } => ({
    inbound: {
      async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>) {
        if (ctx.info.activityType !== 'directSyncBatch') return next(input);
        let body: Uint8Array | undefined;
        try {
          body = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray();
          await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
        } catch {
          body = undefined;
        }
        try {
          return await next(input);
        } finally {
          if (body) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
        }
      },
    },
  });
}

describe('per-file fallback after a partial s5cmd failure', () => {
  let w: TestWorker;
  let buckets: { source: string; destination: string };
  let written: Awaited<ReturnType<typeof mirror>>;
  const request = {
    symbols: ['XRPUSDT'],
    intervals: ['15m'],
    startDate: '2025-02-01',
    endDate: '2025-02-06',
    batchSize: 10,
  };

  before(async () => {
    buckets = await freshBuckets('fallback');
    written = await mirror(buckets.source, request);
    w = await startWorker(
      { SOURCE_BUCKET: buckets.source },
      { interceptors: { activity: [hideDuringDirectSync(buckets.source, written[2].key)] } },
    );
  });
  after(async () => w?.stop());

  it('copies the file s5cmd could not through the traditional path, the rest by direct sync', async () => {
    const { report, handle } = await collect(w, {
      ...request,
      destination: { bucket: buckets.destination, prefix: 'fb/' },
    });
    recordHistory('fallback-shard', await firstShardHistory(handle));
    assert.equal(report.decision.mode, 'direct_sync');
    assert.equal(report.fallbacks.files, 1);
    assert.equal(report.fallbacks.batches, 1);
    assert.equal(report.files.byMode.direct_sync.copied, 5);
    assert.equal(report.files.byMode.traditional.copied, 1);
    assert.equal(report.ok, true);
    const manifest = await readManifest(report.manifest.bucket, report.manifest.key);
    const entry = manifest.find((e) => e.key === written[2].key)!;
    assert.equal(entry.mode, 'traditional');
    assert.equal(entry.outcome, 'copied');
    for (const f of written) assert.equal(await sha256Of(buckets.destination, `fb/${f.key}`), f.sha256);
  });
});

describe('a listed file that returns 404', () => {
  let w: TestWorker;
  let buckets: { source: string; destination: string };
  let written: Awaited<ReturnType<typeof mirror>>;
  const request = { symbols: ['ADAUSDT'], intervals: ['1d'], startDate: '2025-02-01', endDate: '2025-02-04' };

  before(async () => {
    buckets = await freshBuckets('gone');
    written = await mirror(buckets.source, request);
    // Deleted after listing, for good: s5cmd fails, the fallback's download gets a 404.
    const vanish = (ctx: Context) => ({
      inbound: {
        async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>) {
          if (ctx.info.activityType === 'directSyncBatch')
            await s3.send(new DeleteObjectCommand({ Bucket: buckets.source, Key: written[1].key }));
          return next(input);
        },
      },
    });
    w = await startWorker({ SOURCE_BUCKET: buckets.source }, { interceptors: { activity: [vanish] } });
  });
  after(async () => w?.stop());

  it('is reported not_found with its reason, the others copied', async () => {
    const { report } = await collect(w, { ...request, destination: { bucket: buckets.destination, prefix: '' } });
    assert.equal(report.files.copied, 3);
    assert.equal(report.files.byOutcome.not_found, 1);
    const manifest = await readManifest(report.manifest.bucket, report.manifest.key);
    const gone = manifest.find((e) => e.key === written[1].key)!;
    assert.equal(gone.outcome, 'not_found');
    assert.match(gone.error!, /does not exist/);
  });
});
