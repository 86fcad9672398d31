/**
 * CI never reaches data.binance.vision: this checks, without sending anything, that the worker's default
 * source configuration addresses the real archive the way its own listing URLs do (FIELD-NOTES: path-style,
 * ap-northeast-1, unsigned). The e2e tests take the same path against a dotted, public MinIO bucket.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { HttpRequest } from '@smithy/types';
import { createS3Client } from '../../activities/s3';
import { loadConfig } from '../../worker/config';

async function requestOf(command: ListObjectsV2Command | GetObjectCommand): Promise<HttpRequest> {
  const config = loadConfig({ TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' });
  const client = createS3Client(config.source);
  let captured: HttpRequest | undefined;
  client.middlewareStack.add(
    () => async (args) => {
      captured = args.request as HttpRequest;
      throw new Error('captured');
    },
    { step: 'finalizeRequest', priority: 'low', name: 'captureRequest' },
  );
  await assert.rejects(client.send(command as never), /captured/);
  return captured!;
}

describe('requests to the real archive (built, not sent)', () => {
  it('lists data.binance.vision path-style in ap-northeast-1, unsigned', async () => {
    const r = await requestOf(
      new ListObjectsV2Command({ Bucket: 'data.binance.vision', Prefix: 'data/spot/daily/klines/', Delimiter: '/' }),
    );
    assert.equal(r.protocol, 'https:');
    assert.equal(
      r.hostname,
      's3.ap-northeast-1.amazonaws.com',
      'a dotted bucket cannot be a TLS host name: path-style',
    );
    assert.equal(r.path, '/data.binance.vision/');
    assert.equal(r.query?.['list-type'], '2');
    assert.equal(r.query?.prefix, 'data/spot/daily/klines/');
    assert.equal(r.headers.authorization, undefined, 'anonymous: no signature');
  });

  it('downloads a zip at its archive key under the bucket path', async () => {
    const key = 'data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2025-06-01.zip';
    const r = await requestOf(new GetObjectCommand({ Bucket: 'data.binance.vision', Key: key }));
    assert.equal(r.hostname, 's3.ap-northeast-1.amazonaws.com');
    assert.equal(r.path, `/data.binance.vision/${key}`);
    assert.equal(r.headers.authorization, undefined);
  });
});
