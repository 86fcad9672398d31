/**
 * The traditional path, one activity per step so each shows in the Web UI with its own retry
 * policy: download (hashing as it goes) → verify against `.CHECKSUM` → upload → clean up. All four
 * run on one worker (the worker-specific task queue), because they share that worker's staging folder.
 * Verified bytes go to the final key (replacing any copy only because they are verified); bytes that
 * fail go to the quarantine with their evidence. Staging is reserved per file, in bytes: what does
 * not fit now is handed back as `deferred` for the next round.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Context, log } from '@temporalio/activity';
import pLimit from 'p-limit';
import type { WorkerConfig } from '../worker/config';
import { checksumKey, proofFolder } from '../workflows/keys';
import type { DownloadResult, FileOutcome, ProofLevel, StagedBatch, TraditionalResult } from '../workflows/types';
import { fileNameOf, readChecksumFile } from './checksum-file';
import { type Destination, type QuarantineEvidence } from './destination';
import { classifyS3Error, FileTooLargeError, InvalidInputError, S5cmdBatchError, StagingFullError } from './errors';
import { heartbeatWhileProgressing, type Beat } from './heartbeat';
import { countFiles } from './metrics';
import type { PlanAction, PlanFile } from './plan';
import { loadBatch, positionsOf } from './direct-sync';
import { mapPool } from './pool';
import { normalizeEtag, proofEarnedBy, proofFileName, proofNameOf, type EarnedLevel, type ProofRecord } from './proof';
import { buildCommandsFile, matchOutcomes, s3Url, type CopyRequest } from './s5cmd-commands';
import { runS5cmdFile } from './s5cmd-run';
import { NotFoundError, type SourceReader } from './source-reader';
import type { StagingArea } from './staging';
import type { StateStore } from './state-store';

interface StagedFile {
  /** The archive key these bytes were downloaded for. */
  key: string;
  size: number;
  /** The proof the check earned (verifyStaged): an upload records exactly this level, never another. */
  verifiedAs?: EarnedLevel;
  sha256?: string;
  /** The ETag an s5cmd upload of these bytes gets where ETags are MD5s: a proof can travel with the upload. */
  predictedEtag?: string;
  /** ETag of the source version downloaded. */
  sourceEtag?: string;
  sidecarEtag?: string | null;
  hasChecksum: boolean;
  /** Set by verification: the file passed the run's check, or failed it (outcome then says how). */
  passed?: boolean;
  expectedSha256?: string | null;
  /** Final when set before upload: not_found, failed (too large), or the failed check. */
  outcome?: FileOutcome;
  error?: string;
  attempts: number;
}
type StagedState = Record<number, StagedFile>;

export interface TraditionalDeps {
  config: WorkerConfig;
  sourceBucket: string;
  destinationFor: (signal?: AbortSignal) => Destination;
  source: SourceReader;
  store: StateStore;
  staging: StagingArea;
  concurrency: number;
  multipartThresholdBytes: number;
  /** Whether the store refuses a PUT whose SHA-256 header does not match its body (StoreFacts, found by trying). */
  checksPutChecksum: () => Promise<boolean>;
}

// Per worker process, across all activities: a multipart upload buffers 2 parts of 8 MiB (Destination.putZip).
const multipartSlots = pLimit(4);

const statePath = (deps: TraditionalDeps, id: string) => path.join(deps.staging.dir(id), 'state.json');
const ownerPath = (deps: TraditionalDeps, id: string) => path.join(deps.staging.dir(id), 'owner.json');

/** Which collection, bucket and batch a staging folder holds files for: its steps never mix batches or levels. */
function ownerOf(ref: StagedBatch): string {
  const { collectionId, bucket, destinationPrefix, statePrefix } = ref.state;
  return JSON.stringify({ collectionId, bucket, destinationPrefix, statePrefix, batch: ref.batch });
}

/**
 * The staging folder is this batch's: the download claims it, verify and upload find the same claim.
 * Anyone can schedule these steps with any staging id: another batch's (or collection's) files are refused.
 */
async function claimStaging(deps: TraditionalDeps, ref: StagedBatch, claim: boolean): Promise<void> {
  const owner = ownerOf(ref);
  const existing = await readFile(ownerPath(deps, ref.stagingId), 'utf8').catch(() => undefined);
  if (existing === owner) return;
  if (existing === undefined && claim) {
    await mkdir(deps.staging.dir(ref.stagingId), { recursive: true });
    await writeFile(ownerPath(deps, ref.stagingId), owner);
    return;
  }
  throw new InvalidInputError(
    existing === undefined
      ? `stagingId ${ref.stagingId}: nothing was downloaded for this batch here (downloadBatch runs first, on this worker)`
      : `stagingId ${ref.stagingId} holds files of another batch or collection; each batch stages in its own folder`,
  );
}

