/**
 * A shard's content results, kept in its state folder (`content.ndjson`) between the inspection step and the
 * manifest: one line per verified file whose content is known, one line per break between files, and the summary.
 */
import type { ContentSummary, FileContent } from '../../workflows/types';
export { addContent, emptyContent } from '../../workflows/coverage';
import { STATE_OBJECTS, type StateStore } from '../state-store';
import type { SeriesBreak } from './continuity';

/** A break in a series, with the series it is in. */
export interface SeriesBreakAt extends SeriesBreak {
  series: string;
}

/** Breaks kept per shard (the summary counts all of them). */
export const MAX_KEPT_BREAKS = 1_000;

type Line = { file: string; content: FileContent } | { break: SeriesBreakAt } | { summary: ContentSummary };

export async function writeContent(
  store: StateStore,
  files: Map<string, FileContent>,
  breaks: SeriesBreakAt[],
  summary: ContentSummary,
): Promise<void> {
  await store.putStream(STATE_OBJECTS.content, 'application/x-ndjson', async (out) => {
    for (const [file, content] of files) await out(`${JSON.stringify({ file, content } satisfies Line)}\n`);
    for (const b of breaks.slice(0, MAX_KEPT_BREAKS)) await out(`${JSON.stringify({ break: b } satisfies Line)}\n`);
    await out(`${JSON.stringify({ summary } satisfies Line)}\n`);
  });
}

/** The shard's content results, or undefined when no inspection step ran (runs recorded before it existed). */
export async function readContent(
  store: StateStore,
): Promise<
  { files: Map<string, FileContent>; breaks: Map<string, SeriesBreakAt[]>; summary: ContentSummary } | undefined
> {
  const files = new Map<string, FileContent>();
  const breaks = new Map<string, SeriesBreakAt[]>();
  let summary: ContentSummary | undefined;
  for await (const text of store.lines(STATE_OBJECTS.content)) {
    const line = JSON.parse(text) as Line;
    if ('file' in line) files.set(line.file, line.content);
    else if ('break' in line) {
      const list = breaks.get(line.break.series);
      if (list) list.push(line.break);
      else breaks.set(line.break.series, [line.break]);
    } else summary = line.summary;
  }
  return summary ? { files, breaks, summary } : undefined;
}
