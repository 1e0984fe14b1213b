import type { ProcessExit } from '../platform/processControl';

/**
 * Where a worker is in its life. `draining` = finishing its last request
 * before a graceful recycle; `error` = being stopped or already dead and
 * waiting to be reaped (mod_fcgid's error list).
 */
export type WorkerState = 'starting' | 'idle' | 'busy' | 'draining' | 'error';

/** Why a worker left the pool (or is leaving it). */
export type WorkerExitReason =
  | 'idle-timeout'
  | 'max-requests'
  | 'busy-timeout'
  | 'client-abort'
  | 'crashed'
  | 'killed-by-user'
  | 'recycled-by-user'
  | 'connection-lost'
  | 'pool-stopping';

/** What the request that wants a worker is about. */
export interface LeaseRequestInfo {
  method: string;
  /** The request URI as the client sent it. */
  uri: string;
  scriptFilename: string;
  clientAddress: string;
}

/** Why the pool ended a lease that its holder still held. */
export type LeaseRevocation =
  | { kind: 'busy-timeout'; timeoutMs: number }
  | { kind: 'worker-exited'; exit: ProcessExit }
  | { kind: 'worker-retired'; reason: WorkerExitReason }
  | { kind: 'pool-stopping' };

/**
 * Who holds a lease: in the gateway, one HTTP exchange. The pool calls
 * `revoke` when it takes the worker back on its own (busy timeout, the worker
 * died, the pool stops), so the holder can answer its client.
 */
export interface LeaseHolder {
  /** A short human description, e.g. `http 127.0.0.1:50312 #42`. */
  readonly description: string;
  revoke(revocation: LeaseRevocation): void;
}

/** How a lease ended. */
export type LeaseOutcome = 'ok' | 'client-abort' | 'worker-died' | 'timeout' | 'error' | 'pool-stopping';

/** A lease as consumers see it. */
export interface LeaseSnapshot {
  readonly id: string;
  readonly workerId: string;
  readonly method: string;
  readonly uri: string;
  readonly scriptFilename: string;
  readonly clientAddress: string;
  readonly holder: string;
  /** Epoch ms when the request asked for a worker. */
  readonly queuedAt: number;
  /** Epoch ms when it got one. */
  readonly acquiredAt: number;
}

/** A worker as consumers see it. */
export interface WorkerSnapshot {
  readonly id: string;
  readonly pid: number | null;
  readonly state: WorkerState;
  /** Requests served (mod_fcgid's "Accesses"). */
  readonly accesses: number;
  /** Epoch ms. */
  readonly startedAt: number;
  /** Epoch ms of the last lease start or end. */
  readonly lastActiveAt: number;
  readonly lease: LeaseSnapshot | null;
  /** Why it is leaving, once it is (`draining` or `error`). */
  readonly exitReason: WorkerExitReason | null;
  /** How its process ended, once it has. */
  readonly exit: ProcessExit | null;
}

/** A worker that has exited and been reaped. */
export interface WorkerExitRecord {
  readonly workerId: string;
  readonly pid: number;
  readonly exit: ProcessExit;
  readonly reason: WorkerExitReason;
  readonly exitedAt: number;
  readonly uptimeMs: number;
  readonly accesses: number;
}

/** The pool's own state. */
export type PoolState = 'stopped' | 'starting' | 'running' | 'stopping' | 'failed';

/** Counts per list. */
export interface WorkerCounts {
  readonly starting: number;
  readonly idle: number;
  readonly busy: number;
  readonly draining: number;
  readonly error: number;
  readonly total: number;
}

/** The effective settings of a pool, as shown to consumers. */
export interface PoolLimits {
  readonly minWorkers: number;
  readonly maxWorkers: number;
  readonly maxRequests: number;
  readonly idleTimeoutMs: number;
  readonly busyTimeoutMs: number;
  readonly queueTimeoutMs: number;
  readonly maxQueue: number;
}

/** An immutable picture of the whole pool at one moment. */
export interface PoolSnapshot {
  /** Grows with every change; equal versions mean equal snapshots. */
  readonly version: number;
  readonly takenAt: number;
  readonly state: PoolState;
  /** Set when `state` is `failed`, or while spawning is held back. */
  readonly problem: string | null;
  readonly startedAt: number | null;
  readonly limits: PoolLimits;
  readonly counts: WorkerCounts;
  readonly workers: readonly WorkerSnapshot[];
  readonly queue: { readonly length: number; readonly oldestWaitMs: number };
  readonly spawnBackoff: { readonly consecutiveCrashes: number; readonly delayMs: number } | null;
  readonly totals: {
    readonly requests: number;
    readonly spawned: number;
    readonly exited: number;
    readonly crashed: number;
    readonly queueRejected: number;
    readonly busyTimeouts: number;
  };
  /** The last workers that exited, oldest first (at most 20). */
  readonly recentExits: readonly WorkerExitRecord[];
}

/** Everything the pool tells its consumers, as one discriminated union. */
export type PoolEvent =
  | { type: 'pool-state'; state: PoolState; problem: string | null }
  | { type: 'worker-starting'; workerId: string }
  | { type: 'worker-ready'; workerId: string; pid: number }
  | { type: 'worker-state'; workerId: string; pid: number | null; from: WorkerState; to: WorkerState; reason: WorkerExitReason | null }
  | { type: 'worker-exited'; workerId: string; pid: number; exit: ProcessExit; reason: WorkerExitReason; uptimeMs: number; accesses: number }
  | { type: 'worker-stderr'; workerId: string; pid: number; text: string }
  | { type: 'spawn-failed'; workerId: string; error: string; code: string | null }
  | { type: 'spawn-throttled'; delayMs: number; consecutiveCrashes: number }
  | { type: 'lease-acquired'; lease: LeaseSnapshot; waitedMs: number }
  | { type: 'lease-released'; lease: LeaseSnapshot; outcome: LeaseOutcome; heldMs: number }
  | { type: 'lease-revoked'; lease: LeaseSnapshot; revocation: LeaseRevocation }
  | { type: 'lease-protocol-error'; leaseId: string; workerId: string | null; problem: 'double-release' | 'unknown-lease'; holder: string }
  | { type: 'queue-rejected'; reason: 'queue-full' | 'queue-timeout'; waitedMs: number; uri: string };

/** A listener registration that can be undone. */
export interface Disposable {
  dispose(): void;
}
