/**
 * `npm run client -- <command>`: start and follow collections, and manage their schedules.
 * Exit codes: 0 done, 1 completed with failed files, 2 bad input, 3 run failed or was cancelled, 4 cannot reach Temporal.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import cliProgress from 'cli-progress';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { CollectionAction, CollectionRequestInput } from '../workflows/request';
import type { CollectionReport } from '../workflows/types';
import {
  InvalidRequestError,
  collectionProgress,
  collectionWorkflowId,
  followCollection,
  startCollection,
} from './collection';
import { DEFAULT_TEMPORAL_ADDRESS, TemporalConnectionError } from '../common/temporal-connection';
import { clientEnv, connectClient, runUrl } from './connection';
import { formatBytes, formatCoverage, formatPlan, formatProgress, formatReport } from './format';
import { PRESETS, backfillSchedule, createSchedule, updateScheduleRequest, type PresetName } from './schedules';
import { formatQuarantine, runReview } from './review';
import { lifecycleConfiguration } from './retention';

const EXIT = { ok: 0, filesFailed: 1, badInput: 2, runFailed: 3, unreachable: 4 } as const;
const env = (() => {
  try {
    return clientEnv();
  } catch (err) {
    const message = err instanceof TemporalConnectionError ? err.message : (err as Error).message;
    console.error(`configuration: ${message}`);
    process.exit(EXIT.badInput);
  }
})();

const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('must be a whole number');
  return n;
};

interface CollectFlags {
  request?: string;
  markets?: string[];
  dataTypes?: string[];
  symbols?: string[];
  intervals?: string[];
  granularity?: string;
  start?: string;
  end?: string;
  lastDays?: number;
  lastMonths?: number;
  bucket?: string;
  prefix?: string;
  mode?: string;
  batchSize?: number;
  parallel?: number;
  verification?: string;
  workflowId?: string;
  wait?: boolean;
  json?: boolean;
  dates?: string;
  maxFiles?: number;
  filesPerShard?: number;
  parallelShards?: number;
}

function requestFrom(flags: CollectFlags): CollectionRequestInput {
  const base = flags.request ? JSON.parse(readFileSync(flags.request, 'utf8')) : {};
  const r: Record<string, unknown> = { ...base };
  const set = (k: string, v: unknown) => {
    if (v !== undefined) r[k] = v;
  };
  set('markets', flags.markets);
  set('dataTypes', flags.dataTypes);
  set('symbols', flags.symbols);
  set('intervals', flags.intervals);
  set('granularity', flags.granularity);
  set('startDate', flags.start);
  set('endDate', flags.end);
  set('lastDays', flags.lastDays);
  set('lastMonths', flags.lastMonths);
  set('mode', flags.mode);
  set('batchSize', flags.batchSize);
  set('parallelBatches', flags.parallel);
  set('verification', flags.verification);
  set('dates', flags.dates);
  set('maxFiles', flags.maxFiles);
  set('filesPerShard', flags.filesPerShard);
  set('parallelShards', flags.parallelShards);
  if (flags.bucket || flags.prefix !== undefined)
    r.destination = {
      ...(r.destination as object),
      ...(flags.bucket ? { bucket: flags.bucket } : {}),
      ...(flags.prefix !== undefined ? { prefix: flags.prefix } : {}),
    };
  return r as CollectionRequestInput;
}

function requestOptions(cmd: Command): Command {
  return cmd
    .option('--request <file>', 'JSON file with the collection request (flags override its fields)')
    .option('--markets <list>', 'spot, futures/um, futures/cm, option (comma-separated)', list)
    .option('--data-types <list>', 'e.g. klines,aggTrades,trades, or "*" (every data type the archive has)', list)
    .option(
      '--symbols <list>',
      'names and patterns, e.g. BTCUSDT,ETHUSDT or "*" (every symbol the archive lists) or "*USDT"',
      list,
    )
    .option('--intervals <list>', 'kline intervals, e.g. 1m,1h,1d (1mo for monthly)', list)
    .option('--granularity <g>', 'daily or monthly')
    .option('--dates <all>', '"all": each series from the first to the last file the archive has for it')
    .option('--last-days <n>', 'the last N complete days', int)
    .option('--last-months <n>', 'the last N complete months', int)
    .option('--bucket <name>', "destination bucket (default: the worker's DEST_BUCKET)")
    .option('--prefix <prefix>', 'destination prefix, ending in "/"')
    .option('--mode <mode>', 'auto, direct_sync or traditional')
    .option('--batch-size <n>', 'files per batch', int)
    .option('--parallel <n>', 'batches at once', int)
    .option('--verification <level>', 'checksum, size or none')
    .option('--max-files <n>', 'the most files the request may select (default 1,000,000)', int)
    .option('--files-per-shard <n>', 'files per shard (child workflow)', int)
    .option('--parallel-shards <n>', 'shards at once', int);
}

async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  let client: Client;
  try {
    client = await connectClient(env);
  } catch (err) {
    const local =
      env.target.connectionOptions.address === DEFAULT_TEMPORAL_ADDRESS
        ? ' (for the local stack: npm run stack -- up)'
        : '';
    console.error(
      err instanceof TemporalConnectionError
        ? `${err.message}${local}`
        : `cannot reach Temporal: ${(err as Error).message}`,
    );
    process.exit(EXIT.unreachable);
  }
  try {
    return await fn(client);
  } finally {
    await client.connection.close();
  }
}

function fail(err: unknown): never {
  if (err instanceof InvalidRequestError) {
    console.error(err.message);
    process.exit(EXIT.badInput);
  }
  if (err instanceof WorkflowFailedError) {
    const type = (err.cause as { type?: string } | undefined)?.type;
    console.error(
      `${type === 'InvalidReviewRequest' ? 'review' : 'collection'} failed: ${err.cause?.message ?? err.message}`,
    );
    process.exit(
      type === 'InvalidCollectionRequest' || type === 'InvalidReviewRequest' ? EXIT.badInput : EXIT.runFailed,
    );
  }
  if (err instanceof SyntaxError) {
    console.error(`the request file is not valid JSON: ${err.message}`);
    process.exit(EXIT.badInput);
  }
  throw err;
}

const program = new Command('archive-collector')
  .description('Collect the Binance public market-data archive into S3 with Temporal.')
  .showHelpAfterError();

function startOptions(cmd: Command): Command {
  return requestOptions(cmd)
    .option('--start <date>', 'first date, YYYY-MM-DD (inclusive, UTC)')
    .option('--end <date>', 'last date, YYYY-MM-DD (inclusive, UTC)')
    .option('--workflow-id <id>', 'override the derived workflow ID')
    .option('--json', 'print machine-readable JSON instead of text');
}

/** Starts a run of the collection with this action; `wait` follows it and prints what `show` picks from the report. */
async function startAndFollow(
  flags: CollectFlags,
  action: CollectionAction,
  wait: boolean,
  show: (r: CollectionReport) => string,
): Promise<void> {
  try {
    const request = { ...requestFrom(flags), action };
    collectionWorkflowId(request); // bad input fails here, before connecting
    await withClient(async (client) => {
      const { handle, joined } = await startCollection(client, request, {
        taskQueue: env.TEMPORAL_TASK_QUEUE,
        workflowId: flags.workflowId,
      });
      const url = runUrl(env, handle.workflowId, handle.firstExecutionRunId);
      // A run with this ID was already going: say so, this start did not begin a second one.
      const what = joined
        ? `joined the collection already running as ${handle.workflowId} (no second run started)`
        : `started ${handle.workflowId}`;
      if (!wait) {
        console.log(
          flags.json
            ? JSON.stringify({ workflowId: handle.workflowId, runId: handle.firstExecutionRunId, joined, url })
            : `${what}\n${url}`,
        );
        return;
      }
      if (!flags.json) console.log(`${what}\n${url}`);
      const bar =
        flags.json || !process.stderr.isTTY
          ? undefined
          : new cliProgress.SingleBar(
              {
                format:
                  '{phase} [{bar}] {value}/{total} files | {shards} | {bytes} | failed {failed} | fallback {fallback}',
                hideCursor: true,
              },
              cliProgress.Presets.shades_classic,
            );
      bar?.start(1, 0, { phase: 'starting', shards: '', bytes: '0 B', failed: 0, fallback: 0 });
      const report: CollectionReport = await followCollection(handle, (p) => {
        bar?.setTotal(Math.max(1, p.files.planned));
        bar?.update(p.files.copied + p.files.failed, {
          phase: p.mode ? `${p.phase}/${p.mode}` : p.phase,
          shards: p.shards ? `shards ${p.shards.done}/${p.shards.total}` : '',
          bytes: formatBytes(p.bytes),
          failed: p.files.failed,
          fallback: p.files.fallback,
        });
      });
      bar?.stop();
      console.log(flags.json ? JSON.stringify(report) : show(report));
      process.exitCode = report.ok ? EXIT.ok : EXIT.filesFailed;
    });
  } catch (err) {
    fail(err);
  }
}

