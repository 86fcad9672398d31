/** What to do with each listed file: pure decisions, unit-tested. */
import type { VerificationLevel } from '../workflows/request';
import {
  checksumToken,
  isProtecting,
  objectToken,
  satisfies,
  strongest,
  type ObjectId,
  type ProofLevel,
  type ProofName,
} from './proof';

/**
 * copy: the destination key was empty; copy in place (never over an object that appeared since).
 * replace: the destination holds other bytes; copy beside it, check, and only then promote over it.
 * verify_only: the destination may already hold the right bytes; prove them without copying.
 */
export type PlanAction = 'copy' | 'replace' | 'verify_only';

/** The verified copy a plan must keep if the new bytes do not verify. */
export interface KeptCopy {
  etag: string;
  size: number;
  level: ProofLevel;
  /** The source's `.CHECKSUM` is the one the kept copy was proven against: a changed zip under it is a stale sidecar. */
  sidecarUnchanged: boolean;
}

/** One file of a batch, as stored in the plan object. */
export interface PlanFile {
  key: string;
  size: number;
  etag: string;
  /** ETag of the source `.CHECKSUM`, null when the source has none. */
  checksumEtag: string | null;
  action: PlanAction;
  kept?: KeptCopy;
  /** What the final key held when the plan was made (replace, verify_only): an unverified write is conditioned on it. */
  seen?: ObjectId;
  /** Proof files bound to these bytes whose record cannot be true (audit recheckProofs): voided before proving again. */
  suspectProofs?: SuspectProof[];
}

export interface SuspectProof {
  /** The proof's file name in the file's proof folder. */
  proof: string;
  problem: string;
}

export type Decision = { action: 'skip'; proof: ProofLevel } | { action: PlanAction; kept?: KeptCopy; seen?: ObjectId };

/**
 * Decides from listings alone. A file is skipped only when a proof is bound to the destination's
 * current bytes (its ETag and size as the destination reports them) and to the source as it is now
 * (zip ETag and size, `.CHECKSUM` ETag), at a level the run asks for. A verified copy is never the
 * target of a copy: a changed source is copied beside it and promoted only once verified.
 */
export function decide(
  source: { zip: ObjectId; checksum?: ObjectId },
  destination: { zip?: ObjectId; proofs: ProofName[] },
  verification: VerificationLevel,
): Decision {
  if (!destination.zip) return { action: 'copy' };
  const here = objectToken(destination.zip);
  const bound = destination.proofs.filter((p) => p.destination === here);
  const sourceToken = objectToken(source.zip);
  const sidecarToken = checksumToken(source.checksum?.etag);
  const current = bound.filter(
    (p) => p.source === sourceToken && p.checksum === sidecarToken && satisfies(p.level, verification),
  );
  const best = strongest(current.map((p) => p.level));
  if (best) return { action: 'skip', proof: best };

  const protecting = bound.filter((p) => isProtecting(p.level));
  const keptLevel = strongest(protecting.map((p) => p.level));
  if (keptLevel) {
    const kept: KeptCopy = {
      etag: destination.zip.etag,
      size: destination.zip.size,
      level: keptLevel,
      sidecarUnchanged: protecting.some((p) => p.checksum === sidecarToken),
    };
    const seen = { etag: destination.zip.etag, size: destination.zip.size };
    // Same zip, new .CHECKSUM: the bytes are the source's; check them against the new sidecar.
    if (protecting.some((p) => p.source === sourceToken)) return { action: 'verify_only', kept, seen };
    return { action: 'replace', kept, seen };
  }
  // Bytes nothing proves (another tool, a crash between copy and proof, a weaker run): prove them
  // where they may be right, otherwise replace them with bytes that pass this run's check.
  const seen = { etag: destination.zip.etag, size: destination.zip.size };
  if (verification !== 'none' && destination.zip.size === source.zip.size) return { action: 'verify_only', seen };
  return { action: 'replace', seen };
}

export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function batchName(batch: number): string {
  return `batch-${String(batch).padStart(6, '0')}`;
}
