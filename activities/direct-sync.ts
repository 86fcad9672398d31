/**
 * One batch of server-side S3→S3 copies through s5cmd. With the project's s5cmd build and a store
 * that computes checksums, each copy comes back with the store's SHA-256 of the bytes it wrote,
 * which is compared here with the `.CHECKSUM` (read beside the copies): a match is recorded as a
 * proof without a byte of the file passing through the worker. Everything else (replacements,
 * mismatches, objects that appeared, files too large for one CopyObject) is left to the proof step,
 * and files s5cmd cannot copy are handed back for the traditional fallback.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Context, log } from '@temporalio/activity';
import type { WorkerConfig } from '../worker/config';
import { checksumKey, destinationKey, incomingKey, proofFolder } from '../workflows/keys';
import type { BatchRef, DirectSyncResult, ProofLevel } from '../workflows/types';
import { fileNameOf, readChecksumFile } from './checksum-file';
import { COPY_PART_BYTES, MIN_PART_BYTES, type Destination } from './destination';
import { heartbeatWhileProgressing } from './heartbeat';
import { AccessDeniedError, InvalidInputError, S5cmdBatchError } from './errors';
import { countFallbacks, countFiles } from './metrics';
import type { PlanFile } from './plan';
import { normalizeEtag, proofEarnedBy, proofFileName, proofNameOf, unboundEtag, type ProofRecord } from './proof';
import {
  buildCommandsFile,
  classifyBatchFailure,
  matchOutcomes,
  s3Url,
  sourceRegionFlags,
  type CommandResult,
  type CopyRequest,
  type WrittenObject,
} from './s5cmd-commands';
import { mapPool } from './pool';
import type { SourceReader } from './source-reader';
import { runS5cmdFile } from './s5cmd-run';
import { STATE_OBJECTS, type StateStore } from './state-store';

export interface DirectEntry {
  i: number;
  /** proven: done, with its proof; copied/appeared/verify_only: for the proof step; fallback: for the traditional path. */
  outcome: 'proven' | 'copied' | 'appeared' | 'verify_only' | 'fallback';
  proof?: ProofLevel;
  method?: string;
  sha256?: string | null;
  /** copied by s5cmd: the ETag the copy got. */
  etag?: string;
  error: string | null;
  attempt: number;
}

/** How long .CHECKSUM reads still out after the copies may take before their files go to the proof step. */
const SIDECAR_GRACE_MS = 10_000;

/** A server-side copy on a healthy store moves at least this fast; a silent s5cmd beyond that is hung. */
const MIN_COPY_BYTES_PER_SECOND = 8 * 1024 * 1024;

export interface DirectDeps {
  config: WorkerConfig;
  store: StateStore;
  sourceBucket: string;
  source: Pick<SourceReader, 'readIfExists'>;
  runDir: string;
  destinationFor: (signal?: AbortSignal) => Destination;
  /** Whether this worker saw the store compute a copy's SHA-256 right (StoreFacts): the request's flag only asks. */
  storeChecksumHolds: (files: PlanFile[]) => Promise<boolean>;
  /** Whether the store itself refuses a copy onto an existing key, and s5cmd can ask it to (StoreFacts.copiesIfAbsent). */
  copiesIfAbsent: () => Promise<boolean>;
  /** Why a promotion is not guarded on this store (StoreFacts.unguardedPromotion), or undefined when it is. */
  unguardedPromotion: () => Promise<string | undefined>;
}

export async function loadBatch(store: StateStore, batch: number): Promise<PlanFile[]> {
  const files = await store.planBatch(batch);
  if (!files) throw new InvalidInputError(`plan object ${store.key(STATE_OBJECTS.plan(batch))} is missing`);
  return files;
}

export function positionsOf(ref: { only?: number[] }, files: PlanFile[]): number[] {
  const positions = ref.only ?? files.map((_, i) => i);
  for (const p of positions)
    if (!(Number.isInteger(p) && p >= 0 && p < files.length))
      throw new InvalidInputError(`batch position ${p} is out of range`);
  return positions;
}

/**
 * copy: in place, never over an object that appeared since the plan: refused by the store itself where it honours
 * `If-None-Match: *` on a copy (`ifAbsent`), else skipped after a HEAD (`cp -n`).
 * replace: beside the file, in the collection's incoming folder; the proof step promotes it once verified.
 */
