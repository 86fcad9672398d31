/** `client coverage`: per series, what the archive has and the destination misses. */
import type { Command } from 'commander';
import { formatCoverage } from '../format';
import { startAndFollow, startOptions, type CollectFlags } from '../cli';

export function registerCoverage(program: Command): void {
  startOptions(
    program
      .command('coverage')
      .description(
        'per series: the span the archive has, its gaps, and what the destination misses (runs a plan: nothing is copied)',
      ),
  ).action((flags: CollectFlags) => startAndFollow(flags, 'plan', true, (r) => `${r.verdict}\n\n${formatCoverage(r)}`));
}
