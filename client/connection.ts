import { Client } from '@temporalio/client';
import { z } from 'zod';
import { connectTemporalClient, loadTemporalTarget, type TemporalTarget } from '../common/temporal-connection';

const ClientEnv = z.object({
  TEMPORAL_TASK_QUEUE: z.string().default('archive-collection'),
  TEMPORAL_UI_URL: z.string().url().default('http://localhost:8233'),
});

/** The client's settings: where Temporal is (envconfig: variables and profiles), its task queue and Web UI. */
export type ClientEnv = z.infer<typeof ClientEnv> & { target: TemporalTarget };

/** Throws TemporalConnectionError (one line naming the variable) or a ZodError naming the field. */
export function clientEnv(env: NodeJS.ProcessEnv = process.env): ClientEnv {
  const vars = Object.fromEntries(Object.entries(env).filter(([, v]) => v));
  return { ...ClientEnv.parse(vars), target: loadTemporalTarget(vars) };
}

export async function connectClient(env: ClientEnv): Promise<Client> {
  const connection = await connectTemporalClient(env.target);
  return new Client({ connection, namespace: env.target.namespace });
}

export function runUrl(env: ClientEnv, workflowId: string, runId?: string): string {
  const base = `${env.TEMPORAL_UI_URL}/namespaces/${encodeURIComponent(env.target.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${runId}/history` : base;
}
