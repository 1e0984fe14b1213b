import type { ChildProcess } from 'node:child_process';
import { hasProcfs, listDescendants, type ProcessStat } from './processTable';
import { psDescendants } from './psTruth';

/** How a process ended: an exit code or the signal that killed it. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** "was killed by SIGKILL" / "exited with code 255": the shared wording, here for the engine's imports. */
export { describeExit } from '../shared/text';

/**
 * Sends a signal to a whole process group (our workers lead their own group,
 * so the group id is the worker's pid). Returns false when the group is gone.
 */
export function signalProcessGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(process.platform === 'win32' ? pgid : -pgid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/** Sends a signal to one process; false when it is gone. */
export function signalProcess(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/** Lists every descendant of a process, whatever its group. */
export type DescendantLister = (pid: number) => Promise<readonly ProcessStat[]>;

/**
 * This system's lister: /proc on Linux (the tree in well under a
 * millisecond); elsewhere ONE `ps -A` for the whole table, walked here
 * (tree-kill would start one `ps` per process, and crash the host with an
 * uncaught ENOENT where `ps` is missing).
 */
const systemDescendants: DescendantLister = hasProcfs ? (pid) => Promise.resolve(listDescendants(pid)) : (pid) => psDescendants(pid);

/**
 * Signals descendants that left the worker's process group (a wrapper that
 * calls setsid, a daemonising script): the group signal misses them. When
 * the table cannot be read, the group signal is all there is.
 */
export async function signalStrayDescendants(
  pid: number,
  pgid: number,
  signal: NodeJS.Signals,
  descendants: DescendantLister = systemDescendants,
): Promise<void> {
  let list: readonly ProcessStat[];
  try {
    list = await descendants(pid);
  } catch {
    return;
  }
  for (const stat of list) {
    if (stat.pgrp !== pgid) signalProcess(stat.pid, signal);
  }
}

/** Resolves with how the child ended, once Node has reaped it. */
export function exitOf(child: ChildProcess): Promise<ProcessExit> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

/**
 * Stops a worker: SIGTERM to its group (php-cgi finishes a running request,
 * then exits), a grace period, then SIGKILL to the group and to any stray
 * descendant. Resolves only after the child has exited and been reaped.
 */
export async function stopProcessGroup(child: ChildProcess, graceMs: number, descendants: DescendantLister = systemDescendants): Promise<ProcessExit> {
  const pid = child.pid;
  const exited = exitOf(child);
  if (pid === undefined) return exited;
  if (child.exitCode === null && child.signalCode === null) {
    await signalStrayDescendants(pid, pid, 'SIGTERM', descendants);
    signalProcessGroup(pid, 'SIGTERM');
    // A stopped process keeps SIGTERM pending; SIGCONT lets it act on it.
    signalProcessGroup(pid, 'SIGCONT');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      exited.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      await signalStrayDescendants(pid, pid, 'SIGKILL', descendants);
      signalProcessGroup(pid, 'SIGKILL');
    }
  }
  const exit = await exited;
  // The leader is gone; anything left in its group (an orphaned grandchild)
  // must not outlive it.
  signalProcessGroup(pid, 'SIGKILL');
  return exit;
}

/** Kills a worker's group at once (SIGKILL) and waits until it is reaped. */
export async function killProcessGroup(child: ChildProcess, descendants: DescendantLister = systemDescendants): Promise<ProcessExit> {
  const pid = child.pid;
  const exited = exitOf(child);
  if (pid !== undefined) {
    await signalStrayDescendants(pid, pid, 'SIGKILL', descendants);
    signalProcessGroup(pid, 'SIGKILL');
  }
  return exited;
}
