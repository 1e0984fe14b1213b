import type { ChildProcess } from 'node:child_process';
import treeKill from 'tree-kill';
import type { ProcessStopper } from './platform';
import {
  exitOf,
  killProcessGroup,
  signalProcess,
  signalProcessGroup,
  signalStrayDescendants,
  stopProcessGroup,
  type DescendantLister,
  type ProcessExit,
} from './processControl';
import { findExecutable } from './spawnWorker';

/**
 * Unix: a worker leads its own process group (spawned detached), so one
 * signal reaches whatever it forked, even orphans of a SIGKILLed php-cgi
 * that tree-kill would no longer see; descendants that left the group are
 * found with `descendants` and signalled one by one.
 */
export class GroupStopper implements ProcessStopper {
  constructor(private readonly descendants: DescendantLister) {}

  stop(child: ChildProcess, graceMs: number): Promise<ProcessExit> {
    return stopProcessGroup(child, graceMs, this.descendants);
  }

  kill(child: ChildProcess): Promise<ProcessExit> {
    return killProcessGroup(child, this.descendants);
  }

  async killStale(pid: number, pgid: number): Promise<void> {
    await signalStrayDescendants(pid, pgid, 'SIGKILL', this.descendants);
    signalProcessGroup(pgid, 'SIGKILL');
  }
}

/**
 * Windows: no signals and no process groups. `tree-kill` runs
 * `taskkill /PID pid /T /F`, which ends the worker and its descendants
 * (TerminateProcess): there is no graceful stop, so the pool's graceful
 * paths (recycle, idle timeout, stop) wait for the worker to be idle, and
 * then it has nothing to finish. On a Unix host simulating Windows,
 * tree-kill walks the tree with `ps` and SIGKILLs it, which is the same
 * thing as far as php-cgi can tell.
 */
export class TreeStopper implements ProcessStopper {
  stop(child: ChildProcess): Promise<ProcessExit> {
    return this.kill(child);
  }

  async kill(child: ChildProcess): Promise<ProcessExit> {
    const exited = exitOf(child);
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) await killTree(child.pid);
    return exited;
  }

  killStale(pid: number): Promise<void> {
    return killTree(pid);
  }
}

/**
 * tree-kill, guarded: it crashes the host with an uncaught ENOENT when its
 * tool (taskkill, or ps on Unix) is missing, so without the tool only the
 * process itself is killed. Its callback means "signals sent"; callers wait
 * for the exit.
 */
function killTree(pid: number): Promise<void> {
  const tool = process.platform === 'win32' ? 'taskkill' : 'ps';
  if (!findExecutable(tool, process.env.PATH ?? '')) {
    signalProcess(pid, 'SIGKILL');
    return Promise.resolve();
  }
  return new Promise((resolve) => treeKill(pid, 'SIGKILL', () => resolve()));
}
