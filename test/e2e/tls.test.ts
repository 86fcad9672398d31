import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { temporalAddress, webUiUrl, workerEnvFor } from '../../stack/local-stack';
import { PROJECT_ROOT } from '../../worker/config';
import type { CollectionReport } from '../../workflows/types';
import { assertTrustInvariant, hashDestination } from '../helpers/independent-check';
import { freshBuckets, mirror, s3, stack, uniqueName } from '../helpers/stack';
import { makeTestPki, startTlsProxy, type TestPki, type TlsProxy } from '../helpers/tls-proxy';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';

/** The real client and worker commands with only the given environment (plus PATH): what a user's shell would have. */
const cli = (env: Record<string, string>, ...args: string[]) =>
  execa(process.execPath, ['--import', 'tsx', 'client/main.ts', ...args], {
    cwd: PROJECT_ROOT,
    reject: false,
    extendEnv: false,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME!, NODE_NO_WARNINGS: '1', ...env },
  });
const workerOnce = (env: Record<string, string>) =>
  execa(process.execPath, [path.join(PROJECT_ROOT, '.build/worker.mjs')], {
    cwd: PROJECT_ROOT,
    reject: false,
    timeout: 60_000,
    extendEnv: false,
    env: {
      PATH: process.env.PATH!,
      HOME: process.env.HOME!,
      WORKFLOW_BUNDLE_PATH: process.env.WORKFLOW_BUNDLE_PATH ?? '',
      ...workerEnvFor(stack),
      DEST_ALLOWED: '*',
      ...env,
    },
  });
const oneLine = (stderr: string) => {
  const lines = stderr.split('\n').filter((l) => l.trim());
  assert.equal(lines.length, 1, `one line, not a stack trace:\n${stderr}`);
  return lines[0];
};

