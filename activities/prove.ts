/**
 * After direct sync: prove each copy in the destination, without local disk, and record the proof.
 *  - checksum: stream the copy through SHA-256 and compare with the source `.CHECKSUM`;
 *  - size: compare the copy's size with the source's;  none: record the copy unchecked.
 * A copy that replaces a verified file sits beside it and is promoted only once its SHA-256 matched.
 * Bytes that fail are put aside in the quarantine with their evidence; a verified copy is never
 * removed. Safe to run twice: every step is decided from what the destination holds now.
 */
import { Context, log } from '@temporalio/activity';
import { checksumKey, incomingKey } from '../workflows/keys';
import type { BatchRef, FileOutcome, ProofLevel, VerifyResult } from '../workflows/types';
import { fileNameOf, readChecksumFile } from './checksum-file';
import { PROOF_LEVELS, normalizeEtag, proofEarnedBy, satisfies, type ProofRecord } from './proof';
import { type Destination, type QuarantineEvidence } from './destination';
import { classifyS3Error, InvalidInputError } from './errors';
import { heartbeatWhileProgressing, type Beat } from './heartbeat';
import { countFiles } from './metrics';
import type { PlanAction, PlanFile } from './plan';
import { loadBatch, positionsOf, type DirectEntry } from './direct-sync';
import { mapPool } from './pool';
import type { SourceReader } from './source-reader';
import type { StateStore } from './state-store';

export interface ProveEntry {
  i: number;
  outcome: FileOutcome;
  proof: ProofLevel | null;
  sha256: string | null;
  error: string | null;
  attempt: number;
  evidence?: Record<string, unknown>;
  /** The traditional path must replace these bytes (they are wrong and nothing proves them). */
  fallback?: boolean;
  method?: ProofRecord['method'];
}

export interface ProveDeps {
  destination: Destination;
  source: SourceReader;
  store: StateStore;
  concurrency: number;
  /** Whether this worker saw the store compute a copy's SHA-256 right (StoreFacts): the request's flag only asks. */
  storeChecksumHolds: (files: PlanFile[]) => Promise<boolean>;
  /** Why a promotion is not guarded on this store (StoreFacts.unguardedPromotion), or undefined when it is. */
  unguardedPromotion: () => Promise<string | undefined>;
}

const PRESENT: Record<PlanAction, FileOutcome> = {
  copy: 'copied',
  verify_only: 'verified_in_place',
  replace: 'copied',
};

export async function proveCopied(
  deps: Omit<ProveDeps, 'destination'> & { destinationFor: (signal: AbortSignal) => Destination },
  ref: BatchRef,
): Promise<VerifyResult> {
  const attempt = Context.current().info.attempt;
  const files = await loadBatch(deps.store, ref.batch);
  // The store's SHA-256 stands in for reading the bytes only for objects this run's own copy wrote (their ETag
  // as the copy reported it), and only where this worker saw the store compute it right.
  const copiedEtag = new Map<number, string>();
  if (ref.storeChecksum && (await deps.storeChecksumHolds(files))) {
    for (const e of (await deps.store.results<DirectEntry>(ref.batch, 'direct')) ?? [])
      if (e.outcome === 'copied' && e.etag) copiedEtag.set(e.i, e.etag);
  }
  const appeared = new Set(ref.appeared ?? []);
  // An audit proves in place whatever unproven bytes are at the key, also those the plan would replace.
  const actionOf = (i: number): PlanAction =>
    appeared.has(i) || (ref.audit && files[i].action === 'replace' && !files[i].kept) ? 'verify_only' : files[i].action;
  const positions = positionsOf(ref, files).filter((i) => !ref.actions || ref.actions.includes(actionOf(i)));
  let bytesRead = 0;
  let done = 0;
  const beat = heartbeatWhileProgressing(() => ({ proven: done, of: positions.length, bytesRead }), ref.stallMs);
  const dest = deps.destinationFor(beat.signal);
  try {
    const entries = await mapPool(
      positions,
      deps.concurrency,
      async (i): Promise<ProveEntry> => {
        const file = files[i];
        // An object that appeared at the key since the plan is someone's: prove it, never overwrite it.
        const action = actionOf(i);
        try {
          // Proofs whose record cannot be true stop counting before the bytes are proven again (audit recheckProofs).
          const voided = file.suspectProofs?.length ? await dest.voidSuspectProofs(file.key, file.suspectProofs) : [];
          const e = await proveOne(
            { ...deps, destination: dest },
            ref,
            file,
            action,
            appeared.has(i),
            appeared.has(i) ? undefined : copiedEtag.get(i),
            (n) => {
              bytesRead += n;
            },
            beat,
          );
          done++;
          return voided.length
            ? { i, attempt, ...e, evidence: { ...e.evidence, voidedProofs: voided } }
            : { i, attempt, ...e };
        } catch (err) {
          if (beat.signal.aborted) throw beat.signal.reason;
          throw classifyS3Error(err, `proving s3://${dest.bucket}/${dest.finalKey(file.key)}`);
        }
      },
      beat.signal,
    );
    await deps.store.putResults(ref.batch, 'prove', entries);
    countFiles(
      'direct_sync',
      entries,
      entries.filter((e) => e.proof).reduce((n, e) => n + files[e.i].size, 0),
    );
    for (const e of entries.filter((x) => !x.proof && !x.fallback))
      log.warn('file not proven', { key: files[e.i].key, outcome: e.outcome, error: e.error });
    return {
      fallback: entries.filter((e) => e.fallback).map((e) => e.i),
      bytesRead,
      s3Requests: 0,
    };
  } finally {
    beat.stop();
  }
}

