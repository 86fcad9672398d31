/** Builds the workflow bundle once (production starts and tests load it instead of bundling each time). */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_TRACING_MODULE } from './tracing';
import { DEFAULT_BUNDLE_PATH, WORKFLOWS_PATH } from './workflow-source';

export async function buildWorkflowBundle(out = DEFAULT_BUNDLE_PATH): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    workflowInterceptorModules: [WORKFLOW_TRACING_MODULE],
    logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} } as never,
  });
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, code);
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = await buildWorkflowBundle(process.argv[2]);
  console.log(`workflow bundle written to ${out}`);
}
