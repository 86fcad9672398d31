import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readSidecars, type DirectDeps } from '../../activities/direct-sync';
import type { PlanFile } from '../../activities/plan';
import { loadConfig } from '../../worker/config';

const file = (key: string, checksumEtag: string): PlanFile => ({
  key,
  size: 10,
  etag: '"zip"',
  checksumEtag,
  action: 'copy',
});

describe('the .CHECKSUMs read beside the copies', () => {
  it('keep only sidecars that are still the planned version; a changed, missing or unreadable one earns no proof here', async () => {
    const files = [
      file('data/a.zip', '"planned-a"'),
      file('data/b.zip', '"planned-b"'),
      file('data/c.zip', '"planned-c"'),
      file('data/d.zip', '"planned-d"'),
    ];
    const served: Record<string, { bytes: Buffer; etag: string } | Error | undefined> = {
      'data/a.zip.CHECKSUM': { bytes: Buffer.from('aaa  a.zip\n'), etag: 'planned-a' }, // unquoted: the same ETag
      'data/b.zip.CHECKSUM': { bytes: Buffer.from('bbb  b.zip\n'), etag: '"re-uploaded"' },
      'data/c.zip.CHECKSUM': undefined,
      'data/d.zip.CHECKSUM': new Error('socket hang up'),
    };
    const asked: string[] = [];
    const deps = {
      config: loadConfig({}),
      source: {
        readIfExists: async (key: string) => {
          asked.push(key);
          const r = served[key];
          if (r instanceof Error) throw r;
          return r;
        },
      },
    } as unknown as DirectDeps;
    const texts = await readSidecars(deps, files, [0, 1, 2, 3], new AbortController().signal);
    assert.deepEqual([...texts.entries()], [[0, 'aaa  a.zip\n']]);
    assert.deepEqual(asked.sort(), Object.keys(served).sort());
  });

  it('read nothing once the batch is over', async () => {
    const stop = new AbortController();
    stop.abort();
    let reads = 0;
    const deps = {
      config: loadConfig({}),
      source: { readIfExists: async () => (reads++, undefined) },
    } as unknown as DirectDeps;
    const texts = await readSidecars(deps, [file('data/a.zip', '"x"')], [0], stop.signal);
    assert.equal(texts.size, 0);
    assert.equal(reads, 0);
  });
});
