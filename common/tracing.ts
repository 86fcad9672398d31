/**
 * The OpenTelemetry tracer provider the worker and the client share: off unless an OTLP endpoint is
 * set (the standard OTEL_EXPORTER_OTLP_* variables), exporting over OTLP/HTTP.
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { z } from 'zod';

export interface TracingConfig {
  /** OTLP/HTTP traces URL, e.g. http://collector:4318/v1/traces; undefined = tracing off. */
  tracesUrl?: string;
  serviceName: string;
}

/** The standard variables that turn tracing on (OTLP/HTTP; headers from OTEL_EXPORTER_OTLP_HEADERS), for a zod schema. */
export function tracingEnv(defaultServiceName: string) {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().url().optional(),
    OTEL_SERVICE_NAME: z.string().default(defaultServiceName),
  };
}

/** The traces URL from the standard variables: the traces endpoint as given, or `<endpoint>/v1/traces`. */
export function tracesUrlFrom(env: {
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string;
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;
}): string | undefined {
  return (
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (env.OTEL_EXPORTER_OTLP_ENDPOINT ? `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, '')}/v1/traces` : undefined)
  );
}

/** Registers the global tracer provider; undefined when tracing is off. */
export function startTracerProvider(config: TracingConfig) {
  if (!config.tracesUrl) return undefined;
  const resource = new Resource({ 'service.name': config.serviceName });
  const processor = new BatchSpanProcessor(new OTLPTraceExporter({ url: config.tracesUrl }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register();
  return { resource, processor, provider };
}
