/** `client status`: progress or report of a collection. */
import type { Command } from 'commander';
import type { CollectionReport } from '../../workflows/types';
import { collectionProgress } from '../collection';
import { runUrl } from '../connection';
import { formatProgress, formatReport } from '../format';
import { env, fail, withClient } from '../cli';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show the progress, or the report, of a collection')
    .argument('<workflowId>')
    .option('--json', 'print JSON')
    .action(async (workflowId: string, flags: { json?: boolean }) => {
      await withClient(async (client) => {
        const handle = client.workflow.getHandle(workflowId);
        const d = await handle.describe();
        if (d.status.name === 'COMPLETED') {
          const report = (await handle.result()) as CollectionReport;
          console.log(flags.json ? JSON.stringify({ status: d.status.name, report }) : formatReport(report));
          return;
        }
        const progress =
          d.status.name === 'RUNNING' ? await collectionProgress(handle).catch(() => undefined) : undefined;
        console.log(
          flags.json
            ? JSON.stringify({ status: d.status.name, progress })
            : `${workflowId}: ${d.status.name}${progress ? `\n${formatProgress(progress)}` : ''}\n${runUrl(env, workflowId)}`,
        );
      }).catch(fail);
    });
}
