import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import { tryServerSideCopy, withWriteProbe } from '../../activities/probe';

const body = Buffer.from('abc  BTCUSDT-1d-2025-01-01.zip\n');

function stores(copyFailures: unknown[]) {
  const calls: string[] = [];
  const destination = {
    send: async (c: { constructor: { name: string } }) => {
      const name = c.constructor.name;
      calls.push(name);
      if (name === 'CopyObjectCommand' && copyFailures.length) throw copyFailures.shift();
      if (name === 'HeadObjectCommand') return { ChecksumSHA256: createHash('sha256').update(body).digest('base64') };
      return {};
    },
  } as unknown as S3Client;
  const source = {
    send: async () => ({ Body: { transformToByteArray: async () => new Uint8Array(body) } }),
  } as unknown as S3Client;
  return { calls, deps: { source, destination, sourceBucket: 'src' } };
}

const serverError = Object.assign(new Error('We encountered an internal error'), {
  name: 'InternalError',
  $metadata: { httpStatusCode: 500 },
});
const conflict = Object.assign(new Error('ExistingObjectIsDirectory'), {
  name: 'ExistingObjectIsDirectory',
  $metadata: { httpStatusCode: 409 },
});
const denied = Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });

describe('the copy probe', () => {
  it('tries a failed copy again before it decides the mode (a 5xx burst, a store folder race)', async () => {
    const { calls, deps } = stores([serverError, conflict]);
    const r = await tryServerSideCopy(deps, 'data/x.zip.CHECKSUM', 'bronze', 'binance/');
    assert.equal(r.serverSideCopy.works, true, r.serverSideCopy.detail);
    assert.equal(r.storeChecksum.supported, true);
    assert.equal(calls.filter((c) => c === 'CopyObjectCommand').length, 3);
  });

  it('takes a refusal as the answer at once', async () => {
    const { calls, deps } = stores([denied]);
    const r = await tryServerSideCopy(deps, 'data/x.zip.CHECKSUM', 'bronze', 'binance/');
    assert.equal(r.serverSideCopy.works, false);
    assert.match(r.serverSideCopy.detail, /may not read/);
    assert.equal(calls.filter((c) => c === 'CopyObjectCommand').length, 1);
  });

  it('fails (for the activity to be retried) rather than decide the mode on a failure that outlasts its tries', async () => {
    const { calls, deps } = stores([serverError, serverError, serverError, serverError]);
    await assert.rejects(tryServerSideCopy(deps, 'data/x.zip.CHECKSUM', 'bronze', 'binance/'), /internal error/);
    assert.equal(calls.filter((c) => c === 'CopyObjectCommand').length, 4);
  });
});

describe('the write probe', () => {
  /** A destination that logs each request (and when `meanwhile` ran) and refuses the ones named. */
  function destination(refuse: Partial<Record<string, unknown>> = {}) {
    const log: string[] = [];
    const s3 = {
      send: async (c: { constructor: { name: string }; input: { Key?: string } }) => {
        const name = c.constructor.name;
        log.push(`${name} ${c.input.Key}`);
        // Answered a little later, so that a probe started before the answer shows in the log.
        await new Promise((resolve) => setTimeout(resolve, 10));
        if (refuse[name]) throw refuse[name];
        log.push(`${name} answered`);
        return {};
      },
    } as unknown as S3Client;
    return { log, s3 };
  }
  const noSuchBucket = Object.assign(new Error('The specified bucket does not exist'), {
    name: 'NoSuchBucket',
    $metadata: { httpStatusCode: 404 },
  });

  it('holds its object from before the other probes start until after they end, then deletes it', async () => {
    const { log, s3 } = destination();
    const r = await withWriteProbe(s3, 'bronze', 'binance/', async (writable) => {
      log.push(`meanwhile ${writable}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
      log.push('meanwhile done');
      return 7;
    });
    assert.equal(r.found, 7);
    assert.deepEqual(r.destination, { bucket: 'bronze', writable: true, detail: 'write and delete succeeded' });
    assert.equal(log.length, 6, log.join('\n'));
    assert.match(log[0], /^PutObjectCommand binance\/_collections\/\.write-probe-/);
    assert.deepEqual(log.slice(1, 4), ['PutObjectCommand answered', 'meanwhile true', 'meanwhile done']);
    assert.equal(log[4], log[0].replace('PutObjectCommand', 'DeleteObjectCommand'));
    assert.equal(log[5], 'DeleteObjectCommand answered');
  });

  it('a refused write: the other probes run without it, told the destination is not writable, and nothing is deleted', async () => {
    const { log, s3 } = destination({ PutObjectCommand: noSuchBucket });
    const r = await withWriteProbe(s3, 'bronze', 'binance/', async (writable) => {
      log.push(`meanwhile ${writable}`);
      return 'copy tried';
    });
    assert.equal(r.destination.writable, false);
    assert.match(r.destination.detail, /bucket "bronze" does not exist: create it or set destination.bucket/);
    assert.equal(r.found, 'copy tried');
    assert.deepEqual(log.slice(1), ['meanwhile false']); // refused: no "answered", and no delete
  });

  it('a refused delete makes the destination not writable; a probe that fails still has the object deleted', async () => {
    const refused = destination({ DeleteObjectCommand: denied });
    const r = await withWriteProbe(refused.s3, 'bronze', 'binance/', async () => 1);
    assert.equal(r.destination.writable, false);
    assert.match(r.destination.detail, /access denied \(AccessDenied\): check DEST_ACCESS_KEY_ID/);

    const failing = destination();
    await assert.rejects(
      withWriteProbe(failing.s3, 'bronze', 'binance/', async () => {
        throw serverError;
      }),
      /internal error/,
    );
    assert.deepEqual(
      failing.log.filter((l) => !l.endsWith('answered')).map((l) => l.split(' ')[0]),
      ['PutObjectCommand', 'DeleteObjectCommand'],
    );
  });

  it('an unreachable store fails the probe (for its retry policy) instead of calling the destination unwritable', async () => {
    const { s3 } = destination({
      PutObjectCommand: Object.assign(new Error('connect ECONNREFUSED'), { name: 'Error' }),
    });
    await assert.rejects(
      withWriteProbe(s3, 'bronze', 'binance/', async () => 1),
      /ECONNREFUSED/,
    );
  });
});
