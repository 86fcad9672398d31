/**
 * `npm test`: builds the workflow bundle, starts a dedicated local stack (its own ports and data
 * folder, so a running demo stack is untouched), runs every test file with node's test runner
 * against it, and stops the stack.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ensureStackBuckets } from '../stack/buckets';
import { stackConfig, stackDown, stackUp, wipeStack } from '../stack/local-stack';
import { PROJECT_ROOT } from '../worker/config';
import { buildWorkflowBundle } from '../worker/bundle';
import { buildWorker } from '../worker/build';

const TEST_STACK = {
  STACK_NAME: 'test',
  STACK_TEMPORAL_PORT: '17233',
  STACK_TEMPORAL_UI_PORT: '18233',
  STACK_MINIO_PORT: '19000',
  STACK_MINIO_CONSOLE_PORT: '19001',
};
const env = { ...process.env, ...TEST_STACK };
const stack = stackConfig(env);

const filter = process.argv.slice(2);
const files = ['unit', 'e2e']
  .flatMap((dir) =>
    readdirSync(path.join(PROJECT_ROOT, 'test', dir))
      .filter((f) => f.endsWith('.test.ts'))
      .map((f) => path.join('test', dir, f)),
  )
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)));

// The Web UI test drives Debian's Chromium (no browser download is possible here).
if (!existsSync(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium')) {
  console.log('installing Debian chromium for the Web UI test…');
  const apt = (args: string[]) =>
    spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  apt(['update', '-qq']);
  apt(['install', '-y', '-qq', 'chromium']);
}

console.log('building the workflow bundle and the compiled worker…');
const bundle = await buildWorkflowBundle(path.join(PROJECT_ROOT, '.build/test-workflow-bundle.js'));
// Worker processes in the tests run what production runs (.build/worker.mjs).
await buildWorker();
await stackDown(stack);
wipeStack(stack);
let status = 1;
try {
  await stackUp(stack);
  await ensureStackBuckets(stack);
  const run = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      '--test-reporter=spec',
      `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`,
      ...files,
    ],
    { stdio: 'inherit', cwd: PROJECT_ROOT, env: { ...env, WORKFLOW_BUNDLE_PATH: bundle, NODE_NO_WARNINGS: '1' } },
  );
  status = run.status ?? 1;
} finally {
  if (!process.env.KEEP_TEST_STACK) await stackDown(stack);
}
process.exit(status);
