import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildCommandsFile,
  canCopyServerSide,
  canQuoteSafely,
  classifyBatchFailure,
  matchOutcomes,
  parseS5cmdLine,
  shellQuote,
  sourceRegionFlags,
} from '../../activities/s5cmd-commands';
import { loadConfig } from '../../worker/config';

const copy = (index: number, key: string, noClobber: 'stat' | 'conditional' | 'overwrite' = 'stat') => ({
  index,
  from: `s3://src/${key}`,
  to: `s3://dst/p/${key}`,
  ...(noClobber === 'overwrite' ? {} : { noClobber }),
});

describe('s5cmd commands file', () => {
  it('single-quotes every argument and escapes quotes; new files never overwrite (-n), replacements go beside', () => {
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
    assert.equal(shellQuote('a b $(x) `y` ; z'), `'a b $(x) \`y\` ; z'`);
    const f = buildCommandsFile([copy(0, 'data/a.zip'), copy(1, "we'ird;$(id).zip", 'overwrite')]);
    assert.equal(
      f.text,
      `cp -n --raw 's3://src/data/a.zip' 's3://dst/p/data/a.zip'\ncp --raw 's3://src/we'\\''ird;$(id).zip' 's3://dst/p/we'\\''ird;$(id).zip'\n`,
    );
    assert.deepEqual(f.rejected, []);
  });

  it('rejects keys that cannot be written safely (newlines, control characters, folders) or copied server-side (spaces)', () => {
    for (const key of ['a\nrm -rf /', 'a\rb', 'tab\there', 'nul\u0000', 'dir/'])
      assert.equal(canQuoteSafely(key), false, JSON.stringify(key));
    assert.equal(canCopyServerSide('data/b c.zip'), false, 's5cmd 2.3.0 sends a space in the copy source as "+"');
    assert.equal(canCopyServerSide('data/spot/daily/klines/币安人生USDT/1d/币安人生USDT-1d-2025-01-01.zip'), true);
    const f = buildCommandsFile([
      copy(0, 'ok.zip'),
      copy(1, "x.zip'\ncp s3://a/b s3://c/d\n'"),
      copy(2, 'y\u0007.zip'),
      copy(3, 'sp ace.zip'),
    ]);
    assert.deepEqual(f.rejected, [1, 2, 3]);
    assert.equal(f.text.split('\n').filter(Boolean).length, 1);
    assert.throws(() => shellQuote('a\nb'));
  });

  it('leaves the no-overwrite check to the store where it honours If-None-Match on a copy (--if-absent, no -n HEAD)', () => {
    const f = buildCommandsFile([copy(0, 'data/a.zip', 'conditional'), copy(1, 'data/b.zip')]);
    assert.equal(
      f.text,
      `cp --if-absent --raw 's3://src/data/a.zip' 's3://dst/p/data/a.zip'\ncp -n --raw 's3://src/data/b.zip' 's3://dst/p/data/b.zip'\n`,
    );
    // The project's build prints a refused conditional copy as cp -n prints its skip: the same outcome.
    const skipped = parseS5cmdLine(
      '{"level":"DEBUG","operation":"cp","job":"cp s3://src/data/a.zip s3://dst/p/data/a.zip","error":"object already exists"}',
    );
    assert.deepEqual(skipped, { kind: 'exists', command: 'cp s3://src/data/a.zip s3://dst/p/data/a.zip' });
    assert.equal(matchOutcomes(f.commands, [skipped!]).byCommand.get(0)?.status, 'exists');
  });

  it('is empty for no copies', () => {
    assert.equal(buildCommandsFile([]).text, '');
  });

  it("asks for the store's checksum, and mixes copies, downloads and uploads of one position under tags", () => {
    const f = buildCommandsFile([
      { index: 4, from: 's3://src/a.zip', to: 's3://dst/a.zip', noClobber: 'stat', checksum: true },
      { index: 4, tag: 'sidecar', from: 's3://src/a.zip.CHECKSUM', to: '/tmp/run/4.CHECKSUM' },
      { index: 4, tag: 'proof', from: '/tmp/run/4.proof.json', to: 's3://dst/_verified/a.zip/sha256.x.y.z' },
    ]);
    assert.equal(f.text.split('\n')[0], "cp -n --checksum-algorithm SHA256 --raw 's3://src/a.zip' 's3://dst/a.zip'");
    assert.deepEqual(
      f.commands.map((c) => [c.id, c.index, c.tag]),
      [
        [0, 4, 'zip'],
        [1, 4, 'sidecar'],
        [2, 4, 'proof'],
      ],
    );
  });
});

