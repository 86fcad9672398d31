/** Measuring helpers shared by the benchmark and the scale run. */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { stackConfig, type StackConfig } from '../stack/local-stack';
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

/** The dedicated stack the benchmark and the scale run share (its own ports and data folder). */
export const benchStack = () =>
  stackConfig({
    ...process.env,
    STACK_NAME: 'bench',
    // MinIO's own request counters count every tool's requests; the re-baseline on versitygw needs a counting proxy (issue 19).
    STACK_STORE: 'minio',
    STACK_TEMPORAL_PORT: '27233',
    STACK_TEMPORAL_UI_PORT: '28233',
    STACK_MINIO_PORT: '29000',
    STACK_MINIO_CONSOLE_PORT: '29001',
  });

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Peak RSS of a process and all its descendants (the worker and its s5cmd children), sampled every 100 ms. */
export function treeRssSampler(root: number): { stop(): number } {
  const rss = (pid: number): number => {
    try {
      const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      const children = readdirSync(`/proc/${pid}/task`).flatMap((t) =>
        readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
      );
      return kb + children.reduce((n, c) => n + rss(c), 0);
    } catch {
      return 0;
    }
  };
  let peak = rss(root);
  const timer = setInterval(() => {
    peak = Math.max(peak, rss(root));
  }, 100);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, rss(root)) / 1024;
    },
  };
}
