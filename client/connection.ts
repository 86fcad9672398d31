import { Client, Connection } from '@temporalio/client';
import { z } from 'zod';

const ClientEnv = z.object({
  TEMPORAL_ADDRESS: z.string().default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('archive-collection'),
  TEMPORAL_UI_URL: z.string().url().default('http://localhost:8233'),
});
export type ClientEnv = z.infer<typeof ClientEnv>;

export function clientEnv(env: NodeJS.ProcessEnv = process.env): ClientEnv {
  return ClientEnv.parse(Object.fromEntries(Object.entries(env).filter(([, v]) => v)));
}

export async function connectClient(env: ClientEnv = clientEnv()): Promise<Client> {
  const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
  return new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
}

export function runUrl(env: ClientEnv, workflowId: string, runId?: string): string {
  const base = `${env.TEMPORAL_UI_URL}/namespaces/${encodeURIComponent(env.TEMPORAL_NAMESPACE)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${runId}/history` : base;
}