type Proved = Omit<ProveEntry, 'i' | 'attempt'>;

/** A server-side copy on a healthy store moves at least this fast: its silence up to then is no stall. */
const MIN_COPY_BYTES_PER_SECOND = 8 * 1024 * 1024;
const copyAllowance = (bytes: number) => Math.ceil((bytes / MIN_COPY_BYTES_PER_SECOND) * 1000);

async function proveOne(
  deps: ProveDeps,
  ref: BatchRef,
  file: PlanFile,
  action: PlanAction,
  appeared: boolean,
  /** The ETag this run's copy got, where the store's own SHA-256 of it may be used. */
  copiedEtag: string | undefined,
  onBytes: (n: number) => void,
  beat: Beat,
): Promise<Proved> {
  const { signal } = beat;
  const dest = deps.destination;
  const finalKey = dest.finalKey(file.key);
  const target = action === 'replace' ? incomingKey(ref.state.statePrefix, file.key) : finalKey;
  const kept = appeared ? undefined : file.kept;
  if (action === 'replace') {
    // Where the store would not refuse a copy of changed bytes over the final key, no copy goes over it (the copy
    // step holds replacements back there too; this guards a direct schedule): the traditional path uploads the very
    // bytes it hashed.
    const unguarded = await deps.unguardedPromotion();
    if (unguarded) {
      await dest.remove(target);
      return {
        outcome: 'pending',
        proof: kept?.level ?? null,
        sha256: null,
        error: `${unguarded}: replaced through the traditional path instead`,
        fallback: true,
      };
    }
  }
  // Replacing a verified copy always takes SHA-256 proof, whatever the run asked for.
  const level = kept ? 'checksum' : ref.verification;
  // The proof this check earns, from the one table of levels: an unknown level stops here, before any write.
  const earned = proofEarnedBy(level);
  const source = { etag: file.etag, size: file.size };
  const collectionId = ref.state.collectionId;
  const proofBase = { key: file.key, source, collectionId, recordedAt: new Date().toISOString() };

  const sidecar =
    file.checksumEtag || earned === 'sha256'
      ? await deps.source.readIfExists(checksumKey(file.key), signal)
      : undefined;

  let etag: string;
  let size: number;
  let sha256: string | null = null;
  let fromStore = false;
  if (earned === 'sha256') {
    // The store's own full-object SHA-256 (a copy asked for it) costs no byte read, but only where the probe found
    // the store computes it right (storeChecksum) and only for bytes this run copied. Bytes already there, or put
    // there by another writer, are read and hashed: their stored checksum is whatever their writer sent.
    const asked = action !== 'verify_only' && copiedEtag ? await dest.storedChecksum(target) : undefined;
    const stored = asked && normalizeEtag(asked.etag) === normalizeEtag(copiedEtag!) ? asked : undefined;
    fromStore = Boolean(stored);
    const got = stored ?? (await dest.readAndHash(target, { onBytes, signal }));
    if (!got) return recover(dest, ref, file, action, target);
    ({ etag, size, sha256 } = got);
  } else {
    const h = await dest.head(target);
    if (!h) return recover(dest, ref, file, action, target);
    ({ etag, size } = h);
  }

  const reading = sidecar
    ? readChecksumFile(sidecar.bytes.toString('utf8'), fileNameOf(file.key))
    : ({ ok: false, problem: 'the source .CHECKSUM is missing' } as const);
  let problem: string | undefined;
  let method: ProofRecord['method'];
  switch (earned) {
    case 'sha256':
      problem = !reading.ok
        ? reading.problem
        : sha256 !== reading.sha256
          ? `SHA-256 ${sha256} does not match .CHECKSUM ${reading.sha256}`
          : undefined;
      method = action === 'replace' ? 'promoted' : fromStore ? 'store-sha256' : 'streamed';
      break;
    case 'size':
      problem = size !== file.size ? `size ${size} differs from the source's ${file.size}` : undefined;
      method = 'sized';
      break;
    case 'none':
      method = 'unchecked';
      break;
    default:
      throw new InvalidInputError(`verification: no proof is earned by ${JSON.stringify(level)}`);
  }

  if (!problem) {
    let at = { etag, size };
    if (action === 'replace') {
      // Bytes checked less than by SHA-256 never go over a copy that a verified one replaced since the plan.
      const verified = earned !== 'sha256' ? await dest.protectingProofNow(file.key) : undefined;
      if (verified) {
        await dest.remove(target);
        return {
          outcome: 'failed',
          proof: verified.level,
          sha256,
          error: `a verified copy appeared at the key since the plan; it was not replaced by bytes checked only by ${level} (a checksum run replaces it if the source changed)`,
        };
      }
      beat.allowQuiet(copyAllowance(size));
      const promoted = await dest.promote(target, etag, size, file.key);
      at = { etag: promoted.etag, size: promoted.size };
    }
    // An audit writes evidence only: the data area stays as the other tool left it.
    if (sidecar && !ref.audit) await dest.putSidecar(file.key, sidecar.bytes);
    await dest.recordProof({
      ...proofBase,
      level: earned,
      sha256,
      method,
      checksum: { sha256: reading.ok ? reading.sha256 : null, etag: sidecar?.etag ?? null },
      destination: { key: finalKey, ...at },
    });
    if (action === 'replace') await dest.remove(target);
    return {
      outcome: kept && action === 'replace' ? 'replaced' : PRESENT[action],
      proof: earned,
      sha256,
      error: null,
      method,
    };
  }

  const outcome: QuarantineEvidence['outcome'] =
    earned === 'sha256' && !reading.ok
      ? 'missing_checksum'
      : earned === 'size'
        ? 'failed'
        : kept?.sidecarUnchanged && action === 'replace'
          ? 'stale_checksum'
          : 'checksum_mismatch';
  const evidence: QuarantineEvidence = {
    outcome,
    reason: problem,
    expectedSha256: reading.ok ? reading.sha256 : null,
    actualSha256: sha256,
    source,
    sidecarEtag: sidecar?.etag ?? null,
    kept: kept ? { etag: kept.etag, size: kept.size } : null,
    collectionId,
    at: new Date().toISOString(),
  };
  if (action === 'verify_only') {
    // A verified copy stays as it is (its .CHECKSUM changed under it, or another collection proved it).
    const verified = kept ? { level: kept.level } : await dest.protectingProofNow(file.key);
    if (verified)
      return {
        outcome,
        proof: verified.level,
        sha256,
        error: `${problem}; the verified copy in the destination is kept as it is`,
        evidence: { ...evidence },
      };
  }
  // An audit moves nothing: the wrong bytes stay where the other tool put them, reported with their evidence.
  if (ref.audit)
    return {
      outcome,
      proof: null,
      sha256,
      error: `${problem}; left in place (audit), a collect run replaces it`,
      evidence: { ...evidence },
    };
  beat.allowQuiet(copyAllowance(size));
  const q = await dest.quarantine(target, etag, size, file.key, evidence);
  if (action === 'replace') await dest.remove(target);
  else await dest.removeFromFinalIfUnproven(file.key, etag);
  const keptNote = kept ? `; the verified copy (ETag ${kept.etag}, ${kept.size} bytes) is kept` : '';
  // Wrong bytes that were at the key already (not copied by this run) are replaced by the traditional path.
  if (action === 'verify_only')
    return {
      outcome,
      proof: null,
      sha256,
      error: `${problem}; moved to ${q}, replacing it`,
      evidence: { ...evidence, quarantineKey: q },
      fallback: true,
    };
  return {
    outcome,
    proof: kept?.level ?? null,
    sha256,
    error: `${problem}; moved to ${q}${keptNote}`,
    evidence: { ...evidence, quarantineKey: q },
  };
}

