import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import '../helpers/stack';

/**
 * Replays recorded histories of real collections and of their first shard (direct sync, the
 * traditional path) with today's workflow code: a change that breaks determinism for running
 * collections fails here. Re-record after an intended change (and deploy it with patched() or
 * Worker Versioning) with, after npm test:
 *   cp .build/direct-sync-history.json test/fixtures/collect-direct-sync.history.json
 *   cp .build/traditional-history.json test/fixtures/collect-traditional.history.json
 *   cp .build/direct-sync-shard-history.json test/fixtures/shard-direct-sync.history.json
 *   cp .build/traditional-shard-history.json test/fixtures/shard-traditional.history.json
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