export function copyRequests(
  files: PlanFile[],
  positions: number[],
  ref: BatchRef,
  sourceBucket: string,
  regions: Pick<CopyRequest, 'sourceRegion' | 'destinationRegion'> = {},
  ifAbsent = false,
): CopyRequest[] {
  return positions.map((i) => {
    const key = files[i].key;
    const replace = files[i].action === 'replace';
    return {
      index: i,
      tag: 'zip',
      from: s3Url(sourceBucket, key),
      to: s3Url(
        ref.state.bucket,
        replace ? incomingKey(ref.state.statePrefix, key) : destinationKey(ref.state.destinationPrefix, key),
      ),
      ...(replace ? {} : { noClobber: ifAbsent ? ('conditional' as const) : ('stat' as const) }),
      checksum: ref.storeChecksum,
      ...regions,
    };
  });
}

const hex = (b64: string) => Buffer.from(b64, 'base64').toString('hex');

export async function directSyncBatch(deps: DirectDeps, asked: BatchRef): Promise<DirectSyncResult> {
  const { config, store } = deps;
  const attempt = Context.current().info.attempt;
  proofEarnedBy(asked.verification); // an unknown level copies nothing
  const files = await loadBatch(store, asked.batch);
  const ref: BatchRef = {
    ...asked,
    storeChecksum: Boolean(asked.storeChecksum) && (await deps.storeChecksumHolds(files)),
  };
  const positions = positionsOf(ref, files);
  const toCopy = positions.filter((i) => files[i].action !== 'verify_only');
  const verifyOnly = positions.filter((i) => files[i].action === 'verify_only');
  // A replacement is copied beside the file and promoted over it once proven; where the store would not guard that
  // promotion, it is not copied at all: the traditional path replaces the file with the very bytes it hashed.
  const unguarded = toCopy.some((i) => files[i].action === 'replace') ? await deps.unguardedPromotion() : undefined;
  const heldBack = new Set(unguarded ? toCopy.filter((i) => files[i].action === 'replace') : []);
  const tooLarge = toCopy.filter((i) => !heldBack.has(i) && files[i].size > config.s5cmd.maxCopyBytes);
  const bys5cmd = toCopy.filter((i) => !heldBack.has(i) && files[i].size <= config.s5cmd.maxCopyBytes);
  // New files the store's answer may prove: at the checksum level their .CHECKSUM is read beside the copies, to
  // compare with the store's SHA-256; those proven get it copied in the bookkeeping run after them.
  const fastProof = ref.storeChecksum ? bys5cmd.filter((i) => files[i].action === 'copy' && files[i].checksumEtag) : [];
  const work = path.join(deps.runDir, `batch-${randomUUID()}`);
  const proofPath = (i: number) => path.join(work, `${i}.proof.json`);
  const toS3 = sourceRegionFlags(config.source, config.destination, 's3');
  // At the checksum level each new file's .CHECKSUM is read by the worker beside the copies (bookkeeping requests
  // in flight of their own), so that waiting on a distant store overlaps instead of adding up. The reads start when
  // the copies do (the run has its s5cmd slot), not while the batch waits for one: a worker's waiting batches hold
  // no reads, and the copying batch's reads have the sockets to themselves.
  const reading = new AbortController();
  let startReads!: () => void;
  const readsMayStart = new Promise<void>((resolve) => (startReads = resolve));
  const sidecarReads =
    ref.verification === 'checksum'
      ? readsMayStart.then(() => readSidecars(deps, files, fastProof, reading.signal))
      : Promise.resolve(new Map<number, string>());
  const ifAbsent = bys5cmd.some((i) => files[i].action === 'copy') && (await deps.copiesIfAbsent());
  const sidecarCopy = (i: number): CopyRequest => ({
    index: i,
    tag: 'sidecar',
    from: s3Url(deps.sourceBucket, checksumKey(files[i].key)),
    to: s3Url(ref.state.bucket, checksumKey(destinationKey(ref.state.destinationPrefix, files[i].key))),
    ...toS3,
  });
  const commandsFile = buildCommandsFile(copyRequests(files, bys5cmd, ref, deps.sourceBucket, toS3, ifAbsent));
  const zipCommands = commandsFile.commands.filter((c) => c.tag === 'zip');
  const largest = Math.max(0, ...bys5cmd.map((i) => files[i].size));
  const stallMs = ref.stallMs + Math.ceil((largest / MIN_COPY_BYTES_PER_SECOND) * 1000);
  let copiedLines = 0;
  await mkdir(work, { recursive: true });
  try {
    const run = commandsFile.commands.length
      ? await runS5cmdFile(
          config,
          commandsFile.text,
          (r) => {
            if (r.kind === 'ok') copiedLines++;
          },
          { runDir: deps.runDir, stallMs, onSlot: startReads },
        )
      : { results: [], exitCode: 0, signal: undefined, stderr: '' };
    startReads(); // no copy run (nothing to copy by s5cmd): read now
    if (run.signal || (run.exitCode !== 0 && run.exitCode !== 1)) {
      throw new S5cmdBatchError(
        `s5cmd ended abnormally (exit ${run.exitCode ?? '-'}, signal ${run.signal ?? '-'}) after ${copiedLines} copies: ${run.stderr.slice(0, 500)}`,
      );
    }
    const outcomes = matchOutcomes(commandsFile.commands, run.results);
    const zip = new Map<number, CommandResult>(zipCommands.map((c) => [c.index, outcomes.byCommand.get(c.id)!]));
    if (zipCommands.length > 0 && [...zip.values()].every((r) => r.status === 'failed')) {
      const errors = [...zip.values()]
        .map((r) => (r.status === 'failed' ? r.error : ''))
        .concat(outcomes.general, run.stderr);
      const kind = classifyBatchFailure(errors);
      const sample = errors.find(Boolean)?.slice(0, 400) ?? 'no output';
      if (kind === 'access_denied')
        throw new AccessDeniedError(`s5cmd: access denied copying into s3://${ref.state.bucket}: ${sample}`);
      throw new S5cmdBatchError(`s5cmd copied none of ${zipCommands.length} objects (${kind}): ${sample}`);
    }

    // Files too large for one CopyObject: copied in parts by the worker, proven by streaming (a multipart checksum cannot match a sidecar).
    const large = await copyLarge(deps, ref, files, tooLarge);

    // Proofs from the store's own SHA-256, recorded by a second run (proofs and .CHECKSUMs uploaded by s5cmd) in the
    // worker's bookkeeping slot, beside the next batch's copies: two requests a file, so twice the workers keep pace.
    // A file proven here gets its .CHECKSUM copied there too, at every level (the copy run holds only zips); any
    // other file goes to the proof step or the traditional path, which put its .CHECKSUM themselves.
    const proven = new Map<number, { proof: ProofLevel; sha256: string | null; method: string }>();
    const second: CopyRequest[] = [];
    // The reads keep ahead of the copies; any still out when the copies are done get a short grace, then the proof
    // step takes those files (no wait here outlasts a heartbeat).
    const sidecars = await Promise.race([
      sidecarReads,
      sleep(SIDECAR_GRACE_MS, undefined, { signal: reading.signal }).then(() => {
        reading.abort();
        return sidecarReads;
      }),
    ]);
    await mapPool(fastProof, 32, async (i) => {
      const z = zip.get(i);
      // No proof here for an answer without a strong ETag: the proof step finds why and says so.
      if (z?.status !== 'ok' || unboundEtag(z.object.etag)) return;
      const claim = proofFromStore(ref, files[i], z.object, sidecars.get(i));
      if (!claim) return;
      await writeFile(proofPath(i), JSON.stringify(claim.record));
      proven.set(i, { proof: claim.record.level, sha256: claim.record.sha256, method: claim.record.method });
      second.push({
        index: i,
        tag: 'proof',
        from: proofPath(i),
        to: s3Url(
          ref.state.bucket,
          `${proofFolder(ref.state.destinationPrefix, files[i].key)}/${proofFileName(proofNameOf(claim.record))}`,
        ),
      });
      second.push(sidecarCopy(i));
    });
    if (second.length) {
      const file2 = buildCommandsFile(second);
      const run2 = await runS5cmdFile(config, file2.text, () => undefined, {
        runDir: deps.runDir,
        stallMs: ref.stallMs,
        numWorkers: 2 * config.s5cmd.numWorkers,
        slot: 'bookkeeping',
      });
      const out2 = matchOutcomes(file2.commands, run2.results);
      // A proof that was not written is no proof, and a .CHECKSUM not copied (a failed copy, a run that ended before
      // it) is put by the proof step: either way the proof step takes that file, as it does a file with no proof.
      for (const c of file2.commands) if (out2.byCommand.get(c.id)?.status !== 'ok') proven.delete(c.index);
      for (const i of file2.rejected) proven.delete(i);
    }

    const fallbackError = new Map<number, string>([
      ...commandsFile.rejected.map((i): [number, string] => [i, 's5cmd cannot copy this key server-side']),
      ...large.failed,
      ...[...heldBack].map((i): [number, string] => [i, `${unguarded}: replaced through the traditional path instead`]),
    ]);
    for (const [i, r] of zip) if (r.status === 'failed') fallbackError.set(i, r.error);
    const appeared = [...zip]
      .filter(([, r]) => r.status === 'exists')
      .map(([i]) => i)
      .concat(large.appeared);
    const entries: DirectEntry[] = [
      ...toCopy.map((i): DirectEntry => {
        const p = proven.get(i);
        if (p)
          return { i, outcome: 'proven', proof: p.proof, method: p.method, sha256: p.sha256, error: null, attempt };
        if (fallbackError.has(i)) return { i, outcome: 'fallback', error: fallbackError.get(i)!, attempt };
        if (appeared.includes(i)) return { i, outcome: 'appeared', error: null, attempt };
        const z = zip.get(i);
        // The ETag this run's copy got: the proof step takes the store's SHA-256 only for exactly these bytes.
        const etag = z?.status === 'ok' ? z.object.etag : undefined;
        return { i, outcome: 'copied', error: null, attempt, ...(etag ? { etag } : {}) };
      }),
      ...verifyOnly.map((i) => ({ i, outcome: 'verify_only' as const, error: null, attempt })),
    ];
    await store.putResults(ref.batch, 'direct', entries);
    const provenEntries = entries.filter((e) => e.outcome === 'proven');
    countFiles(
      'direct_sync',
      provenEntries.map(() => ({ outcome: 'copied' })),
      provenEntries.reduce((n, e) => n + files[e.i].size, 0),
    );
    const toProve = entries
      .filter((e) => e.outcome === 'copied' || e.outcome === 'appeared' || e.outcome === 'verify_only')
      .map((e) => e.i);
    const fallback = entries.filter((e) => e.outcome === 'fallback').map((e) => e.i);
    countFallbacks(fallback.length);
    log.info('s5cmd batch done', {
      batch: ref.batch,
      proven: provenEntries.length,
      toProve: toProve.length,
      appeared: appeared.length,
      fallback: fallback.length,
      lines: commandsFile.commands.length,
    });
    return {
      copied: toProve,
      appeared,
      fallback,
      bytes: toCopy
        .filter((i) => zip.get(i)?.status === 'ok' || large.copied.includes(i))
        .reduce((n, i) => n + files[i].size, 0),
      // The worker's own requests (the .CHECKSUM reads) are counted where they are sent (activities/s3.ts).
      s3Requests: commandsFile.commands.length + second.length,
      s5cmdLines: commandsFile.commands.length + second.length,
    };
  } finally {
    reading.abort();
    startReads(); // a batch that ends before its copies started: the reads see the abort and read nothing
    await sidecarReads.catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * The `.CHECKSUM` text of each file, read from the source only where it is still the one planned (its ETag): a
 * sidecar changed since the plan, missing or unreadable earns no proof here, and the proof step takes that file.
 */
export async function readSidecars(
  deps: DirectDeps,
  files: PlanFile[],
  positions: number[],
  signal: AbortSignal,
): Promise<Map<number, string>> {
  const texts = new Map<number, string>();
  // No more in flight than copies: enough to keep ahead of them, and no more memory than that needs.
  const inFlight = Math.min(deps.config.bookkeepingConcurrency, deps.config.s5cmd.numWorkers);
  await mapPool(positions, inFlight, async (i) => {
    if (signal.aborted) return;
    const read = await deps.source.readIfExists(checksumKey(files[i].key), signal).catch(() => undefined);
    if (read && !unboundEtag(read.etag) && normalizeEtag(read.etag) === normalizeEtag(files[i].checksumEtag ?? ''))
      texts.set(i, read.bytes.toString('utf8'));
  });
  return texts;
}

/**
 * The proof a copy earns from what the store said about it: at the checksum level its SHA-256 must
 * match the `.CHECKSUM` read beside the copies; at weaker levels its size, or nothing. Undefined
 * when it earns none here (no checksum, no sidecar, a mismatch): the proof step takes it from there.
 */
function proofFromStore(
  ref: BatchRef,
  file: PlanFile,
  written: WrittenObject,
  sidecar: string | undefined,
): { record: ProofRecord } | undefined {
  const base = {
    key: file.key,
    source: { etag: file.etag, size: file.size },
    collectionId: ref.state.collectionId,
    recordedAt: new Date().toISOString(),
    // A store that returns the checksum with the copy is not asked again, so the size is the planned one.
    destination: {
      key: destinationKey(ref.state.destinationPrefix, file.key),
      etag: written.etag!,
      size: written.size ?? file.size,
    },
  };
  const sha256 = written.checksumSha256 && !written.checksumSha256.includes('-') ? hex(written.checksumSha256) : null;
  const earned = proofEarnedBy(ref.verification);
  if (earned === 'none')
    return {
      record: {
        ...base,
        level: 'none',
        sha256,
        checksum: { sha256: null, etag: file.checksumEtag },
        method: 'unchecked',
      },
    };
  if (earned === 'size') {
    if (written.size !== file.size) return undefined;
    return {
      record: { ...base, level: 'size', sha256, checksum: { sha256: null, etag: file.checksumEtag }, method: 'sized' },
    };
  }
  if (!sha256 || sidecar === undefined) return undefined;
  const reading = readChecksumFile(sidecar, fileNameOf(file.key));
  if (!reading.ok || reading.sha256 !== sha256) return undefined;
  return {
    record: {
      ...base,
      level: 'sha256',
      sha256,
      checksum: { sha256: reading.sha256, etag: file.checksumEtag },
      method: 'store-sha256',
    },
  };
}

/** Server-side copies in parts for files above DIRECT_COPY_MAX_BYTES (s5cmd copies at most 5 GiB in one CopyObject). */
async function copyLarge(deps: DirectDeps, ref: BatchRef, files: PlanFile[], positions: number[]) {
  const copied: number[] = [];
  const appeared: number[] = [];
  const failed = new Map<number, string>();
  if (!positions.length) return { copied, appeared, failed };
  let bytes = 0;
  const beat = heartbeatWhileProgressing(() => ({ copiedInParts: copied.length, bytes }), ref.stallMs);
  const dest = deps.destinationFor(beat.signal);
  // Parts of half the threshold (5 MiB to 512 MiB): the path is the same whether the threshold is 5 GiB or a test's few MiB.
  const partBytes = Math.min(COPY_PART_BYTES, Math.max(MIN_PART_BYTES, Math.ceil(deps.config.s5cmd.maxCopyBytes / 2)));
  try {
    for (const i of positions) {
      const file = files[i];
      const replace = file.action === 'replace';
      const to = replace ? incomingKey(ref.state.statePrefix, file.key) : dest.finalKey(file.key);
      try {
        // Like cp -n: a new file never goes over an object that appeared since the plan.
        if (!replace && (await dest.head(to))) {
          appeared.push(i);
          continue;
        }
        beat.allowQuiet(Math.ceil((partBytes / MIN_COPY_BYTES_PER_SECOND) * 1000));
        let last = 0;
        await dest.serverCopyFrom(deps.sourceBucket, file.key, to, file.etag, file.size, {
          partBytes,
          onPart: (n) => {
            bytes += n - last;
            last = n;
          },
        });
        copied.push(i);
      } catch (err) {
        if (beat.signal.aborted) throw beat.signal.reason;
        failed.set(i, `multipart server-side copy failed: ${(err as Error).message}`);
      }
    }
  } finally {
    beat.stop();
  }
  return { copied, appeared, failed };
}
