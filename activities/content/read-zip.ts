/**
 * The CSV lines of an archive zip (one CSV file inside), read in one streaming pass over its bytes: nothing of the
 * file is held beyond the chunk in hand and one partial line. fflate's streaming unzip does the zip format.
 */
import { Unzip, UnzipInflate, type UnzipFile } from 'fflate';

/** Calls `onLine` for each line of the zip's first `.csv` entry; resolves once it ended. */
export async function readZipLines(
  bytes: AsyncIterable<Uint8Array>,
  onLine: (line: string) => void,
): Promise<{ entry: string | null }> {
  let entry: string | null = null;
  let ended = false;
  let failure: Error | undefined;
  const decoder = new TextDecoder('utf-8');
  let partial = '';
  const unzip = new Unzip((file: UnzipFile) => {
    if (entry !== null || !file.name.toLowerCase().endsWith('.csv')) return;
    entry = file.name;
    file.ondata = (err, data, final) => {
      if (err) {
        failure = err;
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
  for await (const chunk of bytes) {
    unzip.push(chunk);
    if (failure) throw failure;
  }
  unzip.push(new Uint8Array(0), true);
  if (failure) throw failure;
  if (entry !== null && !ended) throw new Error(`the zip ended inside ${entry}`);
  return { entry };
}
