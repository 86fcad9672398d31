/**
 * Proof records: the evidence that makes a destination object count as verified.
 *
 * One small object per proof at `<prefix>_verified/<archive key>/<level>.<dest>.<source>.<checksum>`.
 * The name binds the proof to the exact destination bytes (a token of their ETag and size, as the
 * destination itself reports them) and to the source version it was proven against (tokens of the
 * source zip's ETag and size and of its `.CHECKSUM`'s ETag). A rerun lists these names beside the
 * data and compares tokens of what it lists now, so it never compares ETags across stores and never
 * assumes ETag = MD5: any overwrite of the destination changes its token and unbinds the proof.
 * The body holds the full record for people and audits. Pure functions here; writing is in proof-store.ts.
 */
import { createHash } from 'node:crypto';
import type { VerificationLevel } from '../workflows/request';
import { InvalidInputError } from './errors';

/** sha256: the bytes' SHA-256 matched the `.CHECKSUM`. accepted: an operator accepted bytes that did not. size/none: what weaker runs record. */
export const PROOF_LEVELS = ['sha256', 'accepted', 'size', 'none'] as const;
export type ProofLevel = (typeof PROOF_LEVELS)[number];

export interface ObjectId {
  etag: string;
  size: number;
}

export interface ProofName {
  level: ProofLevel;
  destination: string;
  source: string;
  checksum: string;
}

export interface ProofRecord {
  key: string;
  level: ProofLevel;
  /** SHA-256 of the destination bytes, when they were hashed. */
  sha256: string | null;
  checksum: { sha256: string | null; etag: string | null };
  destination: { key: string; etag: string; size: number };
  source: { etag: string; size: number };
  /**
   * How the proof was obtained: the store's own SHA-256 of the copy (`store-sha256`), the copy streamed and
   * hashed, hashed while downloading, promoted after being hashed, accepted by an operator, …
   */
  method: 'store-sha256' | 'streamed' | 'downloaded' | 'promoted' | 'accepted' | 'sized' | 'unchecked';
  collectionId: string;
  recordedAt: string;
  note?: string;
}

/** Why this ETag cannot bind a proof to exact bytes (missing, or weak: `W/"…"`), or undefined when it can. */
export function unboundEtag(etag: string | undefined | null): string | undefined {
  if (!etag || !normalizeEtag(etag)) return 'no ETag';
  if (/^w\//i.test(etag.trim())) return `a weak ETag (${etag})`;
  return undefined;
}

export function normalizeEtag(etag: string): string {
  return etag.replaceAll('"', '').trim().toLowerCase();
}

function token(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 16);
}

export function objectToken(o: ObjectId): string {
  return token('object', normalizeEtag(o.etag), String(o.size));
}

export function checksumToken(etag: string | null | undefined): string {
  return token('checksum', etag ? normalizeEtag(etag) : '');
}

export function proofNameOf(r: Pick<ProofRecord, 'level' | 'destination' | 'source' | 'checksum'>): ProofName {
  return {
    level: r.level,
    destination: objectToken(r.destination),
    source: objectToken(r.source),
    checksum: checksumToken(r.checksum.etag),
  };
}

export function proofFileName(p: ProofName): string {
  return `${p.level}.${p.destination}.${p.source}.${p.checksum}`;
}

const NAME = /^(sha256|accepted|size|none)\.([0-9a-f]{16})\.([0-9a-f]{16})\.([0-9a-f]{16})$/;

/**
 * `<folder><archive key>/<name>` → the archive key and the name's match against `pattern`, or undefined for anything
 * else: the layout proof records and facts records share.
 */
export function splitRecordKey(
  folder: string,
  key: string,
  pattern: RegExp,
): { sourceKey: string; m: RegExpExecArray } | undefined {
  if (!key.startsWith(folder)) return undefined;
  const rest = key.slice(folder.length);
  const slash = rest.lastIndexOf('/');
  if (slash <= 0) return undefined;
  const m = pattern.exec(rest.slice(slash + 1));
  return m ? { sourceKey: rest.slice(0, slash), m } : undefined;
}

