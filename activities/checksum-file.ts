/**
 * `.CHECKSUM` sidecars, read the way `sha256sum -c` reads them: one `<sha256 hex>  <file name>` entry
 * per line (`<hex> *<name>` for binary mode); the entry naming the zip's own file counts. Pure.
 */
export type ChecksumReading = { ok: true; sha256: string } | { ok: false; problem: string };

const ENTRY = /^(\\?)([0-9a-fA-F]{64}) [ *](.+)$/;

/** sha256sum marks a name holding a backslash, newline or CR with a leading backslash and writes them as \\, \n and \r. */
function unescapeName(name: string): string {
  return name.replace(/\\(\\|n|r)/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : '\\'));
}

export function readChecksumFile(text: string, fileName: string): ChecksumReading {
  const entries: { sha256: string; name: string }[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const m = ENTRY.exec(line);
    if (m) entries.push({ sha256: m[2].toLowerCase(), name: m[1] ? unescapeName(m[3]) : m[3] });
  }
  if (entries.length === 0) {
    return {
      ok: false,
      problem: `the .CHECKSUM is not in sha256sum format ("<sha256>  ${fileName}"): ${JSON.stringify(text.slice(0, 120))}`,
    };
  }
  const mine = [...new Set(entries.filter((e) => e.name === fileName).map((e) => e.sha256))];
  if (mine.length === 0) {
    return {
      ok: false,
      problem: `the .CHECKSUM has no entry for ${fileName} (it names ${entries
        .map((e) => e.name)
        .slice(0, 3)
        .join(', ')})`,
    };
  }
  if (mine.length > 1)
    return { ok: false, problem: `the .CHECKSUM has ${mine.length} different hashes for ${fileName}` };
  return { ok: true, sha256: mine[0] };
}

export function fileNameOf(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}