startOptions(program.command('collect').description('start a collection (and with --wait, follow it to its report)'))
  .option('--wait', 'follow progress and print the report')
  .action((flags: CollectFlags) => startAndFollow(flags, 'collect', Boolean(flags.wait), formatReport));

startOptions(
  program
    .command('plan')
    .description('dry run: what the collection would copy and cost (files, bytes, requests, USD), copying nothing'),
).action((flags: CollectFlags) =>
  startAndFollow(flags, 'plan', true, (r) => `${formatReport(r)}\n\n${formatPlan(r)}\n\n${formatCoverage(r)}`),
);

startOptions(
  program
    .command('audit')
    .description(
      'prove what the destination already holds (filled by s5cmd, rclone, …) against the .CHECKSUMs, copying nothing',
    ),
).action((flags: CollectFlags) =>
  startAndFollow(flags, 'audit', true, (r) => `${formatReport(r)}\n\n${formatCoverage(r)}`),
);

startOptions(
  program
    .command('coverage')
    .description(
      'per series: the span the archive has, its gaps, and what the destination misses (runs a plan: nothing is copied)',
    ),
).action((flags: CollectFlags) => startAndFollow(flags, 'plan', true, (r) => `${r.verdict}\n\n${formatCoverage(r)}`));

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

program
  .command('retention')
  .description(
    'print the S3 lifecycle rules for quarantine, collection records and incomplete uploads (README, Retention)',
  )
  .option('--prefix <prefix>', 'the destination prefix, ending in "/"', 'binance/')
  .option('--quarantine-days <n>', 'expire put-aside bytes after', int, 90)
  .option('--records-days <n>', 'expire collection records and working state after', int, 400)
  .option(
    '--incomplete-upload-days <n>',
    'abort incomplete multipart uploads after (0: no such rule, for MinIO)',
    int,
    7,
  )
  .action((flags: { prefix: string; quarantineDays: number; recordsDays: number; incompleteUploadDays: number }) => {
    try {
      console.log(JSON.stringify(lifecycleConfiguration(flags), null, 2));
    } catch (err) {
      console.error(`retention: ${(err as Error).message}`);
      process.exit(EXIT.badInput);
    }
  });

