import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import '../helpers/stack';

/**
 * Replays recorded histories of real collections (direct sync with continue-as-new-free batches,
 * the traditional path) with today's workflow code: a change that breaks determinism for running
 * collections fails here. Re-record after an intended change (and deploy it with patched() or
 * Worker Versioning) with, after npm test:
 *   cp .build/direct-sync-history.json test/fixtures/collect-direct-sync.history.json
 *   cp .build/traditional-history.json test/fixtures/collect-traditional.history.json
 */
describe('workflow determinism', () => {
  for (const file of readdirSync('test/fixtures').filter((f) => f.endsWith('.history.json'))) {
    it(`replays ${file}`, async () => {
      const history = JSON.parse(readFileSync(`test/fixtures/${file}`, 'utf8'));
      assert.ok(history.events.length > 20);
      await Worker.runReplayHistory({ workflowBundle: { codePath: process.env.WORKFLOW_BUNDLE_PATH! } }, history);
    });
  }
});