describe('s5cmd NDJSON', () => {
  // Lines as s5cmd 2.3.0 prints them (stdout for successes and, at --log debug, -n skips; stderr for errors).
  const okLine =
    '{"operation":"cp","success":true,"source":"s3://src/data/a.zip","destination":"s3://dst/p/data/a.zip","object":{"key":"s3://dst/p/data/a.zip","etag":"\\"50701a20\\"","type":"file","size":262361,"checksum_sha256":"uok1iD0/ArXQlM/lyFZ6ZtHH/LkSjWnPG/7oerOIjzw="}}';
  const errLine =
    '{"operation":"cp","command":"cp s3://src/data/b.zip s3://dst/p/data/b.zip","error":"NoSuchKey: The specified key does not exist. status code: 404"}';
  const skipLine =
    '{"operation":"cp","job":"cp s3://src/data/c.zip s3://dst/p/data/c.zip","error":"object already exists"}';

  it('parses success, skip, error and other lines', () => {
    assert.deepEqual(parseS5cmdLine(okLine), {
      kind: 'ok',
      source: 's3://src/data/a.zip',
      destination: 's3://dst/p/data/a.zip',
      object: { etag: '"50701a20"', size: 262361, checksumSha256: 'uok1iD0/ArXQlM/lyFZ6ZtHH/LkSjWnPG/7oerOIjzw=' },
    });
    assert.equal(parseS5cmdLine(errLine)?.kind, 'error');
    assert.deepEqual(parseS5cmdLine(skipLine), {
      kind: 'exists',
      command: 'cp s3://src/data/c.zip s3://dst/p/data/c.zip',
    });
    assert.equal(parseS5cmdLine('{"operation":"cp","job":"cp a b","error":"some debug note"}')?.kind, 'other');
    assert.equal(parseS5cmdLine('not json')?.kind, 'other');
    assert.equal(parseS5cmdLine('  '), undefined);
  });

  it('matches outcomes to batch positions: copied, found occupied, failed, silent', () => {
    const f = buildCommandsFile([
      copy(0, 'data/a.zip'),
      copy(1, 'data/b.zip'),
      copy(2, 'data/c.zip'),
      copy(3, 'data/d.zip'),
    ]);
    const r = matchOutcomes(
      f.commands,
      [okLine, errLine, skipLine].map((l) => parseS5cmdLine(l)!),
    );
    const status = (id: number) => r.byCommand.get(id)!;
    const first = status(0);
    assert.equal(first.status === 'ok' ? first.object.size : undefined, 262361);
    assert.equal(status(2).status, 'exists');
    assert.match(JSON.stringify(status(1)), /NoSuchKey/);
    assert.match(JSON.stringify(status(3)), /reported nothing/);
  });

  it('classifies whole-batch failures', () => {
    assert.equal(classifyBatchFailure(['AccessDenied: Access Denied. status code: 403']), 'access_denied');
    assert.equal(classifyBatchFailure(['SignatureDoesNotMatch: ... status code: 403']), 'access_denied');
    assert.equal(
      classifyBatchFailure(['RequestError: send request failed: dial tcp 127.0.0.1:1: connect: connection refused']),
      'unreachable',
    );
    assert.equal(classifyBatchFailure(['something odd']), 'other');
  });
});

describe('regions of a direct-sync run on AWS', () => {
  it('reads the real archive in its own region (ap-northeast-1) when the bucket is in another, and copies into the bucket’s', () => {
    const c = loadConfig({
      TEMPORAL_CONFIG_FILE: '/nonexistent/t.toml',
      DEST_REGION: 'eu-west-1',
      DEST_BUCKET: 'my-bronze',
    });
    const toS3 = sourceRegionFlags(c.source, c.destination, 's3');
    const toLocal = sourceRegionFlags(c.source, c.destination, 'local');
    assert.deepEqual(toS3, { sourceRegion: 'ap-northeast-1', destinationRegion: 'eu-west-1' });
    assert.deepEqual(toLocal, { sourceRegion: 'ap-northeast-1' });
    const key = 'data/spot/daily/klines/BTCUSDT/1d/BTCUSDT-1d-2025-01-01.zip';
    const run = buildCommandsFile([
      {
        index: 0,
        from: `s3://data.binance.vision/${key}`,
        to: `s3://my-bronze/binance/${key}`,
        noClobber: 'stat',
        ...toS3,
      },
      { index: 0, tag: 'sidecar', from: `s3://data.binance.vision/${key}.CHECKSUM`, to: '/tmp/0.CHECKSUM', ...toLocal },
    ]);
    const [copy, sidecar] = run.text.trim().split('\n');
    assert.match(copy, /^cp -n --source-region 'ap-northeast-1' --destination-region 'eu-west-1' --raw /);
    assert.match(sidecar, /^cp --source-region 'ap-northeast-1' --raw /);
  });

  it('adds nothing in one region, or on a custom endpoint', () => {
    const same = loadConfig({ TEMPORAL_CONFIG_FILE: '/nonexistent/t.toml', DEST_REGION: 'ap-northeast-1' });
    assert.deepEqual(sourceRegionFlags(same.source, same.destination, 's3'), {});
    const minio = loadConfig({
      TEMPORAL_CONFIG_FILE: '/nonexistent/t.toml',
      SOURCE_ENDPOINT: 'http://127.0.0.1:9000',
      DEST_ENDPOINT: 'http://127.0.0.1:9000',
      SOURCE_BUCKET: 'mirror',
    });
    assert.deepEqual(sourceRegionFlags(minio.source, minio.destination, 's3'), {});
    assert.equal(minio.source.region, minio.destination.region, "a custom endpoint's source defaults to its region");
  });

  it('signs source-side requests for the region the operator gives the source, on a custom endpoint too', () => {
    const twoRegions = loadConfig({
      TEMPORAL_CONFIG_FILE: '/nonexistent/t.toml',
      SOURCE_ENDPOINT: 'http://127.0.0.1:9000',
      DEST_ENDPOINT: 'http://127.0.0.1:9000',
      SOURCE_BUCKET: 'mirror',
      SOURCE_REGION: 'ap-northeast-1',
      DEST_REGION: 'us-east-1',
    });
    assert.deepEqual(sourceRegionFlags(twoRegions.source, twoRegions.destination, 'local'), {
      sourceRegion: 'ap-northeast-1',
    });
  });
});
