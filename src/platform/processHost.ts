import type { ChildProcess } from 'node:child_process';
import type { FastCgiConnection } from '../fastcgi/connection';
import type { PoolHost, StaleWorkers, WorkerProcess } from '../pool/host';
import { DEFAULTS } from '../shared/defaults';
import type { OrphanGuard, PlatformCapabilities, WorkerAddressKind } from '../shared/platform';
import type { OrphanGuardHandle, Platform, ProcessReading, ProcessStopper, WorkerTransport } from './platform';
import { selectPlatform } from './platforms';
import { signalProcessGroup, type ProcessExit } from './processControl';
import type { ProcessTruth } from './processState';
import type { PhpStackReaderOptions } from './phpStack';
import { ProcessStacks } from './processStacks';
import { createSocketDir, removeSocketDir } from './spawnWorker';
import type { ProcessStat } from './processTable';
import { workerEnvironment } from './workerEnvironment';
import { WorkerRegistry } from './workerRegistry';

/** What the real host needs to know to run php-cgi workers (a subset of the pool's options). */
export interface ProcessHostOptions {
  readonly phpCgi: string;
  readonly cwd: string;
  readonly ini: Readonly<Record<string, string>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Tie workers to this process's life (parent-death signal, watchdog); false: only the registry cleans up. */
  readonly parentDeathSignal: boolean;
  readonly stateDir: string | null;
  /** The implementation; by default this OS's, or the one FASTCGI_POOL_PLATFORM forces (see platforms.ts). */
  readonly platform?: Platform;
  /** Whether live PHP stacks can be read; by default the stack reader's own answer for this machine. */
  readonly stacksAvailable?: () => boolean;
  /** Options of the live-stack reader; only tests set them (a deliberately wrong table for the canary). */
  readonly stackReader?: PhpStackReaderOptions;
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
 * The pool's real host, built on a {@link Platform}: php-cgi processes
 * started and reached the platform's way (a socket on fd 0, or `-b` on a
 * loopback port), the process truth read its way (/proc, one `ps` per
 * scan, the Windows process list), stopped its way (process group, tree
 * kill), kept from outliving us its way (pdeathsig, watchdog, Job Object),
 * and the registry that lets the next run clean up after a crash whatever
 * the platform.
 */
export class ProcessHost implements PoolHost<FastCgiConnection> {
  readonly platform: Platform;
  private transport: WorkerTransport | null = null;
  private guard: OrphanGuardHandle | null = null;
  private registry: WorkerRegistry | null = null;
  private lastReading: ProcessReading | null = null;
  /** The current (or last) run's guard: what the snapshot says, also once the pool stopped. */
  private guardKind: OrphanGuard = 'none';
  private readonly addressKind: WorkerAddressKind;
  readonly stacks: ProcessStacks;
  /** A private folder for the stack reader's canary script (0700, removed at close). */
  private stacksDir: string | null = null;

  constructor(private readonly options: ProcessHostOptions) {
    this.platform = options.platform ?? selectPlatform();
    this.addressKind = this.platform.transport().addressKind;
    this.stacks = new ProcessStacks(options.stackReader);
  }

  open(): void {
    const transport = this.platform.transport();
    transport.open();
    this.transport = transport;
    this.guard = this.platform.guard(this.options.parentDeathSignal);
    this.guardKind = this.guard.kind;
    this.stacksDir = createSocketDir();
    this.stacks.open(this.stacksDir);
  }

  cleanStale(): Promise<StaleWorkers> | null {
    const stateDir = this.options.stateDir;
    if (!stateDir) return null;
    this.registry = new WorkerRegistry(stateDir, this.platform);
    return this.registry.cleanStale().then((cleanup) => ({ killed: cleanup.killed.map((w) => w.pid), reusedPids: cleanup.reusedPids, stateDir }));
  }

  close(): void {
    this.transport?.close();
    this.transport = null;
    this.guard?.close();
    this.guard = null;
    this.registry?.close();
    this.registry = null;
    this.stacks.close();
    if (this.stacksDir) removeSocketDir(this.stacksDir);
    this.stacksDir = null;
  }

