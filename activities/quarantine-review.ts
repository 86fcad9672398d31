/**
 * Files put aside for an operator: list them with their evidence, accept one (promote it to the
 * final key, recording an `accepted` proof with the operator's reason), or discard one. The review
 * runs as a workflow, so its history is the audit log of who decided what and when.
 */
import { paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { quarantinePrefix, sourceKeyOfQuarantined } from '../workflows/keys';
import type { Destination, QuarantineEvidence } from './destination';
import { InvalidInputError } from './errors';
import { normalizeEtag, objectToken } from './proof';

export interface QuarantinedFile {
  /** The archive key, e.g. data/spot/monthly/aggTrades/BNBBTC/BNBBTC-aggTrades-2018-01.zip */
  key: string;
  quarantineKey: string;
  etag: string;
  size: number;
  evidence: QuarantineEvidence | null;
  /** What the final key holds now (the verified copy that was kept, if any). */
  final: { etag: string; size: number } | null;
}

export async function listQuarantine(
  dest: Destination,
  limit: number,
): Promise<{ files: QuarantinedFile[]; more: number }> {
  const keys: string[] = [];
  let more = 0;
  for await (const page of paginateListObjectsV2(
    { client: dest.s3, pageSize: 1000 },
    { Bucket: dest.bucket, Prefix: quarantinePrefix(dest.prefix) },
  )) {
    for (const o of page.Contents ?? []) {
      if (!o.Key) continue;
      if (keys.length < limit) keys.push(o.Key);
      else more++;
    }
  }
  const files: QuarantinedFile[] = [];
  for (const qk of keys) {
    const key = sourceKeyOfQuarantined(dest.prefix, qk)!;
    const q = await dest.quarantined(key);
    if (!q) continue;
    const final = await dest.head(dest.finalKey(key));
    files.push({
      key,
      quarantineKey: q.key,
      etag: q.etag,
      size: q.size,
      evidence: q.evidence ?? null,
      final: final ? { etag: final.etag, size: final.size } : null,
    });
  }
  return { files, more };
}

/**
 * Promotes exactly the quarantined bytes the operator reviewed (named by their SHA-256, as `list`
 * prints it) over a destination that still holds what it held when they were put aside, and records
 * an `accepted` proof with the reason. Run twice, the second run finds the decision already made.
 */
export async function acceptQuarantined(
  dest: Destination,
  key: string,
  sha256: string,
  reason: string,
  decidedBy: string,
): Promise<{ key: string; finalKey: string; etag: string; proofKey: string | null; already: boolean }> {
  const q = await dest.quarantined(key);
  if (!q) {
    const final = await dest.head(dest.finalKey(key));
    const accepted =
      final && (await dest.proofs(key)).some((p) => p.level === 'accepted' && p.destination === objectToken(final));
    if (final && accepted)
      return { key, finalKey: dest.finalKey(key), etag: final.etag, proofKey: null, already: true };
    throw new InvalidInputError(
      `nothing is quarantined for ${key} in s3://${dest.bucket}/${quarantinePrefix(dest.prefix)}`,
    );
  }
  if (!q.evidence)
    throw new InvalidInputError(
      `${q.key} carries no evidence (not put aside by this project); copy it by hand if you trust it`,
    );
  if (q.evidence.actualSha256 !== sha256) {
    throw new InvalidInputError(
      `the quarantined bytes of ${key} now have SHA-256 ${q.evidence.actualSha256}, not the ${sha256} you reviewed: they were replaced since; run "quarantine list" again`,
    );
  }
  const final = await dest.head(dest.finalKey(key));
  const kept = q.evidence.kept;
  if (kept ? !final || final.etag !== kept.etag : final) {
    throw new InvalidInputError(
      `the destination's ${key} changed since these bytes were put aside (it holds ${final ? `ETag ${final.etag}` : 'nothing'}, the evidence expected ${kept ? `ETag ${kept.etag}` : 'nothing'}): run the collection again and review what it puts aside`,
    );
  }
  // The operator reviewed a SHA-256: the accepted proof names the bytes that hash to it, read where they now are
  // (a store that ignores copy-source conditions could have copied other bytes into the quarantine or over the key).
  const reviewed = await dest.readAndHash(q.key);
  if (!reviewed || reviewed.sha256 !== sha256)
    throw new InvalidInputError(
      `the quarantined bytes of ${key} hash to ${reviewed?.sha256 ?? 'nothing (gone)'}, not the ${sha256} you reviewed: run "quarantine list" again`,
    );
  const promoted = await dest.promote(q.key, reviewed.etag, q.size, key);
  const landed = await dest.readAndHash(promoted.key);
  if (!landed || landed.sha256 !== sha256 || normalizeEtag(landed.etag) !== normalizeEtag(promoted.etag))
    throw new InvalidInputError(
      `s3://${dest.bucket}/${promoted.key} does not hold the bytes you reviewed after the copy (the store let another write through): nothing was recorded as accepted; run the collection again`,
    );
  const proofKey = await dest.recordProof({
    key,
    level: 'accepted',
    sha256: q.evidence.actualSha256,
    checksum: { sha256: q.evidence.expectedSha256, etag: q.evidence.sidecarEtag },
    destination: { key: promoted.key, etag: promoted.etag, size: promoted.size },
    source: q.evidence.source,
    method: 'accepted',
    collectionId: decidedBy,
    recordedAt: new Date().toISOString(),
    note: `accepted by an operator: ${reason} (was ${q.evidence.outcome}: ${q.evidence.reason})`,
  });
  await dest.removeIfStill(q.key, q.etag);
  return { key, finalKey: promoted.key, etag: promoted.etag, proofKey, already: false };
}

/** Deletes the quarantined copy (only the one reviewed, when its SHA-256 is given). Run twice, the second finds it gone. */
export async function discardQuarantined(
  dest: Destination,
  key: string,
  sha256?: string,
): Promise<{ key: string; removed: boolean }> {
  const q = await dest.quarantined(key);
  if (!q) return { key, removed: false };
  if (sha256 && q.evidence?.actualSha256 !== sha256) {
    throw new InvalidInputError(
      `the quarantined bytes of ${key} now have SHA-256 ${q.evidence?.actualSha256 ?? 'unknown'}, not the ${sha256} you reviewed; run "quarantine list" again`,
    );
  }
  return { key, removed: await dest.removeIfStill(q.key, q.etag) };
}
