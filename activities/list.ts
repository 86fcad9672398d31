/**
 * Lists one shard's series in the source and the destination (zips, `.CHECKSUM`s, proof records),
 * decides what each file needs (plan.ts) and writes the plan as it goes: batch objects of
 * `batchSize` files and parts of settled entries (files that need no batch). Memory holds one window
 * of series, never the shard. Objects are written a few at a time while the listing goes on; once
 * every object before it is written the activity heartbeats a checkpoint, so a listing that is
 * killed or fails goes on from its last checkpoint instead of starting over.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import {
  archiveFileName,
  checksumKey,
  destinationKey,
  periodOf,
  proofFolder,
  quarantineKey,
  seriesPrefix,
  sourceKeyOfQuarantined,
} from '../workflows/keys';
import { Destination, type QuarantineEvidence } from './destination';
import { copiesNothing, periodsOf } from '../workflows/request';
import { emptyPlanCounts, type PlanCounts } from '../workflows/tally';
import type { ListInput, ListResult, ManifestEntry, SeriesSpec } from '../workflows/types';
import { classifyS3Error } from './errors';
import { listRange } from './listing';
import { decide, type PlanFile, type SuspectProof } from './plan';
import { mapPool } from './pool';
import {
  normalizeEtag,
  objectToken,
  parseProofKey,
  proofEarnedBy,
  proofFileName,
  type ObjectId,
  type ProofName,
} from './proof';
import { OrderedWrites } from './ordered-writes';
import { STATE_OBJECTS, StateStore } from './state-store';

/** Series listed at once. */
const WINDOW = 8;
/** Settled entries written per part: a rerun where every file is already proven holds no more than this. */
const SETTLED_PART_SIZE = 5_000;
/** Plan objects (and settled parts) written at once while the listing goes on: each holds one batch in memory. */
const PLAN_WRITES_IN_FLIGHT = 4;

/** Everything before (series, lastKey) is written: `batches` plan objects and `settledParts` parts. */
export interface ListCheckpoint {
  series: number;
  lastKey: string | null;
  batches: number;
  settledParts: number;
  counts: PlanCounts;
}

type Item = { kind: 'plan'; file: PlanFile } | { kind: 'settled'; entry: ManifestEntry; presentBytes: number };

interface SeriesListing {
  items: Item[];
  listed: number;
}

function entry(
  key: string,
  size: number | null,
  outcome: ManifestEntry['outcome'],
  proof: ManifestEntry['proof'],
  error: string | null,
): ManifestEntry {
  return { key, size, sha256: null, mode: null, outcome, proof, attempts: 0, error };
}

