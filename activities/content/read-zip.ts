/**
 * The CSV lines of an archive zip (one CSV file inside), read in one streaming pass over its bytes: nothing of the
 * file is held beyond the chunk in hand and one partial line. fflate's streaming unzip does the zip format.
 */
import { Unzip, UnzipInflate, type UnzipFile } from 'fflate';

/** The most a zip's CSV may expand to before it counts as a bomb (a day of 1s klines or BTCUSDT trades is < 2 GiB). */
export const DEFAULT_MAX_EXPANDED_BYTES = 16 * 1024 ** 3;

export class UnreadableZipError extends Error {}

/** Calls `onLine` for each line of the zip's first `.csv` entry; resolves once it ended, with how many entries the zip has. */
export async function readZipLines(
  bytes: AsyncIterable<Uint8Array>,
  onLine: (line: string) => void,
  maxExpandedBytes = DEFAULT_MAX_EXPANDED_BYTES,
): Promise<{ entry: string | null; entries: number; compressedBytes: number; expandedBytes: number }> {
  let entry: string | null = null;
  let entries = 0;
  let ended = false;
  let failure: Error | undefined;
  let compressedBytes = 0;
  let expandedBytes = 0;
  const decoder = new TextDecoder('utf-8');
  let partial = '';
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
      const text = partial + decoder.decode(data, { stream: !final });
      const lines = text.split('\n');
      partial = final ? '' : lines.pop()!;
      for (const line of lines) onLine(line);
      if (final) ended = true;
    };
    file.start();
  });
  unzip.register(UnzipInflate);
  try {
    for await (const chunk of bytes) {
      compressedBytes += chunk.length;
      unzip.push(chunk);
      if (failure) throw failure;
    }
    unzip.push(new Uint8Array(0), true);
  } catch (err) {
    if (err instanceof UnreadableZipError) throw err;
    // fflate throws plain errors for bytes that are not a zip it can read; a failed read of the bytes is not that.
    if (err instanceof Error && /invalid|unexpected|unknown compression/i.test(err.message))
      throw new UnreadableZipError(`not a readable zip: ${err.message}`);
    throw err;
  }
  if (failure) throw failure;
  if (entry !== null && !ended) throw new UnreadableZipError(`the zip ended inside ${entry}`);
  return { entry, entries, compressedBytes, expandedBytes };
}
