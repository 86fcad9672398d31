/**
 * The embedded local stack: Temporal dev server (with Web UI) and an S3 server (versitygw by default;
 * MinIO or moto with STACK_STORE), started from the pinned builds in .tools/bin, persisted under .data/<name>/, detached so they outlive the command that
 * started them. `up` reuses a healthy stack; `down` stops it.
 */
import { spawn } from 'node:child_process';
import { ARCHIVE_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { PROJECT_ROOT } from '../worker/config';

export const TOOLS_BIN = path.join(PROJECT_ROOT, '.tools/bin');

/**
 * The S3 servers a stack can run: versitygw (Apache-2.0, maintained) serving a folder, the pinned MinIO build
 * (SSE-KMS, the benchmark's request counters) or moto's server (Apache-2.0, in memory, a test-only store of the
 * matrix: it ignores `x-amz-copy-source-if-match` and checksum headers on PUT, which the product must notice).
 */
export const STORE_NAMES = ['versitygw', 'minio', 'moto'] as const;
export type StoreName = (typeof STORE_NAMES)[number];

const StackEnv = z.object({
  STACK_NAME: z
    .string()
    .regex(/^[a-z0-9-]+$/)
    .default('local'),
  STACK_HOST: z.string().default('127.0.0.1'),
  STACK_TEMPORAL_PORT: z.coerce.number().int().default(7233),
  STACK_TEMPORAL_UI_PORT: z.coerce.number().int().default(8233),
  STACK_MINIO_PORT: z.coerce.number().int().default(9000),
  STACK_MINIO_CONSOLE_PORT: z.coerce.number().int().default(9001),
  MINIO_ROOT_USER: z.string().min(3).default('minioadmin'),
  MINIO_ROOT_PASSWORD: z.string().min(8).default('minioadmin'),
  /** The S3 server: versitygw (Apache-2.0, maintained) serving a folder, or the pinned MinIO build (SSE-KMS, the benchmark's request counters). */
  STACK_STORE: z.enum(STORE_NAMES).default('versitygw'),
  /** `host:port` that versitygw sends its request counters to (statsd over UDP): the benchmark counts requests there. */
  STACK_VERSITYGW_STATSD: z.string().optional(),
  STACK_SOURCE_BUCKET: z.string().default('binance-mirror'),
  STACK_DEST_BUCKET: z.string().default('bronze'),
  /** MinIO's built-in KMS key (`name:base64 of 32 bytes`), which enables SSE-S3 and SSE-KMS buckets. */
  STACK_MINIO_KMS_SECRET_KEY: z
    .string()
    .regex(/^[\w-]+:[A-Za-z0-9+/=]{44}$/, 'must be "<key name>:<base64 of 32 bytes>"')
    .optional(),
});

type ServiceName = 'temporal' | StoreName;

export interface StackConfig {
  name: string;
  /** The S3 server this stack runs (its port, user and password are the minio* fields). */
  store: StoreName;
  host: string;
  temporalPort: number;
  uiPort: number;
  minioPort: number;
  minioConsolePort: number;
  minioUser: string;
  minioPassword: string;
  sourceBucket: string;
  destBucket: string;
  dataDir: string;
  minioKmsSecretKey?: string;
  versitygwStatsd?: string;
}

export function stackConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<z.input<typeof StackEnv>> = {},
): StackConfig {
  const e = StackEnv.parse({ ...Object.fromEntries(Object.entries(env).filter(([, v]) => v)), ...overrides });
  return {
    name: e.STACK_NAME,
    store: e.STACK_STORE,
    host: e.STACK_HOST,
    temporalPort: e.STACK_TEMPORAL_PORT,
    uiPort: e.STACK_TEMPORAL_UI_PORT,
    minioPort: e.STACK_MINIO_PORT,
    minioConsolePort: e.STACK_MINIO_CONSOLE_PORT,
    minioUser: e.MINIO_ROOT_USER,
    minioPassword: e.MINIO_ROOT_PASSWORD,
    sourceBucket: e.STACK_SOURCE_BUCKET,
    destBucket: e.STACK_DEST_BUCKET,
    dataDir: path.join(PROJECT_ROOT, '.data', e.STACK_NAME),
    minioKmsSecretKey: e.STACK_MINIO_KMS_SECRET_KEY,
    versitygwStatsd: e.STACK_VERSITYGW_STATSD,
  };
}

