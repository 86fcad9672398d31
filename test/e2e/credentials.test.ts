import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startCollection } from '../../client/collection';
import { ensureBucket } from '../../stack/buckets';
import { PROJECT_ROOT } from '../../worker/config';
import { BOOKKEEPING_GOMEMLIMIT } from '../../activities/s5cmd-run';
import { hashDestination } from '../helpers/independent-check';
import { mirror, s3, stack, testClient, uniqueName } from '../helpers/stack';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';

/**
 * A private source and a destination both reached through the AWS default credential chain (no
 * SOURCE_ or DEST_ keys), with s5cmd behind a wrapper that records the environment it was given.
 */
describe('credentials: the default chain on both sides, and what reaches s5cmd', () => {
  let worker: WorkerProcess | undefined;
  let dumps: string;
  const source = uniqueName('src-private');
  const destination = uniqueName('dst-chain');
  const request = { symbols: ['SOLUSDT'], intervals: ['1d'], startDate: '2025-08-01', endDate: '2025-08-03' };
  const CANARY = 'canary-never-in-s5cmd';

  before(async () => {
    await ensureBucket(s3, source, false); // private: anonymous reads are refused
    await ensureBucket(s3, destination);
    await mirror(source, request);
    dumps = mkdtempSync(path.join(os.tmpdir(), 's5cmd-env-'));
    const wrapper = path.join(dumps, 's5cmd');
    writeFileSync(
      wrapper,
      `#!/bin/sh\nenv > "${dumps}/env-$$.txt"\nexec "${path.join(PROJECT_ROOT, '.tools/bin/s5cmd')}" "$@"\n`,
    );
    chmodSync(wrapper, 0o755);
  });
  after(() => {
    if (worker?.child.exitCode === null) worker.child.kill('SIGKILL');
  });

  it("SOURCE_AUTH=default-chain reads a private source; s5cmd sees the chain's variables and nothing else of the worker's environment", async () => {
    worker = await spawnWorker({
      SOURCE_BUCKET: source,
      SOURCE_AUTH: 'default-chain',
      DEST_ACCESS_KEY_ID: '',
      DEST_SECRET_ACCESS_KEY: '',
      AWS_ACCESS_KEY_ID: stack.minioUser,
      AWS_SECRET_ACCESS_KEY: stack.minioPassword,
      S5CMD_PATH: path.join(dumps, 's5cmd'),
      WORKFLOW_BUNDLE_PATH: process.env.WORKFLOW_BUNDLE_PATH!,
      TEMPORAL_API_KEY_CANARY: CANARY,
      SOME_SECRET: CANARY,
      // Looks like AWS's, read by no AWS SDK: it must not pass either.
      AWS_NOT_A_CHAIN_VARIABLE: CANARY,
    });
    const client = await testClient();
    for (const [mode, prefix] of [
      ['direct_sync', 'direct/'],
      ['traditional', 'trad/'],
    ] as const) {
      const { handle } = await startCollection(
        client,
        { ...request, mode, destination: { bucket: destination, prefix } },
        { taskQueue: worker.taskQueue },
      );
      const report = await handle.result();
      assert.equal(report.files.copied, 3, `${mode}: ${report.verdict}`);
      assert.equal(report.decision.mode, mode);
      // Independent reader: the bytes are the source's.
      const copied = await hashDestination(s3, destination, prefix);
      const original = await hashDestination(s3, source, '');
      assert.deepEqual([...copied.entries()].sort(), [...original.entries()].sort());
    }

    const runs = readdirSync(dumps)
      .filter((f) => f.startsWith('env-'))
      .map((f) => readFileSync(path.join(dumps, f), 'utf8'))
      .map(
        (text) =>
          new Map(
            text
              .split('\n')
              .filter(Boolean)
              .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
          ),
      )
      .filter((env) => env.has('AWS_REGION')); // s5cmd runs (the probe's "s5cmd version" gets PATH only)
    assert.ok(runs.length >= 2, 'direct-sync and traditional runs of s5cmd were recorded');
    assert.ok(
      runs.some((env) => env.get('GOMEMLIMIT') === BOOKKEEPING_GOMEMLIMIT),
      "a bookkeeping run (proofs after a direct-sync batch) gets Go's memory limit",
    );
    for (const env of runs) {
      assert.equal(env.get('AWS_ACCESS_KEY_ID'), stack.minioUser, "the default chain's keys reach s5cmd");
      const names = [...env.keys()].filter((k) => !['PWD', 'SHLVL', '_', 'OLDPWD'].includes(k));
      for (const n of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION', 'HOME', 'PATH'])
        assert.ok(names.includes(n), n);
      // The machine may set more of the chain's own variables (a profile, a CA bundle, proxies): those pass,
      // nothing else does. Written out here from the AWS SDKs' documented names, not from the product's list.
      const allowed = (n: string) =>
        ['HOME', 'PATH', 'SSL_CERT_FILE', 'SSL_CERT_DIR'].includes(n) ||
        // Go's garbage-collector settings: the project's own for bookkeeping runs (docs/configuration.md#memory).
        ['GOMEMLIMIT', 'GOGC'].includes(n) ||
        /^(https?_proxy|no_proxy)$/i.test(n) ||
        /^AWS_(REGION|DEFAULT_REGION|ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE|CONFIG_FILE|SHARED_CREDENTIALS_FILE|CA_BUNDLE|WEB_IDENTITY_TOKEN_FILE|ROLE_ARN|ROLE_SESSION_NAME|STS_REGIONAL_ENDPOINTS|CONTAINER_CREDENTIALS_(RELATIVE|FULL)_URI|CONTAINER_AUTHORIZATION_TOKEN(_FILE)?|EC2_METADATA_[A-Z_]+|SDK_LOAD_CONFIG)$/.test(
          n,
        );
      assert.deepEqual(
        names.filter((n) => !allowed(n)),
        [],
        "nothing else of the worker's environment",
      );
      assert.ok(!names.some((n) => n.startsWith('DEST_') || n.startsWith('SOURCE_') || n.startsWith('TEMPORAL_')));
      assert.ok(![...env.values()].includes(CANARY));
    }
  });
});
