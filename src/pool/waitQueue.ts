import { PoolSaturatedError } from './errors';
import type { LeaseHolder, LeaseRequestInfo } from './types';

/** A request waiting for a worker. */
export interface Waiter<L> {
  readonly request: LeaseRequestInfo;
  readonly holder: LeaseHolder;
  readonly queuedAt: number;
  readonly resolve: (lease: L) => void;
  readonly reject: (error: Error) => void;
  /** Taken, expired or withdrawn: no longer waiting. */
  settled: boolean;
}

/**
 * The requests waiting for a worker, first come first served, bounded by
 * `maxQueue`, with one timer for the queue timeout. The queue is FIFO and every waiter has the same
 * timeout, so it is also in deadline order and the timer only ever waits for
 * the oldest live waiter.
 */
export class WaitQueue<L> {
  /**
   * FIFO of waiters in a ring: `count` slots from `head` on, oldest first;
   * a slot is nulled when its waiter leaves it. The ring is reallocated only
   * when it is full (doubling), never per request. A JS array used as a
   * queue (push, shift or splice) or a Map by holder gets new backing
   * stores all the time, and each discarded store, promoted to the old
   * generation while the queue is long, still points at the waiters it held:
   * young-generation collections keep those (and their exchanges, params
   * and responses) alive until the next full collection. At c = 64 that was
   * ~2.4 MB copied and promoted by every scavenge, and its tail latency.
   */
  private ring: Array<Waiter<L> | null> = new Array<Waiter<L> | null>(16).fill(null);
  private head = 0;
  private count = 0;
  private live = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly limits: { readonly maxQueue: number; readonly queueTimeoutMs: number; readonly maxWorkers: number },
    private readonly owner: {
      /** A request was turned away: the queue was full, or its wait ran out. */
      rejected(reason: PoolSaturatedError['reason'], waitedMs: number, uri: string): void;
      /** Someone joined or left the queue (the length a snapshot shows changed). */
      changed(): void;
    },
  ) {}

  /** How many are waiting. */
  get length(): number {
    return this.live;
  }

  /**
   * Queues a request, or rejects it at once with {@link PoolSaturatedError}
   * when `maxQueue` are already waiting. The promise settles when
   * {@link take} hands it a lease, or rejects when the wait runs out, it is
   * withdrawn, or the queue is drained. An aborted `signal` withdraws it.
   */
  wait(request: LeaseRequestInfo, holder: LeaseHolder, queuedAt: number, signal?: AbortSignal): Promise<L> {
    if (this.live >= this.limits.maxQueue) {
      this.owner.rejected('queue-full', 0, request.uri);
      return Promise.reject(new PoolSaturatedError('queue-full', 0, this.limits));
    }
    return new Promise<L>((resolve, reject) => {
      const waiter: Waiter<L> = { request, holder, queuedAt, resolve, reject, settled: false };
      if (this.count === this.ring.length) this.grow();
      this.ring[(this.head + this.count) & (this.ring.length - 1)] = waiter;
      this.count++;
      this.live++;
      if (this.timer === null) this.arm();
      this.owner.changed();
      // A client that leaves while waiting gives its place up at once.
      signal?.addEventListener('abort', () => this.cancel(waiter), { once: true });
    });
  }

  /** Takes the oldest waiter out of the queue, or null when nobody waits. */
  take(): Waiter<L> | null {
    const ring = this.ring;
    while (this.count > 0) {
      const waiter = ring[this.head];
      ring[this.head] = null;
      this.head = (this.head + 1) & (ring.length - 1);
      this.count--;
      if (waiter === null || waiter === undefined || waiter.settled) continue;
      this.settle(waiter);
      return waiter;
    }
    this.head = 0;
    return null;
  }

  /**
   * Takes the waiter of `holder` out wherever it is (its client left) and
   * rejects it. Returns false if it was not waiting. A scan of the queue:
   * a client leaving while queued is rare, and no index by holder means no
   * Map whose rehashes would keep finished requests alive (see `ring`).
   */
  withdraw(holder: LeaseHolder): boolean {
    const at = this.indexOf((waiter) => waiter.holder === holder);
    if (at < 0) return false;
    this.cancel(this.ring[at] as Waiter<L>);
    return true;
  }

  /** Epoch ms at which the oldest live waiter was queued, or null when nobody waits. */
  oldestQueuedAt(): number | null {
    const at = this.indexOf(() => true);
    return at < 0 ? null : (this.ring[at] as Waiter<L>).queuedAt;
  }

  /** Rejects every waiter with `error` (oldest first) and stops the timer. */
  rejectAll(error: Error): void {
    let waiter: Waiter<L> | null;
    while ((waiter = this.take())) waiter.reject(error);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.owner.changed();
  }

  /** Ring index of the oldest live waiter that `matches`, or -1. */
  private indexOf(matches: (waiter: Waiter<L>) => boolean): number {
    const mask = this.ring.length - 1;
    for (let i = 0; i < this.count; i++) {
      const at = (this.head + i) & mask;
      const waiter = this.ring[at];
      if (waiter !== null && waiter !== undefined && !waiter.settled && matches(waiter)) return at;
    }
    return -1;
  }

  /** Twice the room, the waiters in order from index 0. */
  private grow(): void {
    const old = this.ring;
    const ring = new Array<Waiter<L> | null>(old.length * 2).fill(null);
    for (let i = 0; i < this.count; i++) {
      const at = (this.head + i) & (old.length - 1);
      ring[i] = old[at] ?? null;
      old[at] = null;
    }
    this.ring = ring;
    this.head = 0;
  }

  private cancel(waiter: Waiter<L>): void {
    if (waiter.settled) return;
    this.settle(waiter);
    // Its slot is emptied now, so it keeps nothing alive while the queue moves up to it.
    const mask = this.ring.length - 1;
    for (let i = 0; i < this.count; i++) {
      const at = (this.head + i) & mask;
      if (this.ring[at] === waiter) {
        this.ring[at] = null;
        break;
      }
    }
    this.owner.changed();
    waiter.reject(new Error('the client went away while waiting for a worker'));
  }

  private settle(waiter: Waiter<L>): void {
    waiter.settled = true;
    this.live--;
  }

  private arm(): void {
    const queuedAt = this.oldestQueuedAt();
    if (queuedAt === null) {
      this.timer = null;
      return;
    }
    this.timer = setTimeout(this.onTimer, Math.max(0, queuedAt + this.limits.queueTimeoutMs - Date.now()));
    this.timer.unref();
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    const now = Date.now();
    // Every waiter has the same timeout: the expired ones are the oldest, at the front.
    while (this.count > 0) {
      const waiter = this.ring[this.head];
      if (waiter !== null && waiter !== undefined && !waiter.settled && waiter.queuedAt + this.limits.queueTimeoutMs > now) break;
      this.ring[this.head] = null;
      this.head = (this.head + 1) & (this.ring.length - 1);
      this.count--;
      if (waiter === null || waiter === undefined || waiter.settled) continue;
      this.settle(waiter);
      const waitedMs = Date.now() - waiter.queuedAt;
      this.owner.rejected('queue-timeout', waitedMs, waiter.request.uri);
      waiter.reject(new PoolSaturatedError('queue-timeout', waitedMs, this.limits));
    }
    if (this.timer === null) this.arm();
  };
}
