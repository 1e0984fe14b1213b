import type { FastCgiConnection } from '../fastcgi/connection';
import type { ProcessExit } from '../platform/processControl';
import type { WorkerConnection } from './host';
import type { LeaseHistoryEntry, LeaseHolder, LeaseOutcome, LeaseRequestInfo, LeaseSnapshot } from './types';
import type { Worker } from './worker';

/**
 * The pool's side of a lease, behind symbols that only src/pool imports
 * (src/index.ts does not re-export them): the gateway sees a lease's public
 * members and nothing of the bookkeeping.
 */
export const LENT_WORKER: unique symbol = Symbol('lentWorker');
export const ENDED_BY: unique symbol = Symbol('endedBy');
/** A lease of the pool's own (the stack canary): it counts in no total, history or worker's accesses. */
export const INTERNAL: unique symbol = Symbol('internal');

/**
 * One worker lent to one request. The holder must call `Pool.release`
 * exactly once; the pool may end it first (busy timeout, worker death) and
 * then tells the holder through {@link LeaseHolder.revoke}.
 */
export class Lease<C extends WorkerConnection = FastCgiConnection> {
  /** Set once the lease has ended, by its holder or by the pool. */
  endedAt = 0;
  outcome: LeaseOutcome | null = null;
  firstByteAt = 0;
  /** Who ended it: a second end by the holder is a protocol error, after the pool's it is expected. */
  [ENDED_BY]: 'holder' | 'pool' | null = null;
  [INTERNAL] = false;
  readonly [LENT_WORKER]: Worker<C>;

  constructor(
    readonly id: string,
    worker: Worker<C>,
    readonly request: LeaseRequestInfo,
    readonly holder: LeaseHolder,
    readonly queuedAt: number,
    readonly acquiredAt: number,
  ) {
    this[LENT_WORKER] = worker;
  }

  get workerId(): string {
    return this[LENT_WORKER].id;
  }

  get workerPid(): number | null {
    return this[LENT_WORKER].pid;
  }

  /** Whether the lease is still held. */
  get active(): boolean {
    return this.endedAt === 0;
  }

  /**
   * The worker's kept FastCGI connection (FCGI_KEEP_CONN): normally the one
   * its readiness probe opened; a new one if that closed. php-cgi drops a
   * new connection that sends nothing within 5 s, so a lost one is replaced
   * only when a request is ready to go.
   */
  async connection(): Promise<C> {
    const worker = this[LENT_WORKER];
    if (worker.connection && worker.connection.isOpen) return worker.connection;
    const connection = await worker.owner.connect(worker.address, 5_000);
    if (!this.active || worker.lease !== this) {
      connection.destroy();
      throw new Error(`lease ${this.id} ended while connecting to worker ${worker.id}`);
    }
    worker.keepConnection(connection);
    return connection;
  }

  /**
   * The worker's kept connection if it is open, else null (then call
   * {@link connection}): lets the gateway send a request without a promise
   * when, as nearly always, the connection exists.
   */
  openConnection(): C | null {
    const worker = this[LENT_WORKER];
    const connection = worker.connection;
    return connection !== null && connection.isOpen && this.active && worker.lease === this ? connection : null;
  }

  /** The holder's description changed (its client left, say): the next snapshot shows it. */
  holderChanged(): void {
    if (this.active) this[LENT_WORKER].owner.changed();
  }

  /** Marks the moment the worker's first response byte arrived (for history and latency). */
  markFirstByte(): void {
    if (this.firstByteAt === 0) this.firstByteAt = Date.now();
  }

  /** How the leased worker's process ended, or null if it is still alive after `waitMs`. */
  workerExit(waitMs: number): Promise<ProcessExit | null> {
    return this[LENT_WORKER].exitWithin(waitMs);
  }

  snapshot(): LeaseSnapshot {
    return Object.freeze({
      id: this.id,
      workerId: this[LENT_WORKER].id,
      method: this.request.method,
      uri: this.request.uri,
      scriptFilename: this.request.scriptFilename,
      clientAddress: this.request.clientAddress,
      holder: this.holder.description,
      queuedAt: this.queuedAt,
      acquiredAt: this.acquiredAt,
    });
  }
}

/** The finished lease as the history keeps it (not frozen here: the pool's snapshot deep-freezes it). */
export function historyEntry<C extends WorkerConnection>(lease: Lease<C>, outcome: LeaseOutcome): LeaseHistoryEntry {
  const worker = lease[LENT_WORKER];
  return {
    id: lease.id,
    workerId: worker.id,
    pid: worker.pid,
    method: lease.request.method,
    uri: lease.request.uri,
    scriptFilename: lease.request.scriptFilename,
    clientAddress: lease.request.clientAddress,
    queuedAt: lease.queuedAt,
    acquiredAt: lease.acquiredAt,
    firstByteAt: lease.firstByteAt,
    releasedAt: lease.endedAt,
    outcome: historyOutcome(outcome),
  };
}

function historyOutcome(outcome: LeaseOutcome): LeaseHistoryEntry['outcome'] {
  switch (outcome) {
    case 'ok':
    case 'client-abort':
    case 'worker-died':
    case 'timeout':
    case 'leaked':
      return outcome;
    default:
      return 'error';
  }
}
