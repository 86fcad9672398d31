/** `npm run worker`: a collection worker configured from the environment (see README, Configuration). */
import { Runtime } from '@temporalio/worker';
import { ConfigError, loadConfig } from './config';
import { createCollectorWorker } from './create-worker';

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

Runtime.install({
  shutdownSignals: ['SIGINT', 'SIGTERM'],
  ...(config.metricsPort ? { telemetryOptions: { metrics: { prometheus: { bindAddress: `0.0.0.0:${config.metricsPort}` } } } } : {}),
});
const worker = await createCollectorWorker(config);
console.log(`worker polling "${config.temporal.taskQueue}" and "${worker.workerTaskQueue}" at ${config.temporal.address}; source s3://${config.source.bucket} (${config.source.endpoint ?? 'AWS'}), destination ${config.destination.endpoint ?? 'AWS'}`);
await worker.run();
console.log('worker stopped');
