import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { TemporalConnectionError, loadTemporalTarget } from '../../common/temporal-connection';

const noFile = { TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' };

describe('Temporal connection settings (envconfig)', () => {
  it('defaults to the local dev server in plaintext', () => {
    const t = loadTemporalTarget(noFile);
    assert.equal(t.connectionOptions.address, 'localhost:7233');
    assert.equal(t.namespace, 'default');
    assert.ok(!t.connectionOptions.tls);
    assert.equal(t.description, 'localhost:7233, namespace default, plaintext');
  });

  it('Temporal Cloud with an API key: TLS is on without any TLS variable, the key is passed on', () => {
    const t = loadTemporalTarget({
      ...noFile,
      TEMPORAL_ADDRESS: 'us-east-1.aws.api.temporal.io:7233',
      TEMPORAL_NAMESPACE: 'bronze.a1b2c',
      TEMPORAL_API_KEY: 'secret-key',
    });
    assert.equal(t.connectionOptions.apiKey, 'secret-key');
    assert.equal(t.connectionOptions.tls, true);
    assert.equal(t.namespace, 'bronze.a1b2c');
    assert.doesNotMatch(t.description, /secret-key/, 'the key never reaches logs');
    assert.match(t.description, /TLS, API key$/);
  });

  it('TEMPORAL_TLS=false turns TLS off; TEMPORAL_TLS=true turns it on with the system roots', () => {
    assert.equal(loadTemporalTarget({ ...noFile, TEMPORAL_TLS: 'false' }).connectionOptions.tls, false);
    assert.ok(loadTemporalTarget({ ...noFile, TEMPORAL_TLS: 'true' }).connectionOptions.tls);
    assert.throws(
      () => loadTemporalTarget({ ...noFile, TEMPORAL_TLS: 'yes' }),
      /^TemporalConnectionError: TEMPORAL_TLS: "yes" is not true or false/,
    );
  });

  it('a profile from the TOML file, overridden by variables; errors name the profile field or the variable', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'envconfig-'));
    const file = path.join(dir, 'temporal.toml');
    writeFileSync(
      file,
      '[profile.default]\naddress = "prod.example:7233"\nnamespace = "bronze"\n[profile.default.tls]\nclient_cert_path = "/missing/client.pem"\nclient_key_path = "/missing/client.key"\n',
    );
    assert.throws(
      () => loadTemporalTarget({ TEMPORAL_CONFIG_FILE: file }),
      (e: Error) =>
        e instanceof TemporalConnectionError &&
        e.message.startsWith(
          `tls.client_cert_path of profile "default" in ${file} (or TEMPORAL_TLS_CLIENT_CERT_PATH): cannot read /missing/client.pem (ENOENT)`,
        ),
    );
    assert.throws(
      () => loadTemporalTarget({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_TLS_CLIENT_CERT_PATH: '/other/c.pem' }),
      /^TemporalConnectionError: TEMPORAL_TLS_CLIENT_CERT_PATH: cannot read \/other\/c\.pem/,
    );
    writeFileSync(file, '[profile.default]\naddress = "prod.example:7233"\nnamespace = "bronze"\n');
    const t = loadTemporalTarget({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_NAMESPACE: 'silver' });
    assert.equal(t.connectionOptions.address, 'prod.example:7233');
    assert.equal(t.namespace, 'silver');
    assert.equal(t.names.address, `address of profile "default" in ${file} (or TEMPORAL_ADDRESS)`);
    assert.equal(t.names.namespace, 'TEMPORAL_NAMESPACE');
    writeFileSync(file, '[profile.default\naddress = ');
    assert.throws(
      () => loadTemporalTarget({ TEMPORAL_CONFIG_FILE: file }),
      (e: Error) =>
        e instanceof TemporalConnectionError &&
        e.message.startsWith(`${file}: `) &&
        /TEMPORAL_CONFIG_FILE/.test(e.message) &&
        !e.message.includes('\n'),
    );
  });

  it('refuses an address that is not host:port, naming the variable', () => {
    for (const bad of ['https://x.tmprl.cloud:7233', 'localhost', 'a b:1']) {
      assert.throws(
        () => loadTemporalTarget({ ...noFile, TEMPORAL_ADDRESS: bad }),
        /TEMPORAL_ADDRESS: ".*" is not host:port/,
      );
    }
    assert.equal(
      loadTemporalTarget({ ...noFile, TEMPORAL_ADDRESS: '[::1]:7233' }).connectionOptions.address,
      '[::1]:7233',
    );
  });
});
