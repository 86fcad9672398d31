/** `client audit`: prove what the destination holds. */
import type { Command } from 'commander';
import { formatCoverage, formatReport } from '../format';
import { startAndFollow, startOptions, type CollectFlags } from '../cli';

export function registerAudit(program: Command): void {
  startOptions(
    program
      .command('audit')
      .description(
        'prove what the destination already holds (filled by s5cmd, rclone, …) against the .CHECKSUMs, copying nothing',
      )
      .option(
        '--recheck-proofs',
        'also read every proof record bound to the files, void those that cannot be true (e.g. written by a version before the trust-boundary fix) and prove those files again',
      ),
  ).action((flags: CollectFlags) =>
    startAndFollow(flags, 'audit', true, (r) => `${formatReport(r)}\n\n${formatCoverage(r)}`),
  );
}
