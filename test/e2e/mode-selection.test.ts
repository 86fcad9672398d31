import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { unlessStoreHas } from '../helpers/store';
import {
  collect,
  exists,
  freshBuckets,
  mirror,
  minioEndpoint,
  sha256Of,
  stack,
  startWorker,
  type TestWorker,
} from '../helpers/stack';

const request = { symbols: ['SOLUSDT'], intervals: ['1d'], startDate: '2024-12-30', endDate: '2025-01-02' };

describe('auto mode picks the mode that can work, and says why', () => {
  let buckets: { source: string; destination: string };
  let written: Awaited<ReturnType<typeof mirror>>;
  const workers: TestWorker[] = [];
  before(async () => {
    buckets = await freshBuckets('modes');
    written = await mirror(buckets.source, request);
  });
  after(async () => {
    for (const w of workers) await w.stop();
  });
  const run = async (env: Record<string, string>, prefix: string, extra: object = {}) => {
    const w = await startWorker({ SOURCE_BUCKET: buckets.source, ...env });
    workers.push(w);
    return collect(w, { ...request, ...extra, destination: { bucket: buckets.destination, prefix } });
  };

  it('shared endpoint → direct sync', async () => {
    const { report } = await run({}, 'shared/');
    assert.equal(report.decision.mode, 'direct_sync');
    assert.match(report.decision.reason, /a server-side copy of s3:\/\/\S+ with the destination's credentials worked/);
    assert.equal(report.files.byMode.direct_sync.copied, 4);
  });

  it("an s5cmd that cannot ask for checksums (not the project's build) → direct sync, proven by reading the copies back", async () => {
    // The project's s5cmd behind a wrapper that reports a stock version: the worker must not ask it for checksums.
    const stock = path.join(mkdtempSync(path.join(os.tmpdir(), 'stock-s5cmd-')), 's5cmd');
    writeFileSync(
      stock,
      `#!/bin/sh\nif [ "$1" = version ]; then echo v2.3.0; exit 0; fi\nexec ${path.resolve('.tools/bin/s5cmd')} "$@"\n`,
      { mode: 0o755 },
    );
    const { report } = await run({ S5CMD_PATH: stock }, 'stock/');
    assert.deepEqual([report.decision.mode, report.decision.proofBy], ['direct_sync', 'stream']);
    assert.match(report.decision.reason, /cannot ask the store for checksums/);
    assert.equal(report.files.byProofMethod.streamed, 4);
    assert.ok(report.bytes.throughWorker >= written.reduce((n, f) => n + f.size, 0), 'every copy was read back');
    for (const f of written) assert.equal(await sha256Of(buckets.destination, `stock/${f.key}`), f.sha256);
  });

  it('s5cmd missing → traditional', async () => {
    const { report } = await run({ S5CMD_PATH: '/nonexistent/s5cmd' }, 'nos5cmd/');
    assert.equal(report.decision.mode, 'traditional');
    assert.match(report.decision.reason, /s5cmd unavailable.*\/nonexistent\/s5cmd/);
    assert.equal(report.files.byMode.traditional.copied, 4);
  });

  it('source on another endpoint → traditional', async () => {
    const other = minioEndpoint(stack).replace('127.0.0.1', 'localhost');
    const { report } = await run({ SOURCE_ENDPOINT: other }, 'other/');
    assert.equal(report.decision.mode, 'traditional');
    assert.match(
      report.decision.reason,
      /source endpoint http:\/\/localhost:\d+ differs from destination endpoint http:\/\/127\.0\.0\.1/,
    );
    assert.equal(report.files.byMode.traditional.copied, 4);
  });

  it('source over plain HTTP → traditional, downloading with HTTP GETs', async () => {
    const httpUrl = `${minioEndpoint(stack)}/${buckets.source}`;
    const { report } = await run({ SOURCE_HTTP_URL: httpUrl }, 'http/');
    assert.equal(report.decision.mode, 'traditional');
    assert.match(report.decision.reason, /plain HTTP/);
    assert.equal(report.files.byMode.traditional.copied, 4);
    for (const f of written) assert.equal(await sha256Of(buckets.destination, `http/${f.key}`), f.sha256);
  });

  it('direct_sync requested where it cannot work fails at once, non-retryable, with the reason', async () => {
    const err = await run({ S5CMD_PATH: '/nonexistent/s5cmd' }, 'fail/', { mode: 'direct_sync' }).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(err instanceof WorkflowFailedError, String(err));
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, 'ModeUnavailable');
    assert.equal(err.cause.nonRetryable, true);
    assert.match(err.cause.message, /direct_sync.*cannot work.*s5cmd unavailable.*Use mode "auto" or "traditional"/);
    assert.equal(await exists(buckets.destination, `fail/${written[0].key}`), false);
  });

  it('a destination without write access fails fast and says so', { skip: unlessStoreHas('signatures') }, async () => {
    const err = await run({ DEST_SECRET_ACCESS_KEY: 'wrong-secret' }, 'denied/').then(
      () => undefined,
      (e) => e,
    );
    assert.ok(err instanceof WorkflowFailedError, String(err));
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.nonRetryable, true);
    assert.match(err.cause.message, /not writable: access denied/);
  });
});