  async launch(name: string, extraArgs: readonly string[] = []): Promise<WorkerProcess> {
    const o = this.options;
    const transport = this.transport;
    const guard = this.guard;
    if (!transport || !guard) throw new Error('the host is not open');
    const launched = await transport.launch({
      command: o.phpCgi,
      args: [...iniArgs(o.ini), ...extraArgs],
      env: workerEnvironment(process.env, o.env),
      cwd: o.cwd,
      name,
      wrapper: guard.wrapper,
    });
    const pid = launched.pid;
    guard.adopt(pid, pid);
    const registry = this.registry;
    // Listening for the exit before anything else is awaited: a worker that
    // crashes at once must not exit unheard.
    const observer = o.workerProcessObserver ?? null;
    const worker = new ChildWorkerProcess(launched.child, pid, launched.address, this.platform.stopper, () => {
      registry?.remove(pid);
      guard.release(pid);
      tell(() => observer?.reaped(pid));
    });
    worker.startTime = await this.platform.truth.startTimeOf(pid).catch(() => null);
    if (registry && worker.startTime !== null && !worker.hasExited) registry.add({ pid, startTime: worker.startTime, pgid: pid, socketPath: launched.address });
    tell(() => observer?.spawned({ pid, pgid: pid, startTime: worker.startTime, socketPath: launched.address }));
    return worker;
  }

  connect(address: string, timeoutMs: number): Promise<FastCgiConnection> {
    if (!this.transport) return Promise.reject(new Error('the host is not open'));
    return this.transport.connect(address, timeoutMs);
  }

  readProcesses(pids: readonly number[]): Promise<ProcessReading> {
    return this.platform.truth.read(pids).then((reading) => (this.lastReading = reading));
  }

  inspect(pid: number, startTime: number | null): ProcessTruth {
    try {
      return this.platform.truth.inspectNow(pid, startTime);
    } catch {
      // The OS could not be asked (no `ps`): "alive" is the answer that
      // claims nothing; the exit, when it comes, still tells.
      return { status: 'alive', stat: { pid, ppid: 0, pgrp: pid, session: 0, state: '?', startTime: startTime ?? 0, comm: '' } };
    }
  }

  descendants(pid: number): ProcessStat[] {
    return this.lastReading?.descendants(pid) ?? [];
  }

  capabilities(): PlatformCapabilities {
    return {
      os: process.platform,
      implementation: this.platform.id,
      processTruth: this.platform.truth.kind,
      stacks: this.options.stacksAvailable ? this.options.stacksAvailable() : this.stacks.unavailableReason() === null,
      pdeathsig: this.guardKind === 'pdeathsig',
      orphanGuard: this.guardKind,
      workerAddress: this.addressKind,
    };
  }
}

/** A php-cgi child process. */
class ChildWorkerProcess implements WorkerProcess {
  startTime: number | null = null;
  private exit: ProcessExit | null = null;
  private readonly exitListeners: Array<(exit: ProcessExit) => void> = [];

  constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
    readonly address: string,
    private readonly stopper: ProcessStopper,
    reaped: () => void,
  ) {
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      const exit = { code, signal };
      reaped();
      // Anything left in its group (children it forked) must not outlive it
      // (a worker that leads no group of its own, as on Windows, has none).
      if (process.platform !== 'win32') signalProcessGroup(pid, 'SIGKILL');
      // What it wrote to stderr just before it died explains its exit (a
      // broken php.ini): the pipe's last data may come just after 'exit'.
      afterStderr(child, () => {
        this.exit = exit;
        for (const listener of this.exitListeners.splice(0)) listener(exit);
      });
    };
    if (child.exitCode !== null || child.signalCode !== null) onExit(child.exitCode, child.signalCode);
    else child.once('exit', onExit);
  }

  get hasExited(): boolean {
    return this.exit !== null;
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
    return this.stopper.stop(this.child, graceMs);
  }

  kill(): Promise<ProcessExit> {
    return this.stopper.kill(this.child);
  }
}

/** How long an exit waits for the end of the process's stderr (a child that inherited it may keep it open). */
const STDERR_END_WAIT_MS = 50;

/** Calls `then` once the child's stderr has ended, or after a short wait. */
function afterStderr(child: ChildProcess, then: () => void): void {
  const stderr = child.stderr;
  if (!stderr || stderr.readableEnded || stderr.destroyed) {
    then();
    return;
  }
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    stderr.off('end', finish);
    stderr.off('close', finish);
    then();
  };
  const timer = setTimeout(finish, STDERR_END_WAIT_MS);
  stderr.once('end', finish);
  stderr.once('close', finish);
}

/** An observer's bug must not break spawning or reaping. */
function tell(notify: () => void): void {
  try {
    notify();
  } catch {
    // ignored: see above
  }
}

/** The workers' `-d` arguments: the engine's ini defaults (DEFAULTS.workerIni), each unless the user's own `ini` sets that name. */
function iniArgs(ini: Readonly<Record<string, string>>): string[] {
  const args: string[] = [];
  for (const [name, value] of Object.entries({ ...DEFAULTS.workerIni, ...ini })) args.push('-d', `${name}=${value}`);
  return args;
}
