import { Client } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import { z } from 'zod';
import { connectTemporalClient, loadTemporalTarget, type TemporalTarget } from '../common/temporal-connection';
import { startTracerProvider, tracesUrlFrom, tracingEnv } from '../common/tracing';

const ClientEnv = z.object({
  TEMPORAL_TASK_QUEUE: z.string().default('archive-collection'),
  TEMPORAL_UI_URL: z.string().url().default('http://localhost:8233'),
  // With tracing on, starting a run is a span, and the run's trace continues it.
  ...tracingEnv('archive-collector-client'),
});

/** The client's settings: where Temporal is (envconfig: variables and profiles), its task queue and Web UI. */
export type ClientEnv = z.infer<typeof ClientEnv> & { target: TemporalTarget };

/** Throws TemporalConnectionError (one line naming the variable) or a ZodError naming the field. */
export function clientEnv(env: NodeJS.ProcessEnv = process.env): ClientEnv {
  const vars = Object.fromEntries(Object.entries(env).filter(([, v]) => v));
  return { ...ClientEnv.parse(vars), target: loadTemporalTarget(vars) };
}

let tracing: ReturnType<typeof startTracerProvider> | null = null;

export async function connectClient(env: ClientEnv): Promise<Client> {
  const connection = await connectTemporalClient(env.target);
  tracing ??= startTracerProvider({ tracesUrl: tracesUrlFrom(env), serviceName: env.OTEL_SERVICE_NAME });
  return new Client({
    connection,
    namespace: env.target.namespace,
    ...(tracing ? { interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } } : {}),
  });
}

/** Exports the client's spans not yet sent (before the process ends). */
export async function flushClientTracing(): Promise<void> {
  await tracing?.provider.shutdown();
}

export function runUrl(env: ClientEnv, workflowId: string, runId?: string): string {
  const base = `${env.TEMPORAL_UI_URL}/namespaces/${encodeURIComponent(env.target.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${runId}/history` : base;
}