export const minioEndpoint = (s: StackConfig) => `http://${s.host}:${s.minioPort}`;
export const temporalAddress = (s: StackConfig) => `${s.host}:${s.temporalPort}`;
export const webUiUrl = (s: StackConfig) => `http://${s.host}:${s.uiPort}`;

/** Custom search attributes the workflow sets, registered on the dev server at start. */
export const SEARCH_ATTRIBUTES: Record<string, string> = Object.fromEntries(
  ARCHIVE_SEARCH_ATTRIBUTES.map((k) => [k.name, k.type === 'KEYWORD_LIST' ? 'KeywordList' : 'Keyword']),
);

/** The worker environment that points a worker at this stack: mirror as source, MinIO as destination. */
export function workerEnvFor(s: StackConfig): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: temporalAddress(s),
    SOURCE_ENDPOINT: minioEndpoint(s),
    SOURCE_BUCKET: s.sourceBucket,
    SOURCE_REGION: 'us-east-1',
    DEST_ENDPOINT: minioEndpoint(s),
    DEST_REGION: 'us-east-1',
    DEST_BUCKET: s.destBucket,
    // The stack's own bucket, every prefix: the demo, bench and scale runs write beside binance/.
    DEST_ALLOWED: s.destBucket,
    DEST_ACCESS_KEY_ID: s.minioUser,
    DEST_SECRET_ACCESS_KEY: s.minioPassword,
    TEMPORAL_SEARCH_ATTRIBUTES: 'true',
  };
}

interface Service {
  name: ServiceName;
  command: string;
  args: string[];
  env?: Record<string, string>;
  healthy: () => Promise<boolean>;
}

function services(s: StackConfig): Service[] {
  const temporalArgs = [
    'server',
    'start-dev',
    '--ip',
    s.host,
    '--port',
    String(s.temporalPort),
    '--ui-port',
    String(s.uiPort),
    '--db-filename',
    path.join(s.dataDir, 'temporal.db'),
    '--log-level',
    'warn',
    ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([k, t]) => ['--search-attribute', `${k}=${t}`]),
  ];
  return [
    storeService(s),
    {
      name: 'temporal',
      command: path.join(TOOLS_BIN, 'temporal'),
      args: temporalArgs,
      healthy: async () =>
        (await portOpen(s.host, s.temporalPort)) && (await httpOk(`${webUiUrl(s)}/api/v1/namespaces/default`)),
    },
  ];
}

function storeService(s: StackConfig): Service {
  const stores: Record<StoreName, () => Service> = {
    versitygw: () => ({
      name: 'versitygw',
      command: path.join(TOOLS_BIN, 'versitygw'),
      // Versions live beside the served folder (versitygw wants them outside it); metadata in user xattrs.
      args: [
        '--access',
        s.minioUser,
        '--secret',
        s.minioPassword,
        '--port',
        `${s.host}:${s.minioPort}`,
        '--region',
        'us-east-1',
        '--health',
        '/health',
        '--quiet',
        ...(s.versitygwStatsd ? ['--metrics-statsd-servers', s.versitygwStatsd] : []),
        'posix',
        '--versioning-dir',
        path.join(s.dataDir, 'versitygw-versions'),
        path.join(s.dataDir, 'versitygw'),
      ],
      healthy: () => httpOk(`${minioEndpoint(s)}/health`),
    }),
    minio: () => ({
      name: 'minio',
      command: path.join(TOOLS_BIN, 'minio'),
      args: [
        'server',
        path.join(s.dataDir, 'minio'),
        '--address',
        `${s.host}:${s.minioPort}`,
        '--console-address',
        `${s.host}:${s.minioConsolePort}`,
        '--quiet',
      ],
      // Public metrics: the benchmark counts every tool's S3 requests from MinIO's own counters.
      env: {
        MINIO_ROOT_USER: s.minioUser,
        MINIO_ROOT_PASSWORD: s.minioPassword,
        MINIO_BROWSER: 'on',
        MINIO_UPDATE: 'off',
        MINIO_PROMETHEUS_AUTH_TYPE: 'public',
        ...(s.minioKmsSecretKey ? { MINIO_KMS_SECRET_KEY: s.minioKmsSecretKey } : {}),
      },
      healthy: () => httpOk(`${minioEndpoint(s)}/minio/health/ready`),
    }),
    // In memory (nothing survives a restart); run from its own virtualenv (install-tools.sh test).
    moto: () => ({
      name: 'moto',
      command: path.join(TOOLS_BIN, 'moto'),
      args: ['-H', s.host, '-p', String(s.minioPort)],
      env: { AWS_ACCESS_KEY_ID: s.minioUser, AWS_SECRET_ACCESS_KEY: s.minioPassword, MOTO_S3_DEFAULT_MAX_KEYS: '1000' },
      healthy: () => httpOk(`${minioEndpoint(s)}/moto-api/`),
    }),
  };
  return stores[s.store]();
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return res.ok;
  } catch {
    return false;
  }
}

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    sock.setTimeout(1_000);
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
    sock.once('timeout', () => {
      sock.destroy();
      resolve(false);
    });
  });
}

