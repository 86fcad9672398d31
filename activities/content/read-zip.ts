/**
 * The CSV of an archive zip (one CSV file inside), read in one streaming pass over its bytes: nothing of the file
 * is held beyond the chunks in hand and one partial line. fflate reads the zip format; Node's own zlib inflates
 * (native: the CSV of a 1 GiB trades day is several GiB), with back-pressure so compressed bytes never pile up.
 */
import { createInflateRaw, type InflateRaw } from 'node:zlib';
import { Unzip, type AsyncFlateStreamHandler, type UnzipDecoder, type UnzipFile } from 'fflate';

/**
 * The most a zip's CSV may expand to (a busy symbol's trades day is ~3 GB of CSV, its month ~90 GB). A bomb is also
 * caught by its ratio: CSV inflates 3–10×, a bomb up to ~1000×.
 */
export const DEFAULT_MAX_EXPANDED_BYTES = 256 * 1024 ** 3;
const MAX_RATIO = 200;
const RATIO_FROM_BYTES = 64 * 1024 ** 2;

export class UnreadableZipError extends Error {}

const INFLATED_CHUNK = 256 * 1024;
/** Compressed bytes waiting in zlib before the reader waits for it. */
const MAX_PENDING = 4 * 1024 ** 2;

/** The longest line a CSV of the archive may have (its rows are < 200 bytes): past it, the bytes are not that CSV. */
export const MAX_LINE_BYTES = 64 * 1024;

/** DEFLATE decoders for fflate's Unzip on Node's zlib; `drained()` lets the reader wait for them. */
function zlibDecoders() {
  const open = new Set<InflateRaw>();
  const closed: Promise<void>[] = [];
  class ZlibInflate implements UnzipDecoder {
    static compression = 8;
    ondata!: AsyncFlateStreamHandler;
    private readonly z = createInflateRaw({ chunkSize: INFLATED_CHUNK });
    constructor() {
      const z = this.z;
      open.add(z);
      z.on('data', (d: Buffer) => this.ondata(null, d as Uint8Array<ArrayBuffer>, false));
      z.once('end', () => this.ondata(null, new Uint8Array(0), true));
      // Handled here, so a corrupt stream is an answer (the file is unknown), never an unhandled error.
      z.once('error', (err) => this.ondata(err as never, null as never, true));
      // 'close' follows the end, an error and a terminate alike.
      closed.push(new Promise<void>((resolve) => z.once('close', () => resolve(void open.delete(z)))));
    }
    push(chunk: Uint8Array, final: boolean): void {
      if (this.z.destroyed) return;
      // fflate may hand out views of buffers it keeps: zlib reads later, so it gets a copy of its own.
      if (chunk.length) this.z.write(Buffer.from(chunk));
      if (final) this.z.end();
    }
    terminate(): void {
      this.z.destroy();
    }
  }
  return {
    ZlibInflate,
    /** Resolves once no decoder holds more than MAX_PENDING compressed bytes. */
    async drained(): Promise<void> {
      for (const z of open) {
        if (z.writableLength <= MAX_PENDING) continue;
        // Plain listeners that remove each other: an 'error' (already handled by the decoder) ends in 'close'.
        await new Promise<void>((resolve) => {
          const done = () => {
            z.off('drain', done);
            z.off('close', done);
            resolve();
          };
          z.on('drain', done);
          z.on('close', done);
        });
      }
    },
    closed: () => Promise.all(closed),
    destroyAll(): void {
      for (const z of open) z.destroy();
    },
  };
}

/**
 * Splits inflated bytes into lines without decoding them: `onLine(buf, start, end)`, the line end excluded.
 * `push` answers false when a line grows past MAX_LINE_BYTES (nothing more is held).
 */
