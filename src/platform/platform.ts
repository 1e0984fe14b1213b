import type { ChildProcess } from 'node:child_process';
import type { FastCgiConnection } from '../fastcgi/connection';
import type { OrphanGuard, PlatformId, ProcessTruthKind, WorkerAddressKind } from '../shared/platform';
import type { TcpSocket } from './lsof';
import type { ProcessExit } from './processControl';
import type { ProcessTruth } from './processState';
import type { ProcessStat } from './processTable';

export type { OrphanGuard, PlatformCapabilities, PlatformId, ProcessTruthKind, WorkerAddressKind } from '../shared/platform';

/**
 * Everything that differs between operating systems, behind one interface
 * with one implementation per OS family (src/platform/platforms.ts), chosen
 * once at start: how a worker is started and reached, how the process truth
 * is read for many pids at once, how a worker and its descendants are
 * stopped, and what keeps workers from outliving a manager that dies
 * without stopping them. The pool never sees this: it talks to a PoolHost
 * (src/platform/processHost.ts), which is built on a Platform.
 */
export interface Platform {
  readonly id: PlatformId;
  readonly truth: ProcessTruthReader;
  /** A new transport for one pool run (it may own private state, e.g. a socket folder). */
  transport(): WorkerTransport;
  readonly stopper: ProcessStopper;
  /**
   * What keeps one run's workers from outliving the manager; `wanted` false
   * (`--no-pdeathsig`) or nothing available here gives a guard of kind `none`.
   */
  guard(wanted: boolean): OrphanGuardHandle;
  /**
   * The TCP sockets a worker holds (which database or API a busy worker
   * talks to): `lsof` on Unix, where the stacks reader has no /proc to read
   * it from. Rejects where it cannot be known, saying why.
   */
  tcpSockets(pid: number): Promise<TcpSocket[]>;
}

/** One reading of the process table, for many pids at once. */
export interface ProcessReading {
  /** What the reading says about a pid we believe is ours (identity: pid and start time). */
  inspect(pid: number, startTime: number | null): ProcessTruth;
  /** The descendants of a process, with their states, as far as this reading saw them. */
  descendants(pid: number): ProcessStat[];
}

/** Where the truth about processes comes from on this platform. */
export interface ProcessTruthReader {
  readonly kind: ProcessTruthKind;
  /**
   * One reading covering `pids` and their descendants: /proc reads, one
   * `ps` call, or the Windows process list. Rejects when the OS could not
   * be asked (no `ps`, a failed call): "unknown" must never read as "gone".
   */
  read(pids: readonly number[]): Promise<ProcessReading>;
  /** One pid, synchronously, for the rare checks that cannot wait (a holder saw its worker die). */
  inspectNow(pid: number, startTime: number | null): ProcessTruth;
  /** The start time to record with a new pid as its identity (in this reader's unit); null if unknown. */
  startTimeOf(pid: number): Promise<number | null>;
  /** This process's own start time, for the registry's owner entry; null where it costs too much to ask. */
  ownStartTime(): number | null;
}

/** What is needed to start one worker. */
export interface WorkerLaunchSpec {
  /** The php-cgi executable, resolved to a path. */
  readonly command: string;
  /** `-d name=value` and the like. */
  readonly args: readonly string[];
  /** The worker's whole environment. */
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Unique within the run: names the socket file. */
  readonly name: string;
  /** A command the worker is started through (setpriv --pdeathsig), or null. */
  readonly wrapper: readonly string[] | null;
}

/** A worker process that has been started (it may still be loading). */
export interface LaunchedWorker {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Where to connect to it: a unix socket path, or `127.0.0.1:PORT`. */
  readonly address: string;
}

/** How a worker is started and reached. */
export interface WorkerTransport {
  readonly addressKind: WorkerAddressKind;
  /** First thing in a run: e.g. the private 0700 folder for the sockets. Throws if it cannot. */
  open(): void;
  /** Last thing in a run, once every worker has exited. */
  close(): void;
  launch(spec: WorkerLaunchSpec): Promise<LaunchedWorker>;
  /** Opens a FastCGI connection; for a worker that binds its own port, waits until it listens. */
  connect(address: string, timeoutMs: number): Promise<FastCgiConnection>;
}

/** How a worker and its descendants are stopped. */
export interface ProcessStopper {
  /** Asks the worker to finish and exit (SIGTERM where there are signals), forces it after `graceMs`; resolves once reaped. */
  stop(child: ChildProcess, graceMs: number): Promise<ProcessExit>;
  /** Kills the worker and its descendants now; resolves once reaped. */
  kill(child: ChildProcess): Promise<ProcessExit>;
  /** Kills a process we did not start in this run (a stale worker from the registry) and its descendants. */
  killStale(pid: number, pgid: number): Promise<void>;
}

/** What keeps one run's workers from outliving the manager. */
export interface OrphanGuardHandle {
  readonly kind: OrphanGuard;
  /** A command to start each worker through (setpriv --pdeathsig), or null. */
  readonly wrapper: readonly string[] | null;
  /** A new worker, leader of process group `pgid`, is to be watched. */
  adopt(pid: number, pgid: number): void;
  /** The worker was reaped: nothing to do for it any more. */
  release(pid: number): void;
  /** The run is over (every worker reaped). */
  close(): void;
}
