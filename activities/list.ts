/**
 * Lists the source for every series of the request, pairs each zip with its `.CHECKSUM`, compares
 * with what the destination holds and proves (proof records), and writes the plan as batch objects
 * in the destination bucket.
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { archiveFileName, checksumKey, destinationKey, periodOf, proofFolder, seriesPrefix, type Series } from '../workflows/keys';
import { expandSeries } from '../workflows/request';
import type { ListInput, ListResult, ManifestEntry } from '../workflows/types';
import { classifyS3Error } from './errors';
import { mapPool } from './pool';
import { batchName, chunk, decide, type PlanFile } from './plan';
import { parseProofKey, type ObjectId, type ProofName } from './proof';
import { requireSeries } from './series-check';
import { StateStore } from './state-store';

export interface ListedObject extends ObjectId {
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
  series: Series;
  planned: PlanFile[];
  settled: ManifestEntry[];
  listed: number;
  published: number;
  alreadyPresentBytes: number;
}

async function listSeries(
  deps: { source: S3Client; destination: S3Client; sourceBucket: string },
  input: ListInput,
  series: Series,
): Promise<SeriesListing> {
  const { range, request, state } = input;
  const dp = state.destinationPrefix;
  const prefix = seriesPrefix(series);
  // Keys sort by date, so each listing can start at the first period and stop after the last.
  const first = prefix + archiveFileName(series, range.first).replace(/\.zip$/, '');
  const lastZip = prefix + archiveFileName(series, range.last);
  const last = checksumKey(lastZip);
  const failing = (what: string) => (e: unknown) => { throw classifyS3Error(e, what); };
  const [src, dst, proofs] = await Promise.all([
    listRange(deps.source, deps.sourceBucket, prefix, first, last).catch(failing(`listing source s3://${deps.sourceBucket}/${prefix}`)),
    listRange(deps.destination, state.bucket, destinationKey(dp, prefix), destinationKey(dp, first), destinationKey(dp, last))
      .catch(failing(`listing destination s3://${state.bucket}/${dp}${prefix}`)),
    listRange(deps.destination, state.bucket, proofFolder(dp, prefix), proofFolder(dp, first), `${proofFolder(dp, lastZip)}/~`)
      .catch(failing(`listing proofs s3://${state.bucket}/${proofFolder(dp, prefix)}`)),
  ]);
  const srcByKey = new Map(src.map((o) => [o.key, o]));
  const dstByKey = new Map(dst.map((o) => [o.key.slice(dp.length), o]));
  const proofsByKey = new Map<string, ProofName[]>();
  for (const o of proofs) {
    const parsed = parseProofKey(proofFolder(dp, ''), o.key);
    if (parsed) proofsByKey.set(parsed.sourceKey, [...(proofsByKey.get(parsed.sourceKey) ?? []), parsed.proof]);
  }
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
      settled.push(entry(o.key, o.size, 'missing_checksum', null, 'the source has no .CHECKSUM for this file, so it cannot be verified; not copied'));
      continue;
    }
    const decision = decide({ zip: o, checksum }, { zip: dstByKey.get(o.key), proofs: proofsByKey.get(o.key) ?? [] }, request.verification);
    if (decision.action === 'skip') {
      alreadyPresentBytes += o.size;
      settled.push(entry(o.key, o.size, 'skipped', decision.proof, null));
    } else {
      planned.push({
        key: o.key, size: o.size, etag: o.etag, checksumEtag: checksum?.etag ?? null, action: decision.action,
        ...(decision.kept ? { kept: decision.kept } : {}), ...(decision.seen ? { seen: decision.seen } : {}),
      });
    }
  }
  for (const period of range.periods) {
    if (!found.has(period)) {
      settled.push(entry(prefix + archiveFileName(series, period), null, 'not_published', null, 'not in the source listing: not published (yet)'));
    }
  }
  return { series, planned, settled, listed: src.length, published: found.size, alreadyPresentBytes };
}

function entry(key: string, size: number | null, outcome: ManifestEntry['outcome'], proof: ManifestEntry['proof'], error: string | null): ManifestEntry {
  return { key, size, sha256: null, mode: null, outcome, proof, attempts: 0, error };
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
  // A series with nothing in the range may not exist at all: the archive's listing says.
  await requireSeries(deps.source, deps.sourceBucket, listings.filter((l) => l.listed === 0).map((l) => l.series));

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
    alreadyPresent: settled.filter((e) => e.outcome === 'skipped').length,
    alreadyPresentBytes: listings.reduce((n, l) => n + l.alreadyPresentBytes, 0),
    replacements: planned.filter((f) => f.action === 'replace' && f.kept).length,
    verifyOnly: planned.filter((f) => f.action === 'verify_only').length,
    notPublished: settled.filter((e) => e.outcome === 'not_published').length,
    missingChecksum: settled.filter((e) => e.outcome === 'missing_checksum').length,
    listedObjects: listings.reduce((n, l) => n + l.listed, 0),
  };
}