export function lineSplitter(onLine: (buf: Uint8Array, start: number, end: number) => void) {
  let carry: Uint8Array | null = null;
  return {
    push(chunk: Uint8Array): boolean {
      let pos = 0;
      if (carry) {
        const nl = chunk.indexOf(10);
        const head = nl < 0 ? chunk : chunk.subarray(0, nl);
        if (carry.length + head.length > MAX_LINE_BYTES) return false;
        const joined: Uint8Array = new Uint8Array(carry.length + head.length);
        joined.set(carry);
        joined.set(head, carry.length);
        if (nl < 0) {
          carry = joined;
          return true;
        }
        carry = null;
        onLine(joined, 0, joined.length);
        pos = nl + 1;
      }
      for (;;) {
        const nl = chunk.indexOf(10, pos);
        if (nl < 0) break;
        onLine(chunk, pos, nl);
        pos = nl + 1;
      }
      if (chunk.length - pos > MAX_LINE_BYTES) return false;
      if (pos < chunk.length) carry = chunk.slice(pos);
      return true;
    },
    end(): void {
      if (carry) onLine(carry, 0, carry.length);
      carry = null;
    },
  };
}

/**
 * Calls `onLine` for each line of the zip's one `.csv` entry; resolves once it ended. Bytes that are not such a zip
 * (no entry, another entry first or after it, a corrupt stream, a line past MAX_LINE_BYTES, an entry expanding
 * past the ceiling) throw UnreadableZipError as soon as that shows, reading no further; a failed read of `bytes`
 * itself is thrown as it is (the caller retries it).
 */
export async function readZipLines(
  bytes: AsyncIterable<Uint8Array>,
  onLine: (buf: Uint8Array, start: number, end: number) => void,
  maxExpandedBytes = DEFAULT_MAX_EXPANDED_BYTES,
): Promise<{ entry: string | null; entries: number; compressedBytes: number; expandedBytes: number }> {
  let entry: string | null = null;
  let entries = 0;
  let ended = false;
  let failure: UnreadableZipError | undefined;
  let compressedBytes = 0;
  let expandedBytes = 0;
  const fail = (message: string) => (failure ??= new UnreadableZipError(message));
  const lines = lineSplitter(onLine);
  const decoders = zlibDecoders();
  const unzip = new Unzip((file: UnzipFile) => {
    entries++;
    const name = file.name.slice(0, 200);
    if (entries > 1) return void fail(`the zip holds ${entries} files or more, not one CSV`);
    if (!name.toLowerCase().endsWith('.csv')) return void fail(`the zip's file ${name} is not a CSV`);
    entry = name;
    // Runs inside zlib's 'data' events: nothing may throw out of it (it would end the process).
    file.ondata = (err, data, final) => {
      if (failure) return;
      try {
        if (err) {
          fail(`the zip's ${name} cannot be inflated: ${err.message}`);
          return file.terminate();
        }
        expandedBytes += data.length;
        if (expandedBytes > maxExpandedBytes) {
          fail(`${name} expands past ${maxExpandedBytes} bytes (CONTENT_MAX_EXPANDED_BYTES): not read further`);
          return file.terminate();
        }
        if (expandedBytes > RATIO_FROM_BYTES && expandedBytes > MAX_RATIO * compressedBytes) {
          fail(`${name} expands more than ${MAX_RATIO}× its compressed bytes (a zip bomb): not read further`);
          return file.terminate();
        }
        if (data.length && !lines.push(data)) {
          fail(`${name} has a line longer than ${MAX_LINE_BYTES} bytes: not a CSV of the archive`);
          return file.terminate();
        }
        if (final) {
          lines.end();
          ended = true;
        }
      } catch (e) {
        fail(`${name} could not be read: ${e instanceof Error ? e.message : String(e)}`);
        file.terminate();
      }
    };
    file.start();
  });
  unzip.register(decoders.ZlibInflate);
  // fflate throws for bytes that are not a zip it can read (or a compression it does not know): an answer, not a fault.
  const push = (chunk: Uint8Array, final: boolean) => {
    try {
      unzip.push(chunk, final);
    } catch (err) {
      fail(`not a readable zip: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  try {
    for await (const chunk of bytes) {
      compressedBytes += chunk.length;
      push(chunk, false);
      if (failure) break;
      await decoders.drained();
      if (failure) break;
    }
    if (!failure) {
      push(new Uint8Array(0), true);
      if (!failure) await decoders.closed();
    }
  } finally {
    decoders.destroyAll();
  }
  if (failure) throw failure;
  if (entry !== null && !ended) throw new UnreadableZipError(`the zip ended inside ${entry}`);
  return { entry, entries, compressedBytes, expandedBytes };
}