async function readState(deps: TraditionalDeps, id: string): Promise<StagedState> {
  try {
    return JSON.parse(await readFile(statePath(deps, id), 'utf8'));
  } catch {
    return {};
  }
}

async function writeState(deps: TraditionalDeps, id: string, state: StagedState): Promise<void> {
  const p = statePath(deps, id);
  await mkdir(path.dirname(p), { recursive: true });
  await writeFile(`${p}.tmp`, JSON.stringify(state));
  await rename(`${p}.tmp`, p);
}

function isDiskFull(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOSPC' || (err as NodeJS.ErrnoException)?.code === 'EDQUOT';
}

/** The files this round works on: the explicit positions, or every file of the batch the traditional path copies. */
function positionsFor(ref: StagedBatch, files: PlanFile[]): number[] {
  return ref.only ? positionsOf(ref, files) : positionsOf({}, files).filter((i) => files[i].action !== 'verify_only');
}

/**
 * Downloads what fits in staging (through s5cmd when it runs, else the SDK) and hashes it. What does
 * not fit now comes back as `deferred`.
 */
export async function downloadBatch(deps: TraditionalDeps, ref: StagedBatch): Promise<DownloadResult> {
  const attempt = Context.current().info.attempt;
  await claimStaging(deps, ref, true);
  const files = await loadBatch(deps.store, ref.batch);
  const positions = positionsFor(ref, files);
  const state = await readState(deps, ref.stagingId);
  let bytes = 0;
  let done = 0;
  const beat = heartbeatWhileProgressing(() => ({ downloaded: done, of: positions.length, bytes }), ref.stallMs);
  const deferred: number[] = [];
  try {
    // Nothing fits because other batches hold the space: wait for them (heartbeating) before giving up.
    const fitsNow = () =>
      positions.some(
        (i) =>
          state[i] || files[i].size > deps.staging.maxBytes || deps.staging.tryReserve(ref.stagingId, i, files[i].size),
      );
    while (!fitsNow()) {
      if (beat.signal.aborted) {
        if (Context.current().cancellationSignal.aborted) throw beat.signal.reason;
        throw new StagingFullError(
          `staging folder ${deps.staging.root} has no room for any file of this batch (${deps.staging.usedBytes} of STAGING_MAX_BYTES=${deps.staging.maxBytes} bytes in use): ` +
            'other batches hold it; lower parallelBatches, or raise STAGING_MAX_BYTES',
        );
      }
      await sleep(500);
    }
    const take: number[] = [];
    for (const i of positions) {
      const prior = state[i];
      if (prior && prior.key !== files[i].key)
        throw new InvalidInputError(
          `staged file ${i} is not ${files[i].key}: the batch's plan changed; start the batch over`,
        );
      if (prior?.outcome || prior?.sha256) {
        done++;
        continue;
      } // finished by an earlier attempt
      const entry: StagedFile = { key: files[i].key, size: files[i].size, hasChecksum: false, attempts: attempt };
      try {
        if (!deps.staging.tryReserve(ref.stagingId, i, files[i].size)) {
          deferred.push(i);
          continue;
        }
      } catch (err) {
        if (!(err instanceof FileTooLargeError)) throw err;
        state[i] = { ...entry, outcome: 'failed', error: `${files[i].key}: ${err.message}` };
        done++;
        continue;
      }
      state[i] = entry;
      take.push(i);
    }
    const progress = {
      file: () => {
        done++;
      },
      bytes: (n: number) => {
        bytes += n;
      },
    };
    if (ref.transfersBy === 's5cmd') await downloadWithS5cmd(deps, ref, files, take, state, progress, beat);
    else
      await mapPool(
        take,
        deps.concurrency,
        (i) => downloadWithSdk(deps, ref, files[i], i, state[i], progress, beat.signal),
        beat.signal,
      );
  } finally {
    beat.stop();
    await writeState(deps, ref.stagingId, state);
  }
  return {
    downloaded: positions.filter((i) => state[i] && !state[i].outcome),
    deferred: deferred.sort((a, b) => a - b),
    bytes,
    peakStagingBytes: deps.staging.peak,
    s3Requests: 0,
  };
}

