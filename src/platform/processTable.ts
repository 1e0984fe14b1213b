import { readFileSync, readdirSync } from 'node:fs';

/** One process as the kernel sees it (Linux `/proc/PID/stat`, or a line of `ps`, or the Windows process list). */
export interface ProcessStat {
  pid: number;
  /** Kernel state letter: R running, S sleeping, D disk, T stopped, Z zombie, X dead. */
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  /**
   * With pid, the process's identity, in the unit of the reader that read it:
   * clock ticks since boot (/proc), seconds since the epoch (`ps` lstart),
   * milliseconds since the epoch (Windows).
   */
  startTime: number;
  comm: string;
  /** CPU time used so far, where the reader has it (`ps`). */
  cpuMs?: number | null;
  /** Resident set size, where the reader has it (`ps`, Windows). */
  rssKiB?: number;
}

/** Whether this platform has a readable `/proc` process table. */
export const hasProcfs = process.platform === 'linux';

/**
 * Reads `/proc/PID/stat`; null when the process does not exist. `comm` may
 * contain spaces and parentheses, so the line is split at the *last* `)`.
 */
export function readProcessStat(pid: number): ProcessStat | null {
  let line: string;
  try {
    line = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  const open = line.indexOf('(');
  const close = line.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const fields = line.slice(close + 2).split(' ');
  // fields[0] is field 3 (state); starttime is field 22 → fields[19].
  return {
    pid,
    comm: line.slice(open + 1, close),
    state: fields[0] ?? '?',
    ppid: Number(fields[1]),
    pgrp: Number(fields[2]),
    session: Number(fields[3]),
    startTime: Number(fields[19]),
  };
}

/**
 * Lists a process's direct children from `/proc/PID/task/TID/children`
 * (needs CONFIG_PROC_CHILDREN, which Debian, Ubuntu and Fedora kernels have).
 */
export function listChildren(pid: number): number[] {
  const children: number[] = [];
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return children;
  }
  for (const tid of tids) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1');
    } catch {
      continue;
    }
    for (const part of text.split(' ')) {
      if (part) children.push(Number(part));
    }
  }
  return children;
}

/** All descendants of `pid`, breadth first, each with its stat. */
export function listDescendants(pid: number): ProcessStat[] {
  const result: ProcessStat[] = [];
  const queue = listChildren(pid);
  const seen = new Set<number>();
  while (queue.length > 0) {
    const next = queue.shift() as number;
    if (seen.has(next)) continue;
    seen.add(next);
    const stat = readProcessStat(next);
    if (!stat) continue;
    result.push(stat);
    queue.push(...listChildren(next));
  }
  return result;
}
