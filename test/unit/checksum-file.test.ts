import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readChecksumFile } from '../../activities/checksum-file';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

describe('.CHECKSUM files, read as sha256sum -c reads them', () => {
  it('reads the archive format, with or without a trailing newline, and binary mode', () => {
    assert.deepEqual(readChecksumFile(`${A}  X.zip\n`, 'X.zip'), { ok: true, sha256: A });
    assert.deepEqual(readChecksumFile(`${A}  X.zip`, 'X.zip'), { ok: true, sha256: A });
    assert.deepEqual(readChecksumFile(`${A.toUpperCase()} *X.zip\r\n`, 'X.zip'), { ok: true, sha256: A });
  });

  it('takes the entry that names the file, on any line', () => {
    assert.deepEqual(readChecksumFile(`${B}  Y.zip\n${A}  X.zip\n`, 'X.zip'), { ok: true, sha256: A });
  });

  it('refuses an entry naming another file, as sha256sum -c does', () => {
    const r = readChecksumFile(`${A}  Y.zip\n`, 'X.zip');
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.problem : '', /no entry for X\.zip.*Y\.zip/);
  });

  it('refuses malformed content and conflicting entries', () => {
    for (const text of ['', 'hello', `${A.slice(1)}  X.zip`, `${A}X.zip`])
      assert.equal(readChecksumFile(text, 'X.zip').ok, false, JSON.stringify(text));
    assert.equal(readChecksumFile(`${A}  X.zip\n${B}  X.zip\n`, 'X.zip').ok, false);
  });

  it('reads every real .CHECKSUM line Binance published in its re-upload list', () => {
    const rows = readFileSync('test/fixtures/archive-oracle/binance-updates-2022-10-04-aggTrades.csv', 'utf8')
      .trim()
      .split('\n')
      .slice(1);
    // The oracle's README says 131; the file holds 132 rows (4 of 2017-12, 127 of 2018-01, 1 of 2018-03).
    assert.equal(rows.length, 132);
    for (const row of rows) {
      const [, original, replacement] = row.split(',');
      for (const line of [original, replacement]) {
        const name = line.slice(66);
        const r = readChecksumFile(line, name);
        assert.ok(r.ok && r.sha256 === line.slice(0, 64), line);
      }
    }
  });
});

describe('.CHECKSUM lines written by GNU sha256sum itself', () => {
  for (const name of [
    'plain.zip',
    'new\nline.zip',
    'cr\rbell\u0007.zip',
    'back\\slash.zip',
    'it\'s "quoted" $(x).zip',
    'ünïcode ✓.zip',
  ]) {
    it(`reads the line sha256sum writes for ${JSON.stringify(name)}`, () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'sum-'));
      try {
        writeFileSync(path.join(dir, name), name);
        const line = execFileSync('sha256sum', ['--', name], { cwd: dir, encoding: 'utf8' });
        const expected = createHash('sha256').update(name).digest('hex');
        assert.deepEqual(readChecksumFile(line, name), { ok: true, sha256: expected });
        assert.equal(readChecksumFile(line, 'other.zip').ok, false);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
