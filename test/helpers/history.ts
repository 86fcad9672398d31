/** Histories of a collection: its own runs and every run of each of its shards (child workflows). */
import type { WorkflowClient, WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

type Event = temporal.api.history.v1.IHistoryEvent;

/** Every run of one workflow, following continue-as-new from `runId`. */
async function runsOf(client: WorkflowClient, workflowId: string, runId: string | undefined): Promise<Event[][]> {
  const runs: Event[][] = [];
  for (let next = runId; ;) {
    const events = (await client.getHandle(workflowId, next).fetchHistory()).events ?? [];
    runs.push(events);
    next = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
    if (!next) return runs;
  }
}

/** Events of every run of the collection and of its shards, the collection's first. */
export async function collectionEvents(handle: WorkflowHandle): Promise<Event[]> {
  const client = handle.client;
  const first = (handle as { firstExecutionRunId?: string }).firstExecutionRunId;
  const own = (await runsOf(client, handle.workflowId, first)).flat();
  const children = own.flatMap((e) => {
    const x = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
    return x?.workflowId ? [{ id: x.workflowId, runId: x.runId ?? undefined }] : [];
  });
  const theirs = await Promise.all(children.map((c) => runsOf(client, c.id, c.runId)));
  return [...own, ...theirs.flat(2)];
}

/** The first run of the collection's first shard (for replay fixtures). */
export async function firstShardHistory(handle: WorkflowHandle) {
  const events = (await handle.fetchHistory()).events ?? [];
  const child = events.find((e) => e.childWorkflowExecutionStartedEventAttributes)?.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
  if (!child?.workflowId) throw new Error('the collection started no shard');
  return handle.client.getHandle(child.workflowId, child.runId ?? undefined).fetchHistory();
}

/** Pending activities of the collection and of its running shards. */
export async function pendingActivities(handle: WorkflowHandle) {
  const own = (await handle.describe()).raw.pendingActivities ?? [];
  const children = ((await handle.fetchHistory()).events ?? []).flatMap((e) => {
    const x = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
    return x?.workflowId ? [x.workflowId] : [];
  });
  const theirs = await Promise.all(children.map((id) => handle.client.getHandle(id).describe().then((d) => d.raw.pendingActivities ?? [], () => [])));
  return [...own, ...theirs.flat()];
}
