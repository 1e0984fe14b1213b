import type * as vscode from 'vscode';

/** Time and timers, replaceable in tests (test/support/manualClock.ts). */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock. It reads the globals at each call, so timers faked after import still apply. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** How often a projection of the pools may redraw: at most four times a second. */
const REFRESH_INTERVAL_MS = 250;

export interface ThrottleOptions {
  /** The least time between two runs; default {@link REFRESH_INTERVAL_MS}. */
  readonly intervalMs?: number;
  readonly clock?: Clock;
  /** Start suspended (a view that is not visible yet). */
  readonly suspended?: boolean;
}

/**
 * Coalesces requests for one piece of work (a redraw, a post to a webview):
 * at most one run per interval, the first without waiting, and a burst
 * always ends with a run after its last request, so the latest state is
 * shown. The first run goes through a 0 ms timer, so that the requests of
 * one tick (a start fires several changes at once) make one run.
 *
 * While suspended (the view is hidden) requests only leave a mark; `resume`
 * catches up with one run if anything was asked for meanwhile. Per-second
 * refreshes of a visible tree are known to steal focus and flicker
 * (microsoft/vscode#33371), hence the cap.
 */
export class Throttle implements vscode.Disposable {
  private readonly intervalMs: number;
  private readonly clock: Clock;
  private timer: unknown = null;
  private armed = false;
  private lastRun = Number.NEGATIVE_INFINITY;
  private pending = false;
  private suspended: boolean;
  private disposed = false;

  constructor(
    private readonly run: () => void,
    options: ThrottleOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? REFRESH_INTERVAL_MS;
    this.clock = options.clock ?? systemClock;
    this.suspended = options.suspended ?? false;
  }

  /** Asks for a run; coalesced with the others of the interval. */
  request(): void {
    if (this.disposed) return;
    this.pending = true;
    if (this.suspended || this.armed) return;
    this.arm(Math.max(0, this.lastRun + this.intervalMs - this.clock.now()));
  }

  /** Runs at once, whatever the interval (and even while suspended); a pending request is served by it. */
  runNow(): void {
    if (this.disposed) return;
    this.cancel();
    this.pending = false;
    this.lastRun = this.clock.now();
    this.run();
  }

  /** Stops running; requests are remembered. */
  suspend(): void {
    this.suspended = true;
    this.cancel();
  }

  /** Runs again; catches up with one run if something was requested while suspended. */
  resume(): void {
    if (!this.suspended || this.disposed) return;
    this.suspended = false;
    if (this.pending) this.request();
  }

  get isSuspended(): boolean {
    return this.suspended;
  }

  dispose(): void {
    this.disposed = true;
    this.suspended = true;
    this.cancel();
  }

  private arm(delayMs: number): void {
    this.armed = true;
    this.timer = this.clock.setTimeout(() => this.fire(), delayMs);
  }

  private cancel(): void {
    if (this.armed) this.clock.clearTimeout(this.timer);
    this.armed = false;
    this.timer = null;
  }

  private fire(): void {
    this.armed = false;
    this.timer = null;
    if (this.suspended || !this.pending) return;
    this.pending = false;
    this.lastRun = this.clock.now();
    this.run();
  }
}
