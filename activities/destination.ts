/**
 * The destination bucket as this project writes it: data at `<prefix><archive key>`, the source's
 * `.CHECKSUM` beside it, proof records under `<prefix>_verified/`, bytes that failed under
 * `<prefix>_quarantine/`. The one place that writes there. Every copy is conditioned on the exact
 * source bytes it was decided for (`x-amz-copy-source-if-match`), and nothing is removed from, or
 * written unverified over, a final key whose bytes a protecting proof binds right then.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import {
  paginateListObjectsV2,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { checksumKey, destinationKey, proofFolder, quarantineKey } from '../workflows/keys';
import { isNotFound, isPreconditionFailed, UnboundEvidenceError } from './errors';
import {
  PROOF_LEVELS,
  isProtecting,
  objectToken,
  parseProofKey,
  proofFileName,
  proofNameOf,
  proofRecordProblem,
  strongest,
  type ObjectId,
  type ProofLevel,
  type ProofName,
  type ProofRecord,
  unboundEtag,
} from './proof';

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

/** CopyObject's limit; larger objects are copied in parts (UploadPartCopy). */
const SINGLE_COPY_MAX_BYTES = 5 * 1024 ** 3;
export const COPY_PART_BYTES = 512 * 1024 ** 2;
/** The smallest part S3 takes (but the last). */
export const MIN_PART_BYTES = 5 * 1024 ** 2;

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
    readonly signal?: AbortSignal,
  ) {}

  get opts() {
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

  /** Server-side copy of exactly the bytes with this ETag; returns the ETag the copy got. */
  serverCopy(
    fromKey: string,
    toKey: string,
    etag: string,
    size: number,
    extra: { Metadata?: Record<string, string> } = {},
  ): Promise<string> {
    return this.serverCopyFrom(this.bucket, fromKey, toKey, etag, size, { extra });
  }

  /**
   * Server-side copy from any bucket of the same store, in one CopyObject up to 5 GiB, in parts
   * (UploadPartCopy) above, or whenever `partBytes` is given. `onPart` is called after each part.
   */
  async serverCopyFrom(
    sourceBucket: string,
    fromKey: string,
    toKey: string,
    etag: string,
    size: number,
    opts: {
      extra?: { Metadata?: Record<string, string> };
      partBytes?: number;
      onPart?: (copiedBytes: number) => void;
    } = {},
  ): Promise<string> {
    const source = copySource(sourceBucket, fromKey);
    const extra = opts.extra ?? {};
    if (!opts.partBytes && size <= SINGLE_COPY_MAX_BYTES) {
      const r = await this.s3.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: toKey,
          CopySource: source,
          CopySourceIfMatch: etag,
          ContentType: 'application/zip',
          MetadataDirective: 'REPLACE',
          ...extra,
        }),
        this.opts,
      );
      return r.CopyObjectResult?.ETag ?? (await this.head(toKey))?.etag ?? '';
    }
    const partBytes = opts.partBytes ?? COPY_PART_BYTES;
    const { UploadId } = await this.s3.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: toKey, ContentType: 'application/zip', ...extra }),
      this.opts,
    );
    const parts = [];
    for (let start = 0, n = 1; start < size; start += partBytes, n++) {
      const end = Math.min(size, start + partBytes) - 1;
      const r = await this.s3.send(
        new UploadPartCopyCommand({
          Bucket: this.bucket,
          Key: toKey,
          UploadId,
          PartNumber: n,
          CopySource: source,
          CopySourceIfMatch: etag,
          CopySourceRange: `bytes=${start}-${end}`,
        }),
        this.opts,
      );
      parts.push({ PartNumber: n, ETag: r.CopyPartResult?.ETag });
      opts.onPart?.(end + 1);
    }
    const done = await this.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: toKey,
        UploadId,
        MultipartUpload: { Parts: parts },
      }),
      this.opts,
    );
    return done.ETag ?? '';
  }

  /**
   * Copies the bytes with this ETag (and size) over the final key; returns the identity the
   * destination gave the copy: the copy's own ETag, not a later HEAD that could see someone else's write.
   */
  async promote(fromKey: string, etag: string, size: number, sourceKey: string): Promise<ObjectId & { key: string }> {
    const key = this.finalKey(sourceKey);
    const copied = await this.serverCopy(fromKey, key, etag, size);
    if (!copied) throw new Error(`promoted s3://${this.bucket}/${key} is not there`);
    return { key, etag: copied, size };
  }

  /** The store's full-object SHA-256 of an object, with its ETag and size, when it keeps one (not a multipart composite). */
  async storedChecksum(key: string): Promise<{ etag: string; size: number; sha256: string } | undefined> {
    try {
      const h = await this.s3.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: key, ChecksumMode: 'ENABLED' }),
        this.opts,
      );
      const b64 = h.ChecksumSHA256;
      if (!b64 || b64.includes('-') || (h.ChecksumType && h.ChecksumType !== 'FULL_OBJECT')) return undefined;
      return { etag: h.ETag ?? '', size: h.ContentLength ?? 0, sha256: Buffer.from(b64, 'base64').toString('hex') };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Streams an object through SHA-256: its ETag and size as served, or undefined when it does not exist. */
  async readAndHash(
    key: string,
    options: { onBytes?: (n: number) => void; signal?: AbortSignal } = {},
  ): Promise<{ etag: string; size: number; sha256: string } | undefined> {
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
        abortSignal: options.signal ?? this.signal,
      });
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of res.Body as AsyncIterable<Buffer>) {
        hash.update(chunk);
        size += chunk.length;
        options.onBytes?.(chunk.length);
      }
      return { etag: res.ETag ?? '', size, sha256: hash.digest('hex') };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async remove(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), this.opts);
  }

  /** The proofs recorded for an archive key. */
  async proofs(sourceKey: string): Promise<ProofName[]> {
    const out: ProofName[] = [];
    // Arguments after the input go to each page's send(): the attempt's abort signal stops the listing too.
    for await (const page of paginateListObjectsV2(
      { client: this.s3, pageSize: 1000 },
      { Bucket: this.bucket, Prefix: `${proofFolder(this.prefix, sourceKey)}/` },
      this.opts,
    )) {
      for (const o of page.Contents ?? []) {
        const p = parseProofKey(proofFolder(this.prefix, ''), o.Key ?? '');
        if (p) out.push(p.proof);
      }
    }
    return out;
  }

  /** The protecting proof (sha256, accepted) bound to what the final key holds right now, if any: those bytes are a verified copy. */
  async protectingProofNow(sourceKey: string): Promise<{ level: ProofLevel; at: ObjectId } | undefined> {
    const at = await this.head(this.finalKey(sourceKey));
    if (!at) return undefined;
    const token = objectToken(at);
    const level = strongest(
      (await this.proofs(sourceKey))
        .filter((p) => p.destination === token && isProtecting(p.level))
        .map((p) => p.level),
    );
    return level ? { level, at } : undefined;
  }

  /**
   * Removes the bytes with this ETag from a final key, unless they changed or a protecting proof
   * binds them now (checked right before; `If-Match` too, for stores that honour it on DELETE).
   */
  async removeFromFinalIfUnproven(sourceKey: string, etag: string): Promise<boolean> {
    const key = this.finalKey(sourceKey);
    const now = await this.head(key);
    if (!now || now.etag !== etag) return false;
    if (await this.protectingProofNow(sourceKey)) return false;
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key, IfMatch: etag }), this.opts);
    return true;
  }

  /** Removes a key (not a final key) only while it still holds the bytes with this ETag. */
  async removeIfStill(key: string, etag: string): Promise<boolean> {
    const now = await this.head(key);
    if (!now || now.etag !== etag) return false;
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key, IfMatch: etag }), this.opts);
    return true;
  }

  /** Copies the bytes with this ETag to the quarantine, with their evidence in the metadata. */
  async quarantine(
    fromKey: string,
    etag: string,
    size: number,
    sourceKey: string,
    evidence: QuarantineEvidence,
  ): Promise<string> {
    const to = quarantineKey(this.prefix, sourceKey);
    await this.serverCopy(fromKey, to, etag, size, {
      Metadata: { outcome: evidence.outcome, evidence: encodeEvidence(evidence) },
    });
    return to;
  }

  /**
   * Uploads a staged zip to a key in this destination. One PUT carries the SHA-256 (the store recomputes it and
   * refuses other bytes) and the condition; a file above `multipartAbove` goes in parts with the store computing
   * a SHA-256 per part, and no condition (the caller checks the key right before). `preconditionFailed`: the
   * condition refused the upload, nothing was written.
   */
  async putZip(
    key: string,
    file: { path: string; size: number; sha256?: string | null },
    options: {
      condition?: { IfNoneMatch?: string; IfMatch?: string };
      multipartAbove: number;
      onBytes: (n: number) => void;
    },
  ): Promise<{ etag: string; md5Etag?: string } | { preconditionFailed: true }> {
    if (file.size > options.multipartAbove) {
      if (options.condition && Object.keys(options.condition).length)
        throw new Error(`a condition cannot travel with a multipart upload of ${key}: check the key right before`);
      const out = await this.uploadInParts(
        { Key: key, Body: createReadStream(file.path), ChecksumAlgorithm: 'SHA256' },
        options.onBytes,
      );
      return { etag: out.ETag ?? (await this.head(key))?.etag ?? '' };
    }
    // Content-MD5, which most stores check (moto does not): bytes damaged on the way are refused before they land.
    const md5 = createHash('md5');
    for await (const chunk of createReadStream(file.path)) md5.update(chunk as Buffer);
    const digest = md5.digest();
    const body = createReadStream(file.path);
    body.on('data', (chunk) => options.onBytes(chunk.length));
    try {
      const out = await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentLength: file.size,
          ContentType: 'application/zip',
          ContentMD5: digest.toString('base64'),
          ChecksumSHA256: file.sha256 ? Buffer.from(file.sha256, 'hex').toString('base64') : undefined,
          ...options.condition,
        }),
        this.opts,
      );
      return { etag: out.ETag ?? (await this.head(key))?.etag ?? '', md5Etag: `"${digest.toString('hex')}"` };
    } catch (err) {
      if (isPreconditionFailed(err)) return { preconditionFailed: true };
      throw err;
    }
  }

  /** A zip uploaded in 8 MiB parts (2 in flight), stopped by this destination's signal, counting bytes as they go. */
  private async uploadInParts(
    params: { Key: string; Body: Readable; ChecksumAlgorithm?: 'SHA256'; Metadata?: Record<string, string> },
    onBytes: (n: number) => void,
  ) {
    const upload = new Upload({
      client: this.s3,
      params: { Bucket: this.bucket, ContentType: 'application/zip', ...params },
      partSize: 8 * 1024 * 1024,
      queueSize: 2,
      abortController: abortControllerFor(this.signal),
    });
    let sent = 0;
    upload.on('httpUploadProgress', (p) => {
      if (p.loaded && p.loaded > sent) {
        onBytes(p.loaded - sent);
        sent = p.loaded;
      }
    });
    return upload.done();
  }

  /** Uploads bytes that failed straight to the quarantine (the traditional path never puts them at the final key). */
  async quarantineBody(
    sourceKey: string,
    body: Readable,
    evidence: QuarantineEvidence,
    onBytes: (n: number) => void,
  ): Promise<string> {
    const to = quarantineKey(this.prefix, sourceKey);
    await this.uploadInParts(
      { Key: to, Body: body, Metadata: { outcome: evidence.outcome, evidence: encodeEvidence(evidence) } },
      onBytes,
    );
    return to;
  }

  async quarantined(
    sourceKey: string,
  ): Promise<{ key: string; etag: string; size: number; evidence?: QuarantineEvidence } | undefined> {
    const key = quarantineKey(this.prefix, sourceKey);
    const h = await this.head(key);
    return h ? { key, etag: h.etag, size: h.size, evidence: decodeEvidence(h.metadata) } : undefined;
  }

  async putSidecar(sourceKey: string, bytes: Uint8Array): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: checksumKey(this.finalKey(sourceKey)),
        Body: bytes,
        ContentType: 'text/plain',
      }),
      this.opts,
    );
  }

  /** The key a proof record is stored at. */
  proofKey(record: ProofRecord): string {
    return `${proofFolder(this.prefix, record.key)}/${proofFileName(proofNameOf(record))}`;
  }

  /** Removes a proof this run wrote under a name that binds nothing (an upload got another ETag than predicted). */
  async removeProof(record: ProofRecord): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.proofKey(record) }), this.opts);
  }

  async recordProof(record: ProofRecord): Promise<string> {
    // A proof binds bytes by their ETag: an answer without one (or a weak one) is no evidence of which bytes.
    const unbound = unboundEtag(record.destination.etag);
    if (unbound)
      throw new UnboundEvidenceError(
        `s3://${this.bucket}/${record.destination.key}: the store answered ${unbound}, so no proof can be bound to these exact bytes; this store cannot hold verified copies`,
      );
    const key = this.proofKey(record);
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: JSON.stringify(record),
        ContentType: 'application/json',
      }),
      this.opts,
    );
    return key;
  }

  /**
   * Deletes proofs of this file whose record cannot be true, each read and checked again right before (a plan
   * names them, but only a record that fails the check now is removed). Returns those removed, with why.
   */
  async voidSuspectProofs(
    sourceKey: string,
    suspects: { proof: string }[],
  ): Promise<{ proof: string; problem: string }[]> {
    const folder = proofFolder(this.prefix, '');
    const voided: { proof: string; problem: string }[] = [];
    for (const { proof } of suspects) {
      const key = `${proofFolder(this.prefix, sourceKey)}/${proof}`;
      const parsed = parseProofKey(folder, key);
      if (!parsed || parsed.sourceKey !== sourceKey) continue;
      const problem = await this.proofProblem(sourceKey, parsed.proof);
      if (!problem) continue;
      await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), this.opts);
      voided.push({ proof, problem });
    }
    return voided;
  }

  /** Why the proof record stored under this name cannot be true; undefined when it can (or is gone). */
  async proofProblem(sourceKey: string, proof: ProofName): Promise<string | undefined> {
    const body = await this.text(`${proofFolder(this.prefix, sourceKey)}/${proofFileName(proof)}`);
    return body === undefined ? undefined : proofRecordProblem(sourceKey, proof, body);
  }

  /** A small object's text, or undefined when it does not exist. */
  async text(key: string): Promise<string | undefined> {
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), this.opts);
      return await res.Body!.transformToString();
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** The strongest proof bound to these destination bytes, this source version and (if given) this `.CHECKSUM`, among the levels accepted. */
  async proofFor(
    sourceKey: string,
    destination: ObjectId,
    source: ObjectId,
    checksum: string | undefined,
    accepted: readonly ProofLevel[] = PROOF_LEVELS,
  ): Promise<ProofLevel | undefined> {
    const d = objectToken(destination);
    const s = objectToken(source);
    const levels = (await this.proofs(sourceKey))
      .filter(
        (p) =>
          p.destination === d &&
          p.source === s &&
          (checksum === undefined || p.checksum === checksum) &&
          accepted.includes(p.level),
      )
      .map((p) => p.level);
    return strongest(levels);
  }
}

/** An AbortController that aborts when the signal does (lib-storage takes a controller, not a signal). */
export function abortControllerFor(signal: AbortSignal | undefined): AbortController {
  const c = new AbortController();
  if (signal?.aborted) c.abort(signal.reason);
  else signal?.addEventListener('abort', () => c.abort(signal.reason), { once: true });
  return c;
}
