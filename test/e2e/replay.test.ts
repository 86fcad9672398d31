import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import '../helpers/stack';

/**
 * Replays a recorded history of a real direct-sync collection with today's workflow code: a change
 * that breaks determinism for running collections fails here. Re-record after an intended change
 * with: cp .build/direct-sync-history.json test/fixtures/collect-direct-sync.history.json (after npm test).
 */
describe('workflow determinism', () => {
  it('replays a recorded collection history', async () => {
    const history = JSON.parse(readFileSync('test/fixtures/collect-direct-sync.history.json', 'utf8'));
    assert.ok(history.events.length > 20);
    await Worker.runReplayHistory({ workflowBundle: { codePath: process.env.WORKFLOW_BUNDLE_PATH! } }, history);
  });
});
