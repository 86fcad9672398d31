/**
 * What this worker process found out itself about the destination store: does it compute a correct
 * SHA-256 for a server-side copy. A proof may rest on the store's own hash only where the worker saw
 * that hold; a request's `storeChecksum` flag (anyone can send it) only asks for it. Learned from the
 * probe the worker ran, or by one probe copy of a small source object, and kept for an hour.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { StoreGuards } from '../workflows/types';
import { probeStoreGuards, tryServerSideCopy } from './probe';

const KEEP_MS = 60 * 60 * 1000;
/** A probe that failed (not a store that said no) is tried again soon. */
const KEEP_FAILED_MS = 60 * 1000;

export class StoreFacts {
  private readonly known = new Map<string, { computes: boolean; until: number }>();
  private readonly guards = new Map<string, { guards: StoreGuards; until: number }>();
  private readonly probing = new Map<string, Promise<StoreGuards>>();

  constructor(
    private readonly deps: { source: S3Client; destination: S3Client; sourceBucket: string },
    private readonly now: () => number = Date.now,
  ) {}

  /** What the store honours of the trust design's guards (probed once an hour per bucket, one probe at a time). */
  async storeGuards(bucket: string, prefix: string): Promise<StoreGuards> {
    const known = this.knownGuards(bucket);
    if (known) return known;
    const running = this.probing.get(bucket);
    if (running) return running;
    const probe = this.probeGuards(bucket, prefix).finally(() => this.probing.delete(bucket));
    this.probing.set(bucket, probe);
    return probe;
  }

  /** What this worker already found of the store's guards (no probe): undefined when it has not looked lately. */
  knownGuards(bucket: string): StoreGuards | undefined {
    const fact = this.guards.get(bucket);
    return fact && fact.until > this.now() ? fact.guards : undefined;
  }

  private async probeGuards(bucket: string, prefix: string): Promise<StoreGuards> {
    const guards = await probeStoreGuards(this.deps.destination, bucket, prefix);
    // A guard the probe could not tell (a 5xx that outlasted the retries) is tried again soon.
    const told = Object.values(guards).every((g) => g.honoured !== null);
    this.guards.set(bucket, { guards, until: this.now() + (told ? KEEP_MS : KEEP_FAILED_MS) });
    return guards;
  }

  /**
   * Why a server-side copy over a final key (a promotion) is not guarded on this bucket, or undefined when it is:
   * the store refuses a copy whose source is no longer the proven bytes (`x-amz-copy-source-if-match`).
   * Unguarded, replacements go through the traditional path instead. A versioned bucket is no exception: it keeps
   * the verified file retrievable, but the copy could still carry other bytes than the ones proven.
   */
  async unguardedPromotion(bucket: string, prefix: string): Promise<string | undefined> {
    const guards = await this.storeGuards(bucket, prefix);
    if (guards.conditionalCopy.honoured === true) return undefined;
    const found = guards.conditionalCopy.honoured === false ? 'ignores' : 'could not be shown to honour';
    return `this store ${found} x-amz-copy-source-if-match, so a server-side copy over the file could carry bytes other than the proven ones`;
  }

  /**
   * Whether a copy onto an existing key is refused by the store itself (`If-None-Match: *`, found by trying): then a
   * new file is copied without a HEAD of the destination first. Where the store ignores it, `cp -n` keeps the HEAD.
   */
  async copiesIfAbsent(bucket: string, prefix: string): Promise<boolean> {
    return (await this.storeGuards(bucket, prefix)).conditionalCopyIfAbsent?.honoured === true;
  }

  /** Whether the store refuses a PUT whose x-amz-checksum-sha256 does not match its body (found by trying). */
  async checksPutChecksum(bucket: string, prefix: string): Promise<boolean> {
    return (await this.storeGuards(bucket, prefix)).putChecksum.honoured === true;
  }

  /** What a probe of this bucket found (called by the probe activity). */
  record(bucket: string, computes: boolean, keepMs = KEEP_MS): void {
    this.known.set(bucket, { computes, until: this.now() + keepMs });
  }

  /** True only where this worker saw the store compute the right SHA-256 of a copy into this bucket. */
  async computesCopyChecksum(bucket: string, prefix: string, sampleSourceKey: string | undefined): Promise<boolean> {
    const fact = this.known.get(bucket);
    if (fact && fact.until > this.now()) return fact.computes;
    if (!sampleSourceKey) return false;
    try {
      const tried = await tryServerSideCopy(this.deps, sampleSourceKey, bucket, prefix);
      this.record(bucket, tried.storeChecksum.supported, tried.serverSideCopy.works ? KEEP_MS : KEEP_FAILED_MS);
      return tried.storeChecksum.supported;
    } catch {
      this.record(bucket, false, KEEP_FAILED_MS);
      return false;
    }
  }
}
