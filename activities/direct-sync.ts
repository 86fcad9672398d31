/** One batch of server-side S3→S3 copies through s5cmd. Files it cannot copy are handed back for the fallback. */
import { log } from '@temporalio/activity';
import { Context } from '@temporalio/activity';
import type { WorkerConfig } from '../worker/config';
import { destinationKey, incomingKey } from '../workflows/keys';
import type { BatchRef, DirectSyncResult } from '../workflows/types';
import { AccessDeniedError, InvalidInputError, S5cmdBatchError } from './errors';
import { countFallbacks } from './metrics';
import { batchName, type PlanFile } from './plan';
import { buildCommandsFile, classifyBatchFailure, matchOutcomes, type CopyRequest } from './s5cmd-commands';
import { runS5cmdFile } from './s5cmd-run';
import type { StateStore } from './state-store';

export interface DirectEntry {
  i: number;
  outcome: 'copied' | 'appeared' | 'verify_only' | 'fallback';
  error: string | null;
  attempt: number;
}

/** A server-side copy on a healthy store moves at least this fast; a silent s5cmd beyond that is hung. */
const MIN_COPY_BYTES_PER_SECOND = 8 * 1024 * 1024;

export async function loadBatch(store: StateStore, batch: number): Promise<PlanFile[]> {
  const files = await store.getJson<PlanFile[]>(`plan/${batchName(batch)}.json`);
  if (!files) throw new InvalidInputError(`plan object ${store.key(`plan/${batchName(batch)}.json`)} is missing`);
  return files;
}

export function positionsOf(ref: { only?: number[] }, files: PlanFile[]): number[] {
  const positions = ref.only ?? files.map((_, i) => i);
  for (const p of positions) if (!(Number.isInteger(p) && p >= 0 && p < files.length)) throw new InvalidInputError(`batch position ${p} is out of range`);
  return positions;
}

/**
 * copy: in place, with `cp -n` so that an object that appeared since the plan is never overwritten.
 * replace: beside the file, in the collection's incoming folder; the proof step promotes it once verified.
 */
export function copyRequests(files: PlanFile[], positions: number[], ref: BatchRef, sourceBucket: string): CopyRequest[] {
  return positions.map((i) => {
    const key = files[i].key;
    const replace = files[i].action === 'replace';
    return {
      index: i,
      sourceBucket,
      sourceKey: key,
      destinationBucket: ref.state.bucket,
      destinationKey: replace ? incomingKey(ref.state.statePrefix, key) : destinationKey(ref.state.destinationPrefix, key),
      noClobber: !replace,
    };
  });
}

export async function directSyncBatch(deps: { config: WorkerConfig; store: StateStore; sourceBucket: string; runDir: string }, ref: BatchRef): Promise<DirectSyncResult> {
  const { config, store } = deps;
  const attempt = Context.current().info.attempt;
  const files = await loadBatch(store, ref.batch);
  const positions = positionsOf(ref, files);
  const toCopy = positions.filter((i) => files[i].action !== 'verify_only');
  const verifyOnly = positions.filter((i) => files[i].action === 'verify_only');

  const commandsFile = buildCommandsFile(copyRequests(files, toCopy, ref, deps.sourceBucket));
  const largest = Math.max(0, ...toCopy.map((i) => files[i].size));
  const stallMs = ref.stallMs + Math.ceil((largest / MIN_COPY_BYTES_PER_SECOND) * 1000);
  let copiedLines = 0;
  const run = commandsFile.commands.length
    ? await runS5cmdFile(config, commandsFile.text, (r) => { if (r.kind === 'ok') copiedLines++; }, { runDir: deps.runDir, stallMs })
    : { results: [], exitCode: 0, signal: undefined, stderr: '' };

  if (run.signal || (run.exitCode !== 0 && run.exitCode !== 1)) {
    throw new S5cmdBatchError(`s5cmd ended abnormally (exit ${run.exitCode ?? '-'}, signal ${run.signal ?? '-'}) after ${copiedLines} copies: ${run.stderr.slice(0, 500)}`);
  }
  const outcomes = matchOutcomes(commandsFile.commands, run.results);
  if (commandsFile.commands.length > 0 && outcomes.copied.size === 0 && outcomes.appeared.size === 0) {
    const errors = [...outcomes.failed.values(), ...outcomes.general, run.stderr];
    const kind = classifyBatchFailure(errors);
    const sample = errors.find(Boolean)?.slice(0, 400) ?? 'no output';
    if (kind === 'access_denied') throw new AccessDeniedError(`s5cmd: access denied copying into s3://${ref.state.bucket}: ${sample}`);
    throw new S5cmdBatchError(`s5cmd copied none of ${commandsFile.commands.length} objects (${kind}): ${sample}`);
  }

  const fallbackError = new Map<number, string>(commandsFile.rejected.map((i) => [i, 's5cmd cannot copy this key server-side']));
  for (const [i, err] of outcomes.failed) fallbackError.set(i, err);
  const entries: DirectEntry[] = [
    ...toCopy.map((i): DirectEntry => ({
      i,
      outcome: fallbackError.has(i) ? 'fallback' : outcomes.appeared.has(i) ? 'appeared' : 'copied',
      error: fallbackError.get(i) ?? null,
      attempt,
    })),
    ...verifyOnly.map((i) => ({ i, outcome: 'verify_only' as const, error: null, attempt })),
  ];
  await store.putJson(`results/${batchName(ref.batch)}.direct.json`, entries);
  const copied = entries.filter((e) => e.outcome !== 'fallback').map((e) => e.i);
  const fallback = entries.filter((e) => e.outcome === 'fallback').map((e) => e.i);
  countFallbacks(fallback.length);
  log.info('s5cmd batch done', { batch: ref.batch, copied: copied.length, appeared: outcomes.appeared.size, fallback: fallback.length, lines: commandsFile.commands.length });
  return {
    copied,
    appeared: [...outcomes.appeared],
    fallback,
    bytes: toCopy.filter((i) => outcomes.copied.has(i)).reduce((n, i) => n + files[i].size, 0),
    s3Requests: commandsFile.commands.length,
    s5cmdLines: commandsFile.commands.length,
  };
}
