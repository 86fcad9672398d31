/** Starting a collection and following it: shared by the command-line client, the demo and the tests. */
import { createHash, randomUUID } from 'node:crypto';
import {
  WorkflowIdConflictPolicy,
  type Client,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { collectArchive, progressQuery } from '../workflows';
import { hasIntervalFolder } from '../workflows/catalog';
import {
  isPattern,
  parseCollectionRequest,
  resolvePeriods,
  summarize,
  type CollectionRequest,
  type CollectionRequestInput,
  type ResolvedRange,
} from '../workflows/request';
import type { CollectionReport, Progress } from '../workflows/types';

export class InvalidRequestError extends Error {
  constructor(public readonly problems: string[]) {
    super(`invalid collection request:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'InvalidRequestError';
  }
}

/** The validated request and its date range, resolved as the workflow will (relative dates from `now`). */
function resolveInput(input: CollectionRequestInput, now: Date): { request: CollectionRequest; range: ResolvedRange } {
  const parsed = parseCollectionRequest(input);
  if (!parsed.ok) throw new InvalidRequestError(parsed.problems);
  const request = parsed.request;
  return { request, range: resolvePeriods(request, request.asOf ? new Date(request.asOf) : now) };
}

/** Everything that makes two collections different, in a canonical form. */
function identityOf({ request: r, range }: { request: CollectionRequest; range: ResolvedRange }) {
  const sorted = (xs: string[]) => [...xs].sort();
  return {
    markets: sorted(r.markets),
    dataTypes: sorted(r.dataTypes),
    intervals: r.dataTypes.some((dt) => isPattern(dt) || hasIntervalFolder(dt)) ? sorted(r.intervals ?? ['1d']) : [],
    symbols: sorted(r.symbols),
    granularity: r.granularity,
    action: r.action,
    dates: range.all ? 'all' : null,
    first: range.first,
    last: range.last,
    mode: r.mode,
    verification: r.verification,
    bucket: r.destination.bucket ?? null,
    prefix: r.destination.prefix ?? null,
    // Only when set: IDs derived before the field existed stay the same.
    ...(r.recheckProofs ? { recheckProofs: true } : {}),
    ...(r.inspect ? { inspect: true } : {}),
  };
}

function workflowIdOf(resolved: { request: CollectionRequest; range: ResolvedRange }): string {
  const id = identityOf(resolved);
  const part = (xs: string[]) => (xs.length > 3 ? `${xs.slice(0, 3).join('+')}+${xs.length - 3}more` : xs.join('+'));
  const readable = [
    id.action,
    part(id.markets.map((m) => m.replace('/', '-'))),
    part(id.dataTypes),
    ...(id.intervals.length ? [part(id.intervals)] : []),
    part(id.symbols),
    id.granularity,
    id.dates === 'all' ? `all-to-${id.last}` : `${id.first}..${id.last}`,
    ...(id.mode !== 'auto' ? [id.mode] : []),
    ...(id.verification !== 'checksum' ? [`verify-${id.verification}`] : []),
    ...(id.recheckProofs ? ['recheck-proofs'] : []),
    ...(id.inspect ? ['inspect'] : []),
    ...(id.bucket || id.prefix !== null
      ? [`to-${id.bucket ?? 'default'}${id.prefix ? `/${id.prefix.replace(/\/$/, '')}` : ''}`]
      : []),
  ].join('-');
  // The hash covers every field, so abbreviated parts never make two different collections collide.
  const hash = createHash('sha256').update(JSON.stringify(id)).digest('hex').slice(0, 10);
  return `${readable.slice(0, 200)}-${hash}`;
}

/** `collect-spot-klines-1m+1h-BTCUSDT-daily-2025-01-01..2025-01-07-3f9a…`: the same collection gets the same ID, a different one never does. */
export function collectionWorkflowId(input: CollectionRequestInput, now = new Date()): string {
  return workflowIdOf(resolveInput(input, now));
}

export interface StartOptions {
  taskQueue: string;
  workflowId?: string;
}

export interface StartedCollection {
  handle: WorkflowHandleWithFirstExecutionRunId<typeof collectArchive>;
  /** True when a run with this workflow ID was already going: this start joined it instead of starting a second one. */
  joined: boolean;
}

export async function startCollection(
  client: Client,
  request: CollectionRequestInput,
  opts: StartOptions,
): Promise<StartedCollection> {
  const now = new Date();
  // Relative dates resolve from this start's clock, pinned into the input: the ID names the range the run collects, even across midnight.
  const input =
    request.startDate || request.endDate || request.asOf ? request : { ...request, asOf: now.toISOString() };
  const resolved = resolveInput(input, now);
  const workflowId = opts.workflowId ?? workflowIdOf(resolved);
  const startToken = randomUUID();
  const handle = await client.workflow.start(collectArchive, {
    taskQueue: opts.taskQueue,
    workflowId,
    args: [input],
    // The same collection never runs twice at once: a second start joins the running one.
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    // The short line the Web UI shows for the run, e.g. `spot klines 1d BTCUSDT daily 2025-01-01..2025-01-07`.
    staticSummary: summarize(resolved.request, resolved.range),
    // Tells this start from an earlier one with the same ID (the server keeps the first run's memo).
    memo: { startToken },
  });
  const described = await client.workflow.getHandle(workflowId, handle.firstExecutionRunId).describe();
  return { handle, joined: described.memo?.startToken !== startToken };
}

export async function followCollection(
  handle: WorkflowHandle<typeof collectArchive>,
  onProgress: (p: Progress) => void,
  everyMs = 1_000,
): Promise<CollectionReport> {
  const result = handle.result();
  let done = false;
  result
    .finally(() => {
      done = true;
    })
    .catch(() => undefined);
  while (!done) {
    try {
      onProgress(await collectionProgress(handle));
    } catch {
      // not queryable yet (no worker picked it up) or just finished
    }
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, everyMs))]);
  }
  return result;
}

/** The collection's progress: the finished shards' counts (from the collection) plus each running shard's own. */
export async function collectionProgress(handle: WorkflowHandle<typeof collectArchive>): Promise<Progress> {
  const p = await handle.query(progressQuery);
  const running = p.shards?.running ?? [];
  const shards = await Promise.all(
    running.map((id) =>
      handle.client
        .getHandle(id)
        .query(progressQuery)
        .catch(() => undefined),
    ),
  );
  for (const s of shards) {
    if (!s) continue;
    p.batches.total += s.batches.total;
    p.batches.done += s.batches.done;
    for (const k of Object.keys(p.files) as (keyof Progress['files'])[]) p.files[k] += s.files[k];
    p.bytes += s.bytes;
  }
  return p;
}