interface Progress {
  file(): void;
  bytes(n: number): void;
}

/** One file through the SDK (or plain HTTP), hashed while it is written; its `.CHECKSUM` fetched at the same time. */
async function downloadWithSdk(
  deps: TraditionalDeps,
  ref: StagedBatch,
  file: PlanFile,
  i: number,
  entry: StagedFile,
  progress: Progress,
  signal: AbortSignal,
): Promise<void> {
  const zipPath = deps.staging.file(ref.stagingId, i, 'zip');
  const partPath = deps.staging.file(ref.stagingId, i, 'zip.part');
  const sidecar = file.checksumEtag
    ? deps.source.readIfExists(checksumKey(file.key), signal)
    : Promise.resolve(undefined);
  sidecar.catch(() => undefined);
  try {
    const hash = createHash('sha256');
    const src = await deps.source.open(file.key, signal);
    entry.sourceEtag = src.etag;
    await pipeline(
      src.body,
      new Transform({
        transform(chunk, _enc, cb) {
          hash.update(chunk);
          progress.bytes(chunk.length);
          cb(null, chunk);
        },
      }),
      createWriteStream(partPath),
      { signal },
    );
    await rename(partPath, zipPath);
    entry.size = (await stat(zipPath)).size;
    entry.sha256 = hash.digest('hex');
  } catch (err) {
    await rm(partPath, { force: true });
    if (err instanceof NotFoundError) {
      entry.outcome = 'not_found';
      entry.error = `listed but not downloadable: ${err.message}`;
      progress.file();
      return;
    }
    if (signal.aborted) throw signal.reason;
    if (isDiskFull(err))
      throw new StagingFullError(
        `staging disk full while downloading ${file.key}: ${(err as Error).message}. Free space under STAGING_DIR or lower parallelBatches.`,
      );
    throw err;
  }
  const got = await sidecar;
  if (got) {
    await writeFile(deps.staging.file(ref.stagingId, i, 'CHECKSUM'), got.bytes);
    entry.hasChecksum = true;
    entry.sidecarEtag = got.etag;
  }
  progress.file();
}

/** s5cmd's multipart uploads use parts of this size (its default, set explicitly): the ETag of an upload is predictable from it. */
export const S5CMD_PART_MIB = 50;

/**
 * The batch's zips and `.CHECKSUM`s in one s5cmd run from the source (its endpoint and credentials,
 * or none), then each zip hashed from disk: SHA-256 for the check, MD5s for the ETag its upload will get.
 */
async function downloadWithS5cmd(
  deps: TraditionalDeps,
  ref: StagedBatch,
  files: PlanFile[],
  take: number[],
  state: StagedState,
  progress: Progress,
  caller: Beat,
): Promise<void> {
  if (!take.length) return;
  const zipPath = (i: number) => deps.staging.file(ref.stagingId, i, 'zip');
  const sidecarPath = (i: number) => deps.staging.file(ref.stagingId, i, 'CHECKSUM');
  const run = buildCommandsFile(
    take.flatMap((i): CopyRequest[] => [
      { index: i, tag: 'zip', from: s3Url(deps.sourceBucket, files[i].key), to: zipPath(i) },
      ...(files[i].checksumEtag
        ? [{ index: i, tag: 'sidecar', from: s3Url(deps.sourceBucket, checksumKey(files[i].key)), to: sidecarPath(i) }]
        : []),
    ]),
  );
  const largest = Math.max(...take.map((i) => files[i].size));
  const result = await runS5cmdFile(
    deps.config,
    run.text,
    (r) => {
      if (r.kind === 'ok') progress.bytes(1);
    },
    {
      runDir: deps.staging.runDir,
      stallMs: ref.stallMs + Math.ceil((largest / MIN_TRANSFER_BYTES_PER_SECOND) * 1000),
      side: 'source',
      caller,
    },
  );
  if (result.signal || (result.exitCode !== 0 && result.exitCode !== 1)) {
    throw new S5cmdBatchError(
      `s5cmd download ended abnormally (exit ${result.exitCode ?? '-'}, signal ${result.signal ?? '-'}): ${result.stderr.slice(0, 500)}`,
    );
  }
  const outcomes = matchOutcomes(run.commands, result.results);
  const failures: string[] = [];
  await mapPool(
    run.commands.filter((c) => c.tag === 'zip'),
    8,
    async (c) => {
      const i = c.index;
      const entry = state[i];
      const got = outcomes.byCommand.get(c.id)!;
      if (got.status !== 'ok') {
        const error = got.status === 'failed' ? got.error : 'not written';
        if (/NoSuchKey|404|not exist/i.test(error)) {
          entry.outcome = 'not_found';
          entry.error = `listed but not downloadable: ${error}`;
          progress.file();
        } else {
          failures.push(`${files[i].key}: ${error}`);
        }
        return;
      }
      const hashed = await hashStaged(zipPath(i), S5CMD_PART_MIB * 1024 * 1024);
      Object.assign(entry, hashed);
      const sidecarCommand = run.commands.find((x) => x.tag === 'sidecar' && x.index === i);
      if (sidecarCommand && outcomes.byCommand.get(sidecarCommand.id)?.status === 'ok') {
        entry.hasChecksum = true;
        entry.sidecarEtag = files[i].checksumEtag;
      }
      entry.sourceEtag = files[i].etag;
      progress.bytes(entry.size);
      progress.file();
    },
  );
  for (const i of run.rejected) {
    state[i].outcome = 'failed';
    state[i].error = 'the key cannot be written to an s5cmd run file';
  }
  // What failed for another reason than a missing key is retried with the activity (what was downloaded is kept).
  if (failures.length)
    throw new S5cmdBatchError(`s5cmd could not download ${failures.length} files, e.g. ${failures[0]}`);
}

