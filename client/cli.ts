/** What the client's commands share: exit codes, settings, request flags, connecting, failing, following a run. */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { ZodError } from 'zod';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { CollectionAction, CollectionRequestInput } from '../workflows/request';
import type { CollectionReport } from '../workflows/types';
import { InvalidRequestError, collectionWorkflowId, followCollection, startCollection } from './collection';
import { DEFAULT_TEMPORAL_ADDRESS, TemporalConnectionError } from '../common/temporal-connection';
import { issueLines } from '../common/zod-issues';
import { clientEnv, connectClient, runUrl } from './connection';
import { formatBytes } from './format';

export const EXIT = { ok: 0, filesFailed: 1, badInput: 2, runFailed: 3, unreachable: 4 } as const;

/** Ends the command with an exit code; main.ts catches it, so spans still flush before the process ends. */
export class CliExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
function exit(code: number): never {
  throw new CliExit(code);
}
export const env = (() => {
  try {
    return clientEnv();
  } catch (err) {
    const message =
      err instanceof ZodError
        ? issueLines(err).join('; ')
        : err instanceof TemporalConnectionError
          ? err.message
          : (err as Error).message;
    console.error(`configuration: ${message}`);
    process.exit(EXIT.badInput);
  }
})();

export const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
export const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('must be a whole number');
  return n;
};

export interface CollectFlags {
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
  recheckProofs?: boolean;
  inspect?: boolean;
}

export function requestFrom(flags: CollectFlags): CollectionRequestInput {
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
  set('recheckProofs', flags.recheckProofs);
  set('inspect', flags.inspect);
  if (flags.bucket || flags.prefix !== undefined)
    r.destination = {
      ...(r.destination as object),
      ...(flags.bucket ? { bucket: flags.bucket } : {}),
      ...(flags.prefix !== undefined ? { prefix: flags.prefix } : {}),
    };
  return r as CollectionRequestInput;
}

export function requestOptions(cmd: Command): Command {
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

export async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
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
    exit(EXIT.unreachable);
  }
  try {
    return await fn(client);
  } finally {
    await client.connection.close();
  }
}

export function fail(err: unknown): never {
  if (err instanceof InvalidRequestError) {
    console.error(err.message);
    exit(EXIT.badInput);
  }
  if (err instanceof WorkflowFailedError) {
    const type = (err.cause as { type?: string } | undefined)?.type;
    console.error(
      `${type === 'InvalidReviewRequest' ? 'review' : 'collection'} failed: ${err.cause?.message ?? err.message}`,
    );
    exit(type === 'InvalidCollectionRequest' || type === 'InvalidReviewRequest' ? EXIT.badInput : EXIT.runFailed);
  }
  if (err instanceof SyntaxError) {
    console.error(`the request file is not valid JSON: ${err.message}`);
    exit(EXIT.badInput);
  }
  throw err;
}

export function startOptions(cmd: Command): Command {
  return requestOptions(cmd)
    .option('--start <date>', 'first date, YYYY-MM-DD (inclusive, UTC)')
    .option('--end <date>', 'last date, YYYY-MM-DD (inclusive, UTC)')
    .option('--workflow-id <id>', 'override the derived workflow ID')
    .option('--json', 'print machine-readable JSON instead of text');
}

/** Starts a run of the collection with this action; `wait` follows it and prints what `show` picks from the report. */
export async function startAndFollow(
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
