/** `client collect`: start a collection, and with --wait follow it to its report. */
import type { Command } from 'commander';
import { formatReport } from '../format';
import { startAndFollow, startOptions, type CollectFlags } from '../cli';

export function registerCollect(program: Command): void {
  startOptions(program.command('collect').description('start a collection (and with --wait, follow it to its report)'))
    .option('--wait', 'follow progress and print the report')
    .option(
      '--inspect',
      'also read the content of every verified file not read yet (rows, first/last time, gaps; docs/content.md); reads bytes direct sync otherwise never moves',
    )
    .action((flags: CollectFlags) => startAndFollow(flags, 'collect', Boolean(flags.wait), formatReport));
}
