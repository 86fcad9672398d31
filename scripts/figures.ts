/**
 * Measured figures go into docs/benchmarks.md and BENCHMARKS.md only through this: the script that measured
 * them replaces the section between `<!-- name -->` and `<!-- /name -->` with what it measured.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../worker/config';

export function publishSection(file: string, name: string, markdown: string): void {
  const p = path.join(PROJECT_ROOT, file);
  const text = readFileSync(p, 'utf8');
  const open = `<!-- ${name} -->`;
  const close = `<!-- /${name} -->`;
  const a = text.indexOf(open);
  const b = text.indexOf(close);
  if (a < 0 || b < a) throw new Error(`${file} has no section ${open} … ${close}`);
  writeFileSync(p, `${text.slice(0, a + open.length)}\n${markdown.trim()}\n${text.slice(b)}`);
}

export const today = () => new Date().toISOString().slice(0, 10);
