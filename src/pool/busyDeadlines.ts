import { IntrusiveList, type ListNode } from './intrusiveList';

/**
 * A place on the busy deadlines. Each worker owns one and reuses it for
 * every lease it serves, so a lease costs no allocation here.
 */
export class Deadline<T> implements ListNode<Deadline<T>> {
  prev: Deadline<T> | null = null;
  next: Deadline<T> | null = null;
  list: IntrusiveList<Deadline<T>> | null = null;
  /** What runs against the deadline (a lease); null when off the list. */
  subject: T | null = null;
  /** Epoch ms it started; it expires `timeoutMs` later. */
  since = 0;
  /** While suspended (a step-debugging session): the ms it had left; null otherwise. */
  suspendedRemainingMs: number | null = null;
}

/**
 * The busy timeout of every active lease, with one timer. All leases share
 * the same timeout, so acquisition order is deadline order: the list is kept
 * by appending, and the timer only ever waits for its head.
 */
export class BusyDeadlines<T> {
  private readonly pending = new IntrusiveList<Deadline<T>>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly timeoutMs: number,
    /** Called for each expired subject, after it has left the list. */
    private readonly expired: (subject: T) => void,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /** Starts `subject`'s deadline (now + timeoutMs) on `node`. */
  start(node: Deadline<T>, subject: T, since: number): void {
    node.subject = subject;
    node.since = since;
    this.pending.push(node);
    if (this.timer === null) this.arm();
  }

  /** Ends a deadline early (the lease ended), running or suspended; a node of another list is left alone. */
  cancel(node: Deadline<T>): void {
    if (node.list !== this.pending && node.suspendedRemainingMs === null) return;
    this.pending.remove(node);
    node.subject = null;
    node.suspendedRemainingMs = null;
    // The timer stays armed: if it fires early for a new head, it re-arms.
  }

  /**
   * Stops a running deadline's clock (its lease's worker is paused in the
   * debugger): it leaves the list, keeping its subject and the time it had
   * left. Returns false when it was not running.
   */
  suspend(node: Deadline<T>, now: number): boolean {
    if (node.list !== this.pending) return false;
    this.pending.remove(node);
    node.suspendedRemainingMs = Math.max(0, node.since + this.timeoutMs - now);
    return true;
  }

  /**
   * Starts a suspended deadline's clock again with the time it had left. It
   * goes back in expiry order (not at the tail, where a fresh one goes), and
   * the timer is re-armed when it becomes the first to expire.
   */
  resume(node: Deadline<T>, now: number): boolean {
    const remaining = node.suspendedRemainingMs;
    if (remaining === null || node.subject === null) return false;
    node.suspendedRemainingMs = null;
    node.since = now + remaining - this.timeoutMs;
    let after = this.pending.last();
    while (after !== null && after.since > node.since) after = after.prev;
    this.pending.insertBefore(node, after === null ? this.pending.first() : after.next);
    if (this.pending.first() === node) {
      if (this.timer) clearTimeout(this.timer);
      this.arm();
    }
    return true;
  }

  /** Stops the timer (the pool is stopping); deadlines still pending no longer fire. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(): void {
    const head = this.pending.first();
    if (head === null) {
      this.timer = null;
      return;
    }
    const wait = Math.max(0, head.since + this.timeoutMs - Date.now());
    this.timer = setTimeout(this.onTimer, wait);
    this.timer.unref();
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    const now = Date.now();
    let head = this.pending.first();
    while (head !== null && head.since + this.timeoutMs <= now) {
      const subject = head.subject as T;
      this.cancel(head);
      // May start new deadlines (a revoked holder's next request): they arm the timer.
      this.expired(subject);
      head = this.pending.first();
    }
    if (this.timer === null) this.arm();
  };
}