/** One series: its files in key order, each planned or settled, with a not_published entry for each period the archive lacks. */
async function listSeries(
  deps: { source: S3Client; destination: S3Client; sourceBucket: string },
  input: ListInput,
  series: SeriesSpec,
  rangePeriods: string[],
): Promise<SeriesListing> {
  const { range, request, state } = input;
  const dp = state.destinationPrefix;
  const prefix = seriesPrefix(series);
  // Keys sort by date, so each listing can start at the first period and stop after the last.
  const first = prefix + archiveFileName(series, range.first).replace(/\.zip$/, '');
  const lastZip = prefix + archiveFileName(series, range.last);
  const last = checksumKey(lastZip);
  const failing = (what: string) => (e: unknown) => {
    throw classifyS3Error(e, what);
  };
  const [src, dst, proofs, quarantined] = await Promise.all([
    listRange(deps.source, deps.sourceBucket, prefix, first, last).catch(
      failing(`listing source s3://${deps.sourceBucket}/${prefix}`),
    ),
    listRange(
      deps.destination,
      state.bucket,
      destinationKey(dp, prefix),
      destinationKey(dp, first),
      destinationKey(dp, last),
    ).catch(failing(`listing destination s3://${state.bucket}/${dp}${prefix}`)),
    listRange(
      deps.destination,
      state.bucket,
      proofFolder(dp, prefix),
      proofFolder(dp, first),
      `${proofFolder(dp, lastZip)}/~`,
    ).catch(failing(`listing proofs s3://${state.bucket}/${proofFolder(dp, prefix)}`)),
    // Bytes put aside earlier: a file whose unchanged source failed its check is not copied and put aside again.
    copiesNothing(request.action)
      ? Promise.resolve([])
      : listRange(
          deps.destination,
          state.bucket,
          quarantineKey(dp, prefix),
          quarantineKey(dp, first),
          quarantineKey(dp, lastZip),
        ).catch(failing(`listing the quarantine s3://${state.bucket}/${quarantineKey(dp, prefix)}`)),
  ]);
  const dest = new Destination(deps.destination, state.bucket, dp);
  const putAside = await earlierEvidence(dest, quarantined);
  const srcByKey = new Map(src.map((o) => [o.key, o]));
  const dstByKey = new Map(dst.map((o) => [o.key.slice(dp.length), o]));
  const proofsByKey = new Map<string, ProofName[]>();
  for (const o of proofs) {
    const parsed = parseProofKey(proofFolder(dp, ''), o.key);
    if (parsed) proofsByKey.set(parsed.sourceKey, [...(proofsByKey.get(parsed.sourceKey) ?? []), parsed.proof]);
  }
  // An audit that rechecks proofs reads the record of each proof bound to the bytes there now: one whose record
  // cannot be true does not count, and is voided when the file is proven again.
  const suspects = request.recheckProofs
    ? await suspectProofs(dest, src, dstByKey, proofsByKey)
    : new Map<string, SuspectProof[]>();

  const byPeriod = new Map<string, Item>();
  for (const o of src) {
    if (!o.key.endsWith('.zip')) continue;
    const period = periodOf(series, o.key.slice(prefix.length));
    if (!period || period < range.first || period > range.last) continue;
    const checksum = srcByKey.get(checksumKey(o.key));
    // An operator's acceptance stands without a .CHECKSUM too: reruns keep accepted files.
    const acceptedHere =
      !checksum &&
      decide({ zip: o }, { zip: dstByKey.get(o.key), proofs: proofsByKey.get(o.key) ?? [] }, request.verification);
    if (acceptedHere && acceptedHere.action === 'skip' && acceptedHere.proof === 'accepted') {
      byPeriod.set(period, {
        kind: 'settled',
        presentBytes: o.size,
        entry: entry(o.key, o.size, 'skipped', 'accepted', null),
      });
      continue;
    }
    if (!checksum && proofEarnedBy(request.verification) === 'sha256') {
      byPeriod.set(period, {
        kind: 'settled',
        presentBytes: 0,
        entry: entry(
          o.key,
          o.size,
          'missing_checksum',
          null,
          'the source has no .CHECKSUM for this file, so it cannot be verified; not copied',
        ),
      });
      continue;
    }
    const suspect = suspects.get(o.key);
    const dstZip = dstByKey.get(o.key);
    const trusted = (proofsByKey.get(o.key) ?? []).filter((p) => !suspect?.some((x) => x.proof === proofFileName(p)));
    let decision = decide({ zip: o, checksum }, { zip: dstZip, proofs: trusted }, request.verification);
    // Bytes with a voided proof are proven again even where another proof still stands.
    if (suspect && decision.action === 'skip' && dstZip)
      decision = { action: 'verify_only', seen: { etag: dstZip.etag, size: dstZip.size } };
    // The same source bytes under the same .CHECKSUM failed before and wait in the quarantine: report them, copy nothing.
    const earlier = decision.action === 'copy' || decision.action === 'replace' ? putAside.get(o.key) : undefined;
    if (
      earlier &&
      normalizeEtag(earlier.evidence.source.etag) === normalizeEtag(o.etag) &&
      earlier.evidence.source.size === o.size &&
      normalizeEtag(earlier.evidence.sidecarEtag ?? '') === normalizeEtag(checksum?.etag ?? '')
    ) {
      const e = earlier.evidence;
      byPeriod.set(period, {
        kind: 'settled',
        presentBytes: 0,
        entry: {
          ...entry(
            o.key,
            o.size,
            e.outcome,
            decision.action === 'replace' ? (decision.kept?.level ?? null) : null,
            `${e.reason}; put aside at ${earlier.key} by an earlier run (${e.at}); the source is unchanged, so it is not copied again: review it with "client quarantine list"`,
          ),
          sha256: e.actualSha256,
          evidence: { ...e, quarantinedEarlier: earlier.key },
        },
      });
      continue;
    }
    if (decision.action === 'skip') {
      byPeriod.set(period, {
        kind: 'settled',
        presentBytes: o.size,
        entry: entry(o.key, o.size, 'skipped', decision.proof, null),
      });
    } else {
      byPeriod.set(period, {
        kind: 'plan',
        file: {
          key: o.key,
          size: o.size,
          etag: o.etag,
          checksumEtag: checksum?.etag ?? null,
          action: decision.action,
          ...(decision.kept ? { kept: decision.kept } : {}),
          ...(decision.seen ? { seen: decision.seen } : {}),
          ...(suspect ? { suspectProofs: suspect } : {}),
        },
      });
    }
  }
  // A clipped series is taken over the span the archive has for it: no not_published before its first file or after its last.
  let periods = rangePeriods;
  if (series.clip) {
    const found = [...byPeriod.keys()].sort();
    periods = found.length
      ? rangePeriods.slice(rangePeriods.indexOf(found[0]), rangePeriods.indexOf(found[found.length - 1]) + 1)
      : [];
  }
  const items = periods.map(
    (period): Item =>
      byPeriod.get(period) ?? {
        kind: 'settled',
        presentBytes: 0,
        entry: entry(
          prefix + archiveFileName(series, period),
          null,
          'not_published',
          null,
          'not in the source listing: not published (yet)',
        ),
      },
  );
  return { items, listed: src.length + dst.length + proofs.length + quarantined.length };
}

