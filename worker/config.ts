/** Worker configuration: parsed once from the environment with zod. Credentials live only here. */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { tracesUrlFrom, tracingEnv, type TracingConfig } from '../common/tracing';
import { TemporalConnectionError, loadTemporalTarget, type TemporalTarget } from '../common/temporal-connection';
import { issueLines } from '../common/zod-issues';
import type { DestinationPolicy } from '../activities/destination-policy';
import { endpointIdentity } from '../activities/s3';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bundledS5cmd = path.join(PROJECT_ROOT, '.tools/bin/s5cmd');

const optionalUrl = z.string().url().optional();
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const bytes = z.coerce.number().int().positive();

export const WorkerEnv = z
  .object({
    // TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE: common/temporal-connection.ts
    TEMPORAL_TASK_QUEUE: z.string().default('archive-collection'),

    SOURCE_BUCKET: z.string().default('data.binance.vision'),
    /** The source bucket's region: the real archive's (ap-northeast-1) on AWS; with SOURCE_ENDPOINT, DEST_REGION. */
    SOURCE_REGION: z.string().optional(),
    SOURCE_ENDPOINT: optionalUrl,
    SOURCE_ACCESS_KEY_ID: z.string().optional(),
    SOURCE_SECRET_ACCESS_KEY: z.string().optional(),
    /** anonymous (unsigned, the public archive), keys (SOURCE_ACCESS_KEY_ID/SECRET), or default-chain (the AWS default credential chain). */
    SOURCE_AUTH: z.enum(['anonymous', 'keys', 'default-chain']).optional(),
    /** Download through plain HTTP(S) GETs from this base URL (`<base>/<key>`), e.g. https://data.binance.vision. */
    SOURCE_HTTP_URL: optionalUrl,

    DEST_ENDPOINT: optionalUrl,
    DEST_REGION: z.string().default('us-east-1'),
    DEST_ACCESS_KEY_ID: z.string().optional(),
    DEST_SECRET_ACCESS_KEY: z.string().optional(),
    DEST_BUCKET: z.string().default('bronze'),
    /**
     * Where collections and quarantine reviews may write: `bucket` or `bucket/prefix/`, comma-separated; a bucket
     * may end in `*` (`bronze-*`), and `*` alone is every bucket. Unset: only DEST_BUCKET/DEST_PREFIX. The source
     * bucket is never written, whatever the list says.
     */
    DEST_ALLOWED: z.string().optional(),
    /** false: this worker refuses to accept or discard quarantined files (reviews that decide run on another worker, in another namespace). */
    QUARANTINE_DECISIONS: bool.default('true'),
    DEST_PREFIX: z
      .string()
      .regex(/^(?:[A-Za-z0-9_=.-]+\/)*$/, 'must be empty or end with "/", e.g. binance/')
      .default('binance/'),

    S5CMD_PATH: z.string().default(existsSync(bundledS5cmd) ? bundledS5cmd : 's5cmd'),
    S5CMD_NUMWORKERS: z.coerce.number().int().min(1).max(1024).default(64),
    /**
     * s5cmd processes this worker runs at once, whatever the batches, shards and collections it serves (each a few tens of MB):
     * its memory is then set by its configuration. Batches beyond it wait, heartbeating, for a free one.
     */
    S5CMD_PROCESSES: z.coerce.number().int().min(1).max(256).default(2),
    /** Go's own settings, passed to every s5cmd run when set (a malformed one would stop every run at its start). */
    GOMEMLIMIT: z
      .string()
      .regex(
        /^(?:off|\d+(?:B|KiB|MiB|GiB|TiB)?)$/,
        'must be "off" or a size such as 64MiB (Go\'s units: B, KiB, MiB, GiB, TiB)',
      )
      .optional(),
    GOGC: z
      .string()
      .regex(/^(?:off|\d+)$/, 'must be "off" or a percentage such as 100')
      .optional(),
    /** Requests per batch for the product's own small objects (.CHECKSUM reads, proofs), beside the copies. */
    BOOKKEEPING_CONCURRENCY: z.coerce.number().int().min(1).max(1024).default(32),
    STAGING_DIR: z.string().default(path.join(os.tmpdir(), 'archive-collector-staging')),
    STAGING_MAX_BYTES: bytes.default(4 * 1024 ** 3),
    TRANSFER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
    MULTIPART_THRESHOLD_BYTES: bytes.default(16 * 1024 ** 2),
    /** Content inspection (docs/content.md): how far a kline or trade file may start late or end early before it counts as cut short. */
    CONTENT_KLINES_EDGE_MINUTES: z.coerce.number().int().min(0).max(1_440).default(60),
    CONTENT_TRADES_EDGE_MINUTES: z.coerce.number().int().min(0).max(1_440).default(360),
    /** A zip whose CSV expands past this is not read further (a bomb): its content is unknown. */
    CONTENT_MAX_EXPANDED_BYTES: bytes.default(256 * 1024 ** 3),
    /** Files one inspection step reads at once (each inflates on a core). */
    CONTENT_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
    /** An S3 request (or an HTTP download) that receives nothing for this long is abandoned and retried. */
    /** Larger objects are copied server-side in parts by the worker (s5cmd copies at most 5 GiB in one CopyObject). */
    DIRECT_COPY_MAX_BYTES: bytes.max(5 * 1024 ** 3).default(5 * 1024 ** 3),
    S3_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(60_000),
    MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).max(1000).default(16),
    SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
    METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
    ...tracingEnv('archive-collector-worker'),
    DEBUG_KEEP_STAGING: bool.default('false'),
    /** The namespace has ArchiveMarkets, ArchiveDataTypes, ArchiveSymbols, ArchiveMode, ArchiveOutcome registered. */
    TEMPORAL_SEARCH_ATTRIBUTES: bool.default('false'),
    /** Prices for a plan's cost estimate (USD; S3 Standard us-east-1 list prices by default). */
    COST_PUT_PER_1000: z.coerce.number().min(0).default(0.005),
    COST_GET_PER_1000: z.coerce.number().min(0).default(0.0004),
    COST_TRANSFER_PER_GB: z.coerce.number().min(0).default(0.09),
    COST_STORAGE_PER_GB_MONTH: z.coerce.number().min(0).default(0.023),
  })
  .superRefine((e, ctx) => {
    for (const entry of (e.DEST_ALLOWED ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean)) {
      const bucket = String.raw`(?:\*|[a-z0-9][a-z0-9.-]{0,61}\*|[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])`;
      const ok = new RegExp(String.raw`^${bucket}(\/(?:[A-Za-z0-9_=-][A-Za-z0-9_=.-]*\/)*)?$`).test(entry);
      if (!ok || entry.split('/').some((seg) => seg === '.' || seg === '..')) {
        ctx.addIssue({
          code: 'custom',
          path: ['DEST_ALLOWED'],
          message: `"${entry.slice(0, 80)}" is not "bucket" or "bucket/prefix/" (a prefix ends with "/"; a bucket may end in "*"), e.g. DEST_ALLOWED=bronze,lake/binance/`,
        });
      }
    }
    if (Boolean(e.SOURCE_ACCESS_KEY_ID) !== Boolean(e.SOURCE_SECRET_ACCESS_KEY)) {
      ctx.addIssue({
        code: 'custom',
        path: ['SOURCE_SECRET_ACCESS_KEY'],
        message:
          'set SOURCE_ACCESS_KEY_ID and SOURCE_SECRET_ACCESS_KEY together, or neither (with SOURCE_AUTH=anonymous or default-chain)',
      });
    }
    if (e.SOURCE_AUTH === 'keys' && !e.SOURCE_ACCESS_KEY_ID) {
      ctx.addIssue({
        code: 'custom',
        path: ['SOURCE_AUTH'],
        message:
          'SOURCE_AUTH=keys needs SOURCE_ACCESS_KEY_ID and SOURCE_SECRET_ACCESS_KEY; or use anonymous (public buckets) or default-chain',
      });
    }
    if (e.SOURCE_AUTH && e.SOURCE_AUTH !== 'keys' && e.SOURCE_ACCESS_KEY_ID) {
      ctx.addIssue({
        code: 'custom',
        path: ['SOURCE_AUTH'],
        message: `SOURCE_AUTH=${e.SOURCE_AUTH} does not use SOURCE_ACCESS_KEY_ID: remove the keys, or set SOURCE_AUTH=keys`,
      });
    }
    if (e.DEST_BUCKET === e.SOURCE_BUCKET && sourceOnDestinationEndpoint(e)) {
      ctx.addIssue({
        code: 'custom',
        path: ['DEST_BUCKET'],
        message: `"${e.DEST_BUCKET}" is the source bucket (SOURCE_BUCKET); collections never write there: set DEST_BUCKET to your own bucket`,
      });
    }
    if (Boolean(e.DEST_ACCESS_KEY_ID) !== Boolean(e.DEST_SECRET_ACCESS_KEY)) {
      ctx.addIssue({
        code: 'custom',
        path: ['DEST_SECRET_ACCESS_KEY'],
        message:
          'set DEST_ACCESS_KEY_ID and DEST_SECRET_ACCESS_KEY together, or neither to use the AWS default credential chain',
      });
    }
  });

