import type { ProcessExit } from '../platform/processControl';
import { Deadline } from './busyDeadlines';
import type { WorkerConnection, WorkerProcess } from './host';
import type { ListNode } from './intrusiveList';
import type { Lease } from './lease';
import type { LeaseStack } from '../shared/stackTypes';
import type { AbandonedRequest, LeaseSnapshot, WorkerDebug, WorkerExitReason, WorkerState } from './types';
import type { WorkerList } from './workerList';

/** What a worker, and the lease it serves, ask of the pool that runs it. */
export interface WorkerOwner<C extends WorkerConnection> {
  /** Opens a new FastCGI connection to a worker. */
  connect(address: string, timeoutMs: number): Promise<C>;
  /** Something a snapshot shows changed. */
  changed(): void;
  /** The worker's kept connection closed, and not because we closed it. */
  connectionClosed(worker: Worker<C>): void;
}

/** How much of a worker's stderr is kept to explain its exit. */
const STDERR_TAIL_CHARS = 2_000;

/**
 * One pooled process and its place on the lists. Only the pool moves it
 * from list to list (src/pool/pool.ts); everything else reads it.
 */
export class Worker<C extends WorkerConnection> implements ListNode<Worker<C>> {
  prev: Worker<C> | null = null;
  next: Worker<C> | null = null;
  list: WorkerList<Worker<C>> | null = null;

  state: WorkerState = 'starting';
  pid: number | null = null;
  process: WorkerProcess | null = null;
  address = '';
  connection: C | null = null;
  accesses = 0;
  /** Requests it answered (or began to), abandoned ones that ran to their end included: it is no failed start. */
  answered = 0;
  readonly startedAt = Date.now();
  lastActiveAt = Date.now();
  lease: Lease<C> | null = null;
  /** While `finishing`: the request whose client left. */
  abandoned: AbandonedRequest | null = null;
  /** Its place on the busy deadlines while a lease runs (one per worker: no allocation per lease). */
  readonly deadline = new Deadline<Lease<C>>();
  exitReason: WorkerExitReason | null = null;
  /** The pool signalled it to stop for a reason of its own: its exit is expected, not a crash. */
  stopSent = false;
  /** It answered the readiness probe (FCGI_GET_VALUES): the probe can also tell when an abandoned request has ended. */
  answersProbe = false;
  /** The end of what the process wrote to its stderr, to explain an exit. */
  stderrTail = '';
  exit: ProcessExit | null = null;
  /** Reaped while its connection still held data: judged once the connection has delivered it. */
  pendingExit: ProcessExit | null = null;
  /** Resolves when the process has exited and been reaped. */
  exited: Promise<ProcessExit> | null = null;
  /** Kernel start time: with pid, the identity the reconciler checks. */
  startTime: number | null = null;
  /** The php-cgi that serves, when the worker is a wrapper that did not exec it. */
  serving: { pid: number; startTime: number; comm: string } | null = null;
  /** The OS says the process (or the php-cgi behind a wrapper) is gone or a zombie. */
  defunct = false;
  /** Under `keep`, the lease a finding is about, kept on the worker as evidence. */
  keptLease: LeaseSnapshot | null = null;
  /** Its step-debugging session as the relay follows it (see debugHold.ts); null when it has none. */
  debug: WorkerDebug | null = null;
  /** Its place on the slowlog deadlines while a lease runs (see StackWatch). */
  readonly slowDeadline = new Deadline<Lease<C>>();
  /** CPU time its process had used when the current lease started (null until known): a wait reason's `cpuMs` counts from it. */
  cpuBaselineMs: number | null = null;
  /** CPU time read while it was idle, after its last request: the exact baseline of its next lease (used once). */
  idleCpuMs: number | null = null;
  /** The last stack read of it (its `leaseId` says of which lease): what a defunct-busy finding carries. */
  lastStack: LeaseStack | null = null;
  /** The holder saw it die mid-request before its exit was reaped: the finding waits for the exit status. */
  diedDuringLease: { lease: LeaseSnapshot; detectedAt: number; processState: string | null } | null = null;

  constructor(
    readonly id: string,
    readonly owner: WorkerOwner<C>,
  ) {}

  /**
   * Makes `connection` the worker's kept one (FCGI_KEEP_CONN), forgotten
   * when it closes; the owner hears when the worker closed it (php-cgi does
   * that only when it leaves).
   */
  keepConnection(connection: C): void {
    this.connection = connection;
    connection.once('close', () => {
      if (this.connection !== connection) return;
      this.connection = null;
      this.owner.connectionClosed(this);
    });
  }

  /** Closes the kept connection, if any (the owner is not told: we closed it). */
  dropConnection(): void {
    const connection = this.connection;
    this.connection = null;
    connection?.destroy();
  }

  /** A process leaving on its own gets `graceMs` to exit; then it is killed, as a stop of ours. */
  killUnlessGoneIn(graceMs: number): void {
    const running = this.process;
    setTimeout(() => {
      if (this.exit || this.pendingExit || !running) return;
      this.stopSent = true;
      running.kill().catch(() => undefined);
    }, graceMs).unref();
  }

  /** Keeps the end of what the process writes to stderr. */
  noteStderr(text: string): void {
    const tail = this.stderrTail + text;
    this.stderrTail = tail.length > STDERR_TAIL_CHARS ? tail.slice(tail.length - STDERR_TAIL_CHARS) : tail;
  }

  /** How the process ended, or null if it is still alive after `waitMs` (or was never started). */
  exitWithin(waitMs: number): Promise<ProcessExit | null> {
    const known = this.exit ?? this.pendingExit;
    if (known) return Promise.resolve(known);
    const exited = this.exited;
    if (!exited) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), waitMs);
      void exited.then((exit) => {
        clearTimeout(timer);
        resolve(exit);
      });
    });
  }
}