/** The copy is gone: an earlier attempt already settled it (promoted, or quarantined), or someone removed it. */
async function recover(
  dest: Destination,
  ref: BatchRef,
  file: PlanFile,
  action: PlanAction,
  target: string,
): Promise<Proved> {
  const source = { etag: file.etag, size: file.size };
  // Settled by an earlier attempt: promoted or proven in place first (a quarantined copy of the same source
  // version may sit beside it, put aside before the sidecar was fixed), then put aside.
  const final = await dest.head(dest.finalKey(file.key));
  if (final) {
    const levels = PROOF_LEVELS.filter((l) => satisfies(l, file.kept ? 'checksum' : ref.verification));
    const proof = await dest.proofFor(file.key, final, source, undefined, levels);
    if (proof)
      return {
        outcome: action === 'replace' && file.kept ? 'replaced' : PRESENT[action],
        proof,
        sha256: null,
        error: null,
      };
  }
  // Put aside by an earlier attempt, or by another collection that copied the same source version at the same time.
  const q = await dest.quarantined(file.key);
  if (q?.evidence && q.evidence.source.etag === file.etag) {
    const e = q.evidence;
    return {
      outcome: e.outcome,
      proof: null,
      sha256: e.actualSha256,
      error: `${e.reason}; moved to ${q.key}`,
      evidence: { ...e, quarantineKey: q.key },
    };
  }
  return {
    outcome: 'failed',
    proof: null,
    sha256: null,
    error: `the copy at s3://${dest.bucket}/${target} is gone (removed since it was copied?); the next run copies it again`,
  };
}
