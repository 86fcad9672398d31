import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  destinationAllowed,
  requireAllowedDestination,
  requireAllowedState,
} from '../../activities/destination-policy';
import { ConfigError, loadConfig } from '../../worker/config';

const base = { TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' };
const policyOf = (env: Record<string, string>) => loadConfig({ ...base, ...env }).destination.policy;

describe('where a worker may write (DEST_ALLOWED)', () => {
  it('lets a request write only under a listed bucket and prefix, and reads DEST_ALLOWED strictly', () => {
    const policy = policyOf({ DEST_ALLOWED: 'bronze, lake/binance/' });
    assert.deepEqual(policy.allowed, [
      { bucket: 'bronze', prefix: '' },
      { bucket: 'lake', prefix: 'binance/' },
    ]);
    assert.ok(destinationAllowed(policy, 'bronze', 'anything/'));
    assert.ok(destinationAllowed(policy, 'lake', 'binance/spot/'));
    assert.ok(!destinationAllowed(policy, 'lake', 'binancex/'));
    assert.ok(!destinationAllowed(policy, 'other', ''));
    for (const bad of ['lake/binance', 'lake/../x/', '/abs/', 'Bronze', 'a/b//', 'lake/./']) {
      assert.throws(
        () => policyOf({ DEST_ALLOWED: bad }),
        (e: Error) =>
          e instanceof ConfigError && /DEST_ALLOWED: ".*" is not "bucket" or "bucket\/prefix\/"/.test(e.message),
        bad,
      );
    }
  });

  it('is safe by default: unset, only DEST_BUCKET/DEST_PREFIX', () => {
    const policy = policyOf({ DEST_BUCKET: 'bronze', DEST_PREFIX: 'binance/' });
    assert.equal(policy.fromList, false);
    assert.ok(destinationAllowed(policy, 'bronze', 'binance/'));
    assert.ok(destinationAllowed(policy, 'bronze', 'binance/spot/'));
    assert.ok(!destinationAllowed(policy, 'bronze', ''));
    assert.ok(!destinationAllowed(policy, 'bronze', 'outside/'));
    assert.ok(!destinationAllowed(policy, 'other', 'binance/'));
    assert.throws(
      () => requireAllowedDestination(policy, 'bronze', 'outside/'),
      /DEST_ALLOWED is unset, so only DEST_BUCKET\/DEST_PREFIX: bronze\/binance\//,
    );
  });

  it('takes bucket patterns, and never the source bucket on the same endpoint, whatever the list says', () => {
    const same = {
      SOURCE_BUCKET: 'binance-mirror',
      SOURCE_ENDPOINT: 'http://127.0.0.1:9000',
      DEST_ENDPOINT: 'http://127.0.0.1:9000',
    };
    const policy = policyOf({ ...same, DEST_ALLOWED: '*' });
    assert.ok(destinationAllowed(policy, 'anything', 'x/'));
    assert.ok(!destinationAllowed(policy, 'binance-mirror', 'x/'));
    assert.throws(() => requireAllowedDestination(policy, 'binance-mirror', ''), /is the source bucket/);
    const family = policyOf({ ...same, DEST_ALLOWED: 'bronze-*/binance/,binance-*' });
    assert.ok(destinationAllowed(family, 'bronze-eu', 'binance/'));
    assert.ok(!destinationAllowed(family, 'bronze-eu', 'other/'));
    assert.ok(destinationAllowed(family, 'binance-lake', ''));
    assert.ok(!destinationAllowed(family, 'binance-mirror', ''), 'the pattern covers it, the source rule wins');
    assert.throws(
      () => policyOf({ ...same, DEST_BUCKET: 'binance-mirror' }),
      /DEST_BUCKET: "binance-mirror" is the source bucket/,
    );
    // The real archive: the source is data.binance.vision on AWS; a destination on AWS may never be it.
    assert.ok(!destinationAllowed(policyOf({ DEST_ALLOWED: '*' }), 'data.binance.vision', ''));
    // Downloads over plain HTTP change nothing: listings still read the source bucket on that endpoint.
    assert.ok(
      !destinationAllowed(
        policyOf({ ...same, SOURCE_HTTP_URL: 'http://127.0.0.1:9000/binance-mirror', DEST_ALLOWED: '*' }),
        'binance-mirror',
        '',
      ),
    );
    assert.ok(
      !destinationAllowed(
        policyOf({ SOURCE_HTTP_URL: 'https://data.binance.vision', DEST_ALLOWED: '*' }),
        'data.binance.vision',
        '',
      ),
    );
    // Another endpoint: a bucket of the same name there is another bucket.
    const other = policyOf({ SOURCE_BUCKET: 'x-src', DEST_ENDPOINT: 'http://127.0.0.1:9000', DEST_ALLOWED: '*' });
    assert.ok(destinationAllowed(other, 'x-src', ''));
  });

  it("keeps a collection's state in its own folder under the destination prefix", () => {
    const policy = policyOf({ DEST_ALLOWED: 'bronze/allowed/' });
    const state = {
      collectionId: 'c-1',
      bucket: 'bronze',
      destinationPrefix: 'allowed/',
      statePrefix: 'allowed/_collections/c-1/',
    };
    requireAllowedState(policy, state);
    requireAllowedState(policy, { ...state, statePrefix: 'allowed/_collections/c-1/shards/shard-000003/' });
    for (const statePrefix of [
      'outside/',
      'allowed/',
      'allowed/_collections/c-2/',
      'allowed/_collections/c-1/../../x/',
    ]) {
      assert.throws(() => requireAllowedState(policy, { ...state, statePrefix }), /statePrefix/, statePrefix);
    }
    assert.throws(
      () =>
        requireAllowedState(policy, {
          ...state,
          destinationPrefix: 'outside/',
          statePrefix: 'outside/_collections/c-1/',
        }),
      /not among the destinations/,
    );
  });
});
