/** Starting a collection and following it: shared by the command-line client, the demo and the tests. */
import { WorkflowIdConflictPolicy, type Client, type WorkflowHandle, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { collectArchive, progressQuery } from '../workflows';
import { parseCollectionRequest, resolvePeriods, summarize, type CollectionRequest, type CollectionRequestInput, type ResolvedRange } from '../workflows/request';
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

function workflowIdOf({ request: r, range }: { request: CollectionRequest; range: ResolvedRange }): string {
  const part = (xs: string[]) => (xs.length > 3 ? `${xs.slice(0, 3).join('+')}+${xs.length - 3}more` : xs.join('+'));
  const id = ['collect', part(r.markets.map((m) => m.replace('/', '-'))), part(r.dataTypes), part(r.symbols), r.granularity, `${range.first}..${range.last}`].join('-');
  return r.destination.prefix !== undefined || r.destination.bucket ? `${id}-${r.destination.bucket ?? ''}${(r.destination.prefix ?? '').replace(/\/$/, '')}` : id;
}

/** `collect-spot-klines-BTCUSDT-2025-01-01..2025-01-07`: the same collection gets the same ID. */
export function collectionWorkflowId(input: CollectionRequestInput, now = new Date()): string {
  return workflowIdOf(resolveInput(input, now));
}

export interface StartOptions {
  taskQueue: string;
  workflowId?: string;
}

export async function startCollection(client: Client, input: CollectionRequestInput, opts: StartOptions): Promise<WorkflowHandleWithFirstExecutionRunId<typeof collectArchive>> {
  const resolved = resolveInput(input, new Date());
  const workflowId = opts.workflowId ?? workflowIdOf(resolved);
  return client.workflow.start(collectArchive, {
    taskQueue: opts.taskQueue,
    workflowId,
    args: [input],
    // The same collection never runs twice at once: a second start joins the running one.
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    // The short line the Web UI shows for the run, e.g. `spot klines 1d BTCUSDT daily 2025-01-01..2025-01-07`.
    staticSummary: summarize(resolved.request, resolved.range),
  });
}

export async function followCollection(
  handle: WorkflowHandle<typeof collectArchive>,
  onProgress: (p: Progress) => void,
  everyMs = 1_000,
): Promise<CollectionReport> {
  const result = handle.result();
  let done = false;
  result.finally(() => { done = true; }).catch(() => undefined);
  while (!done) {
    try {
      onProgress(await handle.query(progressQuery));
    } catch {
      // not queryable yet (no worker picked it up) or just finished
    }
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, everyMs))]);
  }
  return result;
}
