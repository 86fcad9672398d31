/** All activities, built from injected dependencies (the samples' `createActivities(deps)` pattern). */
import { Context } from '@temporalio/activity';
import { recordCollection } from './metrics';
import type { S3Client } from '@aws-sdk/client-s3';
import type { WorkerConfig } from '../worker/config';
import type { CollectionAction } from '../workflows/request';
import type {
  BatchRef,
  CollectionReport,
  DirectSyncResult,
  DiscoverInput,
  Discovery,
  DownloadResult,
  ListInput,
  ListResult,
  ManifestCounts,
  Mode,
  ContentSummary,
  PlanEstimate,
  StagedBatch,
  StateRef,
  TraditionalResult,
  VerifyResult,
} from '../workflows/types';
import { assembleCollection, type AssembleInput, type AssembledKeys } from './assemble';
import { Destination } from './destination';
import { requireAllowedDestination, requireAllowedState } from './destination-policy';
import { directSyncBatch } from './direct-sync';
import { discoverSeries } from './discover';
import { estimatePlan } from './estimate';
import { listShard, type ListCheckpoint } from './list';
import { countBatch, countListed, writeManifest, type ManifestInput, type ManifestSummary } from './manifest';
import { inspectShard, type InspectShardInput } from './inspect-shard';
import {
  copyProbeSample,
  probeS5cmd,
  s5cmdCopiesIfAbsent,
  probeSharedEndpoint,
  tryServerSideCopy,
  withWriteProbe,
  type CopyProbe,
  type ProbeInput,
  type ProbeResult,
} from './probe';
import { proveCopied } from './prove';
import { acceptQuarantined, discardQuarantined, listQuarantine, type QuarantinedFile } from './quarantine-review';
import { countingRequests } from './s3';
import { SourceReader } from './source-reader';
import type { StagingArea } from './staging';
import { STATE_OBJECTS, StateStore } from './state-store';
import { cleanupStaging, downloadBatch, uploadStaged, verifyStaged, type TraditionalDeps } from './traditional';
import { InvalidInputError } from './errors';
import type { PlanFile } from './plan';
import { StoreFacts } from './store-facts';
import { checksumKey } from '../workflows/keys';
import {
  AcceptQuarantinedSchema,
  AssembleInputSchema,
  BatchRefSchema,
  CountBatchSchema,
  CountListedSchema,
  DiscardQuarantinedSchema,
  ListInputSchema,
  InspectShardSchema,
  ListQuarantineSchema,
  ManifestInputSchema,
  ProbeInputSchema,
  StagedBatchSchema,
  WriteReportSchema,
  parseWith,
} from '../workflows/schemas';
import type { z } from 'zod';

export interface ActivityDeps {
  config: WorkerConfig;
  source: S3Client;
  destination: S3Client;
  staging: StagingArea;
  /** The task queue only this worker process polls (for the traditional steps that share its disk). */
  workerTaskQueue: string;
}

/** Where a review looks: a request's destination, or the worker's defaults. */
export interface ReviewTarget {
  bucket?: string;
  prefix?: string;
}

/**
 * An activity's input, parsed before anything else: any namespace user can schedule these activities with any
 * arguments. The message names the activity and the fields, and stays small whatever the input.
 */
function parsed<T>(activity: string, schema: z.ZodType<T>, input: unknown): T {
  const r = parseWith(schema, input);
  if (r.ok) return r.value;
  throw new InvalidInputError(`${activity}: invalid input:\n${r.problems.map((p) => `  - ${p}`).join('\n')}`);
}

async function counted<T extends { s3Requests: number }>(fn: () => Promise<T>): Promise<T> {
  const { value, requests } = await countingRequests(fn);
  return { ...value, s3Requests: value.s3Requests + requests };
}

