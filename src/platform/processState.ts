import { execFileSync } from 'node:child_process';
import { hasProcfs, listDescendants, readProcessStat, type ProcessStat } from './processTable';

/** What the operating system says about a process we believe is ours. */
export type ProcessTruth =
  | { status: 'alive'; stat: ProcessStat }
  | { status: 'zombie'; stat: ProcessStat }
  /** No such pid, or the pid now belongs to another process (start time differs). */
  | { status: 'gone'; reused: boolean };

/**
 * Identity by pid *and* start time: a pid may be reused by an unrelated
 * process, which must never be mistaken for our worker (or killed as one).
 * `kill(pid, 0)` cannot tell a zombie from a live process, so the kernel's
 * state letter is read instead.
 */
export function inspectProcess(pid: number, startTime: number | null): ProcessTruth {
  const stat = readStat(pid);
  if (!stat) return { status: 'gone', reused: false };
  if (startTime !== null && stat.startTime !== startTime) return { status: 'gone', reused: true };
  if (stat.state === 'Z' || stat.state === 'X') return { status: 'zombie', stat };
  return { status: 'alive', stat };
}

/** Reads one process's stat: /proc on Linux, `ps` elsewhere (macOS). */
export function readStat(pid: number): ProcessStat | null {
  if (hasProcfs) return readProcessStat(pid);
  return readStatWithPs(pid);
}

/** The descendants of a process with their states (Linux: /proc; elsewhere: one `ps`). */
export function descendantsOf(pid: number): ProcessStat[] {
  if (hasProcfs) return listDescendants(pid);
  const all = psTable();
  const result: ProcessStat[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift() as number;
    for (const stat of all) {
      if (stat.ppid === parent) {
        result.push(stat);
        queue.push(stat.pid);
      }
    }
  }
  return result;
}

/** macOS has no /proc: `lstart` stands in for the start time (seconds resolution). */
function readStatWithPs(pid: number): ProcessStat | null {
  return psTable([pid])[0] ?? null;
}

function psTable(pids?: number[]): ProcessStat[] {
  let out: string;
  try {
    const selection = pids ? ['-p', pids.join(',')] : ['-A'];
    out = execFileSync('ps', [...selection, '-o', 'pid=,ppid=,pgid=,stat=,lstart=,comm='], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return [];
  }
  const stats: ProcessStat[] = [];
  for (const line of out.split('\n')) {
    // pid ppid pgid stat Dow Mon DD HH:MM:SS YYYY comm
    const match = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(\S+\s+\S+\s+\d+\s+[\d:]+\s+\d+)\s+(.*)$/.exec(line);
    if (!match) continue;
    stats.push({
      pid: Number(match[1]),
      ppid: Number(match[2]),
      pgrp: Number(match[3]),
      session: 0,
      state: (match[4] as string).charAt(0),
      startTime: Math.floor(Date.parse(match[5] as string) / 1000),
      comm: (match[6] as string).trim(),
    });
  }
  return stats;
}
