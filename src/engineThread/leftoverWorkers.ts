import { rmdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { signalProcessGroup, signalStrayDescendants } from '../platform/processControl';
import type { WorkerProcessRecord } from '../platform/processHost';
import { inspectProcess, type ProcessTruth } from '../platform/processState';
import { WorkerRegistry } from '../platform/workerRegistry';

/** What stopping an engine thread's leftovers found and did. */
export interface LeftoverReport {
  /** Alive when the thread was gone: killed (SIGKILL to the group), then seen dead. */
  readonly killed: readonly number[];
  /**
   * Dead but not reaped: a worker whose thread died is a child of this
   * process that no thread waits for (Node reaps only the children its own
   * handles spawned), so it stays a zombie — no memory, no socket, one
   * process-table entry — until the extension host exits.
   */
  readonly zombies: readonly number[];
  /** Still alive when the wait ran out (e.g. in uninterruptible sleep); their group had SIGKILL. */
  readonly survivors: readonly number[];
}

/** The parts of the OS used here, replaceable in tests. */
export interface LeftoverOs {
  inspect(pid: number, startTime: number | null): ProcessTruth;
  killGroup(worker: WorkerProcessRecord): Promise<void>;
  listRegistry(stateDir: string): WorkerProcessRecord[];
  removeRegistry(stateDir: string): void;
  removeSocket(path: string): void;
}

const realOs: LeftoverOs = {
  inspect: inspectProcess,
  async killGroup(worker) {
    // A script that called setsid left the group: find it by the tree first.
    await signalStrayDescendants(worker.pid, worker.pgid, 'SIGKILL');
    signalProcessGroup(worker.pgid, 'SIGKILL');
  },
  listRegistry: (stateDir) => WorkerRegistry.listOwn(stateDir),
  removeRegistry: (stateDir) => WorkerRegistry.removeOwn(stateDir),
  removeSocket(path) {
    rmSync(path, { force: true });
    try {
      // The thread's private socket folder, once empty; a folder with anything else in it stays.
      rmdirSync(dirname(path));
    } catch {
      // not empty, or already gone
    }
  },
};

/**
 * The engine thread's worker processes as the main thread knows them: each
 * reported when spawned and when reaped. If the thread dies before it could
 * stop them, {@link stopAll} kills the process group of every one still
 * alive — checked by pid *and* start time, so a reused pid is never touched
 * — together with those the thread's registry file lists (written
 * synchronously at each spawn, so it also knows a worker whose message the
 * thread had no time to post).
 */
export class LeftoverWorkers {
  private readonly live = new Map<number, WorkerProcessRecord>();

  constructor(
    /** The pool's state dir (where its registry lives), or null. */
    private readonly stateDir: string | null,
    private readonly os: LeftoverOs = realOs,
  ) {}

  spawned(worker: WorkerProcessRecord): void {
    this.live.set(worker.pid, worker);
  }

  reaped(pid: number): void {
    this.live.delete(pid);
  }

  /** Workers reported and not yet reaped. */
  get size(): number {
    return this.live.size;
  }

  /**
   * Kills every leftover still alive and waits (up to `timeoutMs`) until
   * none is; removes their sockets and the registry file. Call it only
   * once the thread is gone: a live thread would race us for its workers.
   */
  async stopAll(timeoutMs = 3_000, pollMs = 20): Promise<LeftoverReport> {
    const all = new Map(this.live);
    if (this.stateDir) for (const worker of this.os.listRegistry(this.stateDir)) if (!all.has(worker.pid)) all.set(worker.pid, worker);
    this.live.clear();
    const killed: number[] = [];
    for (const worker of all.values()) {
      if (this.os.inspect(worker.pid, worker.startTime).status !== 'alive') continue;
      await this.os.killGroup(worker);
      killed.push(worker.pid);
    }
    const alive = (pid: number): boolean => {
      const worker = all.get(pid) as WorkerProcessRecord;
      return this.os.inspect(worker.pid, worker.startTime).status === 'alive';
    };
    for (const deadline = Date.now() + timeoutMs; killed.some(alive) && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
    const survivors = killed.filter(alive);
    const zombies = [...all.values()].filter((worker) => this.os.inspect(worker.pid, worker.startTime).status === 'zombie').map((worker) => worker.pid);
    for (const worker of all.values()) if (!survivors.includes(worker.pid)) this.os.removeSocket(worker.socketPath);
    if (this.stateDir && survivors.length === 0) this.os.removeRegistry(this.stateDir);
    return { killed: killed.filter((pid) => !survivors.includes(pid)), zombies, survivors };
  }
}