/** SHA-256 of a staged file, and the ETag an upload in parts of `partBytes` would get (the MD5, or the MD5 of the parts' MD5s). */
async function hashStaged(
  file: string,
  partBytes: number,
): Promise<{ sha256: string; size: number; predictedEtag: string }> {
  const sha = createHash('sha256');
  const parts: Buffer[] = [];
  let part = createHash('md5');
  let inPart = 0;
  let size = 0;
  // One buffer read into again and again: hashing a batch leaves no garbage behind for the GC to catch up with.
  const buffer = Buffer.allocUnsafe(256 * 1024);
  const fh = await open(file, 'r');
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      sha.update(chunk);
      size += bytesRead;
      for (let at = 0; at < bytesRead;) {
        const take = Math.min(bytesRead - at, partBytes - inPart);
        part.update(chunk.subarray(at, at + take));
        inPart += take;
        at += take;
        if (inPart === partBytes) {
          parts.push(part.digest());
          part = createHash('md5');
          inPart = 0;
        }
      }
    }
  } finally {
    await fh.close();
  }
  if (inPart > 0 || parts.length === 0) parts.push(part.digest());
  const predictedEtag =
    size <= partBytes
      ? `"${parts[0].toString('hex')}"`
      : `"${createHash('md5').update(Buffer.concat(parts)).digest('hex')}-${parts.length}"`;
  return { sha256: sha.digest('hex'), size, predictedEtag };
}

const MIN_TRANSFER_BYTES_PER_SECOND = 4 * 1024 * 1024;

/** The level a file is checked at: replacing a verified copy always takes SHA-256 proof. */
function levelOf(ref: StagedBatch, file: PlanFile): StagedBatch['verification'] {
  return file.kept ? 'checksum' : ref.verification;
}

/** Checks each staged zip (hashed while it was written) against its `.CHECKSUM`, or its size. */
export async function verifyStaged(deps: TraditionalDeps, ref: StagedBatch): Promise<void> {
  await claimStaging(deps, ref, false);
  const files = await loadBatch(deps.store, ref.batch);
  const state = await readState(deps, ref.stagingId);
  for (const [key, entry] of Object.entries(state)) {
    const i = Number(key);
    if (entry.outcome || entry.passed !== undefined || !entry.sha256) continue;
    const file = files[i];
    if (file?.key !== entry.key) throw new InvalidInputError(`staged file ${i} is not in this batch's plan`);
    const earned = proofEarnedBy(levelOf(ref, file));
    let problem: string | undefined;
    let outcome: FileOutcome = 'checksum_mismatch';
    if (earned === 'sha256') {
      const reading = entry.hasChecksum
        ? readChecksumFile(
            await readFile(deps.staging.file(ref.stagingId, i, 'CHECKSUM'), 'utf8'),
            fileNameOf(file.key),
          )
        : ({ ok: false, problem: 'the source has no .CHECKSUM for this file' } as const);
      entry.expectedSha256 = reading.ok ? reading.sha256 : null;
      if (!reading.ok) {
        problem = reading.problem;
        outcome = 'missing_checksum';
      } else if (reading.sha256 !== entry.sha256) {
        problem = `SHA-256 ${entry.sha256} does not match .CHECKSUM ${reading.sha256}`;
        if (file.kept?.sidecarUnchanged) outcome = 'stale_checksum';
      }
    } else if (earned === 'size' && entry.size !== file.size) {
      problem = `size ${entry.size} differs from the listed ${file.size}`;
      outcome = 'failed';
    }
    entry.passed = !problem;
    if (!problem) entry.verifiedAs = earned;
    if (problem) {
      entry.outcome = outcome;
      entry.error = problem;
    }
  }
  await writeState(deps, ref.stagingId, state);
}

