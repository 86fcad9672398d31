/** All activities, built from injected dependencies (the samples' `createActivities(deps)` pattern). */
import { Context } from '@temporalio/activity';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { WorkerConfig } from '../worker/config';
import type {
  BatchRef, CollectionReport, DirectSyncResult, DownloadResult, ListInput, ListResult, StagedBatch, StateRef, TraditionalResult, VerifyResult,
} from '../workflows/types';
import { Destination } from './destination';
import { directSyncBatch } from './direct-sync';
import { listAndPlan } from './list';
import { writeManifest, type ManifestInput, type ManifestSummary } from './manifest';
import { probeDestination, probeS5cmd, probeServerSideCopy, probeSharedEndpoint, type ProbeInput, type ProbeResult } from './probe';
import { proveCopied } from './prove';
import { acceptQuarantined, discardQuarantined, listQuarantine, type QuarantinedFile } from './quarantine-review';
import { countingRequests } from './s3';
import { SourceReader } from './source-reader';
import type { StagingArea } from './staging';
import { StateStore } from './state-store';
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
  const sourceReader = new SourceReader(deps.source, config.source.bucket, config.source.httpUrl, config.s3RequestTimeoutMs);
  const storeFor = (state: StateRef) => new StateStore(destination, state);
  const destinationOf = (state: StateRef) => (signal?: AbortSignal) => new Destination(destination, state.bucket, state.destinationPrefix, signal);
  const reviewDestination = (t: ReviewTarget) => new Destination(destination, t.bucket ?? config.destination.defaultBucket, t.prefix ?? config.destination.defaultPrefix);
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
      const sharedEndpoint = probeSharedEndpoint(config);
      const notTried = { serverSideCopy: { works: false, detail: sharedEndpoint.detail }, storeChecksum: { supported: false, detail: 'not tried' } };
      const [s5cmd, dest, copy] = await Promise.all([
        probeS5cmd(config.s5cmd.path),
        probeDestination(destination, bucket, prefix),
        sharedEndpoint.shared && input.request
          ? probeServerSideCopy({ source: deps.source, destination, sourceBucket: config.source.bucket }, input.request, bucket, prefix).catch((err: Error) => ({
            ...notTried, serverSideCopy: { works: false, detail: `the copy probe failed: ${err.message}` },
          }))
          : notTried,
      ]);
      return {
        probe: { s5cmd, sharedEndpoint, sourceOverHttp: Boolean(config.source.httpUrl), ...copy, destination: dest },
        destination: { bucket, prefix },
        searchAttributes: config.temporal.searchAttributes,
      };
    },

    async listSources(input: ListInput): Promise<ListResult> {
      const ctx = Context.current();
      return counted(async () => ({
        ...(await listAndPlan(
          { source: deps.source, destination, sourceBucket: config.source.bucket, onProgress: (n) => ctx.heartbeat({ seriesListed: n }) },
          input,
        )),
        s3Requests: 0,
      }));
    },

    async directSyncBatch(ref: BatchRef): Promise<DirectSyncResult> {
      return counted(() => directSyncBatch({ config, store: storeFor(ref.state), sourceBucket: config.source.bucket, runDir: deps.staging.runDir, destinationFor: destinationOf(ref.state) }, ref));
    },

    async proveCopied(ref: BatchRef): Promise<VerifyResult> {
      return counted(() => proveCopied({ destinationFor: destinationOf(ref.state), source: sourceReader, store: storeFor(ref.state), concurrency: config.transferConcurrency }, ref));
    },

    async getWorkerTaskQueue(): Promise<string> {
      return deps.workerTaskQueue;
    },

    async downloadBatch(ref: StagedBatch): Promise<DownloadResult> {
      return counted(() => downloadBatch(traditional(ref.state), ref));
    },

    async verifyStaged(ref: StagedBatch): Promise<{ verified: number; mismatched: number }> {
      return verifyStaged(traditional(ref.state), ref);
    },

    async uploadStaged(ref: StagedBatch): Promise<TraditionalResult> {
      return counted(() => uploadStaged(traditional(ref.state), ref));
    },

    async cleanupStaging(ref: StagedBatch): Promise<void> {
      await cleanupStaging(traditional(ref.state), ref.stagingId, config.staging.keep);
    },

    async writeManifest(input: ManifestInput): Promise<ManifestSummary & { s3Requests: number }> {
      return counted(async () => ({ ...(await writeManifest(destination, input)), s3Requests: 0 }));
    },

    async writeReport(input: { state: StateRef; report: CollectionReport }): Promise<string> {
      const Key = `${input.state.statePrefix}report.json`;
      await destination.send(new PutObjectCommand({ Bucket: input.state.bucket, Key, Body: JSON.stringify(input.report, null, 2), ContentType: 'application/json' }));
      return Key;
    },

    async listQuarantine(input: ReviewTarget & { limit: number }): Promise<{ bucket: string; prefix: string; files: QuarantinedFile[]; more: number }> {
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
