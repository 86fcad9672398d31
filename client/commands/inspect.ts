/** `client inspect`: read what is inside the verified files (once per bytes), and say which are cut short. */
import type { Command } from 'commander';
import { formatCoverage, formatReport } from '../format';
import { startAndFollow, startOptions, type CollectFlags } from '../cli';

export function registerInspect(program: Command): void {
  startOptions(
    program
      .command('inspect')
      .description(
        'read the content of every verified file not read yet (rows, time unit, first/last time, missing open times or ids, ' +
          'continuity between files) and report files cut short; proves what is unproven, copies nothing; exits 1 when a file is cut short',
      ),
  ).action((flags: CollectFlags) =>
    startAndFollow(flags, 'inspect', true, (r) => `${formatReport(r)}\n\n${formatCoverage(r)}`),
  );
}
