/** `npm run worker`: a collection worker configured from the environment (see docs/configuration.md). */
import { Runtime } from '@temporalio/worker';
import { TemporalConnectionError } from '../common/temporal-connection';
import { initializeMetrics } from '../activities/metrics';
import { ConfigError, loadConfig } from './config';
import { createCollectorWorker } from './create-worker';
import { jsonLogger } from './logger';
import { startTracing } from './tracing';

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}

const logger = jsonLogger((line) => process.stdout.write(line));
Runtime.install({
  logger,
  // Signals are handled below: a library that re-raises a signal once it thinks it is the last
  // listener would otherwise cut the graceful shutdown short.
  shutdownSignals: [],
  ...(config.metricsPort
    ? {
        telemetryOptions: {
          metrics: { prometheus: { bindAddress: `0.0.0.0:${config.metricsPort}`, countersTotalSuffix: true } },
        },
      }
    : {}),
});
if (config.metricsPort) initializeMetrics(Runtime.instance().metricMeter);
const tracing = startTracing(config.tracing);
let worker;
try {
  worker = await createCollectorWorker(config, { tracing });
} catch (err) {
  if (err instanceof TemporalConnectionError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) {
      logger.warn(`second ${signal}: exiting now`);
      process.exit(130);
    }
    stopping = true;
    logger.info(
      `${signal}: finishing in-flight work for up to ${config.shutdownGraceMs} ms, then cancelling it (s5cmd is killed, the activities are retried elsewhere)`,
    );
    worker.shutdown();
  });
}
logger.info(
  `worker polling "${config.temporal.taskQueue}" and "${worker.workerTaskQueue}" at ${config.temporal.target.description}; source s3://${config.source.bucket} (${config.source.endpoint ?? 'AWS'}), destination ${config.destination.endpoint ?? 'AWS'}; tracing ${tracing.enabled ? `to ${config.tracing.tracesUrl}` : 'off'}`,
);
await worker.run();
await tracing.shutdown();
logger.info('worker stopped');
