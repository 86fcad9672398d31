import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildCommandsFile, canQuoteSafely, classifyBatchFailure, matchOutcomes, parseS5cmdLine, shellQuote } from '../../activities/s5cmd-commands';

const copy = (index: number, key: string) => ({ index, sourceBucket: 'src', sourceKey: key, destinationBucket: 'dst', destinationKey: `p/${key}` });

describe('s5cmd commands file', () => {
  it('single-quotes every argument and escapes quotes', () => {
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
    assert.equal(shellQuote('a b $(x) `y` ; z'), `'a b $(x) \`y\` ; z'`);
    const f = buildCommandsFile([copy(0, 'data/a.zip'), copy(1, "we'ird key;$(touch x).zip")]);
    assert.equal(f.text, `cp --raw 's3://src/data/a.zip' 's3://dst/p/data/a.zip'\ncp --raw 's3://src/we'\\''ird key;$(touch x).zip' 's3://dst/p/we'\\''ird key;$(touch x).zip'\n`);
    assert.deepEqual(f.rejected, []);
  });

  it('rejects keys that cannot be written safely: newlines, control characters, folders', () => {
    for (const key of ['a\nrm -rf /', 'a\rb', 'tab\there', 'nul\u0000', 'dir/']) assert.equal(canQuoteSafely(key), false, JSON.stringify(key));
    const f = buildCommandsFile([copy(0, 'ok.zip'), copy(1, "x.zip'\ncp s3://a/b s3://c/d\n'"), copy(2, 'y\u0007.zip')]);
    assert.deepEqual(f.rejected, [1, 2]);
    assert.equal(f.text.split('\n').filter(Boolean).length, 1);
    assert.throws(() => shellQuote('a\nb'));
  });

  it('is empty for no copies', () => {
    assert.equal(buildCommandsFile([]).text, '');
  });
});

describe('s5cmd NDJSON', () => {
  const okLine = '{"operation":"cp","success":true,"source":"s3://src/data/a.zip","destination":"s3://dst/p/data/a.zip","object":{"type":"file"}}';
  const errLine = '{"operation":"cp","command":"cp s3://src/data/b c.zip s3://dst/p/data/b c.zip","error":"NoSuchKey: The specified key does not exist. status code: 404"}';

  it('parses success, error and other lines', () => {
    assert.deepEqual(parseS5cmdLine(okLine), { kind: 'ok', source: 's3://src/data/a.zip', destination: 's3://dst/p/data/a.zip' });
    assert.equal(parseS5cmdLine(errLine)?.kind, 'error');
    assert.equal(parseS5cmdLine('not json')?.kind, 'other');
    assert.equal(parseS5cmdLine('  '), undefined);
  });

  it('matches outcomes to batch positions, including keys with spaces', () => {
    const f = buildCommandsFile([copy(0, 'data/a.zip'), copy(1, 'data/b c.zip'), copy(2, 'data/d.zip')]);
    const r = matchOutcomes(f.commands, [parseS5cmdLine(okLine)!, parseS5cmdLine(errLine)!]);
    assert.deepEqual([...r.copied], [0]);
    assert.match(r.failed.get(1)!, /NoSuchKey/);
    assert.match(r.failed.get(2)!, /reported nothing/);
  });

  it('classifies whole-batch failures', () => {
    assert.equal(classifyBatchFailure(['AccessDenied: Access Denied. status code: 403']), 'access_denied');
    assert.equal(classifyBatchFailure(['SignatureDoesNotMatch: ... status code: 403']), 'access_denied');
    assert.equal(classifyBatchFailure(['RequestError: send request failed: dial tcp 127.0.0.1:1: connect: connection refused']), 'unreachable');
    assert.equal(classifyBatchFailure(['something odd']), 'other');
  });
});
