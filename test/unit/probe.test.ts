import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import { tryServerSideCopy } from '../../activities/probe';

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
