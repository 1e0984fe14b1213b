import type { ChildProcess } from 'node:child_process';
import { FastCgiConnection } from '../fastcgi/connection';
import type { PoolHost, StaleWorkers, WorkerProcess } from '../pool/host';
import { killProcessGroup, stopProcessGroup, type ProcessExit } from './processControl';
import { descendantsOf, inspectProcess, readStat, type ProcessTruth } from './processState';
import type { ProcessStat } from './processTable';
import { createSocketDir, removeSocketDir, spawnWorker } from './spawnWorker';
import { workerEnvironment } from './workerEnvironment';
import { WorkerRegistry } from './workerRegistry';

/** What the real host needs to know to run php-cgi workers (a subset of the pool's options). */
export interface ProcessHostOptions {
  readonly phpCgi: string;
  readonly cwd: string;
  readonly ini: Readonly<Record<string, string>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly parentDeathSignal: boolean;
  readonly stateDir: string | null;
  /** Told of each worker process as it is spawned and as it is reaped (see {@link WorkerProcessObserver}). */
  readonly workerProcessObserver?: WorkerProcessObserver | null;
}

/** A worker process as its host started it: enough to find it and stop its group from another thread. */
export interface WorkerProcessRecord {
  readonly pid: number;
  /** The worker leads its own process group. */
  readonly pgid: number;
  /** Kernel start time; with the pid, its identity (null if it could not be read). */
  readonly startTime: number | null;
  readonly socketPath: string;
}

/**
 * Hears of every worker process the host spawns and reaps. The engine
 * thread passes one so that the extension host's main thread knows which
 * process groups to kill if the thread dies before it could stop them: the
 * workers are children of the whole process, not of the thread.
 */
export interface WorkerProcessObserver {
  spawned(worker: WorkerProcessRecord): void;
  reaped(pid: number): void;
}

/**
 * The pool's real host: php-cgi processes in their own process groups,
 * listening on unix sockets in a private folder, the registry that lets the
 * next run clean up after a crash, and the process table (/proc, or `ps`).
 */
export class ProcessHost implements PoolHost<FastCgiConnection> {
  private socketDir: string | null = null;
  private registry: WorkerRegistry | null = null;

  constructor(private readonly options: ProcessHostOptions) {}

  open(): void {
    this.socketDir = createSocketDir();
  }

  cleanStale(): Promise<StaleWorkers> | null {
    const stateDir = this.options.stateDir;
    if (!stateDir) return null;
    this.registry = new WorkerRegistry(stateDir);
    return this.registry.cleanStale().then((cleanup) => ({ killed: cleanup.killed.map((w) => w.pid), reusedPids: cleanup.reusedPids, stateDir }));
  }

  close(): void {
    if (this.socketDir) removeSocketDir(this.socketDir);
    this.socketDir = null;
    this.registry?.close();
    this.registry = null;
  }

  async launch(name: string): Promise<WorkerProcess> {
    const o = this.options;
    const spawned = await spawnWorker({
      command: o.phpCgi,
      args: iniArgs(o.ini),
      env: workerEnvironment(process.env, o.env),
      cwd: o.cwd,
      socketDir: this.socketDir as string,
      name,
      parentDeathSignal: o.parentDeathSignal,
    });
    const startTime = readStat(spawned.pid)?.startTime ?? null;
    const registry = this.registry;
    if (registry && startTime !== null) registry.add({ pid: spawned.pid, startTime, pgid: spawned.pid, socketPath: spawned.address });
    const observer = o.workerProcessObserver ?? null;
    tell(() => observer?.spawned({ pid: spawned.pid, pgid: spawned.pid, startTime, socketPath: spawned.address }));
    return new ChildWorkerProcess(spawned.child, spawned.pid, spawned.address, startTime, () => {
      registry?.remove(spawned.pid);
      tell(() => observer?.reaped(spawned.pid));
    });
  }

  connect(address: string, timeoutMs: number): Promise<FastCgiConnection> {
    return FastCgiConnection.connect(address, { timeoutMs });
  }

  inspect(pid: number, startTime: number | null): ProcessTruth {
    return inspectProcess(pid, startTime);
  }

  descendants(pid: number): ProcessStat[] {
    return descendantsOf(pid);
  }
}

/** A php-cgi child process, leader of its own process group. */
class ChildWorkerProcess implements WorkerProcess {
  private exit: ProcessExit | null = null;
  private readonly exitListeners: Array<(exit: ProcessExit) => void> = [];

  constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
    readonly address: string,
    readonly startTime: number | null,
    reaped: () => void,
  ) {
    child.once('exit', (code, signal) => {
      const exit = { code, signal };
      this.exit = exit;
      reaped();
      for (const listener of this.exitListeners.splice(0)) listener(exit);
    });
  }

  onExit(listener: (exit: ProcessExit) => void): void {
    if (this.exit) listener(this.exit);
    else this.exitListeners.push(listener);
  }

  onStderr(listener: (text: string) => void): void {
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', listener);
  }

  stop(graceMs: number): Promise<ProcessExit> {
    return stopProcessGroup(this.child, graceMs);
  }

  kill(): Promise<ProcessExit> {
    return killProcessGroup(this.child);
  }
}

/** An observer's bug must not break spawning or reaping. */
function tell(notify: () => void): void {
  try {
    notify();
  } catch {
    // ignored: see above
  }
}

function iniArgs(ini: Readonly<Record<string, string>>): string[] {
  const args: string[] = [];
  for (const [name, value] of Object.entries(ini)) args.push('-d', `${name}=${value}`);
  return args;
}