export interface TraditionalEntry {
  i: number;
  outcome: FileOutcome;
  proof: ProofLevel | null;
  method?: string;
  sha256: string | null;
  error: string | null;
  attempt: number;
  evidence?: Record<string, unknown>;
}

/** How the traditional path earns each proof: hashed while downloading, sized, or not checked. */
const METHOD_OF_UPLOAD: Record<Exclude<ProofLevel, 'accepted'>, ProofRecord['method']> = {
  sha256: 'downloaded',
  size: 'sized',
  none: 'unchecked',
};

const QUARANTINABLE: FileOutcome[] = ['checksum_mismatch', 'stale_checksum', 'missing_checksum', 'failed'];

/** Uploads what passed to the final key (with its `.CHECKSUM` and proof), and what failed to the quarantine. */
export async function uploadStaged(deps: TraditionalDeps, ref: StagedBatch): Promise<TraditionalResult> {
  const attempt = Context.current().info.attempt;
  await claimStaging(deps, ref, false);
  const files = await loadBatch(deps.store, ref.batch);
  const state = await readState(deps, ref.stagingId);
  const positions = Object.keys(state)
    .map(Number)
    .sort((a, b) => a - b);
  // Uploads record the proof the check earned, for the file it was earned for: nothing else.
  for (const i of positions) {
    const entry = state[i];
    if (files[i]?.key !== entry.key) throw new InvalidInputError(`staged file ${i} is not in this batch's plan`);
    if (entry.passed !== true) continue;
    const proof = proofEarnedBy(levelOf(ref, files[i]));
    if (entry.verifiedAs !== proof)
      throw new InvalidInputError(
        `verification: ${files[i].key} was checked for a ${entry.verifiedAs ?? 'no'} proof, not ${proof}; verify and upload a batch at one level`,
      );
    if (proof === 'sha256' && (!entry.expectedSha256 || entry.expectedSha256 !== entry.sha256))
      throw new InvalidInputError(`${files[i].key}: its SHA-256 was not matched with its .CHECKSUM; not uploaded`);
  }
  let bytesUploaded = 0;
  let bytesSent = 0;
  let done = 0;
  const beat = heartbeatWhileProgressing(() => ({ uploaded: done, of: positions.length, bytesSent }), ref.stallMs);
  const sent = (n: number) => {
    bytesSent += n;
  };
  const dest = deps.destinationFor(beat.signal);
  try {
    const uploadOne = async (i: number): Promise<TraditionalEntry> => {
      const entry = state[i];
      const file = files[i];
      const attempts = Math.max(entry.attempts, attempt);
      const zipPath = deps.staging.file(ref.stagingId, i, 'zip');
      const base = { i, sha256: entry.sha256 ?? null, attempt: attempts };
      try {
        if (entry.outcome && !(QUARANTINABLE.includes(entry.outcome) && entry.sha256 && entry.passed === false)) {
          done++;
          return { ...base, outcome: entry.outcome, proof: null, error: entry.error ?? null };
        }
        const source = { etag: entry.sourceEtag || file.etag, size: entry.size };
        if (entry.passed === false) {
          const evidence: QuarantineEvidence = {
            outcome: entry.outcome as QuarantineEvidence['outcome'],
            reason: entry.error ?? 'failed verification',
            expectedSha256: entry.expectedSha256 ?? null,
            actualSha256: entry.sha256 ?? null,
            source,
            sidecarEtag: entry.sidecarEtag ?? null,
            kept: file.kept ? { etag: file.kept.etag, size: file.kept.size } : null,
            collectionId: ref.state.collectionId,
            at: new Date().toISOString(),
          };
          const q = await dest.quarantineBody(file.key, createReadStream(zipPath), evidence, sent);
          done++;
          const keptNote = file.kept
            ? `; the verified copy (ETag ${file.kept.etag}, ${file.kept.size} bytes) is kept`
            : '';
          return {
            ...base,
            outcome: entry.outcome!,
            proof: file.kept?.level ?? null,
            error: `${entry.error}; put aside at ${q}${keptNote}`,
            evidence: { ...evidence, quarantineKey: q },
          };
        }
        if (entry.passed !== true) {
          done++;
          return {
            ...base,
            outcome: 'failed',
            proof: null,
            error: 'not verified before upload (verifyStaged did not run for this file); not uploaded',
          };
        }
        const proof = proofEarnedBy(levelOf(ref, file));
        const action: PlanAction = ref.only && file.action === 'verify_only' ? 'replace' : file.action;
        const written = await upload(deps, dest, file, entry, zipPath, proof === 'sha256' ? undefined : action, sent);
        if ('refused' in written) {
          done++;
          return { ...base, outcome: 'failed', proof: null, error: written.refused };
        }
        const { etag } = written;
        bytesUploaded += entry.size;
        const sentAs = written.md5Etag ?? entry.predictedEtag;
        const unbound = proof === 'sha256' ? await uploadUnchecked(deps, dest, entry, etag, sentAs) : undefined;
        if (unbound) {
          done++;
          return { ...base, outcome: 'failed', proof: null, error: unbound };
        }
        const sidecarBytes = entry.hasChecksum
          ? await readFile(deps.staging.file(ref.stagingId, i, 'CHECKSUM'))
          : undefined;
        if (sidecarBytes) await dest.putSidecar(file.key, sidecarBytes);
        const method = METHOD_OF_UPLOAD[proof];
        await dest.recordProof({
          key: file.key,
          level: proof,
          sha256: entry.sha256 ?? null,
          method,
          checksum: { sha256: entry.expectedSha256 ?? null, etag: entry.sidecarEtag ?? null },
          destination: { key: dest.finalKey(file.key), etag, size: entry.size },
          source,
          collectionId: ref.state.collectionId,
          recordedAt: new Date().toISOString(),
        });
        done++;
        return { ...base, outcome: file.kept ? 'replaced' : 'copied', proof, error: null, method };
      } catch (err) {
        if (beat.signal.aborted) throw beat.signal.reason;
        throw classifyS3Error(err, `uploading s3://${dest.bucket}/${dest.finalKey(file.key)}`);
      }
    };
    // Verified files downloaded by s5cmd go back up through s5cmd, their proofs with them; the rest through the SDK.
    const bys5cmd = positions.filter(
      (i) =>
        ref.transfersBy === 's5cmd' &&
        state[i].passed === true &&
        state[i].predictedEtag &&
        proofEarnedBy(levelOf(ref, files[i])) === 'sha256',
    );
    const s5cmdEntries = await uploadWithS5cmd(
      deps,
      ref,
      files,
      bys5cmd,
      state,
      dest,
      attempt,
      (n) => {
        bytesUploaded += n;
        done++;
      },
      () => sent(1),
      beat,
    );
    const rest = positions.filter((i) => !bys5cmd.includes(i));
    // Memory stays bounded: small files stream; multipart uploads take one of the worker's few slots.
    const isLarge = (i: number) => (state[i]?.size ?? 0) > deps.multipartThresholdBytes;
    const [smallEntries, largeEntries] = await Promise.all([
      mapPool(
        rest.filter((i) => !isLarge(i)),
        deps.concurrency,
        uploadOne,
        beat.signal,
      ),
      mapPool(rest.filter(isLarge), deps.concurrency, (i) => multipartSlots(() => uploadOne(i)), beat.signal),
    ]);
    const entries = [...s5cmdEntries, ...smallEntries, ...largeEntries];
    // Rounds of one batch run one after another: add this round's results to the earlier ones.
    const earlier = (await deps.store.results<TraditionalEntry>(ref.batch, 'traditional')) ?? [];
    const merged = new Map([...earlier, ...entries].map((e) => [e.i, e]));
    await deps.store.putResults(
      ref.batch,
      'traditional',
      [...merged.values()].sort((a, b) => a.i - b.i),
    );
    countFiles('traditional', entries, bytesUploaded);
    for (const e of entries.filter((x) => !x.proof))
      log.warn('file not copied', { key: files[e.i].key, outcome: e.outcome, error: e.error });
    return { bytesUploaded, s3Requests: 0 };
  } finally {
    beat.stop();
  }
}

