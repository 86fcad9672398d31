import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { createS3Client } from '../../activities/s3';
import { StagingArea } from '../../activities/staging';
import { StateStore } from '../../activities/state-store';
import { workerEnvFor } from '../../stack/local-stack';
import { loadConfig } from '../../worker/config';
import { checksumKey } from '../../workflows/keys';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { freshBuckets, listKeys, s3, scratchStagingDir, sha256Of, stack, uniqueName } from '../helpers/stack';
import { createHash } from 'node:crypto';

const marker = path.join(os.tmpdir(), uniqueName('pwned'));
const NASTY_KEYS = [
  `data/it's a "quoted" key.zip`,
  `data/$(touch ${marker}-1).zip`,
  `data/\`touch ${marker}-2\`;echo.zip`,
  `data/semi;colon & amp | pipe > out.zip`,
  `data/glob*?[ab].zip`,
  `data/x.zip' 's3:/evil/steal' '`,
  `data/new\nline.zip`,
  `data/cr\rbell\u0007.zip`,
  `data/ünïcode ✓.zip`,
];

/** The line GNU sha256sum itself writes for a file of this name (it escapes newlines and backslashes in names). */
function sha256sumLine(name: string, body: Buffer): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sum-'));
  try {
    writeFileSync(path.join(dir, name), body);
    return execFileSync('sha256sum', ['--', name], { cwd: dir, encoding: 'utf8' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function bucketExists(bucket: string): Promise<boolean> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return true;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}

describe('keys that reach a commands file or a local path cannot inject or escape', () => {
  let buckets: { source: string; destination: string };
  const stagingBase = scratchStagingDir('staging-inject');
  const bodies = new Map<string, Buffer>();

  before(async () => {
    buckets = await freshBuckets('inject');
    for (const key of NASTY_KEYS) {
      const body = Buffer.from(`zip bytes of ${key}`);
      bodies.set(key, body);
      const sum = sha256sumLine(path.basename(key), body);
      await s3.send(new PutObjectCommand({ Bucket: buckets.source, Key: key, Body: body }));
      await s3.send(new PutObjectCommand({ Bucket: buckets.source, Key: checksumKey(key), Body: sum }));
    }
  });

  it('direct sync quotes what it can, hands the rest to the traditional path, and runs nothing', async () => {
    const config = loadConfig({
      ...workerEnvFor(stack),
      DEST_ALLOWED: buckets.destination,
      SOURCE_BUCKET: buckets.source,
      STAGING_DIR: stagingBase,
    });
    const staging = new StagingArea(config.staging.dir, config.staging.maxBytes);
    const acts = createActivities({
      config,
      staging,
      workerTaskQueue: 'unused',
      source: createS3Client(config.source),
      destination: createS3Client(config.destination),
    });
    const state = {
      collectionId: 'inject',
      bucket: buckets.destination,
      destinationPrefix: 'in/',
      statePrefix: 'in/_collections/inject/',
    };
    const store = new StateStore(createS3Client(config.destination), state);
    await store.putJson(
      'plan/batch-000000.json',
      NASTY_KEYS.map((key) => ({ key, size: bodies.get(key)!.length, etag: '', checksumEtag: 'x', action: 'copy' })),
    );

    const env = new MockActivityEnvironment();
    const ref = { state, batch: 0, verification: 'checksum' as const, stallMs: 60_000 };
    const direct = (await env.run(acts.directSyncBatch, ref)) as Awaited<ReturnType<typeof acts.directSyncBatch>>;
    // Keys with control characters never reach the run file, and keys with spaces (which s5cmd
    // 2.3.0 sends as "+" in the copy source) are not tried: both go to the traditional path. The
    // rest, quotes, "$( )", backticks and globs included, are copied by the real s5cmd, verbatim.
    const notServerSide = NASTY_KEYS.map((k, i) => [k, i] as const)
      .filter(([k]) => /[\n\r ]/.test(k) || k.includes('\u0007'))
      .map(([, i]) => i);
    const entries = (await store.getJson<{ i: number; outcome: string; error: string | null }[]>(
      'results/batch-000000.direct.json',
    ))!;
    for (const i of notServerSide)
      assert.match(entries.find((e) => e.i === i)!.error!, /s5cmd cannot copy this key server-side/);
    assert.deepEqual([...direct.fallback].sort(), notServerSide);
    assert.deepEqual(
      [...direct.copied].sort(),
      NASTY_KEYS.map((_, i) => i).filter((i) => !notServerSide.includes(i)),
    );
    await env.run(acts.proveCopied, { ...ref, only: direct.copied });

    const staged = { ...ref, only: direct.fallback, stagingId: 'inject-b0-p1' };
    await env.run(acts.downloadBatch, staged);
    await env.run(acts.verifyStaged, staged);
    await env.run(acts.uploadStaged, staged);
    await env.run(acts.cleanupStaging, staged);
    const counted = (await env.run(acts.countBatch, {
      state: ref.state,
      batch: 0,
      action: 'collect' as const,
    })) as Awaited<ReturnType<typeof acts.countBatch>>;
    assert.deepEqual(counted.byOutcome, { copied: NASTY_KEYS.length }, 'every file of the batch copied with proof');

    for (const key of NASTY_KEYS) {
      assert.equal(
        await sha256Of(buckets.destination, `in/${key}`),
        createHash('sha256').update(bodies.get(key)!).digest('hex'),
        JSON.stringify(key),
      );
    }
    assert.equal(existsSync(`${marker}-1`), false, 'no command substitution ran');
    assert.equal(existsSync(`${marker}-2`), false, 'no backtick command ran');
    const dataKeys = (await listKeys(buckets.destination, 'in/data/')).filter((k) => !k.endsWith('.CHECKSUM'));
    assert.equal(dataKeys.length, NASTY_KEYS.length, 'nothing extra was written');
    assert.equal(await bucketExists('evil'), false, 'no line escaped its quotes to write elsewhere');
  });

  it('staging paths come from positions and a validated id, never from keys', () => {
    const staging = new StagingArea(stagingBase, 1_000_000);
    for (const bad of ['../x', 'a/b', '..', '', 'x\n', '/etc'])
      assert.throws(() => staging.dir(bad), /invalid staging id/, bad);
    assert.throws(() => staging.file('ok', -1, 'zip'), /invalid batch position/);
    assert.throws(() => staging.file('ok', 1.5, 'zip'), /invalid batch position/);
    assert.equal(path.dirname(staging.file('ok', 3, 'zip')), path.join(staging.root, 'ok'));
  });

  it('staging is reserved per file in bytes; a file larger than the whole space is a clear error, before anything is written', () => {
    const staging = new StagingArea(stagingBase, 1_000);
    assert.throws(
      () => staging.tryReserve('big', 0, 5_000),
      /5000 bytes do not fit in the whole staging space \(STAGING_MAX_BYTES=1000\).*direct sync/,
    );
    assert.equal(existsSync(path.join(staging.root, 'big')), false);
    assert.equal(staging.tryReserve('a', 0, 600), true);
    assert.equal(staging.tryReserve('a', 0, 600), true, 'the same file twice holds its space once');
    assert.equal(staging.tryReserve('b', 0, 600), false, 'no room now: wait for the space to be freed');
  });

  after(() => {
    const left = existsSync(stagingBase)
      ? readdirSync(stagingBase, { recursive: true }).filter((f) => String(f).endsWith('.zip'))
      : [];
    assert.deepEqual(left, []);
  });
});
