/**
 * `npm run client -- <command>`: start and follow collections, and manage their schedules. One file per
 * command under client/commands/ (like s5cmd's command/).
 * Exit codes: 0 done, 1 completed with failed files, 2 bad input, 3 run failed or was cancelled, 4 cannot reach Temporal.
 */
import { Command } from 'commander';
import { CliExit } from './cli';
import { flushClientTracing } from './connection';
import { registerAudit } from './commands/audit';
import { registerCancel } from './commands/cancel';
import { registerCollect } from './commands/collect';
import { registerCoverage } from './commands/coverage';
import { registerInspect } from './commands/inspect';
import { registerList } from './commands/list';
import { registerPlan } from './commands/plan';
import { registerProbe } from './commands/probe';
import { registerQuarantine } from './commands/quarantine';
import { registerRetention } from './commands/retention';
import { registerSchedule } from './commands/schedule';
import { registerStatus } from './commands/status';

const program = new Command('archive-collector')
  .description('Collect the Binance public market-data archive into S3 with Temporal.')
  .showHelpAfterError();

for (const register of [
  registerCollect,
  registerPlan,
  registerProbe,
  registerAudit,
  registerCoverage,
  registerInspect,
  registerStatus,
  registerCancel,
  registerList,
  registerRetention,
  registerSchedule,
  registerQuarantine,
]) {
  register(program);
}

try {
  await program.parseAsync();
} catch (err) {
  if (!(err instanceof CliExit)) throw err;
  process.exitCode = err.code;
} finally {
  await flushClientTracing();
}