/**
 * Verified zips, their `.CHECKSUM`s and their proofs in one s5cmd run to the destination. The proof
 * names the ETag the upload gets where ETags are MD5s (predicted while hashing); it is a statement
 * about the bytes with that ETag, already verified, so it may travel with them. Where the upload's
 * ETag differs (SSE-KMS, or bytes changed on the way), the upload is read back and hashed, and its
 * proof recorded under the real ETag, or the file fails.
 */
async function uploadWithS5cmd(
  deps: TraditionalDeps,
  ref: StagedBatch,
  files: PlanFile[],
  positions: number[],
  state: StagedState,
  dest: Destination,
  attempt: number,
  uploaded: (bytes: number) => void,
  tick: () => void,
  caller: Beat,
): Promise<TraditionalEntry[]> {
  if (!positions.length) return [];
  const work = path.join(deps.staging.dir(ref.stagingId), 'proofs');
  await mkdir(work, { recursive: true });
  const records = new Map<number, ProofRecord>();
  const requests: CopyRequest[] = [];
  for (const i of positions) {
    const entry = state[i];
    const file = files[i];
    const finalKey = dest.finalKey(file.key);
    const record: ProofRecord = {
      key: file.key,
      level: 'sha256',
      sha256: entry.sha256!,
      method: 'downloaded',
      checksum: { sha256: entry.expectedSha256 ?? null, etag: entry.sidecarEtag ?? null },
      destination: { key: finalKey, etag: entry.predictedEtag!, size: entry.size },
      source: { etag: entry.sourceEtag || file.etag, size: entry.size },
      collectionId: ref.state.collectionId,
      recordedAt: new Date().toISOString(),
    };
    records.set(i, record);
    await writeFile(path.join(work, `${i}.json`), JSON.stringify(record));
    requests.push({
      index: i,
      tag: 'zip',
      from: deps.staging.file(ref.stagingId, i, 'zip'),
      to: s3Url(dest.bucket, finalKey),
    });
    if (entry.hasChecksum)
      requests.push({
        index: i,
        tag: 'sidecar',
        from: deps.staging.file(ref.stagingId, i, 'CHECKSUM'),
        to: s3Url(dest.bucket, checksumKey(finalKey)),
      });
    requests.push({
      index: i,
      tag: 'proof',
      from: path.join(work, `${i}.json`),
      to: s3Url(dest.bucket, `${proofFolder(dest.prefix, file.key)}/${proofFileName(proofNameOf(record))}`),
    });
  }
  const run = buildCommandsFile(requests);
  const largest = Math.max(...positions.map((i) => state[i].size));
  // Each object s5cmd reports is progress for the activity's own stall watch too.
  const result = await runS5cmdFile(
    deps.config,
    run.text,
    (r) => {
      if (r.kind === 'ok') tick();
    },
    {
      runDir: deps.staging.runDir,
      stallMs: ref.stallMs + Math.ceil((largest / MIN_TRANSFER_BYTES_PER_SECOND) * 1000),
      side: 'destination',
      caller,
    },
  );
  if (result.signal || (result.exitCode !== 0 && result.exitCode !== 1)) {
    throw new S5cmdBatchError(
      `s5cmd upload ended abnormally (exit ${result.exitCode ?? '-'}, signal ${result.signal ?? '-'}): ${result.stderr.slice(0, 500)}`,
    );
  }
  const outcomes = matchOutcomes(run.commands, result.results);
  const status = (i: number, tag: string) => {
    const c = run.commands.find((x) => x.index === i && x.tag === tag);
    return c ? outcomes.byCommand.get(c.id) : undefined;
  };
  const failures: string[] = [];
  const entries = await mapPool(positions, 8, async (i): Promise<TraditionalEntry> => {
    const entry = state[i];
    const base = { i, sha256: entry.sha256 ?? null, attempt: Math.max(entry.attempts, attempt) };
    const zip = status(i, 'zip');
    if (zip?.status !== 'ok') {
      failures.push(`${files[i].key}: ${zip?.status === 'failed' ? zip.error : 'not uploaded'}`);
      return { ...base, outcome: 'failed', proof: null, error: 'not uploaded' };
    }
    uploaded(entry.size);
    const done = {
      ...base,
      outcome: files[i].kept ? ('replaced' as const) : ('copied' as const),
      proof: 'sha256' as const,
      error: null,
      method: 'downloaded',
    };
    if (zip.object.etag === entry.predictedEtag && status(i, 'proof')?.status === 'ok') return done;
    // The destination gave another ETag (SSE-KMS, data-integrity ETags, …) or the proof did not go up: the proof
    // named after the predicted ETag binds nothing there, so it goes; the upload is read back and proven where it is.
    const predicted = records.get(i)!;
    await dest.removeProof(predicted);
    const back = await dest.readAndHash(dest.finalKey(files[i].key));
    if (!back || back.sha256 !== entry.sha256) {
      return {
        ...base,
        outcome: 'failed',
        proof: null,
        error: `the uploaded bytes read back as SHA-256 ${back?.sha256 ?? '(gone)'}, not the verified ${entry.sha256}; the next run copies it again`,
      };
    }
    const record = records.get(i)!;
    await dest.recordProof({ ...record, destination: { ...record.destination, etag: back.etag, size: back.size } });
    return done;
  });
  // Uploads that failed are retried with the activity (verified bytes may be uploaded twice: the same bytes).
  if (failures.length)
    throw new S5cmdBatchError(`s5cmd could not upload ${failures.length} files, e.g. ${failures[0]}`);
  return entries;
}

