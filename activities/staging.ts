/**
 * Local staging for the traditional path. Paths are built from a validated staging id and batch
 * positions only, never from object keys, so no key can reach outside the staging folder. Space is
 * reserved before downloading and bounded by STAGING_MAX_BYTES.
 */
import { mkdirSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InvalidInputError, StagingFullError } from './errors';

const STAGING_ID = /^[A-Za-z0-9_-]{1,120}$/;

export class StagingArea {
  readonly root: string;
  private reserved = new Map<string, number>();
  private used = 0;
  peak = 0;

  constructor(baseDir: string, readonly maxBytes: number) {
    this.root = path.join(path.resolve(baseDir), `${os.hostname()}-${process.pid}`);
    mkdirSync(this.root, { recursive: true });
    this.removeAbandoned(path.resolve(baseDir));
  }

  /** Folders left by worker processes on this host that no longer run. */
  private removeAbandoned(baseDir: string) {
    for (const name of readdirSync(baseDir)) {
      const m = /^(.*)-(\d+)$/.exec(name);
      if (!m || m[1] !== os.hostname() || Number(m[2]) === process.pid) continue;
      try {
        process.kill(Number(m[2]), 0);
      } catch {
        rmSync(path.join(baseDir, name), { recursive: true, force: true });
      }
    }
  }

  dir(stagingId: string): string {
    if (!STAGING_ID.test(stagingId)) throw new InvalidInputError(`invalid staging id ${JSON.stringify(stagingId)}`);
    const dir = path.join(this.root, stagingId);
    if (path.dirname(dir) !== this.root) throw new InvalidInputError(`staging id escapes the staging folder: ${stagingId}`);
    return dir;
  }

  file(stagingId: string, position: number, suffix: 'zip' | 'CHECKSUM' | 'zip.part'): string {
    if (!Number.isInteger(position) || position < 0) throw new InvalidInputError(`invalid batch position ${position}`);
    return path.join(this.dir(stagingId), `${position}.${suffix}`);
  }

  /** Reserves room for a batch's files; throws StagingFullError with the numbers when it does not fit. */
  reserve(stagingId: string, bytes: number): void {
    const already = this.reserved.get(stagingId) ?? 0;
    const extra = Math.max(0, bytes - already);
    const free = this.freeDiskBytes();
    if (this.used + extra > this.maxBytes || extra > free) {
      throw new StagingFullError(
        `staging folder ${this.root} is full: this batch needs ${extra} bytes, ${this.maxBytes - this.used} of STAGING_MAX_BYTES=${this.maxBytes} and ${free} on disk are free. ` +
          'Lower batchSize or parallelBatches, or raise STAGING_MAX_BYTES / free disk space.',
      );
    }
    this.reserved.set(stagingId, already + extra);
    this.used += extra;
    this.peak = Math.max(this.peak, this.used);
    mkdirSync(this.dir(stagingId), { recursive: true });
  }

  async release(stagingId: string): Promise<void> {
    await rm(this.dir(stagingId), { recursive: true, force: true });
    this.used -= this.reserved.get(stagingId) ?? 0;
    this.reserved.delete(stagingId);
  }

  freeDiskBytes(): number {
    try {
      const s = statfsSync(this.root);
      return s.bavail * s.bsize;
    } catch {
      return Number.MAX_SAFE_INTEGER;
    }
  }
}
