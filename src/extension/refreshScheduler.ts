import type * as vscode from 'vscode';

/**
 * Coalesces refresh requests: at most one run per `minIntervalMs` (250 ms =
 * at most four a second), the first one without delay. While suspended (the
 * view is hidden) requests only leave a mark, and `resume` runs once if
 * anything was asked for meanwhile. Per-second refreshes of a visible tree
 * are known to steal focus and flicker (microsoft/vscode#33371), hence the cap.
 */
export class RefreshScheduler implements vscode.Disposable {
  private timer: NodeJS.Timeout | null = null;
  private lastRun = Number.NEGATIVE_INFINITY;
  private pending = false;
  private suspended: boolean;

  constructor(
    private readonly run: () => void,
    private readonly minIntervalMs = 250,
    options: { suspended?: boolean } = {},
  ) {
    this.suspended = options.suspended ?? false;
  }

  /** Asks for a run; coalesced with others within the interval. */
  request(): void {
    this.pending = true;
    if (this.suspended || this.timer) return;
    const delay = Math.max(0, this.lastRun + this.minIntervalMs - Date.now());
    this.timer = setTimeout(() => this.flush(), delay);
  }

  /** Stops running (requests are remembered). */
  suspend(): void {
    this.suspended = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Runs again; catches up on what was requested while suspended. */
  resume(): void {
    if (!this.suspended) return;
    this.suspended = false;
    if (this.pending) this.request();
  }

  get isSuspended(): boolean {
    return this.suspended;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.suspended = true;
  }

  private flush(): void {
    this.timer = null;
    if (this.suspended || !this.pending) return;
    this.pending = false;
    this.lastRun = Date.now();
    this.run();
  }
}