/**
 * Uploads bytes to the final key and returns the ETag the destination gave them. Verified bytes
 * (`unverified` undefined) may replace anything. Bytes checked less never go over a verified copy
 * (checked right before), and single-part uploads are conditional on what the plan saw: nothing
 * there (`copy`: If-None-Match) or the same unproven bytes (`replace`: If-Match).
 */
async function upload(
  deps: TraditionalDeps,
  dest: Destination,
  file: PlanFile,
  entry: StagedFile,
  zipPath: string,
  unverified: PlanAction | undefined,
  sent: (n: number) => void,
): Promise<{ etag: string; md5Etag?: string } | { refused: string }> {
  const Key = dest.finalKey(file.key);
  if (unverified) {
    const verified = await dest.protectingProofNow(file.key);
    if (verified)
      return {
        refused:
          'a verified copy is at this key now; it was not replaced by bytes checked less than by SHA-256 (the next run decides)',
      };
  }
  const condition =
    unverified === 'copy' ? { IfNoneMatch: '*' } : unverified && file.seen ? { IfMatch: file.seen.etag } : {};
  const multipart = entry.size > deps.multipartThresholdBytes;
  if (multipart && unverified) {
    // No condition travels with a multipart upload here: check what the key holds right before.
    const now = await dest.head(Key);
    if (unverified === 'copy' ? now : file.seen && now && now.etag !== file.seen.etag)
      return { refused: 'the key changed since the plan; it was not overwritten (the next run decides)' };
  }
  const put = await dest.putZip(
    Key,
    { path: zipPath, size: entry.size, sha256: entry.sha256 },
    { condition: multipart ? undefined : condition, multipartAbove: deps.multipartThresholdBytes, onBytes: sent },
  );
  if ('preconditionFailed' in put)
    return {
      refused:
        'the key changed since the plan (an object appeared or was replaced); it was not overwritten (the next run decides)',
    };
  return put;
}

