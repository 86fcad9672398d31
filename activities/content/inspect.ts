/**
 * One archive file's content: its facts and status, read in one streaming pass over its bytes (from wherever they
 * are cheapest: the traditional path's staged file, or the destination object). Pure but for the read.
 */
import type { Interval } from '../../workflows/catalog';
import type { Series } from '../../workflows/keys';
import { factsReader, filePeriod, type ContentFacts } from './facts';
import { layoutOf } from './layouts';
import { readZipLines } from './read-zip';
import { contentStatus, DEFAULT_THRESHOLDS, type ContentThresholds, type ContentVerdict } from './status';

export interface InspectedFile {
  facts: ContentFacts | { notInspected: string };
  verdict: ContentVerdict;
}

export async function inspectArchiveFile(
  series: Series,
  period: string,
  bytes: () => AsyncIterable<Uint8Array>,
  thresholds: ContentThresholds = DEFAULT_THRESHOLDS,
): Promise<InspectedFile> {
  const span = filePeriod(series.granularity, period);
  const layout = layoutOf(series.market, series.dataType);
  if ('notInspected' in layout) return { facts: layout, verdict: contentStatus(layout, span, thresholds) };
  const reader = factsReader(layout, span, series.interval as Interval | undefined);
  const { entry } = await readZipLines(bytes(), (line) => reader.line(line));
  const facts = entry === null ? { notInspected: 'the zip holds no CSV file' } : reader.finish();
  return { facts, verdict: contentStatus(facts, span, thresholds) };
}
