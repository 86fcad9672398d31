/** Workflow code for Worker.create: a prebuilt bundle when WORKFLOW_BUNDLE_PATH points at one (production, tests), else the sources. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from './config';

export const WORKFLOWS_PATH = path.join(PROJECT_ROOT, 'workflows/index.ts');
export const DEFAULT_BUNDLE_PATH = path.join(PROJECT_ROOT, '.build/workflow-bundle.js');

export async function workflowSource(): Promise<{ workflowBundle: { codePath: string } } | { workflowsPath: string }> {
  // The compiled worker (.build/worker.mjs, `npm run build`) runs the bundle built beside it.
  const compiled = import.meta.url.endsWith('/.build/worker.mjs') && existsSync(DEFAULT_BUNDLE_PATH);
  const codePath = process.env.WORKFLOW_BUNDLE_PATH ?? (compiled ? DEFAULT_BUNDLE_PATH : undefined);
  if (codePath) {
    if (!existsSync(codePath))
      throw new Error(`WORKFLOW_BUNDLE_PATH=${codePath} does not exist: build it with "npm run bundle"`);
    return { workflowBundle: { codePath } };
  }
  return { workflowsPath: WORKFLOWS_PATH };
}
