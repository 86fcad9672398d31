/** What to do with each listed file: pure decisions, unit-tested. */
import type { VerificationLevel } from '../workflows/request';

export interface ObjectInfo {
  size: number;
  etag: string;
}

export type PlanAction = 'copy' | 'verify_only';

/** One file of a batch, as stored in the plan object. */
export interface PlanFile {
  key: string;
  size: number;
  etag: string;
  /** ETag of the source `.CHECKSUM`, null when the source has none. */
  checksumEtag: string | null;
  action: PlanAction;
}

const normalize = (etag: string) => etag.replaceAll('"', '').toLowerCase();
const isMultipart = (etag: string) => normalize(etag).includes('-');

/**
 * A destination zip counts as the source's when sizes match and ETags match (a server-side copy
 * or single-part upload keeps the MD5 ETag). A multipart ETag cannot be compared, so there the
 * `.CHECKSUM` decides: Binance re-uploads a corrected file with a new checksum, so a changed
 * source never passes for identical.
 */
export function sameObject(src: ObjectInfo, dst: ObjectInfo | undefined): boolean {
  if (!dst || src.size !== dst.size) return false;
  return normalize(src.etag) === normalize(dst.etag) || isMultipart(src.etag) || isMultipart(dst.etag);
}

/**
 * The destination's `.CHECKSUM` is written only after its zip passed verification, so a zip with
 * a matching checksum beside it is present, identical and verified: skip it. A matching zip
 * without one was copied but never verified (a crash in between): verify it, do not copy again.
 */
export function decideAction(
  source: { zip: ObjectInfo; checksum?: ObjectInfo },
  destination: { zip?: ObjectInfo; checksum?: ObjectInfo },
  verification: VerificationLevel,
): 'skip' | PlanAction {
  const zipSame = sameObject(source.zip, destination.zip);
  if (!zipSame) return 'copy';
  if (!source.checksum) return verification === 'checksum' ? 'copy' : 'skip';
  const checksumSame = destination.checksum !== undefined && normalize(destination.checksum.etag) === normalize(source.checksum.etag);
  if (checksumSame) return 'skip';
  if (destination.checksum !== undefined) return 'copy'; // a different checksum: the source was re-uploaded
  return verification === 'none' ? 'copy' : 'verify_only';
}

export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function batchName(batch: number): string {
  return `batch-${String(batch).padStart(6, '0')}`;
}
