/**
 * Local staging for the traditional path. Paths are built from a validated staging id and batch
 * positions only, never from object keys, so no key can reach outside the staging folder. Space is
 * reserved file by file, in bytes, and bounded by STAGING_MAX_BYTES: a batch downloads what fits,
 * uploads it, frees it, and goes on with the rest.
 */
import { mkdirSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FileTooLargeError, InvalidInputError } from './errors';

const STAGING_ID = /^[A-Za-z0-9_-]{1,120}$/;

export class StagingArea {
  readonly root: string;
  /** Bytes reserved per staging id and batch position. */
  private holds = new Map<string, Map<number, number>>();
  private used = 0;
  peak = 0;

  constructor(
    baseDir: string,
    readonly maxBytes: number,
  ) {
    this.root = path.join(path.resolve(baseDir), `${os.hostname()}-${process.pid}`);
    mkdirSync(this.root, { recursive: true });
    this.removeAbandoned(path.resolve(baseDir));
  }

  /** Folders left by worker processes on this host that no longer run (their staged files and s5cmd run files). */
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

  /** This worker's folder for s5cmd run files: removed with the rest if the worker dies. */
  get runDir(): string {
    return path.join(this.root, 's5cmd');
  }

  dir(stagingId: string): string {
    if (!STAGING_ID.test(stagingId)) throw new InvalidInputError(`invalid staging id ${JSON.stringify(stagingId)}`);
    const dir = path.join(this.root, stagingId);
    if (path.dirname(dir) !== this.root)
      throw new InvalidInputError(`staging id escapes the staging folder: ${stagingId}`);
    return dir;
  }

  file(stagingId: string, position: number, suffix: 'zip' | 'CHECKSUM' | 'zip.part'): string {
    if (!Number.isInteger(position) || position < 0) throw new InvalidInputError(`invalid batch position ${position}`);
    return path.join(this.dir(stagingId), `${position}.${suffix}`);
  }

  /**
   * Reserves room for one file if it fits now (true), or not (false: try again once space is freed).
   * A file larger than the whole staging space can never fit: FileTooLargeError.
   */
  tryReserve(stagingId: string, position: number, bytes: number): boolean {
    const dir = this.dir(stagingId);
    if (bytes > this.maxBytes) {
      throw new FileTooLargeError(
        `${bytes} bytes do not fit in the whole staging space (STAGING_MAX_BYTES=${this.maxBytes}): raise STAGING_MAX_BYTES, or collect this file by direct sync, which stages nothing`,
      );
    }
    const mine = this.holds.get(stagingId) ?? new Map<number, number>();
    if (mine.has(position)) return true;
    if (this.used + bytes > this.maxBytes || bytes > this.freeDiskBytes()) return false;
    mine.set(position, bytes);
    this.holds.set(stagingId, mine);
    this.used += bytes;
    this.peak = Math.max(this.peak, this.used);
    mkdirSync(dir, { recursive: true });
    return true;
  }

  get usedBytes(): number {
    return this.used;
  }

  async release(stagingId: string): Promise<void> {
    await rm(this.dir(stagingId), { recursive: true, force: true });
    for (const bytes of this.holds.get(stagingId)?.values() ?? []) this.used -= bytes;
    this.holds.delete(stagingId);
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