export type WorkerEnv = z.infer<typeof WorkerEnv>;

export interface S3Endpoint {
  endpoint?: string;
  region: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  anonymous: boolean;
}

export interface WorkerConfig {
  temporal: {
    target: TemporalTarget;
    address: string;
    namespace: string;
    taskQueue: string;
    searchAttributes: boolean;
  };
  source: S3Endpoint & { bucket: string; httpUrl?: string };
  destination: S3Endpoint & {
    defaultBucket: string;
    defaultPrefix: string;
    /** Where this worker may write (DEST_ALLOWED, or DEST_BUCKET/DEST_PREFIX), never the source bucket. */
    policy: DestinationPolicy;
    /** Accept and discard quarantined files (QUARANTINE_DECISIONS). */
    quarantineDecisions: boolean;
  };
  s5cmd: {
    path: string;
    numWorkers: number;
    processes: number;
    maxCopyBytes: number;
    /** Go's GOMEMLIMIT/GOGC from the worker's environment, for every s5cmd run (checked above). */
    goRuntime: { GOMEMLIMIT?: string; GOGC?: string };
  };
  bookkeepingConcurrency: number;
  staging: { dir: string; maxBytes: number; keep: boolean };
  transferConcurrency: number;
  multipartThresholdBytes: number;
  content: { klinesEdgeMs: number; tradesEdgeMs: number; maxExpandedBytes: number; concurrency: number };
  s3RequestTimeoutMs: number;
  maxConcurrentActivities: number;
  shutdownGraceMs: number;
  metricsPort?: number;
  tracing: TracingConfig;
  prices: { putCopyListPer1000: number; getHeadPer1000: number; transferPerGb: number; storagePerGbMonth: number };
}

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    // One problem, one line; several, one line each under a heading.
    super(
      problems.length === 1
        ? `worker configuration: ${problems[0]}`
        : `worker configuration is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

/**
 * The source bucket is on the destination's store: the S3 endpoint listings read it from, even when downloads
 * go over SOURCE_HTTP_URL. Writes there are refused.
 */
function sourceOnDestinationEndpoint(e: Pick<WorkerEnv, 'SOURCE_ENDPOINT' | 'DEST_ENDPOINT'>): boolean {
  // Refinements may see an endpoint the URL check has already refused: compare it as given then.
  const id = (endpoint?: string) => {
    try {
      return endpointIdentity({ endpoint, region: '', anonymous: false });
    } catch {
      return endpoint;
    }
  };
  return id(e.SOURCE_ENDPOINT) === id(e.DEST_ENDPOINT);
}

/** DEST_ALLOWED as a list, or the worker's own DEST_BUCKET/DEST_PREFIX; the source bucket excluded when it is on the same endpoint. */
function destinationPolicy(e: WorkerEnv): DestinationPolicy {
  const listed = (e.DEST_ALLOWED ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
    .map((x) => {
      const slash = x.indexOf('/');
      return slash < 0 ? { bucket: x, prefix: '' } : { bucket: x.slice(0, slash), prefix: x.slice(slash + 1) };
    });
  return {
    allowed: listed.length ? listed : [{ bucket: e.DEST_BUCKET, prefix: e.DEST_PREFIX }],
    fromList: listed.length > 0,
    ...(sourceOnDestinationEndpoint(e) ? { sourceBucket: e.SOURCE_BUCKET } : {}),
  };
}

/**
 * The source's region when SOURCE_REGION is not set: the real archive's on AWS; an AWS endpoint's own region
 * (`s3.<region>.amazonaws.com`, VPC endpoints too); any other endpoint is one store, in the destination's region.
 */
export function defaultSourceRegion(endpoint: string | undefined, destinationRegion: string): string {
  if (!endpoint) return 'ap-northeast-1';
  const host = new URL(endpoint).hostname;
  if (!host.endsWith('.amazonaws.com')) return destinationRegion;
  return (
    /(?:^|\.)s3[.-](?:[\w-]+\.)*?([a-z]{2}(?:-gov)?-[a-z]+-\d)\.(?:vpce\.)?amazonaws\.com$/.exec(host)?.[1] ??
    'ap-northeast-1'
  );
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = WorkerEnv.safeParse(cleaned);
  const problems = parsed.success ? [] : issueLines(parsed.error);
  let target: TemporalTarget | undefined;
  try {
    target = loadTemporalTarget(cleaned);
  } catch (err) {
    if (!(err instanceof TemporalConnectionError)) throw err;
    problems.push(err.message);
  }
  if (!parsed.success || !target || problems.length) throw new ConfigError(problems);
  const e = parsed.data;
  const creds = (id?: string, secret?: string) =>
    id && secret ? { accessKeyId: id, secretAccessKey: secret } : undefined;
  return {
    temporal: {
      target,
      address: target.connectionOptions.address,
      namespace: target.namespace,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      searchAttributes: e.TEMPORAL_SEARCH_ATTRIBUTES,
    },
    source: {
      bucket: e.SOURCE_BUCKET,
      region: e.SOURCE_REGION ?? defaultSourceRegion(e.SOURCE_ENDPOINT, e.DEST_REGION),
      endpoint: e.SOURCE_ENDPOINT,
      credentials: creds(e.SOURCE_ACCESS_KEY_ID, e.SOURCE_SECRET_ACCESS_KEY),
      // Keys imply SOURCE_AUTH=keys; without keys the public archive is read unsigned unless default-chain is asked for.
      anonymous: (e.SOURCE_AUTH ?? (e.SOURCE_ACCESS_KEY_ID ? 'keys' : 'anonymous')) === 'anonymous',
      httpUrl: e.SOURCE_HTTP_URL,
    },
    destination: {
      endpoint: e.DEST_ENDPOINT,
      region: e.DEST_REGION,
      credentials: creds(e.DEST_ACCESS_KEY_ID, e.DEST_SECRET_ACCESS_KEY),
      anonymous: false,
      defaultBucket: e.DEST_BUCKET,
      defaultPrefix: e.DEST_PREFIX,
      policy: destinationPolicy(e),
      quarantineDecisions: e.QUARANTINE_DECISIONS,
    },
    s5cmd: {
      path: e.S5CMD_PATH,
      numWorkers: e.S5CMD_NUMWORKERS,
      processes: e.S5CMD_PROCESSES,
      maxCopyBytes: e.DIRECT_COPY_MAX_BYTES,
      goRuntime: {
        ...(e.GOMEMLIMIT ? { GOMEMLIMIT: e.GOMEMLIMIT } : {}),
        ...(e.GOGC ? { GOGC: e.GOGC } : {}),
      },
    },
    bookkeepingConcurrency: e.BOOKKEEPING_CONCURRENCY,
    staging: { dir: path.resolve(e.STAGING_DIR), maxBytes: e.STAGING_MAX_BYTES, keep: e.DEBUG_KEEP_STAGING },
    transferConcurrency: e.TRANSFER_CONCURRENCY,
    multipartThresholdBytes: e.MULTIPART_THRESHOLD_BYTES,
    content: {
      klinesEdgeMs: e.CONTENT_KLINES_EDGE_MINUTES * 60_000,
      tradesEdgeMs: e.CONTENT_TRADES_EDGE_MINUTES * 60_000,
      maxExpandedBytes: e.CONTENT_MAX_EXPANDED_BYTES,
      concurrency: e.CONTENT_CONCURRENCY,
    },
    s3RequestTimeoutMs: e.S3_REQUEST_TIMEOUT_MS,
    maxConcurrentActivities: e.MAX_CONCURRENT_ACTIVITIES,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    metricsPort: e.METRICS_PORT,
    tracing: {
      tracesUrl: tracesUrlFrom(e),
      serviceName: e.OTEL_SERVICE_NAME,
    },
    prices: {
      putCopyListPer1000: e.COST_PUT_PER_1000,
      getHeadPer1000: e.COST_GET_PER_1000,
      transferPerGb: e.COST_TRANSFER_PER_GB,
      storagePerGbMonth: e.COST_STORAGE_PER_GB_MONTH,
    },
  };
}
