/**
 * Processes a test may signal: only ones it started itself, found by PID. The in-process worker
 * keeps the s5cmd children it started (`runningS5cmd`); a spawned worker's children are read from
 * /proc. No name patterns, so nothing else on the machine is ever touched.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { runningS5cmd } from '../../activities/s5cmd-run';
import { waitFor } from './wait';

/**
 * Sends `signal` (SIGSTOP freezes, SIGKILL kills) to each s5cmd this test process's own worker starts,
 * the moment it is started, for the first `count` runs (all by default) until `stop()`. Waiting for a
 * PID to show up leaves a window in which a short run (a batch of small server-side copies) finishes
 * first, and with several batches in flight one of them then gets past its copy step.
 */
export function signalS5cmdOnStart(
  signal: 'SIGSTOP' | 'SIGKILL',
  count = Infinity,
): {
  signalled: number[];
  /** Every s5cmd started meanwhile (signalled or not), and the most running at once. */
  starts: { total: number; mostAtOnce: number };
  started: (timeoutMs?: number) => Promise<void>;
  stop: () => void;
} {
  const signalled: number[] = [];
  const starts = { total: 0, mostAtOnce: 0 };
  const add = Set.prototype.add.bind(runningS5cmd);
  runningS5cmd.add = (child) => {
    if (typeof child.pid === 'number' && signalled.length < count) {
      process.kill(child.pid, signal);
      signalled.push(child.pid);
    }
    const set = add(child);
    starts.total++;
    starts.mostAtOnce = Math.max(starts.mostAtOnce, runningS5cmd.size);
    return set;
  };
  // The patch is an own property of the Set: removing it brings back Set.prototype.add.
  return {
    signalled,
    starts,
    /** Resolves once the first s5cmd has been signalled. */
    started: async (timeoutMs) => {
      await waitFor('s5cmd to start', () => (signalled.length ? true : undefined), timeoutMs);
    },
    stop: () => void Reflect.deleteProperty(runningS5cmd, 'add'),
  };
}

/** Direct children of a process this test started. */
export function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

/** The command line of a process (empty when it is gone). */
export function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** The s5cmd children of a worker process this test started (a worker also has other children, e.g. esbuild's service). */
export function s5cmdChildren(workerPid: number): number[] {
  return childPids(workerPid).filter((pid) => commandLine(pid)[0]?.endsWith('/s5cmd'));
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Gone or a zombie (dead, waiting to be reaped by whoever inherited it). */
export function isDead(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

/** Counts the s5cmd runs this test process's own worker starts, and the most at once, signalling none. */
export const watchS5cmdStarts = () => signalS5cmdOnStart('SIGSTOP', 0);
