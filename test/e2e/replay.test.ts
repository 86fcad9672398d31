import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import '../helpers/stack';

/**
 * Replays recorded histories of real collections and of their shards with today's workflow code: a
 * change that breaks determinism for running collections fails here. Paths: the parent (direct sync,
 * traditional, cancelled) and a shard (direct sync, traditional, per-file fallback, the first run of a
 * shard that continues as new, cancelled). Fixtures recorded by earlier code stay: running collections
 * may hold such histories. `*-counting` fixtures were recorded after the `count-settled-files` patch
 * (shards count each finished batch); the others before it, and replay without it. `*-content` fixtures carry
 * the `content-facts` patch (the shard's content step before its manifest); the others replay without it. Record new ones after an intended change (and deploy it with patched() or
 * Worker Versioning, docs/deploying.md) from the files the tests leave after npm test:
 *   .build/{direct-sync,traditional,cancelled,content}-history.json                     (collections)
 *   .build/{direct-sync,traditional,fallback,continue-as-new,cancelled,content}-shard-history.json  (shards)
 */
describe('workflow determinism', () => {
  for (const file of readdirSync('test/fixtures').filter((f) => f.endsWith('.history.json'))) {
    it(`replays ${file}`, async () => {
      const history = JSON.parse(readFileSync(`test/fixtures/${file}`, 'utf8'));
      assert.ok(history.events.length > 20);
      // The run's own workflow ID: the collection names its shards' child workflows after it.
      const workflowId = history.events[0].workflowExecutionStartedEventAttributes.workflowId;
      await Worker.runReplayHistory(
        { workflowBundle: { codePath: process.env.WORKFLOW_BUNDLE_PATH! } },
        history,
        workflowId,
      );
    });
  }
});
