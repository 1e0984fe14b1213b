import type { RetireMode } from './leakHandler';
import type { WorkerConnection } from './host';
import type { LeaseOutcome, WorkerExitReason } from './types';
import type { Worker } from './worker';

/** What becomes of a busy worker once its holder released the lease. */
export type AfterRelease =
  /** Its request is over: recycled if due, else idle or the next waiter's. */
  | { kind: 'done' }
  /** Its client left and PHP decides whether the script runs on: it finishes off the books (finishing). */
  | { kind: 'finish' }
  | { kind: 'retire'; reason: WorkerExitReason; mode: RetireMode };

/**
 * The release's outcome decides, as mod_fcgid's request cleanup does: only
 * a complete answer keeps the worker; a cut request leaves it in an unknown
 * state, so it goes. `finishing`: the client left, and the pool can tell
 * when the script it leaves behind is done (see AbandonedRequests).
 */
export function afterRelease(outcome: LeaseOutcome, finishing: boolean): AfterRelease {
  switch (outcome) {
    case 'ok':
      return { kind: 'done' };
    case 'client-abort':
      return finishing ? { kind: 'finish' } : { kind: 'retire', reason: 'client-abort', mode: 'graceful' };
    case 'timeout':
      return { kind: 'retire', reason: 'busy-timeout', mode: 'kill' };
    case 'unreachable':
      // Nothing was sent. A worker nobody can connect to is gone or going: its exit says which.
      return { kind: 'retire', reason: 'connection-lost', mode: 'leaving' };
    case 'worker-died':
      return { kind: 'retire', reason: 'crashed', mode: 'kill' };
    default:
      return { kind: 'retire', reason: 'connection-lost', mode: 'kill' };
  }
}

/**
 * Whether a worker whose client left may run its script on, as PHP decides
 * (ignore_user_abort), off the books: only if the pool can tell when it is
 * done (it answers the readiness probe) and its process is not leaving. At a
 * breakpoint too: it finishes once the developer lets it go.
 */
export function mayFinish<C extends WorkerConnection>(worker: Worker<C>): boolean {
  return (worker.state === 'busy' || worker.state === 'paused') && worker.answersProbe && !worker.exit && !worker.pendingExit;
}
