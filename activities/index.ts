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
  PlanEstimate,
  StagedBatch,
  StateRef,
  TraditionalResult,
  VerifyResult,
} from '../workflows/types';
import { assembleCollection, type AssembleInput, type AssembledKeys } from './assemble';
import { Destination } from './destination';
import { requireAllowedDestination } from './destination-policy';
import { directSyncBatch } from './direct-sync';
import { discoverSeries } from './discover';
import { estimatePlan } from './estimate';
import { listShard, type ListCheckpoint } from './list';
import { countBatch, countListed, writeManifest, type ManifestInput, type ManifestSummary } from './manifest';
import {
  probeDestination,
  probeS5cmd,
  probeServerSideCopy,
  probeSharedEndpoint,
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

async function counted<T extends { s3Requests: number }>(fn: () => Promise<T>): Promise<T> {
  const { value, requests } = await countingRequests(fn);
  return { ...value, s3Requests: value.s3Requests + requests };
}

export function createActivities(deps: ActivityDeps) {
  const { config, destination } = deps;
  const sourceReader = new SourceReader(
    deps.source,
    config.source.bucket,
    config.source.httpUrl,
    config.s3RequestTimeoutMs,
  );
  const storeFor = (state: StateRef) => new StateStore(destination, state);
  const destinationOf = (state: StateRef) => (signal?: AbortSignal) =>
    new Destination(destination, state.bucket, state.destinationPrefix, signal);
  const reviewDestination = (t: ReviewTarget) => {
    const bucket = t.bucket ?? config.destination.defaultBucket;
    const prefix = t.prefix ?? config.destination.defaultPrefix;
    // Accepting or discarding quarantined bytes writes and deletes there: the same allow-list as collections.
    requireAllowedDestination(config.destination.allowed, bucket, prefix);
    return new Destination(destination, bucket, prefix);
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
  });

  return {
    async probeEnvironment(input: ProbeInput): Promise<ProbeResult> {
      const bucket = input.bucket ?? config.destination.defaultBucket;
      const prefix = input.prefix ?? config.destination.defaultPrefix;
      requireAllowedDestination(config.destination.allowed, bucket, prefix);
      const sharedEndpoint = probeSharedEndpoint(config);
      const notTried = {
        serverSideCopy: { works: false, detail: sharedEndpoint.detail },
        storeChecksum: { supported: false, detail: 'not tried' },
      };
      const [s5cmd, dest, copy] = await Promise.all([
        probeS5cmd(config.s5cmd.path),
        probeDestination(destination, bucket, prefix),
        sharedEndpoint.shared && input.request
          ? probeServerSideCopy(
              { source: deps.source, destination, sourceBucket: config.source.bucket },
              input.request,
              bucket,
              prefix,
            ).catch((err: Error) => ({
              ...notTried,
              serverSideCopy: { works: false, detail: `the copy probe failed: ${err.message}` },
            }))
          : notTried,
      ]);
      return {
        probe: { s5cmd, sharedEndpoint, sourceOverHttp: Boolean(config.source.httpUrl), ...copy, destination: dest },
        destination: { bucket, prefix },
        searchAttributes: config.temporal.searchAttributes,
      };
    },

    async discoverSeries(input: DiscoverInput): Promise<Omit<Discovery, 'ms'>> {
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
    async listShard(input: ListInput): Promise<ListResult> {
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

    async directSyncBatch(ref: BatchRef): Promise<DirectSyncResult> {
      return counted(() =>
        directSyncBatch(
          {
            config,
            store: storeFor(ref.state),
            sourceBucket: config.source.bucket,
            runDir: deps.staging.runDir,
            destinationFor: destinationOf(ref.state),
          },
          ref,
        ),
      );
    },

    async proveCopied(ref: BatchRef): Promise<VerifyResult> {
      return counted(() =>
        proveCopied(
          {
            destinationFor: destinationOf(ref.state),
            source: sourceReader,
            store: storeFor(ref.state),
            concurrency: config.transferConcurrency,
          },
          ref,
        ),
      );
    },

    async getWorkerTaskQueue(): Promise<string> {
      return deps.workerTaskQueue;
    },

    async downloadBatch(ref: StagedBatch): Promise<DownloadResult> {
      return counted(() => downloadBatch(traditional(ref.state), ref));
    },

    async verifyStaged(ref: StagedBatch): Promise<void> {
      await verifyStaged(traditional(ref.state), ref);
    },

    async uploadStaged(ref: StagedBatch): Promise<TraditionalResult> {
      return counted(() => uploadStaged(traditional(ref.state), ref));
    },

    async cleanupStaging(ref: StagedBatch): Promise<void> {
      await cleanupStaging(traditional(ref.state), ref.stagingId, config.staging.keep);
    },

    async countListed(input: {
      state: StateRef;
      settledParts: number;
    }): Promise<ManifestCounts & { s3Requests: number }> {
      return counted(async () => ({ ...(await countListed(destination, input)), s3Requests: 0 }));
    },

    async countBatch(input: {
      state: StateRef;
      batch: number;
      batchFailure?: string;
      action: CollectionAction;
    }): Promise<ManifestCounts & { s3Requests: number }> {
      return counted(async () => ({ ...(await countBatch(destination, input)), s3Requests: 0 }));
    },

    async writeManifest(input: ManifestInput): Promise<ManifestSummary & { s3Requests: number }> {
      return counted(async () => ({ ...(await writeManifest(destination, input)), s3Requests: 0 }));
    },

    /** Joins the shards' manifests and coverage into the collection's objects; for a plan, its estimate. */
    async assembleCollection(
      input: AssembleInput & { plan?: { list: ListResult; mode: Mode } },
    ): Promise<AssembledKeys & { plan?: PlanEstimate; s3Requests: number }> {
      const ctx = Context.current();
      return counted(async () => ({
        ...(await assembleCollection(destination, input, (shard) => ctx.heartbeat({ shard }))),
        ...(input.plan ? { plan: estimatePlan(input.plan.list, input.plan.mode, config.prices) } : {}),
        s3Requests: 0,
      }));
    },

    async writeReport(input: { state: StateRef; report: CollectionReport; scheduleId?: string }): Promise<string> {
      const store = storeFor(input.state);
      // A retry after the PUT finds the report there: the collection is counted once.
      const alreadyWritten = await store.exists(STATE_OBJECTS.report);
      const Key = await store.putText(STATE_OBJECTS.report, JSON.stringify(input.report, null, 2));
      if (!alreadyWritten) recordCollection(input.report, input.scheduleId ?? '');
      return Key;
    },

    async listQuarantine(
      input: ReviewTarget & { limit: number },
    ): Promise<{ bucket: string; prefix: string; files: QuarantinedFile[]; more: number }> {
      const dest = reviewDestination(input);
      return { bucket: dest.bucket, prefix: dest.prefix, ...(await listQuarantine(dest, input.limit)) };
    },

    async acceptQuarantined(input: ReviewTarget & { key: string; sha256: string; reason: string; decidedBy: string }) {
      return acceptQuarantined(reviewDestination(input), input.key, input.sha256, input.reason, input.decidedBy);
    },

    async discardQuarantined(input: ReviewTarget & { key: string; sha256?: string }) {
      return discardQuarantined(reviewDestination(input), input.key, input.sha256);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
