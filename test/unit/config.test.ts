import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BOOKKEEPING_GOMEMLIMIT, s5cmdEnv, s5cmdGoRuntimeEnv } from '../../activities/s5cmd-run';
import { ConfigError, defaultSourceRegion, loadConfig } from '../../worker/config';

const base = { TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' };
const problems = (env: Record<string, string>) => {
  try {
    loadConfig({ ...base, ...env });
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
};

describe('worker configuration: source access and what s5cmd is given', () => {
  it('SOURCE_AUTH: anonymous by default, keys when keys are set, default-chain when asked; contradictions name the field', () => {
    assert.equal(loadConfig(base).source.anonymous, true);
    assert.equal(
      loadConfig({ ...base, SOURCE_ACCESS_KEY_ID: 'a', SOURCE_SECRET_ACCESS_KEY: 'b' }).source.anonymous,
      false,
    );
    const chain = loadConfig({ ...base, SOURCE_AUTH: 'default-chain' }).source;
    assert.equal(chain.anonymous, false);
    assert.equal(chain.credentials, undefined);
    assert.match(
      problems({ SOURCE_AUTH: 'keys' }).join('\n'),
      /^SOURCE_AUTH: SOURCE_AUTH=keys needs SOURCE_ACCESS_KEY_ID/,
    );
    assert.match(
      problems({ SOURCE_AUTH: 'anonymous', SOURCE_ACCESS_KEY_ID: 'a', SOURCE_SECRET_ACCESS_KEY: 'b' }).join('\n'),
      /^SOURCE_AUTH: SOURCE_AUTH=anonymous does not use SOURCE_ACCESS_KEY_ID/,
    );
    assert.match(
      problems({ SOURCE_AUTH: 'public' }).join('\n'),
      /^SOURCE_AUTH: .*'anonymous' \| 'keys' \| 'default-chain'/,
    );
  });

  it("s5cmd's bookkeeping runs get a soft memory limit, copy runs none, and the worker's own Go settings win", () => {
    const go = (env: Record<string, string>) => loadConfig({ ...base, ...env }).s5cmd.goRuntime;
    assert.deepEqual(s5cmdGoRuntimeEnv('bookkeeping', go({ PATH: '/bin' })), { GOMEMLIMIT: BOOKKEEPING_GOMEMLIMIT });
    assert.deepEqual(s5cmdGoRuntimeEnv('copy', go({ PATH: '/bin' })), {});
    assert.deepEqual(s5cmdGoRuntimeEnv('bookkeeping', go({ GOGC: '50' })), { GOGC: '50' });
    assert.deepEqual(s5cmdGoRuntimeEnv('copy', go({ GOMEMLIMIT: '64MiB', GOGC: '200' })), {
      GOMEMLIMIT: '64MiB',
      GOGC: '200',
    });
    assert.match(problems({ GOMEMLIMIT: '64MB' }).join('\n'), /^GOMEMLIMIT: must be "off" or a size such as 64MiB/);
    assert.match(problems({ GOGC: 'half' }).join('\n'), /^GOGC: must be "off" or a percentage/);
    assert.deepEqual(problems({ GOMEMLIMIT: '64MiB', GOGC: 'off' }), []);
  });

  it("s5cmd gets its side's region and keys, the default chain's own variables, or nothing, never the rest of the environment", () => {
    const worker = {
      HOME: '/home/w',
      PATH: '/bin',
      AWS_PROFILE: 'lake',
      AWS_ACCESS_KEY_ID: 'chain-id',
      TEMPORAL_API_KEY: 'tk',
      DEST_SECRET_ACCESS_KEY: 'ds',
      SOURCE_SECRET_ACCESS_KEY: 'ss',
      OTHER: 'x',
    };
    const keyed = loadConfig({ ...base, DEST_ACCESS_KEY_ID: 'did', DEST_SECRET_ACCESS_KEY: 'ds' });
    assert.deepEqual(s5cmdEnv(keyed, 'destination', worker), {
      AWS_REGION: 'us-east-1',
      HOME: '/home/w',
      PATH: '/bin',
      AWS_ACCESS_KEY_ID: 'did',
      AWS_SECRET_ACCESS_KEY: 'ds',
    });
    assert.deepEqual(
      s5cmdEnv(keyed, 'source', worker),
      { AWS_REGION: 'ap-northeast-1', HOME: '/home/w', PATH: '/bin' },
      'anonymous source: no credentials at all',
    );
    const chained = loadConfig({ ...base, SOURCE_AUTH: 'default-chain' });
    assert.deepEqual(s5cmdEnv(chained, 'destination', worker), {
      AWS_REGION: 'us-east-1',
      HOME: '/home/w',
      PATH: '/bin',
      AWS_PROFILE: 'lake',
      AWS_ACCESS_KEY_ID: 'chain-id',
    });
    assert.deepEqual(s5cmdEnv(chained, 'source', worker), {
      AWS_REGION: 'ap-northeast-1',
      HOME: '/home/w',
      PATH: '/bin',
      AWS_PROFILE: 'lake',
      AWS_ACCESS_KEY_ID: 'chain-id',
    });
  });
});

describe('the source region when SOURCE_REGION is not set', () => {
  it("is the archive's on AWS, an AWS endpoint's own, and the destination's on any other store", () => {
    assert.equal(defaultSourceRegion(undefined, 'eu-west-1'), 'ap-northeast-1');
    assert.equal(defaultSourceRegion('https://s3.eu-central-1.amazonaws.com', 'us-east-1'), 'eu-central-1');
    assert.equal(defaultSourceRegion('https://bucket.vpce-0a1b.s3.us-east-2.vpce.amazonaws.com', 'x'), 'us-east-2');
    assert.equal(defaultSourceRegion('http://127.0.0.1:9000', 'us-east-1'), 'us-east-1');
    assert.equal(defaultSourceRegion('https://acct.r2.cloudflarestorage.com', 'auto'), 'auto');
  });
});