/** The evidence each quarantined object carries (one HEAD per object put aside), by archive key. */
async function earlierEvidence(
  dest: Destination,
  quarantined: { key: string }[],
): Promise<Map<string, { key: string; evidence: QuarantineEvidence }>> {
  const out = new Map<string, { key: string; evidence: QuarantineEvidence }>();
  await mapPool(quarantined, 8, async (o) => {
    const sourceKey = sourceKeyOfQuarantined(dest.prefix, o.key);
    if (!sourceKey?.endsWith('.zip')) return;
    const q = await dest.quarantined(sourceKey).catch((err: unknown) => {
      throw classifyS3Error(err, `reading s3://${dest.bucket}/${o.key}`);
    });
    if (q?.evidence?.source) out.set(sourceKey, { key: q.key, evidence: q.evidence });
  });
  return out;
}

/** Proofs bound to the bytes each key holds now whose record cannot be true (one GET per bound proof). */
async function suspectProofs(
  dest: Destination,
  src: { key: string }[],
  dstByKey: Map<string, ObjectId>,
  proofsByKey: Map<string, ProofName[]>,
): Promise<Map<string, SuspectProof[]>> {
  const bound = src.flatMap((o) => {
    const at = dstByKey.get(o.key);
    if (!at) return [];
    const token = objectToken(at);
    return (proofsByKey.get(o.key) ?? []).filter((p) => p.destination === token).map((p) => ({ key: o.key, p }));
  });
  const out = new Map<string, SuspectProof[]>();
  await mapPool(bound, 16, async ({ key, p }) => {
    const problem = await dest.proofProblem(key, p).catch((e: unknown) => {
      throw classifyS3Error(e, `reading the proofs of s3://${dest.bucket}/${dest.finalKey(key)}`);
    });
    if (problem) out.set(key, [...(out.get(key) ?? []), { proof: proofFileName(p), problem }]);
  });
  return out;
}