describe('Temporal over TLS (envconfig variables and profiles, through a TLS-terminating proxy with mutual TLS)', () => {
  let pki: TestPki;
  let proxy: TlsProxy;
  let tlsEnv: Record<string, string>;
  let worker: WorkerProcess | undefined;
  let buckets: { source: string; destination: string };
  const request = ['--symbols', 'XRPUSDT', '--intervals', '1h', '--start', '2025-06-01', '--end', '2025-06-03'];

  before(async () => {
    pki = await makeTestPki();
    const [host, port] = temporalAddress(stack).split(':');
    proxy = await startTlsProxy(pki, { host, port: Number(port) });
    tlsEnv = {
      TEMPORAL_ADDRESS: `localhost:${proxy.port}`,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert,
      TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKey,
    };
    buckets = await freshBuckets('tls');
    await mirror(buckets.source, {
      symbols: ['XRPUSDT'],
      intervals: ['1h'],
      startDate: '2025-06-01',
      endDate: '2025-06-03',
    });
  });
  after(async () => {
    if (worker?.child.exitCode === null) worker.child.kill('SIGKILL');
    await proxy?.close();
  });

  it('a collection runs end to end with worker and client connected only through the TLS proxy', async () => {
    worker = await spawnWorker({
      ...tlsEnv,
      SOURCE_BUCKET: buckets.source,
      WORKFLOW_BUNDLE_PATH: process.env.WORKFLOW_BUNDLE_PATH!,
    });
    assert.ok(
      worker.logs.some((l) => l.includes(`at localhost:${proxy.port}, namespace default, TLS with client certificate`)),
      worker.logs.join('\n'),
    );
    const sessionsBefore = proxy.sessions.length;
    assert.ok(sessionsBefore >= 1, 'the worker connected through the proxy');

    const r = await cli(
      { ...tlsEnv, TEMPORAL_TASK_QUEUE: worker.taskQueue, TEMPORAL_UI_URL: webUiUrl(stack) },
      'collect',
      ...request,
      '--bucket',
      buckets.destination,
      '--prefix',
      'tls/',
      '--wait',
      '--json',
    );
    assert.equal(r.exitCode, 0, r.stderr);
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!) as CollectionReport;
    assert.equal(report.files.copied, 3);
    assert.ok(proxy.sessions.length > sessionsBefore, 'the client connected through the proxy too');
    assert.ok(
      proxy.sessions.every((cn) => cn === 'archive-worker'),
      'every session presented the test client certificate',
    );

    // Independent reader: the destination's bytes are the source's, and carry proof.
    const copied = await hashDestination(s3, buckets.destination, 'tls/');
    const source = await hashDestination(s3, buckets.source, '');
    assert.equal(copied.size, 3);
    for (const [key, sha] of copied) assert.equal(sha, source.get(key), key);
    assert.equal((await assertTrustInvariant(s3, buckets.destination, 'tls/', buckets.source)).proven.size, 3);
  });

  it('a TOML profile (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE) connects the same way', async () => {
    const file = path.join(pki.dir, 'temporal.toml');
    writeFileSync(
      file,
      [
        '[profile.tls]',
        `address = "localhost:${proxy.port}"`,
        'namespace = "default"',
        '[profile.tls.tls]',
        `server_ca_cert_path = "${pki.caCert}"`,
        `client_cert_path = "${pki.clientCert}"`,
        `client_key_path = "${pki.clientKey}"`,
        '[profile.broken]',
        `address = "localhost:${proxy.port}"`,
        '[profile.broken.tls]',
        `server_ca_cert_path = "${pki.dir}/missing-ca.pem"`,
      ].join('\n'),
    );
    const sessions = proxy.sessions.length;
    const ok = await cli({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'tls' }, 'list', '--limit', '1');
    assert.equal(ok.exitCode, 0, ok.stderr);
    assert.ok(proxy.sessions.length > sessions);

    const broken = await cli({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'broken' }, 'list');
    assert.equal(broken.exitCode, 2);
    assert.match(
      oneLine(broken.stderr),
      new RegExp(
        `tls\\.server_ca_cert_path of profile "broken" in ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*cannot read .*missing-ca\\.pem \\(ENOENT\\)`,
      ),
    );

    const missing = await cli({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod' }, 'list');
    assert.equal(missing.exitCode, 2);
    assert.match(oneLine(missing.stderr), /TEMPORAL_PROFILE: there is no profile "prod" in /);
  });

  it('a wrong address, namespace, CA, certificate or key fails at start with one line naming the variable', async () => {
    const clientCases: [string, Record<string, string>, number, RegExp][] = [
      [
        'untrusted server CA',
        { ...tlsEnv, TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.otherCaCert },
        4,
        /^TLS with Temporal at localhost:\d+ failed .*check TEMPORAL_TLS_SERVER_CA_CERT_PATH/,
      ],
      [
        'no client certificate',
        { TEMPORAL_ADDRESS: tlsEnv.TEMPORAL_ADDRESS, TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert },
        4,
        /^TLS with Temporal at localhost:\d+ failed .*TEMPORAL_TLS_CLIENT_CERT_PATH/,
      ],
      [
        'plaintext to a TLS port',
        { TEMPORAL_ADDRESS: tlsEnv.TEMPORAL_ADDRESS },
        4,
        /^Temporal at localhost:\d+ expects TLS .*set TEMPORAL_TLS=true/,
      ],
      [
        'TLS to a plaintext port',
        { TEMPORAL_ADDRESS: temporalAddress(stack), TEMPORAL_TLS: 'true' },
        4,
        /^Temporal at \S+ does not speak TLS .*TEMPORAL_TLS=false/,
      ],
      [
        'nothing listening',
        { TEMPORAL_ADDRESS: 'localhost:1' },
        4,
        /^cannot reach Temporal at localhost:1 .*check TEMPORAL_ADDRESS/,
      ],
      [
        'not host:port',
        { TEMPORAL_ADDRESS: 'http://localhost:7233' },
        2,
        /TEMPORAL_ADDRESS: "http:\/\/localhost:7233" is not host:port/,
      ],
      [
        'unknown namespace',
        { ...tlsEnv, TEMPORAL_NAMESPACE: 'no-such-namespace' },
        4,
        /^TEMPORAL_NAMESPACE: namespace "no-such-namespace" does not exist at localhost:\d+/,
      ],
    ];
    for (const [what, env, code, line] of clientCases) {
      const r = await cli(env, 'list');
      assert.equal(r.exitCode, code, `${what}: ${r.stderr}`);
      assert.match(oneLine(r.stderr), line, what);
    }

    const taskQueue = uniqueName('tq');
    const workerCases: [string, Record<string, string>, RegExp][] = [
      [
        'missing key file',
        { ...tlsEnv, TEMPORAL_TLS_CLIENT_KEY_PATH: `${pki.dir}/nope.key` },
        /TEMPORAL_TLS_CLIENT_KEY_PATH: cannot read .*nope\.key \(ENOENT\)/,
      ],
      [
        'key of another certificate',
        { ...tlsEnv, TEMPORAL_TLS_CLIENT_KEY_PATH: pki.serverKey },
        /TEMPORAL_TLS_CLIENT_KEY_PATH: this private key does not belong to the certificate in TEMPORAL_TLS_CLIENT_CERT_PATH/,
      ],
      [
        'certificate that is not PEM',
        { ...tlsEnv, TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientKey },
        /TEMPORAL_TLS_CLIENT_CERT_PATH: not a PEM certificate/,
      ],
      [
        'certificate without its key',
        { ...tlsEnv, TEMPORAL_TLS_CLIENT_KEY_PATH: '' },
        /TEMPORAL_TLS_CLIENT_KEY_PATH is not set: mutual TLS needs both/,
      ],
      [
        'untrusted server CA',
        { ...tlsEnv, TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.otherCaCert },
        /TLS with Temporal at localhost:\d+ failed .*TEMPORAL_TLS_SERVER_CA_CERT_PATH/,
      ],
      [
        'unknown namespace',
        { ...tlsEnv, TEMPORAL_NAMESPACE: 'no-such-namespace' },
        /TEMPORAL_NAMESPACE: namespace "no-such-namespace" does not exist/,
      ],
    ];
    for (const [what, env, line] of workerCases) {
      const r = await workerOnce({ ...env, TEMPORAL_TASK_QUEUE: taskQueue });
      assert.equal(r.exitCode, 2, `${what}: ${r.stdout}\n${r.stderr}`);
      assert.match(oneLine(r.stderr), line, what);
    }
  });
});
