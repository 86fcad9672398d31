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
/**
 * The store matrix: the end-to-end tests that touch store behaviour run again on each other store, on a
 * stack of its own. A feature a store lacks is skipped in the test with the reason (test/helpers/store.ts).
 */
const STORE_FILES = [
  'test/e2e/direct-sync.test.ts',
  'test/e2e/traditional.test.ts',
  'test/e2e/fallback.test.ts',
  'test/e2e/quarantine.test.ts',
  'test/e2e/boundary.test.ts',
  'test/e2e/trust.test.ts',
  'test/e2e/whole-markets.test.ts',
  'test/e2e/mode-selection.test.ts',
  'test/e2e/cli.test.ts',
  'test/e2e/probe.test.ts',
  'test/e2e/aws-behaviours.test.ts',
  'test/e2e/versioning.test.ts',
  'test/e2e/content.test.ts',
  'test/e2e/faults.test.ts',
];
const STORE_MATRIX: Record<string, { env: Record<string, string>; files: string[] }> = {
  minio: {
    env: {
      STACK_NAME: 'test-minio',
      STACK_STORE: 'minio',
      STACK_TEMPORAL_PORT: '37233',
      STACK_TEMPORAL_UI_PORT: '38233',
      STACK_MINIO_PORT: '39000',
      STACK_MINIO_CONSOLE_PORT: '39001',
    },
    files: STORE_FILES,
  },
  // moto's server (in memory, test-only): ignores conditional copy and PUT checksums, which the product must notice.
  moto: {
    env: {
      STACK_NAME: 'test-moto',
      STACK_STORE: 'moto',
      STACK_TEMPORAL_PORT: '47233',
      STACK_TEMPORAL_UI_PORT: '48233',
      STACK_MINIO_PORT: '49000',
      STACK_MINIO_CONSOLE_PORT: '49001',
    },
    files: STORE_FILES,
  },
};

async function runOn(stackEnv: Record<string, string>, testFiles: string[]): Promise<number> {
  const runEnv = { ...process.env, ...stackEnv };
  const on = stackConfig(runEnv);
  await stackDown(on);
  wipeStack(on);
  try {
    await stackUp(on);
    await ensureStackBuckets(on);
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--test',
        '--test-reporter=spec',
        `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`,
        ...testFiles,
      ],
      { stdio: 'inherit', cwd: PROJECT_ROOT, env: { ...runEnv, WORKFLOW_BUNDLE_PATH: bundle, NODE_NO_WARNINGS: '1' } },
    );
    return run.status ?? 1;
  } finally {
    if (!process.env.KEEP_TEST_STACK) await stackDown(on);
  }
}

let status = await runOn(TEST_STACK, files);
for (const [store, { env: storeEnv, files: storeFiles }] of Object.entries(STORE_MATRIX)) {
  const chosen = storeFiles.filter((f) => files.includes(f));
  // STORE_MATRIX=off skips the matrix; STORE_MATRIX=moto (or minio,moto) runs only those stores.
  const only = process.env.STORE_MATRIX;
  if (!chosen.length || only === 'off' || (only && !only.split(',').includes(store))) continue;
  console.log(`\nthe store matrix: ${chosen.length} files again on ${store}…`);
  const storeStatus = await runOn(storeEnv, chosen);
  if (storeStatus !== 0) status = storeStatus;
}
process.exit(status);
