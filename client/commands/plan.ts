/** `client plan`: what a collection would copy and cost. */
import type { Command } from 'commander';
import { formatCoverage, formatPlan, formatReport } from '../format';
import { startAndFollow, startOptions, type CollectFlags } from '../cli';

export function registerPlan(program: Command): void {
  startOptions(
    program
      .command('plan')
      .description('dry run: what the collection would copy and cost (files, bytes, requests, USD), copying nothing'),
  ).action((flags: CollectFlags) =>
    startAndFollow(flags, 'plan', true, (r) => `${formatReport(r)}\n\n${formatPlan(r)}\n\n${formatCoverage(r)}`),
  );
}
