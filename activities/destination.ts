/**
 * The destination bucket as this project writes it: data at `<prefix><archive key>`, the source's
 * `.CHECKSUM` beside it, proof records under `<prefix>_verified/`, bytes that failed under
 * `<prefix>_quarantine/`. Every write that could replace bytes is conditioned on the exact bytes it
 * was decided for (the ETag that was hashed), so a concurrent writer is never overwritten blindly.
 */
import {
  CopyObjectCommand, DeleteObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { checksumKey, destinationKey, proofFolder, quarantineKey } from '../workflows/keys';
import { isNotFound } from './errors';
import { objectToken, proofFileName, proofNameOf, parseProofKey, type ObjectId, type ProofLevel, type ProofRecord } from './proof';

/** What a quarantined object carries about itself (in its metadata). */
export interface QuarantineEvidence {
  outcome: 'checksum_mismatch' | 'stale_checksum' | 'missing_checksum' | 'failed';
  reason: string;
  expectedSha256: string | null;
  actualSha256: string | null;
  source: ObjectId;
  sidecarEtag: string | null;
  /** The verified copy left in place, if there is one. */
  kept: ObjectId | null;
  collectionId: string;
  at: string;
}

export function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

export const encodeEvidence = (e: QuarantineEvidence) => Buffer.from(JSON.stringify(e)).toString('base64url');
export function decodeEvidence(meta: Record<string, string> | undefined): QuarantineEvidence | undefined {
  const raw = meta?.evidence;
  if (!raw) return undefined;
  try {
    return JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as QuarantineEvidence;
  } catch {
    return undefined;
  }
}

export class Destination {
  constructor(
    readonly s3: S3Client,
    readonly bucket: string,
    readonly prefix: string,
    private readonly signal?: AbortSignal,
  ) {}

  private get opts() {
    return { abortSignal: this.signal };
  }

  finalKey(sourceKey: string): string {
    return destinationKey(this.prefix, sourceKey);
  }

  async head(key: string): Promise<(ObjectId & { metadata?: Record<string, string> }) | undefined> {
    try {
      const h = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), this.opts);
      return { etag: h.ETag ?? '', size: h.ContentLength ?? 0, metadata: h.Metadata };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * Copies the bytes with this ETag (and size) over the final key; returns the identity the
   * destination gave the copy: the copy's own ETag, not a later HEAD that could see someone else's write.
   */
  async promote(fromKey: string, etag: string, size: number, sourceKey: string): Promise<ObjectId & { key: string }> {
    const key = this.finalKey(sourceKey);
    const r = await this.s3.send(new CopyObjectCommand({
      Bucket: this.bucket, Key: key, CopySource: copySource(this.bucket, fromKey), CopySourceIfMatch: etag, ContentType: 'application/zip', MetadataDirective: 'REPLACE',
    }), this.opts);
    const copied = r.CopyObjectResult?.ETag ?? (await this.head(key))?.etag;
    if (!copied) throw new Error(`promoted s3://${this.bucket}/${key} is not there`);
    return { key, etag: copied, size };
  }

  async remove(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), this.opts);
  }

  /** Removes key only while it still holds the bytes with this ETag (If-Match, and a HEAD for stores that ignore it on DELETE). */
  async removeIfStill(key: string, etag: string): Promise<boolean> {
    const now = await this.head(key);
    if (!now || now.etag !== etag) return false;
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key, IfMatch: etag }), this.opts);
    return true;
  }

  /** Moves the bytes with this ETag from fromKey to the quarantine, with their evidence in the metadata. */
  async quarantine(fromKey: string, etag: string, sourceKey: string, evidence: QuarantineEvidence, removeFrom = true): Promise<string> {
    const to = quarantineKey(this.prefix, sourceKey);
    await this.s3.send(new CopyObjectCommand({
      Bucket: this.bucket, Key: to, CopySource: copySource(this.bucket, fromKey), CopySourceIfMatch: etag,
      MetadataDirective: 'REPLACE', ContentType: 'application/zip', Metadata: { outcome: evidence.outcome, evidence: encodeEvidence(evidence) },
    }), this.opts);
    if (removeFrom) await this.removeIfStill(fromKey, etag);
    return to;
  }

  /** Uploads bytes that failed straight to the quarantine (the traditional path never puts them at the final key). */
  async quarantineBody(sourceKey: string, body: PutObjectCommand['input']['Body'], size: number, evidence: QuarantineEvidence): Promise<string> {
    const to = quarantineKey(this.prefix, sourceKey);
    await this.s3.send(new PutObjectCommand({
      Bucket: this.bucket, Key: to, Body: body, ContentLength: size, ContentType: 'application/zip',
      Metadata: { outcome: evidence.outcome, evidence: encodeEvidence(evidence) },
    }), this.opts);
    return to;
  }

  async quarantined(sourceKey: string): Promise<{ key: string; etag: string; size: number; evidence?: QuarantineEvidence } | undefined> {
    const key = quarantineKey(this.prefix, sourceKey);
    const h = await this.head(key);
    return h ? { key, etag: h.etag, size: h.size, evidence: decodeEvidence(h.metadata) } : undefined;
  }

  async putSidecar(sourceKey: string, bytes: Uint8Array): Promise<void> {
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: checksumKey(this.finalKey(sourceKey)), Body: bytes, ContentType: 'text/plain' }), this.opts);
  }

  async recordProof(record: ProofRecord): Promise<string> {
    const key = `${proofFolder(this.prefix, record.key)}/${proofFileName(proofNameOf(record))}`;
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: JSON.stringify(record), ContentType: 'application/json' }), this.opts);
    return key;
  }

  /** The strongest proof bound to these destination bytes and this source zip, if one was recorded. */
  async proofFor(sourceKey: string, destination: ObjectId, source: ObjectId): Promise<ProofLevel | undefined> {
    const folder = `${proofFolder(this.prefix, sourceKey)}/`;
    const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: folder }), this.opts);
    const d = objectToken(destination);
    const s = objectToken(source);
    const levels = (page.Contents ?? [])
      .map((o) => parseProofKey(proofFolder(this.prefix, ''), o.Key ?? '')?.proof)
      .filter((p) => p && p.destination === d && p.source === s)
      .map((p) => p!.level);
    return (['sha256', 'accepted', 'size', 'none'] as const).find((l) => levels.includes(l));
  }
}