export async function listShard(
  deps: {
    source: S3Client;
    destination: S3Client;
    sourceBucket: string;
    checkpoint: (c: ListCheckpoint, seriesListed: number) => void;
    signal?: AbortSignal;
  },
  input: ListInput,
  resumeFrom: ListCheckpoint | undefined,
): Promise<Omit<ListResult, 's3Requests'>> {
  proofEarnedBy(input.request.verification); // an unknown level plans nothing
  const store = new StateStore(deps.destination, input.state);
  const series = await store.series();
  if (!series)
    throw new Error(`the shard's series list s3://${input.state.bucket}/${store.key(STATE_OBJECTS.series)} is missing`);
  const rangePeriods = periodsOf(input.range, input.request.granularity);
  const from = resumeFrom ?? { series: 0, lastKey: null, batches: 0, settledParts: 0, counts: emptyPlanCounts() };
  const counts = { ...from.counts };
  let batches = from.batches;
  let settledParts = from.settledParts;
  let batch: PlanFile[] = [];
  let settled: ManifestEntry[] = [];
  let last: ListCheckpoint = from;

  // A cancelled or timed-out attempt stops writing: its retry may already be writing the same plan objects.
  const stopIfCancelled = () => {
    if (deps.signal?.aborted) throw deps.signal.reason ?? new Error('the listing was cancelled');
  };
  // The plan's objects are written a few at a time while the listing goes on; each checkpoint is sent once every
  // object it covers is written (on a distant store the writes' round trips overlap instead of adding up).
  const writes = new OrderedWrites(PLAN_WRITES_IN_FLIGHT);
  const flush = async (series: number, lastKey: string | null) => {
    stopIfCancelled();
    const [planned, planNumber, settledHere, partNumber] = [batch, batches, settled, settledParts];
    if (planned.length) batches++;
    if (settledHere.length) settledParts++;
    batch = [];
    settled = [];
    const checkpoint: ListCheckpoint = { series, lastKey, batches, settledParts, counts: { ...counts } };
    last = checkpoint;
    await writes.add(
      async () => {
        stopIfCancelled();
        await Promise.all([
          planned.length ? store.putPlanBatch(planNumber, planned) : undefined,
          settledHere.length
            ? store.putText(
                STATE_OBJECTS.settledPart(partNumber),
                settledHere.map((e) => JSON.stringify(e)).join('\n'),
                'application/x-ndjson',
              )
            : undefined,
        ]);
      },
      () => deps.checkpoint(checkpoint, series),
    );
  };

  try {
    for (let start = from.series; start < series.length; start += WINDOW) {
      stopIfCancelled();
      writes.check();
      const window = series.slice(start, start + WINDOW);
      const listings = await Promise.all(window.map((s) => listSeries(deps, input, s, rangePeriods)));
      for (const [j, listing] of listings.entries()) {
        const index = start + j;
        for (const item of listing.items) {
          const key = item.kind === 'plan' ? item.file.key : item.entry.key;
          if (index === from.series && from.lastKey !== null && key <= from.lastKey) continue; // written before the checkpoint
          if (item.kind === 'plan') {
            const f = item.file;
            batch.push(f);
            counts.planned++;
            counts.plannedBytes += f.size;
            if (f.action === 'replace' && f.kept) counts.replacements++;
            if (f.action === 'verify_only') counts.verifyOnly++;
          } else {
            settled.push(item.entry);
            if (item.entry.outcome === 'skipped') {
              counts.alreadyPresent++;
              counts.alreadyPresentBytes += item.presentBytes;
            } else if (item.entry.outcome === 'not_published') counts.notPublished++;
            else if (item.entry.outcome === 'missing_checksum') counts.missingChecksum++;
          }
          if (batch.length >= input.request.batchSize || settled.length >= SETTLED_PART_SIZE) await flush(index, key);
        }
        counts.listedObjects += listing.listed;
      }
      // Between windows, with nothing pending, the start of the next window is a checkpoint that loses nothing.
      // Otherwise the last checkpoint is sent again: the listing is alive, and its resume point has not moved.
      if (!batch.length && !settled.length)
        last = { series: start + window.length, lastKey: null, batches, settledParts, counts: { ...counts } };
      const [checkpoint, listed] = [last, start + window.length];
      writes.after(() => deps.checkpoint(checkpoint, listed));
    }
    await flush(series.length, null);
    await writes.done();
  } catch (err) {
    // No write of this attempt outlives it: its retry writes the same objects.
    await writes.settle();
    throw err;
  }
  return {
    ...counts,
    batchCount: batches,
    settledParts,
    ...(resumeFrom ? { resumedAtSeries: resumeFrom.series } : {}),
  };
}
