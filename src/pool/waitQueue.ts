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
   * FIFO of waiters from `head` on; slots before it are nulled as they are
   * taken, so a served request is not kept alive (with its exchange, body and
   * promise) until the array is compacted.
   */
  private readonly waiters: Array<Waiter<L> | null> = [];
  private head = 0;
  /** Waiting ones by holder, for {@link withdraw}. */
  private readonly byHolder = new Map<LeaseHolder, Waiter<L>>();
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
      this.waiters.push(waiter);
      this.byHolder.set(holder, waiter);
      this.live++;
      if (this.timer === null) this.arm();
      this.owner.changed();
      // A client that leaves while waiting gives its place up at once.
      signal?.addEventListener('abort', () => this.cancel(waiter), { once: true });
    });
  }

  /** Takes the oldest waiter out of the queue, or null when nobody waits. */
  take(): Waiter<L> | null {
    while (this.head < this.waiters.length) {
      const waiter = this.waiters[this.head] as Waiter<L>;
      this.waiters[this.head++] = null;
      if (this.head === this.waiters.length) {
        this.waiters.length = 0;
        this.head = 0;
      } else if (this.head > 256 && this.head * 2 > this.waiters.length) {
        this.waiters.splice(0, this.head);
        this.head = 0;
      }
      if (waiter.settled) continue;
      this.settle(waiter);
      return waiter;
    }
    return null;
  }

  /**
   * Takes the waiter of `holder` out wherever it is (its client left) and
   * rejects it. Its slot stays, settled, until the head passes it. Returns
   * false if it was not waiting.
   */
  withdraw(holder: LeaseHolder): boolean {
    const waiter = this.byHolder.get(holder);
    if (waiter === undefined) return false;
    this.cancel(waiter);
    return true;
  }

  /** Epoch ms at which the oldest live waiter was queued, or null when nobody waits. */
  oldestQueuedAt(): number | null {
    for (let i = this.head; i < this.waiters.length; i++) {
      const waiter = this.waiters[i] as Waiter<L>;
      if (!waiter.settled) return waiter.queuedAt;
    }
    return null;
  }

  /** Rejects every waiter with `error` (oldest first) and stops the timer. */
  rejectAll(error: Error): void {
    let waiter: Waiter<L> | null;
    while ((waiter = this.take())) waiter.reject(error);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.owner.changed();
  }

  private cancel(waiter: Waiter<L>): void {
    if (waiter.settled) return;
    this.settle(waiter);
    this.owner.changed();
    waiter.reject(new Error('the client went away while waiting for a worker'));
  }

  private settle(waiter: Waiter<L>): void {
    waiter.settled = true;
    this.byHolder.delete(waiter.holder);
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
    for (let i = this.head; i < this.waiters.length; i++) {
      const waiter = this.waiters[i] as Waiter<L>;
      if (waiter.settled) continue;
      if (waiter.queuedAt + this.limits.queueTimeoutMs > now) break;
      this.settle(waiter);
      const waitedMs = Date.now() - waiter.queuedAt;
      this.owner.rejected('queue-timeout', waitedMs, waiter.request.uri);
      waiter.reject(new PoolSaturatedError('queue-timeout', waitedMs, this.limits));
    }
    if (this.timer === null) this.arm();
  };
}
