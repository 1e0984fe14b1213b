import {
  DASHBOARD_MIN_UPDATE_INTERVAL_MS,
  DASHBOARD_PROTOCOL_VERSION,
  checkIntent,
  parseWebviewMessage,
  type DashboardEvent,
  type DashboardIntent,
  type HostToWebviewMessage,
} from '../../shared/dashboardProtocol';
import type { PoolEvent } from '../../pool/types';
import { sourceKey, type DashboardSource, type DisposableLike } from './source';

/** The part of a `vscode.Webview` the controller uses. */
export interface WebviewPort {
  postMessage(message: HostToWebviewMessage): PromiseLike<boolean> | boolean;
}

/** Where rejected messages and failed actions are logged (the extension's LogOutputChannel fits). */
export interface DashboardLog {
  warn(message: string): void;
}

/** Clock and timers, replaceable in tests. */
export interface ControllerOptions {
  readonly minIntervalMs?: number;
  readonly now?: () => number;
  readonly setTimer?: (callback: () => void, ms: number) => unknown;
  readonly clearTimer?: (handle: unknown) => void;
  readonly log?: DashboardLog;
}

/**
 * The host side of one dashboard, without `vscode`: it posts snapshots to the
 * webview — only once the webview says `ready`, only while it is visible, at
 * most one per `minIntervalMs` (the last change always gets through) — and
 * turns validated intents into calls on the source.
 *
 * Without `retainContextWhenHidden`, a hidden webview is torn down and
 * reloads when shown again, so hiding forgets `ready`; the reloaded page
 * sends `ready` again and gets a fresh snapshot.
 */