const schedule = program.command('schedule').description('Temporal Schedules that start collections');
requestOptions(
  schedule.command('create').description('create a schedule from a preset (daily, monthly)').argument('<scheduleId>'),
)
  .option('--preset <name>', `one of ${Object.keys(PRESETS).join(', ')}`, 'daily')
  .option('--every <duration>', "instead of the preset's calendar, run at this interval (e.g. 1h)")
  .option('--paused', 'create it paused')
  .action(
    async (scheduleId: string, flags: CollectFlags & { preset: PresetName; every?: string; paused?: boolean }) => {
      if (!(flags.preset in PRESETS))
        fail(new InvalidRequestError([`--preset: use one of ${Object.keys(PRESETS).join(', ')}`]));
      await withClient(async (client) => {
        await createSchedule(client, {
          scheduleId,
          taskQueue: env.TEMPORAL_TASK_QUEUE,
          preset: flags.preset,
          request: requestFrom(flags),
          paused: flags.paused,
          spec: flags.every ? { intervals: [{ every: flags.every as '1h' }] } : undefined,
        });
        console.log(`schedule ${scheduleId} created (${flags.preset})`);
      }).catch(fail);
    },
  );
schedule
  .command('list')
  .description('list schedules')
  .action(async () => {
    await withClient(async (client) => {
      for await (const s of client.schedule.list())
        console.log(
          `${s.scheduleId}  ${s.state.paused ? 'paused' : 'active'}  next: ${s.info.nextActionTimes[0]?.toISOString() ?? '-'}`,
        );
    });
  });
schedule
  .command('describe')
  .argument('<scheduleId>')
  .description('show a schedule')
  .action(async (id: string) => {
    await withClient(async (client) => {
      const d = await client.schedule.getHandle(id).describe();
      console.log(
        JSON.stringify(
          {
            id: d.scheduleId,
            paused: d.state.paused,
            spec: d.spec,
            action: d.action,
            policies: d.policies,
            recentActions: d.info.recentActions,
            nextActionTimes: d.info.nextActionTimes,
          },
          null,
          2,
        ),
      );
    });
  });
requestOptions(
  schedule.command('update').argument('<scheduleId>').description('replace the collection request a schedule starts'),
).action(async (id: string, flags: CollectFlags) => {
  await withClient((client) => updateScheduleRequest(client, id, requestFrom(flags))).catch(fail);
  console.log(`schedule ${id} updated`);
});
schedule
  .command('trigger')
  .argument('<scheduleId>')
  .description('start a run now')
  .action(async (id: string) => {
    await withClient((client) => client.schedule.getHandle(id).trigger());
    console.log(`schedule ${id} triggered`);
  });
schedule
  .command('pause')
  .argument('<scheduleId>')
  .description('pause')
  .action(async (id: string) => {
    await withClient((client) => client.schedule.getHandle(id).pause('paused from the client'));
    console.log(`schedule ${id} paused`);
  });
