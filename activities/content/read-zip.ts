/**
 * The CSV of an archive zip (one CSV file inside), read in one streaming pass over its bytes: nothing of the file
 * is held beyond the chunks in hand and one partial line. fflate reads the zip format; Node's own zlib inflates
 * (native: the CSV of a 1 GiB trades day is several GiB), with back-pressure so compressed bytes never pile up.
 */
import { once } from 'node:events';
import { createInflateRaw, type InflateRaw } from 'node:zlib';
import { Unzip, type AsyncFlateStreamHandler, type UnzipDecoder, type UnzipFile } from 'fflate';

/** The most a zip's CSV may expand to before it counts as a bomb (a day of 1s klines or BTCUSDT trades is < 2 GiB). */
export const DEFAULT_MAX_EXPANDED_BYTES = 16 * 1024 ** 3;

export class UnreadableZipError extends Error {}

const INFLATED_CHUNK = 256 * 1024;
/** Compressed bytes waiting in zlib before the reader waits for it. */
const MAX_PENDING = 4 * 1024 ** 2;

/** A DEFLATE decoder for fflate's Unzip on Node's zlib; `pending()` lets the reader wait for it. */
function zlibDecoders() {
  const open = new Set<InflateRaw>();
  const ended: Promise<void>[] = [];
  class ZlibInflate implements UnzipDecoder {
    static compression = 8;
    ondata!: AsyncFlateStreamHandler;
    private readonly z = createInflateRaw({ chunkSize: INFLATED_CHUNK });
    constructor() {
      open.add(this.z);
      this.z.on('data', (d: Buffer) => this.ondata(null, d as Uint8Array<ArrayBuffer>, false));
      this.z.once('end', () => this.ondata(null, new Uint8Array(0), true));
      this.z.once('error', (err) => this.ondata(err as never, null as never, true));
      // 'close' follows the end, an error and a terminate alike.
      ended.push(once(this.z, 'close').then(() => void open.delete(this.z)));
    }
    push(chunk: Uint8Array, final: boolean): void {
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
      for (const z of open)
        if (z.writableLength > MAX_PENDING) await Promise.race([once(z, 'drain'), once(z, 'close')]);
    },
    ended: () => Promise.all(ended),
  };
}

/** Splits inflated bytes into lines without decoding them: `onLine(buf, start, end)`, the line end excluded. */
export function lineSplitter(onLine: (buf: Uint8Array, start: number, end: number) => void) {
  let carry: Uint8Array | null = null;
  return {
    push(chunk: Uint8Array): void {
      let pos = 0;
      if (carry) {
        const nl = chunk.indexOf(10);
        if (nl < 0) {
          const joined: Uint8Array = new Uint8Array(carry.length + chunk.length);
          joined.set(carry);
          joined.set(chunk, carry.length);
          carry = joined;
          return;
        }
        const line = new Uint8Array(carry.length + nl);
        line.set(carry);
        line.set(chunk.subarray(0, nl), carry.length);
        carry = null;
        onLine(line, 0, line.length);
        pos = nl + 1;
      }
      for (;;) {
        const nl = chunk.indexOf(10, pos);
        if (nl < 0) break;
        onLine(chunk, pos, nl);
        pos = nl + 1;
      }
      if (pos < chunk.length) carry = chunk.slice(pos);
    },
    end(): void {
      if (carry) onLine(carry, 0, carry.length);
      carry = null;
    },
  };
}

/** Calls `onLine` for each line of the zip's first `.csv` entry; resolves once it ended, with how many entries the zip has. */
export async function readZipLines(
  bytes: AsyncIterable<Uint8Array>,
  onLine: (buf: Uint8Array, start: number, end: number) => void,
  maxExpandedBytes = DEFAULT_MAX_EXPANDED_BYTES,
): Promise<{ entry: string | null; entries: number; compressedBytes: number; expandedBytes: number }> {
  let entry: string | null = null;
  let entries = 0;
  let ended = false;
  let failure: Error | undefined;
  let compressedBytes = 0;
  let expandedBytes = 0;
  const lines = lineSplitter(onLine);
  const decoders = zlibDecoders();
  const unzip = new Unzip((file: UnzipFile) => {
    entries++;
    if (entry !== null || !file.name.toLowerCase().endsWith('.csv')) return;
    entry = file.name;
    file.ondata = (err, data, final) => {
      if (failure) return;
      if (err) {
        failure = new UnreadableZipError(`the zip's ${file.name} cannot be inflated: ${err.message}`);
        return;
      }
      expandedBytes += data.length;
      if (expandedBytes > maxExpandedBytes) {
        failure = new UnreadableZipError(
          `${file.name} expands past ${maxExpandedBytes} bytes (CONTENT_MAX_EXPANDED_BYTES): not read further`,
        );
        file.terminate();
        return;
      }
      if (data.length) lines.push(data);
      if (final) {
        lines.end();
        ended = true;
      }
    };
    file.start();
  });
  unzip.register(decoders.ZlibInflate);
  try {
    for await (const chunk of bytes) {
      compressedBytes += chunk.length;
      unzip.push(chunk);
      if (failure) throw failure;
      await decoders.drained();
      if (failure) throw failure;
    }
    unzip.push(new Uint8Array(0), true);
    await decoders.ended();
  } catch (err) {
    if (err instanceof UnreadableZipError) throw err;
    // fflate throws plain errors for bytes that are not a zip it can read; a failed read of the bytes is not that.
    if (err instanceof Error && /invalid|unexpected|unknown compression|zip/i.test(err.message))
      throw new UnreadableZipError(`not a readable zip: ${err.message}`);
    throw err;
  }
  if (failure) throw failure;
  if (entry !== null && !ended) throw new UnreadableZipError(`the zip ended inside ${entry}`);
  return { entry, entries, compressedBytes, expandedBytes };
}
