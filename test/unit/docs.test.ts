/**
 * The reference in docs/ follows the code: every worker variable, client command and option, and request field is
 * documented, every relative link in README.md and docs/ resolves (anchors included), and every section a script
 * publishes measured figures into is still there. The lists come from the code, not from this file.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { z } from 'zod';
import { TEMPORAL_CONNECTION_VARIABLES } from '../../common/temporal-connection';
import { CollectionRequest } from '../../workflows/request';
import { PROJECT_ROOT, WorkerEnv } from '../../worker/config';

const DOCS = path.join(PROJECT_ROOT, 'docs');
const read = (file: string) => readFileSync(path.join(PROJECT_ROOT, file), 'utf8');
const docFiles = readdirSync(DOCS)
  .filter((f) => f.endsWith('.md'))
  .map((f) => `docs/${f}`);
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The object schema behind effects (refinements, transforms), defaults, optionals and nullables; else undefined. */
function objectOf(schema: z.ZodTypeAny): z.AnyZodObject | undefined {
  let s: z.ZodTypeAny = schema;
  for (;;) {
    if (s instanceof z.ZodObject) return s;
    if (s instanceof z.ZodEffects) s = s.innerType();
    else if (s instanceof z.ZodDefault) s = s.removeDefault();
    else if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap();
    else return undefined;
  }
}

/** Every field path of an object schema, nested objects included: ['destination'], ['destination', 'bucket'], … */
function fieldPaths(schema: z.ZodTypeAny, prefix: string[] = []): string[][] {
  const object = objectOf(schema);
  if (!object) return [];
  return Object.entries(object.shape as Record<string, z.ZodTypeAny>).flatMap(([key, value]) => [
    [...prefix, key],
    ...fieldPaths(value, [...prefix, key]),
  ]);
}

/** Markdown without fenced code blocks (their `#` lines are not headings, their brackets not links). */
const withoutFences = (markdown: string) => markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');

/** GitHub's anchor for a heading: rendered text, lower-cased, punctuation but "-" and "_" dropped, spaces to "-". */
function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*]/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a Markdown file's headings, numbered as GitHub numbers repeated ones (-1, -2, …). */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of withoutFences(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

test('every worker variable is documented in docs/configuration.md, every Temporal connection variable in docs/', () => {
  const configuration = read('docs/configuration.md');
  const keys = Object.keys(objectOf(WorkerEnv)?.shape ?? {});
  assert.ok(keys.length > 20, `found only ${keys.length} keys in the worker's schema`);
  const missing = keys.filter((k) => !configuration.includes(`\`${k}\``));
  assert.deepEqual(missing, [], `worker variables missing from docs/configuration.md: ${missing.join(', ')}`);
  const docs = docFiles.map(read).join('\n');
  const missingTemporal = TEMPORAL_CONNECTION_VARIABLES.filter((v) => !docs.includes(`\`${v}\``));
  assert.deepEqual(
    missingTemporal,
    [],
    `Temporal connection variables missing from docs/: ${missingTemporal.join(', ')}`,
  );
});

