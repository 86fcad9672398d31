/**
 * Lists the source for every series of the request, pairs each zip with its `.CHECKSUM`, compares
 * with the destination, and writes the plan as batch objects in the destination bucket.
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { archiveFileName, checksumKey, destinationKey, periodOf, seriesPrefix, type Series } from '../workflows/keys';
import { expandSeries } from '../workflows/request';
import type { ListInput, ListResult, ManifestEntry } from '../workflows/types';
import { classifyS3Error } from './errors';
import { mapPool } from './heartbeat';
import { batchName, chunk, decideAction, type ObjectInfo, type PlanFile } from './plan';
import { StateStore } from './state-store';

export interface ListedObject extends ObjectInfo {
  key: string;
}

/** Paginated listing of the keys under prefix from startAfter up to and including stopAfter. */
export async function listRange(s3: S3Client, bucket: string, prefix: string, startAfter: string, stopAfter: string): Promise<ListedObject[]> {
  const out: ListedObject[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, StartAfter: token ? undefined : startAfter, ContinuationToken: token, MaxKeys: 1000 }),
    );
    for (const o of page.Contents ?? []) {
      if (!o.Key) continue;
      if (o.Key > stopAfter) return out;
      out.push({ key: o.Key, size: o.Size ?? 0, etag: o.ETag ?? '' });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

interface SeriesListing {
  planned: PlanFile[];
  settled: ManifestEntry[];
  listed: number;
  alreadyPresentBytes: number;
}

async function listSeries(
  deps: { source: S3Client; destination: S3Client; sourceBucket: string },
  input: ListInput,
  series: Series,
): Promise<SeriesListing> {
  const { range, request, state } = input;
  const prefix = seriesPrefix(series);
  // Keys sort by date, so the listing can start at the first period and stop after the last.
  const first = prefix + archiveFileName(series, range.first).replace(/\.zip$/, '');
  const last = checksumKey(prefix + archiveFileName(series, range.last));
  const [src, dst] = await Promise.all([
    listRange(deps.source, deps.sourceBucket, prefix, first, last).catch((e) => {
      throw classifyS3Error(e, `listing source s3://${deps.sourceBucket}/${prefix}`);
    }),
    listRange(deps.destination, state.bucket, destinationKey(state.destinationPrefix, prefix), destinationKey(state.destinationPrefix, first), destinationKey(state.destinationPrefix, last)).catch((e) => {
      throw classifyS3Error(e, `listing destination s3://${state.bucket}/${state.destinationPrefix}${prefix}`);
    }),
  ]);
  const srcByKey = new Map(src.map((o) => [o.key, o]));
  const dstByKey = new Map(dst.map((o) => [o.key.slice(state.destinationPrefix.length), o]));
  const wanted = new Set(range.periods);
  const found = new Set<string>();
  const planned: PlanFile[] = [];
  const settled: ManifestEntry[] = [];
  let alreadyPresentBytes = 0;

  for (const o of src) {
    if (!o.key.endsWith('.zip')) continue;
    const period = periodOf(series, o.key.slice(prefix.length));
    if (!period || !wanted.has(period)) continue;
    found.add(period);
    const checksum = srcByKey.get(checksumKey(o.key));
    if (!checksum && request.verification === 'checksum') {
      settled.push(entry(o.key, o.size, 'missing_checksum', 'the source has no .CHECKSUM for this file, so it cannot be verified; not copied'));
      continue;
    }
    const action = decideAction({ zip: o, checksum }, { zip: dstByKey.get(o.key), checksum: dstByKey.get(checksumKey(o.key)) }, request.verification);
    if (action === 'skip') {
      alreadyPresentBytes += o.size;
      settled.push(entry(o.key, o.size, 'skipped_identical', null));
    } else {
      planned.push({ key: o.key, size: o.size, etag: o.etag, checksumEtag: checksum?.etag ?? null, action });
    }
  }
  for (const period of range.periods) {
    if (!found.has(period)) {
      settled.push(entry(prefix + archiveFileName(series, period), null, 'not_published', 'not in the source listing: not published (yet)'));
    }
  }
  return { planned, settled, listed: src.length, alreadyPresentBytes };
}

function entry(key: string, size: number | null, outcome: ManifestEntry['outcome'], error: string | null): ManifestEntry {
  return { key, size, sha256: null, mode: null, outcome, attempts: 0, error };
}

export async function listAndPlan(
  deps: { source: S3Client; destination: S3Client; sourceBucket: string; onProgress: (seriesDone: number) => void },
  input: ListInput,
): Promise<Omit<ListResult, 's3Requests'>> {
  const allSeries = expandSeries(input.request);
  let done = 0;
  const listings = await mapPool(allSeries, 8, async (series) => {
    const r = await listSeries(deps, input, series);
    deps.onProgress(++done);
    return r;
  });
  const planned = listings.flatMap((l) => l.planned);
  const settled = listings.flatMap((l) => l.settled);
  const store = new StateStore(deps.destination, input.state);
  const batches = chunk(planned, input.request.batchSize);
  await mapPool(batches.map((files, i) => ({ files, i })), 16, ({ files, i }) => store.putJson(`plan/${batchName(i)}.json`, files));
  await store.putText('plan/settled.ndjson', settled.map((e) => JSON.stringify(e)).join('\n'), 'application/x-ndjson');
  return {
    batchCount: batches.length,
    planned: planned.length,
    plannedBytes: planned.reduce((n, f) => n + f.size, 0),
    alreadyPresent: settled.filter((e) => e.outcome === 'skipped_identical').length,
    alreadyPresentBytes: listings.reduce((n, l) => n + l.alreadyPresentBytes, 0),
    notPublished: settled.filter((e) => e.outcome === 'not_published').length,
    missingChecksum: settled.filter((e) => e.outcome === 'missing_checksum').length,
    listedObjects: listings.reduce((n, l) => n + l.listed, 0),
  };
}
