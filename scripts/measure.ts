/** Measuring helpers shared by the benchmark and the scale run. */
import type { ChildProcess } from 'node:child_process';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import dgram from 'node:dgram';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { minioEndpoint, stackConfig, type StackConfig } from '../stack/local-stack';
import { spawnWorkerProcess } from '../stack/worker-process';
import { PROJECT_ROOT } from '../worker/config';

/** CPU seconds (its own and its waited-for children's, e.g. s5cmd) and peak RSS of a process, from /proc. */
export function procStats(pid: number): { cpuS: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]); // utime stime cutime cstime
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuS: ticks / 100, rssMb: Number(hwm?.[1] ?? 0) / 1024 };
}

/** A real worker process (prebuilt bundle) on the stack, resolved once it polls. */
export async function startMeasuredWorker(stack: StackConfig, env: Record<string, string>): Promise<ChildProcess> {
  const { child } = await spawnWorkerProcess(stack, {
    LOG_LEVEL: 'INFO',
    WORKFLOW_BUNDLE_PATH: path.join(PROJECT_ROOT, '.build/workflow-bundle.js'),
    ...env,
  });
  return child;
}

export async function stopWorker(worker: ChildProcess): Promise<void> {
  if (worker.exitCode !== null) return;
  worker.kill('SIGTERM');
  await new Promise((r) => worker.once('exit', r));
}

const BENCH_STATSD = '127.0.0.1:29125';

/**
 * The dedicated stack the benchmark and the scale run share (its own ports and data folder), on the embedded
 * store (versitygw; BENCH_STORE=minio for the pinned MinIO), which counts every tool's requests itself.
 */
export const benchStack = () =>
  stackConfig({
    ...process.env,
    STACK_NAME: 'bench',
    STACK_STORE: process.env.BENCH_STORE === 'minio' ? 'minio' : 'versitygw',
    STACK_VERSITYGW_STATSD: BENCH_STATSD,
    STACK_TEMPORAL_PORT: '27233',
    STACK_TEMPORAL_UI_PORT: '28233',
    STACK_MINIO_PORT: '29000',
    STACK_MINIO_CONSOLE_PORT: '29001',
  });

/**
 * The S3 requests the store itself served, counted by the store: MinIO's request counters (its metrics API), or
 * the counters versitygw sends over statsd (success_count and failed_count, one per request) to a listener here.
 * Start it before the stack, so no count is missed.
 */
export interface RequestCounter {
  /** The total so far, once the store's counters have settled (two reads 300 ms apart agree). */
  settled(): Promise<number>;
  close(): void;
}

export async function storeRequestCounter(stack: StackConfig): Promise<RequestCounter> {
  let read: () => Promise<number>;
  let close = () => {};
  if (stack.store === 'minio') {
    read = async () => {
      // v3 counters are live; v2's are cached for a while.
      const text = await (await fetch(`${minioEndpoint(stack)}/minio/metrics/v3/api/requests`)).text();
      return text
        .split('\n')
        .filter((l) => l.startsWith('minio_api_requests_total{') && l.includes('type="s3"'))
        .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    };
  } else if (stack.store === 'versitygw' && stack.versitygwStatsd) {
    let total = 0;
    const socket = dgram.createSocket('udp4');
    socket.on('message', (packet) => {
      for (const line of packet.toString('utf8').split('\n')) {
        const m = /^versitygw\.(success|failed)_count[,:].*:(\d+)\|c/.exec(line);
        if (m) total += Number(m[2]);
      }
    });
    const [host, port] = stack.versitygwStatsd.split(':');
    await new Promise<void>((resolve) => socket.bind(Number(port), host, resolve));
    read = async () => total;
    close = () => socket.close();
  } else {
    throw new Error(`no request counter for ${stack.store} (versitygw needs STACK_VERSITYGW_STATSD)`);
  }
  return {
    async settled() {
      let last = -1;
      for (let i = 0; i < 20; i++) {
        const now = await read();
        if (now === last) return now;
        last = now;
        await new Promise((r) => setTimeout(r, 300));
      }
      return last;
    },
    close,
  };
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** What the worker tree's memory is made of: the worker process alone, and its children (s5cmd), at their peaks. */
export interface RssParts {
  /** The worker process's own peak RSS. */
  workerMb: number;
  /** The largest RSS any one child process reached. */
  childMb: number;
  /** The most child processes alive at once. */
  childrenAtOnce: number;
}

/**
 * Peak RSS of a process and all its descendants (the worker and its s5cmd children), sampled every 100 ms, and
 * what it is made of. The sum counts pages the s5cmd processes share (their binary's, ~10 MB each) once per process.
 */
export function treeRssSampler(root: number): { stop(): number; parts(): RssParts } {
  const kbOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  const childrenOf = (pid: number) =>
    readdirSync(`/proc/${pid}/task`).flatMap((t) =>
      readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
    );
  const rss = (pid: number): number => {
    try {
      return kbOf(pid) + childrenOf(pid).reduce((n, c) => n + rss(c), 0);
    } catch {
      return 0;
    }
  };
  const parts = { workerKb: 0, childKb: 0, childrenAtOnce: 0 };
  let peak = 0;
  // One walk of /proc per sample gives both the sum and its parts.
  const sample = () => {
    try {
      const own = kbOf(root);
      const children = childrenOf(root).map(rss);
      peak = Math.max(peak, own + children.reduce((n, kb) => n + kb, 0));
      parts.workerKb = Math.max(parts.workerKb, own);
      parts.childrenAtOnce = Math.max(parts.childrenAtOnce, children.length);
      parts.childKb = Math.max(parts.childKb, ...children);
    } catch {
      /* the worker has exited */
    }
  };
  sample();
  const timer = setInterval(sample, 100);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return peak / 1024;
    },
    parts: () => ({
      workerMb: Math.round(parts.workerKb / 1024),
      childMb: Math.round(parts.childKb / 1024),
      childrenAtOnce: parts.childrenAtOnce,
    }),
  };
}

export interface RunStats {
  workflowId: string;
  events: number;
  historyBytes: number;
  maxPayloadBytes: number;
}

/** Every run of a workflow (following continue-as-new) and of its children: events, history size, largest payload. */
export async function historyStats(client: Client, workflowId: string, runId?: string): Promise<RunStats[]> {
  const out: RunStats[] = [];
  for (let next = runId; ;) {
    const text = historyToJSON(await client.workflow.getHandle(workflowId, next).fetchHistory());
    const json = JSON.parse(text);
    let maxPayloadBytes = 0;
    const walk = (v: unknown) => {
      if (Array.isArray(v)) return v.forEach(walk);
      if (v && typeof v === 'object') {
        const o = v as Record<string, unknown>;
        if (typeof o.data === 'string' && o.metadata)
          maxPayloadBytes = Math.max(maxPayloadBytes, Buffer.from(o.data, 'base64').length);
        Object.values(o).forEach(walk);
      }
    };
    walk(json.events);
    out.push({ workflowId, events: json.events.length, historyBytes: Buffer.byteLength(text), maxPayloadBytes });
    type Started = {
      childWorkflowExecutionStartedEventAttributes?: { workflowExecution?: { workflowId: string; runId: string } };
    };
    const children = (json.events as Started[])
      .map((e) => e.childWorkflowExecutionStartedEventAttributes?.workflowExecution)
      .filter((c): c is { workflowId: string; runId: string } => Boolean(c));
    for (const c of children) out.push(...(await historyStats(client, c.workflowId, c.runId)));
    next = json.events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
    if (!next) return out;
  }
}
