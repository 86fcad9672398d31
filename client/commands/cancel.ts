/** `client cancel`: cancel a running collection. */
import type { Command } from 'commander';
import { withClient } from '../cli';

export function registerCancel(program: Command): void {
  program
    .command('cancel')
    .description('cancel a running collection (stops s5cmd, cleans staging)')
    .argument('<workflowId>')
    .action(async (workflowId: string) => {
      await withClient(async (client) => {
        await client.workflow.getHandle(workflowId).cancel();
        console.log(`cancellation requested for ${workflowId}`);
      });
    });
}