/** `<folder><archive key>/<proof file>` → the archive key and the proof, or undefined for anything else. */
export function parseProofKey(folder: string, key: string): { sourceKey: string; proof: ProofName } | undefined {
  const r = splitRecordKey(folder, key, NAME);
  if (!r) return undefined;
  const { m } = r;
  return {
    sourceKey: r.sourceKey,
    proof: { level: m[1] as ProofLevel, destination: m[2], source: m[3], checksum: m[4] },
  };
}

/**
 * The proof a check earns, one entry per verification level: the only way a level becomes a proof.
 * A level not in this table (a typo, a forged input) earns nothing and is refused before anything is written.
 */
export type EarnedLevel = Exclude<ProofLevel, 'accepted'>;
const PROOF_EARNED_BY: Readonly<Record<VerificationLevel, EarnedLevel>> = Object.freeze({
  checksum: 'sha256',
  size: 'size',
  none: 'none',
});

export function proofEarnedBy(verification: unknown): EarnedLevel {
  if (typeof verification === 'string' && Object.hasOwn(PROOF_EARNED_BY, verification))
    return PROOF_EARNED_BY[verification as VerificationLevel];
  throw new InvalidInputError(
    `verification: ${JSON.stringify(String(verification).slice(0, 40))} is not a verification level; use one of ${Object.keys(PROOF_EARNED_BY).join(', ')}`,
  );
}

/** Which proof levels satisfy a run at this verification level. */
export function satisfies(level: ProofLevel, verification: VerificationLevel): boolean {
  if (level === 'sha256' || level === 'accepted') return true;
  switch (proofEarnedBy(verification)) {
    case 'sha256':
      return false;
    case 'size':
      return level === 'size';
    case 'none':
      return level === 'size' || level === 'none';
    default:
      return false;
  }
}

/** How each level is earned: the methods a true record of that level can name. */
const METHODS_OF: Record<ProofLevel, readonly ProofRecord['method'][]> = {
  sha256: ['store-sha256', 'streamed', 'downloaded', 'promoted'],
  accepted: ['accepted'],
  // Versions before the trust-boundary change named every promotion "promoted", whatever its level.
  size: ['sized', 'promoted'],
  none: ['unchecked', 'promoted'],
};

/**
 * Why a proof's record cannot be true, or undefined when it can: the body must parse, match the name it
 * is stored under (level and tokens), be about this file, and name a method that earns its level; a
 * sha256 proof must carry a SHA-256 equal to its `.CHECKSUM`'s. (A record written by someone with write
 * access to the bucket can be consistent and false: see docs/security.md.)
 */
export function proofRecordProblem(sourceKey: string, name: ProofName, body: string): string | undefined {
  let r: ProofRecord;
  try {
    r = JSON.parse(body) as ProofRecord;
  } catch {
    return 'its body is not JSON';
  }
  if (!r || typeof r !== 'object' || !r.destination || !r.source || !r.checksum)
    return 'its body is not a proof record';
  if (r.key !== sourceKey) return `it is about ${JSON.stringify(String(r.key).slice(0, 200))}, not this file`;
  if (r.level !== name.level) return `its body says level ${JSON.stringify(r.level)}, its name ${name.level}`;
  let expected: ProofName;
  try {
    expected = proofNameOf(r);
  } catch {
    return 'its body does not name the objects it binds';
  }
  if (
    expected.destination !== name.destination ||
    expected.source !== name.source ||
    expected.checksum !== name.checksum
  )
    return 'its name does not match the objects its body binds';
  if (!METHODS_OF[name.level].includes(r.method))
    return `a ${name.level} proof cannot be earned by method ${JSON.stringify(String(r.method).slice(0, 40))}`;
  if (name.level === 'sha256') {
    const hex = /^[0-9a-f]{64}$/;
    if (typeof r.sha256 !== 'string' || !hex.test(r.sha256)) return 'a sha256 proof without the SHA-256 it matched';
    if (r.sha256 !== r.checksum.sha256)
      return `its SHA-256 ${r.sha256} is not the .CHECKSUM's ${String(r.checksum.sha256)}`;
  }
  return undefined;
}

/** A proof that protects the bytes it is bound to: no later copy may overwrite them unless its own bytes were verified. */
export function isProtecting(level: ProofLevel): boolean {
  return level === 'sha256' || level === 'accepted';
}

export function strongest(levels: ProofLevel[]): ProofLevel | undefined {
  return PROOF_LEVELS.find((l) => levels.includes(l));
}