/**
 * What stands between the bytes hashed here and the bytes the store now holds: the store checked the SHA-256 sent
 * with them, or its ETag is the MD5 of the bytes hashed, or else they are read back and hashed (a store that keeps
 * a writer's checksum unchecked and answers non-MD5 ETags). Returns why the upload proves nothing, if it does not.
 */
async function uploadUnchecked(
  deps: TraditionalDeps,
  dest: Destination,
  entry: StagedFile,
  etag: string,
  /** The MD5 ETag of the bytes sent, where known (single-part uploads). */
  sentAs: string | undefined,
): Promise<string | undefined> {
  if (sentAs && normalizeEtag(etag) === normalizeEtag(sentAs)) return undefined;
  if (await deps.checksPutChecksum()) return undefined;
  const back = await dest.readAndHash(dest.finalKey(entry.key));
  if (back && normalizeEtag(back.etag) === normalizeEtag(etag) && back.sha256 === entry.sha256) return undefined;
  return `the store neither checked the upload's SHA-256 nor answered an MD5 ETag, and the bytes read back ${back ? `hash to ${back.sha256}, not ${entry.sha256}` : 'were gone'}; no proof recorded (the next run replaces them)`;
}

/** Frees the batch's staging folder; another batch's folder (a wrong or hostile staging id) is left alone. */
export async function cleanupStaging(deps: TraditionalDeps, ref: StagedBatch, keep: boolean): Promise<void> {
  const owner = await readFile(ownerPath(deps, ref.stagingId), 'utf8').catch(() => undefined);
  if (owner !== undefined && owner !== ownerOf(ref)) return;
  if (!keep) await deps.staging.release(ref.stagingId);
}