schedule
  .command('unpause')
  .argument('<scheduleId>')
  .description('unpause')
  .action(async (id: string) => {
    await withClient((client) => client.schedule.getHandle(id).unpause('unpaused from the client'));
    console.log(`schedule ${id} unpaused`);
  });
schedule
  .command('backfill')
  .argument('<scheduleId>')
  .description('run every period between two times, each collecting its own period')
  .requiredOption('--from <iso>', 'start time, e.g. 2025-01-01T00:00:00Z')
  .requiredOption('--to <iso>', 'end time')
  .action(async (id: string, flags: { from: string; to: string }) => {
    const from = new Date(flags.from);
    const to = new Date(flags.to);
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || from > to)
      fail(new InvalidRequestError(['--from/--to: give two ISO times, from before to']));
    await withClient((client) => backfillSchedule(client, id, from, to));
    console.log(`backfill of ${id} from ${from.toISOString()} to ${to.toISOString()} requested`);
  });
schedule
  .command('delete')
  .argument('<scheduleId>')
  .description('delete')
  .action(async (id: string) => {
    await withClient((client) => client.schedule.getHandle(id).delete());
    console.log(`schedule ${id} deleted`);
  });

const quarantine = program
  .command('quarantine')
  .description('files put aside because they did not match their .CHECKSUM: list, accept or discard them');
const target = (cmd: Command) =>
  cmd
    .option('--bucket <name>', "destination bucket (default: the worker's DEST_BUCKET)")
    .option('--prefix <prefix>', 'destination prefix, ending in "/" (default: the worker\'s DEST_PREFIX)')
    .option('--json', 'print JSON');
type TargetFlags = { bucket?: string; prefix?: string; json?: boolean };
const destinationOf = (f: TargetFlags) => ({
  ...(f.bucket ? { bucket: f.bucket } : {}),
  ...(f.prefix !== undefined ? { prefix: f.prefix } : {}),
});
target(
  quarantine
    .command('list')
    .description('list quarantined files with their evidence (hashes, ETags, sizes, what was kept)'),
)
  .option('--limit <n>', 'at most this many', int, 200)
  .action(async (flags: TargetFlags & { limit: number }) => {
    await withClient(async (client) => {
      const r = await runReview(client, env.TEMPORAL_TASK_QUEUE, {
        action: 'list',
        destination: destinationOf(flags),
        limit: flags.limit,
      });
      console.log(flags.json ? JSON.stringify(r) : formatQuarantine(r as never));
    }).catch(fail);
  });
target(
  quarantine
    .command('accept')
    .argument('<key>', 'archive key, e.g. data/spot/monthly/aggTrades/BNBBTC/BNBBTC-aggTrades-2018-01.zip')
    .description(
      'promote a quarantined file to its place in the destination, recording an "accepted" proof with your reason',
    ),
)
  .requiredOption(
    '--sha256 <hash>',
    'the SHA-256 of the quarantined bytes you reviewed, as "quarantine list" prints it: nothing else is accepted',
  )
  .requiredOption(
    '--reason <text>',
    'why these bytes are right although they do not match the .CHECKSUM (recorded with the proof)',
  )
  .action(async (key: string, flags: TargetFlags & { sha256: string; reason: string }) => {
    await withClient(async (client) => {
      const r = (await runReview(client, env.TEMPORAL_TASK_QUEUE, {
        action: 'accept',
        destination: destinationOf(flags),
        key,
        sha256: flags.sha256,
        reason: flags.reason,
      })) as { finalKey: string; proofKey: string | null; already: boolean };
      console.log(
        flags.json
          ? JSON.stringify(r)
          : r.already
            ? `${key} was already accepted`
            : `accepted ${key}: now at ${r.finalKey} (proof: ${r.proofKey})`,
      );
    }).catch(fail);
  });
target(
  quarantine
    .command('discard')
    .argument('<key>', 'archive key')
    .description('delete a quarantined file (the destination keeps what it has)'),
)
  .option('--sha256 <hash>', 'discard only if the quarantined bytes are still the ones you reviewed')
  .option('--reason <text>', "why (kept in the review's workflow history)")
  .action(async (key: string, flags: TargetFlags & { sha256?: string; reason?: string }) => {
    await withClient(async (client) => {
      const r = (await runReview(client, env.TEMPORAL_TASK_QUEUE, {
        action: 'discard',
        destination: destinationOf(flags),
        key,
        sha256: flags.sha256,
        reason: flags.reason,
      })) as { removed: boolean };
      console.log(
        flags.json
          ? JSON.stringify(r)
          : r.removed
            ? `discarded the quarantined copy of ${key}`
            : `nothing quarantined for ${key} (already discarded?)`,
      );
    }).catch(fail);
  });

await program.parseAsync();
