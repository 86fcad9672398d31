/** A stack of its own for tests that stop and restart MinIO or Temporal, so other test files are not disturbed. */
import { Client, Connection } from '@temporalio/client';
import { adminClient, ensureBucket } from '../../stack/buckets';
import {
  servicePid,
  stackConfig,
  stackDown,
  stackUp,
  temporalAddress,
  wipeStack,
  type StackConfig,
} from '../../stack/local-stack';

/** Keep portBase below the kernel's ephemeral range (32768+), or the dev server's own random ports may take ours. */
export async function privateStack(
  name: string,
  portBase: number,
  extra: Record<string, string> = {},
): Promise<{ stack: StackConfig; client: Client; stop: () => Promise<void> }> {
  // On the store the suite runs on (the store matrix sets STACK_STORE), unless the caller names one.
  const stack = stackConfig({ STACK_STORE: process.env.STACK_STORE }, {
    STACK_NAME: name,
    STACK_TEMPORAL_PORT: String(portBase),
    STACK_TEMPORAL_UI_PORT: String(portBase + 1),
    STACK_MINIO_PORT: String(portBase + 2),
    STACK_MINIO_CONSOLE_PORT: String(portBase + 3),
    ...extra,
  } as never);
  await stackDown(stack);
  wipeStack(stack);
  try {
    await stackUp(stack);
    // stackUp reuses whatever answers healthy on these ports: a stack this test did not start (one left by an
    // earlier, interrupted run) would be restarted and frozen by PID in vain.
    for (const service of [stack.store, 'temporal'] as const)
      if (servicePid(stack, service) === undefined)
        throw new Error(
          `a ${service} this test did not start answers on stack "${name}"'s ports (${portBase}–${portBase + 3}): stop it first`,
        );
  } catch (err) {
    await stackDown(stack);
    throw err;
  }
  const s3 = adminClient(stack);
  await ensureBucket(s3, stack.sourceBucket, true);
  await ensureBucket(s3, stack.destBucket);
  const connection = await Connection.connect({ address: temporalAddress(stack) });
  return {
    stack,
    client: new Client({ connection }),
    async stop() {
      await connection.close();
      await stackDown(stack);
    },
  };
}