test('every client command has a heading in docs/client.md, and every option is there', async () => {
  process.env.TEMPORAL_CONFIG_FILE ??= '/nonexistent/temporal.toml'; // the client reads its settings on import
  const program = new Command();
  const dir = path.join(PROJECT_ROOT, 'client/commands');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const module = (await import(pathToFileURL(path.join(dir, file)).href)) as Record<string, unknown>;
    const registers = Object.entries(module).filter(
      ([name, v]) => name.startsWith('register') && typeof v === 'function',
    );
    assert.ok(registers.length > 0, `client/commands/${file} exports no register… function`);
    for (const [, register] of registers) (register as (p: Command) => void)(program);
  }
  const commands: { path: string; command: Command }[] = [];
  const walk = (cmd: Command, parents: string[]) => {
    for (const sub of cmd.commands) {
      const p = [...parents, sub.name()];
      commands.push({ path: p.join(' '), command: sub });
      walk(sub, p);
    }
  };
  walk(program, []);
  assert.ok(commands.length >= 20, `found only ${commands.length} commands`);

  const client = read('docs/client.md');
  const headings = [...withoutFences(client).matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => m[1]);
  // A command with subcommands is documented by theirs.
  const missingCommands = commands
    .filter(({ command }) => command.commands.length === 0)
    .filter(({ path: p }) => !headings.some((h) => h.includes(`\`${p}\``)))
    .map(({ path: p }) => p);
  assert.deepEqual(missingCommands, [], `commands without a heading in docs/client.md: ${missingCommands.join(', ')}`);

  const missingOptions = commands.flatMap(({ path: p, command }) =>
    command.options
      .map((o) => o.long)
      .filter((long): long is string => Boolean(long) && !new RegExp(`${escape(long!)}(?![\\w-])`).test(client))
      .map((long) => `${p} ${long}`),
  );
  assert.deepEqual(missingOptions, [], `options missing from docs/client.md: ${missingOptions.join(', ')}`);
});

test('every request field, nested ones included, is documented in docs/request.md', () => {
  const request = read('docs/request.md');
  const paths = fieldPaths(CollectionRequest);
  assert.ok(paths.length > 20, `found only ${paths.length} request fields`);
  // `field`, `parent.field` or `field.child` in code
  const documented = (field: string) => new RegExp(`\`(?:[\\w.]+\\.)?${escape(field)}(?:\\.[\\w.]+)?\``).test(request);
  const missing = paths.filter((p) => !documented(p[p.length - 1])).map((p) => p.join('.'));
  assert.deepEqual(missing, [], `request fields missing from docs/request.md: ${missing.join(', ')}`);
});

test('every relative link in README.md and docs/ resolves, anchors included', () => {
  const broken: string[] = [];
  for (const file of ['README.md', ...docFiles]) {
    // Inline code is not a link either.
    const text = withoutFences(read(file)).replace(/`[^`\n]*`/g, '');
    for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = m[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, …
      const [file0, anchor] = target.split('#', 2) as [string, string | undefined];
      const resolved = file0
        ? path.join(path.dirname(path.join(PROJECT_ROOT, file)), file0)
        : path.join(PROJECT_ROOT, file);
      if (!existsSync(resolved)) {
        broken.push(`${file}: ${target} (no such file)`);
        continue;
      }
      if (anchor !== undefined && !anchors(readFileSync(resolved, 'utf8')).has(anchor))
        broken.push(`${file}: ${target} (no heading with that anchor)`);
    }
  }
  assert.deepEqual(broken, []);
});

test('the README links every file in docs/', () => {
  const readme = read('README.md');
  const unlinked = docFiles.filter((f) => !readme.includes(`](${f})`) && !readme.includes(`](${f}#`));
  assert.deepEqual(unlinked, [], `docs files the README does not link: ${unlinked.join(', ')}`);
});

test('every section a script publishes measured figures into has its markers', () => {
  const dir = path.join(PROJECT_ROOT, 'scripts');
  const sections = readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .flatMap((f) => [...readFileSync(path.join(dir, f), 'utf8').matchAll(/publishSection\(\s*'([^']+)',\s*'([^']+)'/g)])
    .map((m) => ({ file: m[1], name: m[2] }));
  assert.ok(sections.length >= 2, `found only ${sections.length} published sections`);
  const missing = sections
    .filter(({ file, name }) => {
      const text = existsSync(path.join(PROJECT_ROOT, file)) ? read(file) : '';
      const open = text.indexOf(`<!-- ${name} -->`);
      return open < 0 || text.indexOf(`<!-- /${name} -->`) < open;
    })
    .map(({ file, name }) => `${file}: ${name}`);
  assert.deepEqual(missing, [], `sections scripts publish into, without their markers: ${missing.join(', ')}`);
});