export class DashboardController implements DisposableLike {
  private readonly minIntervalMs: number;
  private readonly now: () => number;
  private readonly setTimer: (callback: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;
  private readonly log: DashboardLog | undefined;
  private readonly subscription: DisposableLike;
  private ready = false;
  private visible = true;
  private disposed = false;
  private lastPostAt = Number.NEGATIVE_INFINITY;
  private lastVersion: string | null | undefined = undefined;
  private timer: unknown = null;

  constructor(
    private readonly port: WebviewPort,
    private readonly source: DashboardSource,
    options: ControllerOptions = {},
  ) {
    this.minIntervalMs = options.minIntervalMs ?? DASHBOARD_MIN_UPDATE_INTERVAL_MS;
    this.now = options.now ?? Date.now;
    this.setTimer = options.setTimer ?? ((callback, ms) => setTimeout(callback, ms));
    this.clearTimer = options.clearTimer ?? ((handle) => clearTimeout(handle as ReturnType<typeof setTimeout>));
    this.log = options.log;
    this.subscription = source.onDidChange((event) => this.onSourceChange(event));
  }

  /** The panel became visible or hidden (`onDidChangeViewState`). */
  setVisible(visible: boolean): void {
    if (visible === this.visible) return;
    this.visible = visible;
    if (!visible) {
      // The webview is about to be torn down; it says `ready` again when shown.
      this.ready = false;
      this.cancelTimer();
    }
  }

  /** Handles one raw message from `onDidReceiveMessage`. Resolves when its action has finished. */
  async handleMessage(raw: unknown): Promise<void> {
    if (this.disposed) return;
    const parsed = parseWebviewMessage(raw);
    if (!parsed.ok) {
      this.log?.warn(`dashboard: ignored a message from the webview: ${parsed.error}`);
      return;
    }
    const message = parsed.value;
    if (message.type === 'ready') {
      if (message.protocol !== DASHBOARD_PROTOCOL_VERSION) {
        this.log?.warn(`dashboard: the webview speaks protocol ${message.protocol}, the host ${DASHBOARD_PROTOCOL_VERSION}`);
      }
      this.ready = true;
      this.visible = true;
      this.lastVersion = undefined;
      this.postSnapshotNow();
      return;
    }
    await this.perform(message);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.cancelTimer();
    this.subscription.dispose();
  }

  private onSourceChange(event: PoolEvent | undefined): void {
    if (this.disposed) return;
    if (event?.type === 'finding' && this.ready && this.visible) this.postEvent({ kind: 'finding', finding: event.finding });
    this.scheduleSnapshot();
  }

  /** Leading and trailing throttle: the first change goes at once, a burst ends with the latest state. */
  private scheduleSnapshot(): void {
    if (!this.ready || !this.visible || this.timer !== null) return;
    const wait = this.lastPostAt + this.minIntervalMs - this.now();
    if (wait <= 0) {
      this.postSnapshotNow();
      return;
    }
    this.timer = this.setTimer(() => {
      this.timer = null;
      if (!this.disposed && this.ready && this.visible) this.postSnapshotNow();
    }, wait);
  }

  private postSnapshotNow(): void {
    this.cancelTimer();
    const snapshot = this.source.snapshot();
    // Equal versions mean equal snapshots: nothing to send (the webview ticks ages itself).
    // takenAt tells a restarted pool's version 1 from the previous run's.
    const version = snapshot ? `${snapshot.version}@${snapshot.takenAt}` : null;
    if (version === this.lastVersion) return;
    this.lastVersion = version;
    this.lastPostAt = this.now();
    this.post({
      type: 'snapshot',
      protocol: DASHBOARD_PROTOCOL_VERSION,
      source: { key: sourceKey(this.source), label: this.source.label ?? '' },
      snapshot,
    });
  }

  private async perform(intent: DashboardIntent): Promise<void> {
    const checked = checkIntent(intent, this.source.snapshot());
    if (!checked.ok) {
      this.log?.warn(`dashboard: refused ${intent.type}: ${checked.error}`);
      this.postResult(intent, false, checked.error);
      return;
    }
    const label = describeIntent(intent);
    try {
      const outcome = await this.run(intent);
      if (outcome === false) this.postResult(intent, false, `${label}: the pool refused (already gone?)`);
      else this.postResult(intent, true, `${label}: done`);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.log?.warn(`dashboard: ${label} failed: ${reason}`);
      this.postResult(intent, false, `${label} failed: ${reason}`);
    }
  }

  private run(intent: DashboardIntent): ReturnType<DashboardSource['kill']> {
    switch (intent.type) {
      case 'kill':
        return this.source.kill(intent.workerId);
      case 'recycle':
        return this.source.recycle(intent.workerId);
      case 'releaseLease':
        return this.source.releaseLease(intent.leaseId);
      case 'openScript':
        return intent.line === undefined ? this.source.openScript(intent.path) : this.source.openScript(intent.path, intent.line);
      case 'revealWorker':
        return this.source.revealWorker(intent.workerId);
    }
  }

  private postResult(intent: DashboardIntent, ok: boolean, message: string): void {
    if (this.ready) this.postEvent({ kind: 'intent-result', requestId: intent.requestId, intent: intent.type, ok, message });
  }

  private postEvent(event: DashboardEvent): void {
    this.post({ type: 'event', event });
  }

  private post(message: HostToWebviewMessage): void {
    if (this.disposed) return;
    try {
      // A webview that was disposed meanwhile rejects or returns false: nothing to do.
      void Promise.resolve(this.port.postMessage(message)).catch(() => undefined);
    } catch {
      // Same, for a synchronous throw.
    }
  }

  private cancelTimer(): void {
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
  }
}

/** `Kill worker w3`, for the status line and the log. */
export function describeIntent(intent: DashboardIntent): string {
  switch (intent.type) {
    case 'kill':
      return `Kill worker ${intent.workerId}`;
    case 'recycle':
      return `Recycle worker ${intent.workerId}`;
    case 'releaseLease':
      return `Release lease ${intent.leaseId}`;
    case 'openScript':
      return `Open ${intent.path}${intent.line ? `:${intent.line}` : ''}`;
    case 'revealWorker':
      return `Reveal worker ${intent.workerId}`;
  }
}
