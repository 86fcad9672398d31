/**
 * OpenTelemetry tracing, off unless an OTLP endpoint is configured: workflow → activities (the SDK's
 * interceptors) → S3 requests and s5cmd runs (activities/tracing.ts), exported over OTLP/HTTP.
 * The workflow interceptors are always in the bundle (a prebuilt bundle cannot change with the
 * environment); with tracing off their sink is a no-op.
 */
import { createRequire } from 'node:module';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  makeWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks, WorkerOptions } from '@temporalio/worker';
import { startTracerProvider, type TracingConfig } from '../common/tracing';

export type { TracingConfig };

export const WORKFLOW_TRACING_MODULE = createRequire(import.meta.url).resolve(
  '@temporalio/interceptors-opentelemetry/lib/workflow-interceptors',
);

export interface WorkerTracing {
  enabled: boolean;
  workerOptions: Pick<WorkerOptions, 'interceptors' | 'sinks'>;
  /** Flushes spans not yet exported. */
  shutdown(): Promise<void>;
}

const noopExporterSink = {
  exporter: { export: { fn: () => undefined, callDuringReplay: false } },
} as unknown as InjectedSinks<never>;

export function startTracing(config: TracingConfig): WorkerTracing {
  const started = startTracerProvider(config);
  if (!started) {
    return { enabled: false, workerOptions: { sinks: noopExporterSink }, shutdown: async () => undefined };
  }
  const { resource, processor, provider } = started;
  return {
    enabled: true,
    workerOptions: {
      interceptors: {
        activity: [
          (ctx) => ({
            inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
            outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
          }),
        ],
      },
      sinks: { exporter: makeWorkflowExporter(processor, resource) } as unknown as InjectedSinks<never>,
    },
    shutdown: () => provider.shutdown(),
  };
}