export function createActivities(deps: ActivityDeps) {
  const { config, destination } = deps;
  const policy = config.destination.policy;
  const sourceReader = new SourceReader(
    deps.source,
    config.source.bucket,
    config.source.httpUrl,
    config.s3RequestTimeoutMs,
  );
  const storeFacts = new StoreFacts({ source: deps.source, destination, sourceBucket: config.source.bucket });
  /** The store's own SHA-256 counts only where this worker saw the store compute it right (never on the caller's word). */
  const storeChecksumHolds = (state: StateRef) => (files: PlanFile[]) => {
    const sample = files.find((f) => f.checksumEtag);
    return storeFacts.computesCopyChecksum(state.bucket, state.destinationPrefix, sample && checksumKey(sample.key));
  };
  /** A new file's copy is refused by the store itself when its key is taken, where both the store and s5cmd can. */
  const copiesIfAbsent = (state: StateRef) => async () =>
    (await s5cmdCopiesIfAbsent(config.s5cmd.path)) && storeFacts.copiesIfAbsent(state.bucket, state.destinationPrefix);
  /** Whether a copy over a final key is guarded on this store, as this worker found it (never on the caller's word). */
  const unguardedPromotion = (state: StateRef) => () =>
    storeFacts.unguardedPromotion(state.bucket, state.destinationPrefix);
  /** Every activity that touches a collection's state or data checks it here, against this worker's configuration. */
  const allowedState = <T extends { state: StateRef }>(input: T): T => {
    requireAllowedState(policy, input.state);
    return input;
  };
  const storeFor = (state: StateRef) => new StateStore(destination, state);
  const destinationOf = (state: StateRef) => (signal?: AbortSignal) =>
    new Destination(destination, state.bucket, state.destinationPrefix, signal);
  const reviewDestination = (t: ReviewTarget) => {
    const bucket = t.bucket ?? config.destination.defaultBucket;
    const prefix = t.prefix ?? config.destination.defaultPrefix;
    // Accepting or discarding quarantined bytes writes and deletes there: the same allow-list as collections.
    requireAllowedDestination(policy, bucket, prefix);
    return new Destination(destination, bucket, prefix);
  };
  const requireDecisions = (what: string) => {
    if (!config.destination.quarantineDecisions)
      throw new InvalidInputError(
        `${what}: this worker does not decide on quarantined files (QUARANTINE_DECISIONS=false); an operator runs the review on a worker that does`,
      );
  };
  const traditional = (state: StateRef): TraditionalDeps => ({
    config,
    sourceBucket: config.source.bucket,
    destinationFor: destinationOf(state),
    source: sourceReader,
    store: storeFor(state),
    staging: deps.staging,
    concurrency: config.transferConcurrency,
    multipartThresholdBytes: config.multipartThresholdBytes,
    checksPutChecksum: () => storeFacts.checksPutChecksum(state.bucket, state.destinationPrefix),
  });

  return {
    async probeEnvironment(raw: ProbeInput): Promise<ProbeResult> {
      const input = parsed('probeEnvironment', ProbeInputSchema, raw);
      const bucket = input.bucket ?? config.destination.defaultBucket;
      const prefix = input.prefix ?? config.destination.defaultPrefix;
      requireAllowedDestination(policy, bucket, prefix);
      const sharedEndpoint = probeSharedEndpoint(config);
      const notTried = {
        serverSideCopy: { works: false, detail: sharedEndpoint.detail },
        storeChecksum: { supported: false, detail: 'not tried' },
      };
      const copyDeps = { source: deps.source, destination, sourceBucket: config.source.bucket };
      // The source object to try a copy with is looked up while the write probe is written (awaited below).
      const sample = sharedEndpoint.shared && input.request ? copyProbeSample(copyDeps, input.request) : undefined;
      sample?.catch(() => undefined);
      // A refusal decides the mode; a failure that outlasted the probe's own retries fails this activity, which its
      // retry policy runs again, so one bad minute of the store never sends a whole collection the slow way.
      const tryCopy = async (): Promise<CopyProbe> => {
        const s = sample ? await sample : notTried;
        return 'key' in s ? tryServerSideCopy(copyDeps, s.key, bucket, prefix) : s;
      };
      // The copy and the guards are tried side by side while the write probe's object holds `_collections/`.
      const [s5cmd, written] = await Promise.all([
        probeS5cmd(config.s5cmd.path),
        withWriteProbe(destination, bucket, prefix, (writable) =>
          Promise.all([tryCopy(), writable ? storeFacts.storeGuards(bucket, prefix) : undefined]),
        ),
      ]);
      const dest = written.destination;
      const [copy, storeGuards] = written.found;
      if (copy.serverSideCopy.works) storeFacts.record(bucket, copy.storeChecksum.supported);
      const guards = dest.writable ? storeGuards : undefined;
      return {
        probe: {
          s5cmd,
          sharedEndpoint,
          sourceOverHttp: Boolean(config.source.httpUrl),
          ...copy,
          destination: dest,
          ...(guards ? { guards } : {}),
        },
        destination: { bucket, prefix },
        searchAttributes: config.temporal.searchAttributes,
      };
    },

    async discoverSeries(raw: DiscoverInput): Promise<Omit<Discovery, 'ms'>> {
      const input = allowedState(parsed('discoverSeries', ListInputSchema, raw));
      const ctx = Context.current();
      return discoverSeries(
        {
          source: deps.source,
          sourceBucket: config.source.bucket,
          destination,
          onProgress: (found) => ctx.heartbeat({ seriesFound: found }),
        },
        input,
      );
    },

    /** Lists one shard; heartbeats a checkpoint after each write, and a retry resumes from the last one. */
    async listShard(raw: ListInput): Promise<ListResult> {
      const input = allowedState(parsed('listShard', ListInputSchema, raw));
      const ctx = Context.current();
      const resumeFrom = ctx.info.heartbeatDetails as ListCheckpoint | undefined;
      return counted(async () => ({
        ...(await listShard(
          {
            source: deps.source,
            destination,
            sourceBucket: config.source.bucket,
            checkpoint: (c) => ctx.heartbeat(c),
            signal: ctx.cancellationSignal,
          },
          input,
          resumeFrom?.counts ? resumeFrom : undefined,
        )),
        s3Requests: 0,
      }));
    },

    async directSyncBatch(raw: BatchRef): Promise<DirectSyncResult> {
      const ref = allowedState(parsed('directSyncBatch', BatchRefSchema, raw));
      return counted(() =>
        directSyncBatch(
          {
            config,
            store: storeFor(ref.state),
            sourceBucket: config.source.bucket,
            runDir: deps.staging.runDir,
            source: sourceReader,
            destinationFor: destinationOf(ref.state),
            storeChecksumHolds: storeChecksumHolds(ref.state),
            copiesIfAbsent: copiesIfAbsent(ref.state),
            unguardedPromotion: unguardedPromotion(ref.state),
          },
          ref,
        ),
      );
    },

    async proveCopied(raw: BatchRef): Promise<VerifyResult> {
      const ref = allowedState(parsed('proveCopied', BatchRefSchema, raw));
      return counted(() =>
        proveCopied(
          {
            destinationFor: destinationOf(ref.state),
            source: sourceReader,
            store: storeFor(ref.state),
            concurrency: config.transferConcurrency,
            storeChecksumHolds: storeChecksumHolds(ref.state),
            unguardedPromotion: unguardedPromotion(ref.state),
          },
          ref,
        ),
      );
    },

    async getWorkerTaskQueue(): Promise<string> {
      return deps.workerTaskQueue;
    },

    async downloadBatch(raw: StagedBatch): Promise<DownloadResult> {
      const ref = allowedState(parsed('downloadBatch', StagedBatchSchema, raw));
      return counted(() => downloadBatch(traditional(ref.state), ref));
    },

    async verifyStaged(raw: StagedBatch): Promise<void> {
      const ref = allowedState(parsed('verifyStaged', StagedBatchSchema, raw));
      await verifyStaged(traditional(ref.state), ref);
    },

    async uploadStaged(raw: StagedBatch): Promise<TraditionalResult> {
      const ref = allowedState(parsed('uploadStaged', StagedBatchSchema, raw));
      return counted(() => uploadStaged(traditional(ref.state), ref));
    },

    async cleanupStaging(raw: StagedBatch): Promise<void> {
      const ref = allowedState(parsed('cleanupStaging', StagedBatchSchema, raw));
      await cleanupStaging(traditional(ref.state), ref, config.staging.keep);
    },

    async countListed(raw: {
      state: StateRef;
      settledParts: number;
    }): Promise<ManifestCounts & { s3Requests: number }> {
      const input = allowedState(parsed('countListed', CountListedSchema, raw));
      return counted(async () => ({ ...(await countListed(destination, input)), s3Requests: 0 }));
    },

    async countBatch(raw: {
      state: StateRef;
      batch: number;
      batchFailure?: string;
      action: CollectionAction;
    }): Promise<ManifestCounts & { s3Requests: number }> {
      const input = allowedState(parsed('countBatch', CountBatchSchema, raw));
      return counted(async () => ({ ...(await countBatch(destination, input)), s3Requests: 0 }));
    },

    /** A shard's content step: facts bound to each verified file's bytes, read once (inspect runs) or only looked up. */
    async inspectShard(raw: InspectShardInput): Promise<ContentSummary & { s3Requests: number }> {
      const input = allowedState(parsed('inspectShard', InspectShardSchema, raw));
      const ctx = Context.current();
      return counted(async () => ({
        ...(await inspectShard(
          {
            destination,
            thresholds: { klinesEdgeMs: config.content.klinesEdgeMs, tradesEdgeMs: config.content.tradesEdgeMs },
            maxExpandedBytes: config.content.maxExpandedBytes,
            concurrency: config.content.concurrency,
            progress: (p) => ctx.heartbeat(p),
            signal: ctx.cancellationSignal,
          },
          input,
        )),
        s3Requests: 0,
      }));
    },

    async writeManifest(raw: ManifestInput): Promise<ManifestSummary & { s3Requests: number }> {
      const input = allowedState(parsed('writeManifest', ManifestInputSchema, raw));
      const ctx = Context.current();
      return counted(async () => ({
        ...(await writeManifest(destination, input, () => ctx.heartbeat())),
        s3Requests: 0,
      }));
    },

    /** Joins the shards' manifests and coverage into the collection's objects; for a plan, its estimate. */
    async assembleCollection(
      raw: AssembleInput & { plan?: { list: ListResult; mode: Mode } },
    ): Promise<AssembledKeys & { plan?: PlanEstimate; s3Requests: number }> {
      const input = allowedState(parsed('assembleCollection', AssembleInputSchema, raw));
      const ctx = Context.current();
      return counted(async () => ({
        ...(await assembleCollection(destination, input, (shard) => ctx.heartbeat({ shard }))),
        ...(input.plan ? { plan: estimatePlan(input.plan.list, input.plan.mode, config.prices) } : {}),
        s3Requests: 0,
      }));
    },

    async writeReport(raw: { state: StateRef; report: CollectionReport; scheduleId?: string }): Promise<string> {
      const input = allowedState(parsed('writeReport', WriteReportSchema, raw));
      const store = storeFor(input.state);
      const text = JSON.stringify(input.report, null, 2);
      // A collection's report is written once: a retry after the PUT (or anyone else) finds it there and leaves it.
      // Where this worker saw the store refuse a PUT onto a taken key, the PUT asks that itself (one round trip
      // instead of a HEAD and a PUT); elsewhere the HEAD comes first.
      // A 412 is believed only with the report there (a store or proxy that refuses every conditional PUT does not
      // leave the collection without one).
      const putFirst = storeFacts.knownGuards(input.state.bucket)?.conditionalPut.honoured === true;
      const written =
        (putFirst && (await store.putTextIfAbsent(STATE_OBJECTS.report, text))) ||
        (!(await store.exists(STATE_OBJECTS.report)) && Boolean(await store.putText(STATE_OBJECTS.report, text)));
      if (written) recordCollection(input.report as unknown as CollectionReport, input.scheduleId ?? '');
      return store.key(STATE_OBJECTS.report);
    },

    async listQuarantine(
      raw: ReviewTarget & { limit: number },
    ): Promise<{ bucket: string; prefix: string; files: QuarantinedFile[]; more: number }> {
      const input = parsed('listQuarantine', ListQuarantineSchema, raw);
      const dest = reviewDestination(input);
      return { bucket: dest.bucket, prefix: dest.prefix, ...(await listQuarantine(dest, input.limit)) };
    },

    async acceptQuarantined(raw: ReviewTarget & { key: string; sha256: string; reason: string; decidedBy: string }) {
      const input = parsed('acceptQuarantined', AcceptQuarantinedSchema, raw);
      requireDecisions('acceptQuarantined');
      return acceptQuarantined(reviewDestination(input), input.key, input.sha256, input.reason, input.decidedBy);
    },

    async discardQuarantined(raw: ReviewTarget & { key: string; sha256?: string }) {
      const input = parsed('discardQuarantined', DiscardQuarantinedSchema, raw);
      requireDecisions('discardQuarantined');
      return discardQuarantined(reviewDestination(input), input.key, input.sha256);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
