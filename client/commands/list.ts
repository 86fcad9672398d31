/** `client list`: recent collections. */
import type { Command } from 'commander';
import { int, withClient } from '../cli';

export function registerList(program: Command): void {
  program
    .command('list')
    .description('recent collections')
    .option('--limit <n>', 'how many', int, 20)
    .option('--query <visibility query>', 'e.g. ArchiveOutcome="completed_with_failures"')
    .action(async (flags: { limit: number; query?: string }) => {
      await withClient(async (client) => {
        let n = 0;
        const query = `WorkflowType="collectArchive"${flags.query ? ` AND ${flags.query}` : ''}`;
        for await (const w of client.workflow.list({ query })) {
          console.log(`${w.startTime.toISOString()}  ${w.status.name.padEnd(10)}  ${w.workflowId}`);
          if (++n >= flags.limit) break;
        }
      });
    });
}