const pidFile = (s: StackConfig, name: string) => path.join(s.dataDir, `${name}.pid`);

/** The PID in the service's pidfile, if that process runs and is the service (a stale pidfile's PID may have been reused). */
function readPid(s: StackConfig, name: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile(s, name), 'utf8'));
    process.kill(pid, 0);
    if (!existsSync('/proc/self/cmdline')) return pid; // no /proc (not Linux): trust the pidfile
    // A script's process (moto's) runs its interpreter with the script as the first argument.
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, 2);
    return argv.includes(path.join(TOOLS_BIN, name)) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The PID of a service this stack started (for tests that pause it), if it runs. */
export function servicePid(s: StackConfig, name: ServiceName): number | undefined {
  return readPid(s, name);
}

function log(msg: string) {
  process.stderr.write(`[stack] ${msg}\n`);
}

export async function startService(s: StackConfig, svc: Service, timeoutMs = 120_000): Promise<void> {
  if (await svc.healthy()) return;
  if (!existsSync(svc.command))
    throw new Error(`${svc.command} is missing: run "bash scripts/install-tools.sh" (npm run setup) first`);
  if (readPid(s, svc.name) === undefined) {
    const out = openSync(path.join(s.dataDir, `${svc.name}.log`), 'a');
    const child = spawn(svc.command, svc.args, {
      detached: true,
      stdio: ['ignore', out, out],
      env: { ...process.env, ...svc.env },
    });
    child.unref();
    writeFileSync(pidFile(s, svc.name), String(child.pid));
    log(`started ${svc.name} (pid ${child.pid}), waiting for it to be healthy…`);
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await svc.healthy()) return;
    if (readPid(s, svc.name) === undefined) {
      throw new Error(`${svc.name} exited during start; see ${path.join(s.dataDir, `${svc.name}.log`)}`);
    }
    await sleep(300);
  }
  throw new Error(
    `${svc.name} was not healthy after ${timeoutMs / 1000}s; see ${path.join(s.dataDir, `${svc.name}.log`)}`,
  );
}

export async function stackUp(s: StackConfig): Promise<void> {
  const folders: Record<StoreName, string[]> = {
    versitygw: ['versitygw', 'versitygw-versions'],
    minio: ['minio'],
    moto: [],
  };
  for (const dir of ['', ...folders[s.store]]) mkdirSync(path.join(s.dataDir, dir), { recursive: true });
  await Promise.all(services(s).map((svc) => startService(s, svc)));
  log(
    `Temporal ${temporalAddress(s)} (Web UI ${webUiUrl(s)}), ${s.store} ${minioEndpoint(s)}` +
      (s.store === 'minio' ? ` (console http://${s.host}:${s.minioConsolePort})` : ''),
  );
}

export async function stopService(s: StackConfig, name: ServiceName): Promise<void> {
  const pid = readPid(s, name);
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  for (let i = 0; i < 50 && readPid(s, name) !== undefined; i++) await sleep(200);
  if (readPid(s, name) !== undefined) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    await sleep(200);
  }
  rmSync(pidFile(s, name), { force: true });
}

export async function restartService(s: StackConfig, name: ServiceName, downMs = 0): Promise<void> {
  await stopService(s, name);
  if (downMs) await sleep(downMs);
  const svc = services(s).find((x) => x.name === name)!;
  await startService(s, svc);
}

export async function stackDown(s: StackConfig): Promise<void> {
  await Promise.all([stopService(s, 'temporal'), ...STORE_NAMES.map((store) => stopService(s, store))]);
  log(`stopped stack "${s.name}"`);
}

export function wipeStack(s: StackConfig): void {
  rmSync(s.dataDir, { recursive: true, force: true });
}
