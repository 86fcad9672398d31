/** One batch of server-side S3→S3 copies through s5cmd. Files it cannot copy are handed back for the fallback. */
import { Context, log } from '@temporalio/activity';
import { countFallbacks } from './metrics';
import type { WorkerConfig } from '../worker/config';
import { checksumKey, destinationKey } from '../workflows/keys';
import type { BatchRef, DirectSyncResult } from '../workflows/types';
import { AccessDeniedError, InvalidInputError, S5cmdBatchError } from './errors';
import { batchName, type PlanFile } from './plan';
import { buildCommandsFile, classifyBatchFailure, matchOutcomes } from './s5cmd-commands';
import { runS5cmdFile } from './s5cmd-run';
import type { StateStore } from './state-store';

export interface DirectEntry {
  i: number;
  outcome: 'copied' | 'verify_only' | 'fallback';
  error: string | null;
  attempt: number;
}

export async function loadBatch(store: StateStore, batch: number): Promise<PlanFile[]> {
  const files = await store.getJson<PlanFile[]>(`plan/${batchName(batch)}.json`);
  if (!files) throw new InvalidInputError(`plan object ${store.key(`plan/${batchName(batch)}.json`)} is missing`);
  return files;
}

export function positionsOf(ref: BatchRef, files: PlanFile[]): number[] {
  const positions = ref.only ?? files.map((_, i) => i);
  for (const p of positions) if (!(p >= 0 && p < files.length)) throw new InvalidInputError(`batch position ${p} is out of range`);
  return positions;
}

export async function directSyncBatch(deps: { config: WorkerConfig; store: StateStore; sourceBucket: string }, ref: BatchRef): Promise<DirectSyncResult> {
  const { config, store } = deps;
  const attempt = Context.current().info.attempt;
  const files = await loadBatch(store, ref.batch);
  const positions = positionsOf(ref, files);
  const toCopy = positions.filter((i) => files[i].action === 'copy');
  const verifyOnly = positions.filter((i) => files[i].action === 'verify_only');

  const copies = toCopy.flatMap((i) => {
    const key = files[i].key;
    const pair = [{ index: i, sourceBucket: deps.sourceBucket, sourceKey: key, destinationBucket: ref.state.bucket, destinationKey: destinationKey(ref.state.destinationPrefix, key) }];
    // Without checksum verification the .CHECKSUM travels with its zip; otherwise it is written after the zip passes.
    if (ref.verification === 'none' && files[i].checksumEtag) {
      pair.push({ ...pair[0], sourceKey: checksumKey(key), destinationKey: destinationKey(ref.state.destinationPrefix, checksumKey(key)) });
    }
    return pair;
  });
  const commandsFile = buildCommandsFile(copies);
  let copiedLines = 0;
  const run = commandsFile.commands.length
    ? await runS5cmdFile(config, commandsFile.text, (r) => { if (r.kind === 'ok') copiedLines++; })
    : { results: [], exitCode: 0, signal: undefined, stderr: '' };

  if (run.signal || (run.exitCode !== 0 && run.exitCode !== 1)) {
    throw new S5cmdBatchError(`s5cmd ended abnormally (exit ${run.exitCode ?? '-'}, signal ${run.signal ?? '-'}) after ${copiedLines} copies: ${run.stderr.slice(0, 500)}`);
  }
  const outcomes = matchOutcomes(commandsFile.commands, run.results);
  if (commandsFile.commands.length > 0 && outcomes.copied.size === 0) {
    const errors = [...outcomes.failed.values(), ...outcomes.general, run.stderr];
    const kind = classifyBatchFailure(errors);
    const sample = errors.find(Boolean)?.slice(0, 400) ?? 'no output';
    if (kind === 'access_denied') throw new AccessDeniedError(`s5cmd: access denied copying into s3://${ref.state.bucket}: ${sample}`);
    throw new S5cmdBatchError(`s5cmd copied none of ${commandsFile.commands.length} objects (${kind}): ${sample}`);
  }

  const fallbackError = new Map<number, string>(commandsFile.rejected.map((i) => [i, 'key cannot be written to an s5cmd run file safely']));
  for (const [i, err] of outcomes.failed) fallbackError.set(i, err);
  const entries: DirectEntry[] = [
    ...toCopy.map((i) => ({ i, outcome: fallbackError.has(i) ? ('fallback' as const) : ('copied' as const), error: fallbackError.get(i) ?? null, attempt })),
    ...verifyOnly.map((i) => ({ i, outcome: 'verify_only' as const, error: null, attempt })),
  ];
  await store.putJson(`results/${batchName(ref.batch)}.direct.json`, entries);
  const copied = entries.filter((e) => e.outcome !== 'fallback').map((e) => e.i);
  const fallback = entries.filter((e) => e.outcome === 'fallback').map((e) => e.i);
  countFallbacks(fallback.length);
  log.info('s5cmd batch done', { batch: ref.batch, copied: copied.length, fallback: fallback.length, lines: commandsFile.commands.length });
  return {
    copied,
    fallback,
    bytes: toCopy.filter((i) => !fallbackError.has(i)).reduce((n, i) => n + files[i].size, 0),
    s3Requests: commandsFile.commands.length,
    s5cmdLines: commandsFile.commands.length,
  };
}
