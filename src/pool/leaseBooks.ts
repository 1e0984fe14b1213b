import type { PoolEvents } from './events';
import type { LeaseHistory } from './history';
import type { WorkerConnection } from './host';
import { historyEntry, INTERNAL, LENT_WORKER, type Lease } from './lease';
import type { LeaseOutcome } from './types';

/**
 * The books a lease leaves: the worker's counters (accesses, answered, last
 * active), the pool's request total, the lease history and the per-request
 * events. The pool's own leases (the stack canary) count in nothing a
 * developer reads. The books never move a worker between lists; the pool does.
 */
export class LeaseBooks<C extends WorkerConnection> {
  constructor(
    private readonly history: LeaseHistory,
    private readonly totals: { requests: number },
    private readonly events: PoolEvents,
    /** A request was answered in full: the crash backoff and the spawn-failing state reset. */
    private readonly served: () => void,
  ) {}

  lent(lease: Lease<C>, now: number): void {
    if (lease[INTERNAL]) return;
    lease[LENT_WORKER].lastActiveAt = now;
    this.totals.requests++;
    if (this.events.perRequest > 0) this.events.emitPerRequest({ type: 'lease-acquired', lease: lease.snapshot(), waitedMs: now - lease.queuedAt });
  }

  /** After the lease's end is set (endedAt, outcome). */
  ended(lease: Lease<C>, outcome: LeaseOutcome): void {
    if (lease[INTERNAL]) return;
    const worker = lease[LENT_WORKER];
    worker.accesses++;
    worker.lastActiveAt = lease.endedAt;
    if (outcome === 'ok' || lease.firstByteAt > 0) worker.answered++;
    if (outcome === 'ok') this.served();
    this.history.add(historyEntry(lease, outcome));
    if (this.events.perRequest > 0) {
      this.events.emitPerRequest({ type: 'lease-released', lease: lease.snapshot(), outcome, heldMs: lease.endedAt - lease.acquiredAt });
    }
  }
}
