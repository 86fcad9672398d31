import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import { Destination } from '../../activities/destination';
import type { ProofRecord } from '../../activities/proof';

describe('Destination.recordProof', () => {
  const record = (etag: string): ProofRecord => ({
    key: 'data/spot/daily/klines/BTCUSDT/1d/BTCUSDT-1d-2025-01-01.zip',
    level: 'sha256',
    sha256: 'a'.repeat(64),
    checksum: { sha256: 'a'.repeat(64), etag: '"c"' },
    destination: { key: 'p/data/spot/daily/klines/BTCUSDT/1d/BTCUSDT-1d-2025-01-01.zip', etag, size: 10 },
    source: { etag: '"s"', size: 10 },
    method: 'streamed',
    collectionId: 'c',
    recordedAt: '2026-01-01T00:00:00Z',
  });

  it('refuses to bind a proof to an answer without an ETag, or with a weak one: never a proof bound to the size alone', async () => {
    const sent: string[] = [];
    const s3 = {
      send: async (c: { constructor: { name: string } }) => void sent.push(c.constructor.name),
    } as unknown as S3Client;
    const dest = new Destination(s3, 'bkt', 'p/');
    for (const etag of ['', '""', '  ', 'W/"abc"', 'w/"abc"'])
      await assert.rejects(
        dest.recordProof(record(etag)),
        (e: Error) => e.name === 'UnboundEvidenceError',
        JSON.stringify(etag),
      );
    assert.deepEqual(sent, []);
    await dest.recordProof(record('"0123abc"'));
    assert.deepEqual(sent, ['PutObjectCommand']);
  });
});
