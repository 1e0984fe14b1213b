import type { ProcessExit } from '../platform/processControl';
import type { ProcessTruth } from '../platform/processState';
import type { ProcessStat } from '../platform/processTable';
import type { PlatformCapabilities } from '../shared/platform';
import type { StackReadResult, WaitReason } from '../shared/stackTypes';
import type { LeaseRequestInfo } from './types';

/**
 * Everything the pool asks of the operating system, in one small interface,
 * so that its own logic (queue, backoff, busy timeout, keep vs reclaim) can
 * run against a fake in tests. The real one is src/platform/processHost.ts
 * (php-cgi processes, unix sockets, /proc); the clock is the global one
 * (`Date.now`, timers), which tests replace with fake timers.
 */
export interface PoolHost<C extends WorkerConnection> {
  /** First thing in `start()`: e.g. the private folder for the workers' sockets. Throws if it cannot. */
  open(): void;
  /**
   * With a state dir: kills the workers a crashed earlier run left, and
   * records ours from now on. Null without one (then start() does not wait).
   */
  cleanStale(): Promise<StaleWorkers> | null;
  /** Last thing in `stop()`, once every worker has exited. */
  close(): void;
  /**
   * Starts one worker process named `name`. Rejects with a
   * `WorkerSpawnError` (src/platform/spawnWorker) whose `code` says why,
   * e.g. `ENOENT` for a php-cgi that does not exist. `extraArgs` go after
   * the host's own (the user's ini), so that a later `-d` of a name wins.
   */
  launch(name: string, extraArgs?: readonly string[]): Promise<WorkerProcess>;
  /** Opens a FastCGI connection to a worker's address. */
  connect(address: string, timeoutMs: number): Promise<C>;
  /** What the OS says about a pid we believe is ours (identity: pid and start time). */
  inspect(pid: number, startTime: number | null): ProcessTruth;
  /** The descendants of a process, with their states. */
  descendants(pid: number): ProcessStat[];
  /**
   * One reading of the process table for many pids and their descendants,
   * taken once per scan (one `ps` call where there is no /proc). Rejects when
   * the OS could not be asked; the scan then reports nothing. Optional:
   * without it the reconciler asks `inspect` and `descendants` per worker.
   */
  readProcesses?(pids: readonly number[]): Promise<Pick<PoolHost<C>, 'inspect' | 'descendants'>>;
  /** What this host can and cannot check (the snapshot's `platform`); optional: a fake host has none. */
  capabilities?(): PlatformCapabilities;
  /** Live PHP stacks and wait reasons of workers (issue 13); null for a host that reads none. */
  readonly stacks?: WorkerStacks<C> | null;
}

/**
 * What the pool asks of the OS about where a busy worker is: its PHP stack
 * and what it waits on. The pool decides when to read (src/pool/stackWatch.ts);
 * the real reader is src/platform/processStacks.ts. Every read is synchronous
 * and short (≤ 1 ms for a 20-frame stack); a worker stopped for a read is
 * continued before the call returns.
 */
export interface WorkerStacks<C extends WorkerConnection> {
  /** Why no PHP stack can be read here at all (the platform, the CPU), or null. Asks no process. */
  unavailableReason(): string | null;
  /** Whether a wait reason is cheap enough to read on the once-a-second schedule (/proc: yes; `ps`: no). */
  readonly cheapWaits: boolean;
  /** The canary's request: a script of the host's own, written when the host opened. */
  canaryRequest(): LeaseRequestInfo;
  /**
   * Runs the canary request on a leased worker's connection and checks the
   * stack read meanwhile. A failure turns stack reading off for good; its
   * `message` is the one log line. `requestEnded` false: retire the worker.
   */
  runCanary(pid: number, connection: C): Promise<StackCheck>;
  /**
   * CPU time the process has used so far, ms (a lease's baseline); null where
   * that is not cheap to know. Costs a /proc read (30–100 µs): the pool takes
   * it on its tick, never on a request's path.
   */
  cpuTimeMs(pid: number): number | null;
  /** Reads what the process waits on, then its PHP stack. */
  sample(pid: number, cpuBaselineMs: number | null): WorkerStackRead;
  /** The process has exited: drop what was kept about it. */
  forget(pid: number): void;
}

/** What the canary concluded. */
export interface StackCheck {
  readonly ok: boolean;
  /** One line for the log when not ok: `live PHP stacks are off: …`. */
  readonly message: string | null;
  /** The canary request ended cleanly (else its worker must go). */
  readonly requestEnded: boolean;
}

/** One read of one process. */
export interface WorkerStackRead {
  readonly stack: StackReadResult;
  /** Null where the system tells nothing. */
  readonly wait: WaitReason | null;
}

/** What a start-up cleanup of a crashed earlier run found and did. */
export interface StaleWorkers {
  readonly killed: number[];
  readonly reusedPids: number[];
  readonly stateDir: string;
}

/** One running worker process. */
export interface WorkerProcess {
  readonly pid: number;
  /** Where to connect to it (a unix socket path). */
  readonly address: string;
  /** Kernel start time: with the pid, the identity the reconciler checks; null if unknown. */
  readonly startTime: number | null;
  /** Calls `listener` once the process has exited and been reaped (at once if it already has). */
  onExit(listener: (exit: ProcessExit) => void): void;
  /** Calls `listener` with what the process writes to stderr. */
  onStderr(listener: (text: string) => void): void;
  /** SIGTERM to its group (a running request finishes), SIGKILL after `graceMs`; resolves once reaped. */
  stop(graceMs: number): Promise<ProcessExit>;
  /** SIGKILL to its group now; resolves once reaped. */
  kill(): Promise<ProcessExit>;
}

/** What the pool itself needs of a worker's FastCGI connection (the gateway gets the whole of it). */
export interface WorkerConnection {
  readonly isOpen: boolean;
  /** FCGI_GET_VALUES: the readiness probe. */
  getValues(names: readonly string[], timeoutMs: number): Promise<Record<string, string>>;
  destroy(): void;
  once(event: 'close', listener: () => void): unknown;
}
