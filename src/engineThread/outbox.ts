import type { RequestsSummarizedEvent } from '../gateway/requestLog';
import type { PoolSnapshot } from '../pool/types';
import type { LeaseStack } from '../shared/stackTypes';
import type { EngineEvent } from './protocol';

/** One update as the outbox hands it over (the thread encodes the snapshot for the channel). */
export interface Update {
  readonly snapshot: PoolSnapshot | null;
  readonly events: EngineEvent[];
  /** The busy workers' last stack reads, when they changed since the last update. */
  readonly stacks?: readonly LeaseStack[];
}

/** What the outbox sends the state of. */
export interface UpdateSource {
  /** The pool's current snapshot, or null before the pool exists. */
  snapshot(): PoolSnapshot | null;
  /** The busy workers' stack reads (a StackReadsTracker); absent where none are sent. */
  readonly stacks?: { changed(): boolean; take(): readonly LeaseStack[] | null };
}

/** Time and timers, replaceable in tests (the same shape as the extension's Throttle clock). */
export interface OutboxClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemClock: OutboxClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * What the engine thread sends the main thread between a start and a stop:
 * updates, each the pool's snapshot (when its version moved) with the events
 * since the previous update, in order. At saturation a request changes the
 * snapshot (its 1 000-entry history ring) and causes several events; posting
 * each would cost the main thread a structured-clone decode per request.
 * Instead updates go at most once per interval: the first after a quiet
 * spell at once (through a 0 ms timer, so one tick's events make one
 * update), and a burst always ends with one, so the main thread sees the
 * latest state within an interval.
 *
 * A snapshot is taken when the update is posted, after every event it
 * carries, so it never shows less than those events say. Changes that come
 * with no forwarded event (per-request traffic when the main thread did
 * not ask for those events) are found by comparing the snapshot's version
 * on a timer of the same interval; so are new stack reads of busy workers
 * (they change no snapshot), sent with the update only when they changed.
 *
 * The events each request causes (its `request` line, lease acquired and
 * released, idle ⇄ busy) are forwarded one by one up to a budget per
 * update; past it they are counted, and the update ends with one
 * `requests-summarized` event instead. Measured (bench/hostBlock.mjs): at
 * saturation a 200 ms update held ~9 600 events, 2.8 MB, ~57 ms to
 * serialise and decode, on both threads; a developer clicking through an
 * app stays far below the budget and sees every request. Every other event
 * (a worker's life, findings, stderr) is always forwarded.
 *
 * (The extension's Throttle does the same for redraws; the engine thread
 * may not depend on the extension's layer, and this one also polls.)
 */
export class UpdateOutbox {
  private events: EngineEvent[] = [];
  /** Per-request events forwarded in the current update. */
  private perRequestForwarded = 0;
  /** What was counted instead of forwarded in the current update. */
  private summary: { requests: number; byStatus: Record<string, number>; leaseEvents: number; since: number } | null = null;
  private lastVersion = -1;
  private lastPost = Number.NEGATIVE_INFINITY;
  private timer: unknown = null;
  private poller: unknown = null;
  private disposed = false;

  constructor(
    private readonly source: UpdateSource,
    private readonly post: (update: Update) => void,
    private readonly intervalMs: number,
    /** Per-request events forwarded one by one in one update; the rest are summarised. */
    private readonly perRequestBudget: number = Number.POSITIVE_INFINITY,
    private readonly clock: OutboxClock = systemClock,
  ) {
    this.poll();
  }

  /** An event to forward: queued (or, past the budget, counted), and an update scheduled. */
  event(event: EngineEvent): void {
    if (this.disposed) return;
    if (isPerRequest(event)) {
      if (this.perRequestForwarded >= this.perRequestBudget) {
        this.count(event);
        this.schedule();
        return;
      }
      this.perRequestForwarded++;
    }
    this.events.push(event);
    this.schedule();
  }

  /** Something changed (an action ran): schedule an update. */
  changed(): void {
    if (!this.disposed) this.schedule();
  }

  /** Posts what is pending now, whatever the interval (before `started`, `stopped`, a reply). */
  flush(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    if (this.disposed) return;
    const current = this.source.snapshot();
    const snapshot = current && current.version !== this.lastVersion ? current : null;
    const stacks = this.source.stacks?.take() ?? null;
    if (!snapshot && this.events.length === 0 && !this.summary && !stacks) return;
    if (snapshot) this.lastVersion = snapshot.version;
    const events = this.events;
    const now = this.clock.now();
    if (this.summary) {
      const { requests, byStatus, leaseEvents, since } = this.summary;
      const summarized: RequestsSummarizedEvent = { type: 'requests-summarized', requests, byStatus, leaseEvents, spanMs: Math.round(now - since) };
      events.push(summarized);
    }
    this.events = [];
    this.summary = null;
    this.perRequestForwarded = 0;
    this.lastPost = now;
    this.post(stacks ? { snapshot, events, stacks } : { snapshot, events });
  }

  /** Marks the snapshot the main thread already has (the one `started` carried), so it is not sent again. */
  sent(version: number): void {
    this.lastVersion = version;
  }

  /** Stops the timers; nothing more is posted. */
  dispose(): void {
    this.disposed = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    if (this.poller !== null) this.clock.clearTimeout(this.poller);
    this.timer = this.poller = null;
    this.events = [];
  }

  private count(event: EngineEvent): void {
    this.summary ??= { requests: 0, byStatus: {}, leaseEvents: 0, since: this.clock.now() };
    if (event.type === 'request') {
      this.summary.requests++;
      const status = String(event.status);
      this.summary.byStatus[status] = (this.summary.byStatus[status] ?? 0) + 1;
    } else {
      this.summary.leaseEvents++;
    }
  }

  private schedule(): void {
    if (this.timer !== null) return;
    const wait = Math.max(0, this.lastPost + this.intervalMs - this.clock.now());
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.flush();
    }, wait);
  }

  private poll(): void {
    if (this.disposed || this.intervalMs <= 0) return;
    this.poller = this.clock.setTimeout(() => {
      this.poller = null;
      const current = this.source.snapshot();
      if ((current && current.version !== this.lastVersion) || this.source.stacks?.changed()) this.schedule();
      this.poll();
    }, this.intervalMs);
  }
}

/** The events every request causes, as opposed to those about a worker's life, findings or stderr. */
function isPerRequest(event: EngineEvent): boolean {
  switch (event.type) {
    case 'request':
    case 'lease-acquired':
    case 'lease-released':
      return true;
    case 'worker-state':
      return (event.from === 'idle' && event.to === 'busy') || (event.from === 'busy' && event.to === 'idle');
    default:
      return false;
  }
}
