/**
 * One archive file's content: its facts and status, read in one streaming pass over its bytes (from wherever they
 * are cheapest: the traditional path's staged file, or the destination object). Bytes that cannot be read as the
 * data type's CSV get status `unknown` with the reason; a failure to fetch the bytes is thrown (retried).
 */
import type { Interval } from '../../workflows/catalog';
import type { Series } from '../../workflows/keys';
import { factsReader, filePeriod, type ContentFacts } from './facts';
import { layoutOf } from './layouts';
import { DEFAULT_MAX_EXPANDED_BYTES, readZipLines, UnreadableZipError } from './read-zip';
import { contentStatus, DEFAULT_THRESHOLDS, type ContentThresholds, type ContentVerdict } from './status';

export interface InspectedFile {
  facts: ContentFacts | { notInspected: string };
  verdict: ContentVerdict;
  /** Bytes of the zip read, and of its CSV once inflated. */
  compressedBytes: number;
  expandedBytes: number;
}

export interface InspectOptions {
  thresholds?: ContentThresholds;
  maxExpandedBytes?: number;
}

/** A file whose rows mostly do not parse is another layout, not a file with a few bad rows. */
function layoutMismatch(facts: ContentFacts): string | undefined {
  if (facts.badRows === 0 || facts.badRows * 10 < facts.rows) return undefined;
  return `${facts.badRows} of ${facts.rows + facts.badRows} rows do not have the data type's columns (a number in the time and id columns)`;
}

export async function inspectArchiveFile(
  series: Series,
  period: string,
  bytes: () => AsyncIterable<Uint8Array>,
  options: InspectOptions = {},
): Promise<InspectedFile> {
  const thresholds = options.thresholds ?? DEFAULT_THRESHOLDS;
  const span = filePeriod(series.granularity, period);
  const layout = layoutOf(series.market, series.dataType);
  const unknown = (notInspected: string, compressedBytes = 0, expandedBytes = 0): InspectedFile => ({
    facts: { notInspected },
    verdict: contentStatus({ notInspected }, span, thresholds),
    compressedBytes,
    expandedBytes,
  });
  if ('notInspected' in layout) return unknown(layout.notInspected);
  const reader = factsReader(layout, span, series.interval as Interval | undefined);
  let read;
  try {
    read = await readZipLines(
      bytes(),
      (buf, start, end) => reader.lineBytes(buf, start, end),
      options.maxExpandedBytes ?? DEFAULT_MAX_EXPANDED_BYTES,
    );
  } catch (err) {
    if (err instanceof UnreadableZipError) return unknown(err.message);
    throw err;
  }
  if (read.entry === null)
    return unknown(read.entries ? 'the zip holds no CSV file' : 'the zip holds no file', read.compressedBytes);
  if (read.entries > 1)
    return unknown(`the zip holds ${read.entries} files, not one CSV`, read.compressedBytes, read.expandedBytes);
  const facts = reader.finish();
  const mismatch = layoutMismatch(facts);
  if (mismatch) return unknown(mismatch, read.compressedBytes, read.expandedBytes);
  return {
    facts,
    verdict: contentStatus(facts, span, thresholds),
    compressedBytes: read.compressedBytes,
    expandedBytes: read.expandedBytes,
  };
}
