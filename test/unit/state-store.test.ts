import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import { StateStore } from '../../activities/state-store';

/** A client whose GET returns the body in the given chunks, as S3 streams it. */
function clientReturning(chunks: Buffer[]): S3Client {
  return {
    send: async () => ({
      Body: (async function* () {
        for (const c of chunks) yield c;
      })(),
    }),
  } as unknown as S3Client;
}

describe('StateStore.lines', () => {
  it('joins a character split across chunks (non-ASCII symbols survive large manifests)', async () => {
    const text = '{"key":"data/spot/daily/trades/币安人生USDT/币安人生USDT-trades-2025-10-08.zip"}\n{"key":"b"}\n';
    const bytes = Buffer.from(text, 'utf8');
    const at = bytes.indexOf(Buffer.from('币', 'utf8')) + 1; // inside the first character's three bytes
    for (const cut of [at, at + 1, bytes.length - 3]) {
      const store = new StateStore(clientReturning([bytes.subarray(0, cut), bytes.subarray(cut)]), {
        collectionId: 'c',
        bucket: 'bkt',
        destinationPrefix: '',
        statePrefix: '_collections/c/',
      });
      const lines: string[] = [];
      for await (const line of store.lines('manifest.ndjson')) lines.push(line);
      assert.deepEqual(lines, text.split('\n').filter(Boolean), `cut at byte ${cut}`);
      assert.ok(!lines.join('').includes('\uFFFD'));
    }
  });

  it('splits many small chunks byte by byte correctly', async () => {
    const text = '币安人生USDT\nETHUSDT\nÄÖÜ\n';
    const bytes = Buffer.from(text, 'utf8');
    const chunks = [...bytes].map((b) => Buffer.from([b]));
    const store = new StateStore(clientReturning(chunks), {
      collectionId: 'c',
      bucket: 'bkt',
      destinationPrefix: '',
      statePrefix: '_collections/c/',
    });
    const lines: string[] = [];
    for await (const line of store.lines('x')) lines.push(line);
    assert.deepEqual(lines, ['币安人生USDT', 'ETHUSDT', 'ÄÖÜ']);
  });
});
