/** Histories of a collection: its own runs and every run of each of its shards (child workflows). */
import { writeFileSync } from 'node:fs';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
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

/** The shards (child workflows) a collection's events started: ID and first run. */
function startedChildren(events: Event[]): { id: string; runId: string | undefined }[] {
  return events.flatMap((e) => {
    const x = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
    return x?.workflowId ? [{ id: x.workflowId, runId: x.runId ?? undefined }] : [];
  });
}

/** Events of every run of the collection and of its shards, the collection's first. */
export async function collectionEvents(handle: WorkflowHandle): Promise<Event[]> {
  const client = handle.client;
  const first = (handle as { firstExecutionRunId?: string }).firstExecutionRunId;
  const own = (await runsOf(client, handle.workflowId, first)).flat();
  const theirs = await Promise.all(startedChildren(own).map((c) => runsOf(client, c.id, c.runId)));
  return [...own, ...theirs.flat(2)];
}

/** The first run of the collection's first shard (for replay fixtures). */
export async function firstShardHistory(handle: WorkflowHandle) {
  const [child] = startedChildren((await handle.fetchHistory()).events ?? []);
  if (!child) throw new Error('the collection started no shard');
  return handle.client.getHandle(child.id, child.runId).fetchHistory();
}

/** Pending activities of the collection and of its running shards. */
export async function pendingActivities(handle: WorkflowHandle) {
  const own = (await handle.describe()).raw.pendingActivities ?? [];
  const children = startedChildren((await handle.fetchHistory()).events ?? []);
  const theirs = await Promise.all(
    children.map((c) =>
      handle.client
        .getHandle(c.id)
        .describe()
        .then(
          (d) => d.raw.pendingActivities ?? [],
          () => [],
        ),
    ),
  );
  return [...own, ...theirs.flat()];
}

/** Leaves a run's history in .build/<name>-history.json, for re-recording the replay fixtures (replay.test.ts). */
export function recordHistory(name: string, history: temporal.api.history.v1.IHistory): void {
  writeFileSync(`.build/${name}-history.json`, historyToJSON(history));
}
