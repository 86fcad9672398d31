/**
 * Every activity parses its own input and checks where it would write before it sends a single S3 request:
 * whoever schedules it (our workflows, or a namespace user's own workflow on our task queue).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { StagingArea } from '../../activities/staging';
import { loadConfig } from '../../worker/config';

function activities(env: Record<string, string> = {}) {
  const requests: string[] = [];
  const s3 = {
    send: async (command: { constructor: { name: string } }) => {
      requests.push(command.constructor.name);
      throw new Error('no S3 request may be sent');
    },
  } as unknown as S3Client;
  const config = loadConfig({
    TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml',
    DEST_BUCKET: 'bronze',
    DEST_PREFIX: 'binance/',
    STAGING_DIR: mkdtempSync(path.join(os.tmpdir(), 'acts-')),
    ...env,
  });
  const acts = createActivities({
    config,
    source: s3,
    destination: s3,
    staging: new StagingArea(config.staging.dir, config.staging.maxBytes),
    workerTaskQueue: 'unused',
  });
  return { acts, requests };
}

const inside = {
  collectionId: 'c-1',
  bucket: 'bronze',
  destinationPrefix: 'binance/',
  statePrefix: 'binance/_collections/c-1/shards/shard-000000/',
};
const outside = { ...inside, destinationPrefix: 'other/', statePrefix: 'other/_collections/c-1/shards/shard-000000/' };
const batch = { batch: 0, verification: 'checksum', stallMs: 60_000 };

describe('activities refuse bad input before any S3 request', () => {
  const { acts, requests } = activities();
  const env = new MockActivityEnvironment();
  const names = Object.keys(acts).filter((n) => n !== 'getWorkerTaskQueue') as (keyof typeof acts)[];

  for (const name of names) {
    it(`${name}: garbage is an InvalidInputError naming the activity`, async () => {
      for (const input of [undefined, 42, 'x'.repeat(100_000), { state: { ...inside, statePrefix: '../' } }]) {
        await assert.rejects(
          env.run(acts[name] as (x: unknown) => Promise<unknown>, input),
          (e: Error) =>
            e.name === 'InvalidInputError' &&
            e.message.startsWith(`${name}: invalid input`) &&
            e.message.length < 4_000,
        );
      }
      assert.deepEqual(requests, []);
    });
  }

  const outsideInputs: Record<string, unknown> = {
    directSyncBatch: { state: outside, ...batch },
    proveCopied: { state: outside, ...batch },
    downloadBatch: { state: outside, ...batch, stagingId: 's' },
    verifyStaged: { state: outside, ...batch, stagingId: 's' },
    uploadStaged: { state: outside, ...batch, stagingId: 's' },
    cleanupStaging: { state: outside, ...batch, stagingId: 's' },
    countListed: { state: outside, settledParts: 0 },
    countBatch: { state: outside, batch: 0, action: 'collect' },
    writeManifest: {
      state: outside,
      batchCount: 0,
      settledParts: 0,
      mode: 'direct_sync',
      action: 'collect',
      batchFailures: {},
    },
    inspectShard: {
      state: outside,
      batchCount: 0,
      settledParts: 0,
      mode: 'direct_sync',
      action: 'inspect',
      batchFailures: {},
      inspect: true,
    },
    assembleCollection: { state: { ...outside, statePrefix: 'other/_collections/c-1/' }, shards: 1 },
    writeReport: {
      state: { ...outside, statePrefix: 'other/_collections/c-1/' },
      report: { collectionId: 'c-1', action: 'collect', ok: true, coverage: { missingFiles: 0, archiveGapPeriods: 0 } },
    },
    probeEnvironment: { bucket: 'bronze', prefix: 'other/' },
    listQuarantine: { bucket: 'bronze', prefix: 'other/', limit: 1 },
    acceptQuarantined: {
      prefix: 'other/',
      key: 'data/spot/daily/x/A/A-x-2025-01-01.zip',
      sha256: 'a'.repeat(64),
      reason: 'why',
      decidedBy: 'me',
    },
    discardQuarantined: { prefix: 'other/', key: 'data/spot/daily/x/A/A-x-2025-01-01.zip' },
  };
  for (const [name, input] of Object.entries(outsideInputs)) {
    it(`${name}: outside DEST_BUCKET/DEST_PREFIX (DEST_ALLOWED unset) is refused`, async () => {
      await assert.rejects(
        env.run(acts[name as keyof typeof acts] as (x: unknown) => Promise<unknown>, input),
        (e: Error) => e.name === 'DestinationNotAllowedError' && /DEST_ALLOWED is unset/.test(e.message),
      );
      assert.deepEqual(requests, []);
    });
  }

  it('a verification level the table does not know earns nothing (listShard, proveCopied, uploadStaged)', async () => {
    for (const [name, input] of [
      ['proveCopied', { state: inside, ...batch, verification: 'sha256' }],
      ['uploadStaged', { state: inside, ...batch, verification: 'sha256', stagingId: 's' }],
    ] as const) {
      await assert.rejects(
        env.run(acts[name] as (x: unknown) => Promise<unknown>, input),
        (e: Error) => e.name === 'InvalidInputError' && /verification/.test(e.message),
      );
    }
    assert.deepEqual(requests, []);
  });
});

describe('QUARANTINE_DECISIONS=false', () => {
  it('refuses accept and discard on this worker; listing stays possible', async () => {
    const { acts, requests } = activities({ QUARANTINE_DECISIONS: 'false' });
    const env = new MockActivityEnvironment();
    const key = 'data/spot/daily/klines/BTCUSDT/1d/BTCUSDT-1d-2025-01-01.zip';
    await assert.rejects(
      env.run(acts.acceptQuarantined, { key, sha256: 'a'.repeat(64), reason: 'looks right', decidedBy: 'me' }),
      /does not decide on quarantined files \(QUARANTINE_DECISIONS=false\)/,
    );
    await assert.rejects(env.run(acts.discardQuarantined, { key }), /QUARANTINE_DECISIONS=false/);
    assert.deepEqual(requests, []);
    // Listing goes past the check (to the store, which this stub does not serve).
    await assert.rejects(
      env.run(acts.listQuarantine, { limit: 1 }),
      (e: Error) => !/QUARANTINE_DECISIONS/.test(e.message),
    );
  });
});
