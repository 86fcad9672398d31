/**
 * Facts records: what inspection found inside a file, kept beside its proofs at
 * `<prefix>_facts/<archive key>/<destination token>.<status>.json`. The name binds the record to the exact
 * destination bytes it was read from (the same token as proof names: their ETag and size as the destination lists
 * them), so an overwrite unbinds it and a listing alone says which files are read and their own status. The body
 * holds the facts, the verdict and the thresholds it was judged by. Pure.
 */
import { CONTENT_STATUSES, type ContentStatusName } from '../../workflows/types';
import { splitRecordKey } from '../proof';
import type { ContinuityVerdict } from './continuity';
import type { ContentFacts } from './facts';
import type { ContentThresholds, ContentVerdict } from './status';

export interface FactsRecord {
  key: string;
  destination: { etag: string; size: number };
  facts: ContentFacts | { notInspected: string };
  /** The file's own verdict, from its rows. */
  verdict: ContentVerdict;
  /** Set by an inspect run when the id sequence breaks at the file's edge: the file is cut short whatever its rows say. */
  continuity?: ContinuityVerdict;
  thresholds: ContentThresholds;
  collectionId: string;
  inspectedAt: string;
}

export interface FactsName {
  token: string;
  status: ContentStatusName;
}

/** The status a record's name carries: cut short by continuity, else its own verdict. */
export function statusOf(r: Pick<FactsRecord, 'verdict' | 'continuity'>): ContentStatusName {
  return r.continuity ? 'cut_short' : r.verdict.status;
}

/** Of several records bound to the same bytes (a rename cut short by a crash), the one whose status is worst. */
export function worstName(names: FactsName[]): FactsName | undefined {
  const rank: Record<ContentStatusName, number> = { cut_short: 0, gaps: 1, unknown: 2, whole: 3 };
  return [...names].sort((a, b) => rank[a.status] - rank[b.status])[0];
}

export function factsFileName(n: FactsName): string {
  return `${n.token}.${n.status}.json`;
}

const NAME = new RegExp(`^([0-9a-f]{16})\\.(${CONTENT_STATUSES.join('|')})\\.json$`);

/** `<folder><archive key>/<facts file>` → the archive key and the name's parts, or undefined for anything else. */
export function parseFactsKey(folder: string, key: string): { sourceKey: string; name: FactsName } | undefined {
  const r = splitRecordKey(folder, key, NAME);
  return r && { sourceKey: r.sourceKey, name: { token: r.m[1], status: r.m[2] as ContentStatusName } };
}

/** The record's body, when it parses and is about this file and these bytes; else undefined (it is read again). */
export function parseFactsRecord(sourceKey: string, body: string | undefined): FactsRecord | undefined {
  if (!body) return undefined;
  try {
    const r = JSON.parse(body) as FactsRecord;
    if (!r || typeof r !== 'object' || r.key !== sourceKey || !r.facts || !r.verdict) return undefined;
    if (!(CONTENT_STATUSES as readonly string[]).includes(r.verdict.status)) return undefined;
    return r;
  } catch {
    return undefined;
  }
}
