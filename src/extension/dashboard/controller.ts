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
import { DisposableStore } from '../disposables';
import { systemClock, Throttle, type Clock } from '../throttle';
import { sourceKey, type DashboardSource, type DisposableLike } from './source';

/** The part of a `vscode.Webview` the controller uses. */
export interface WebviewPort {
  postMessage(message: HostToWebviewMessage): PromiseLike<boolean> | boolean;
}

/** Where rejected messages and failed actions are logged (the extension's LogOutputChannel fits). */
export interface DashboardLog {
  warn(message: string): void;
}

/** The throttle's interval and clock (replaceable in tests), and where to log. */
export interface ControllerOptions {
  readonly minIntervalMs?: number;
  readonly clock?: Clock;
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
  private readonly disposables = new DisposableStore();
  private readonly log: DashboardLog | undefined;
  /** Posts snapshots; suspended until the webview is ready, and again while it is hidden. */
  private readonly snapshots: Throttle;
  private ready = false;
  private visible = true;
  private lastVersion: string | null | undefined = undefined;
  /** While busy workers have stacks: a look once a second for newer reads (they come with no pool event). */
  private stackTimer: unknown = null;
  private readonly clock: Clock;

  constructor(
    private readonly port: WebviewPort,
    private readonly source: DashboardSource,
    options: ControllerOptions = {},
  ) {
    this.log = options.log;
    this.clock = options.clock ?? systemClock;
    this.snapshots = this.disposables.add(
      new Throttle(() => this.postSnapshotNow(), {
        intervalMs: options.minIntervalMs ?? DASHBOARD_MIN_UPDATE_INTERVAL_MS,
        clock: options.clock,
        suspended: true,
      }),
    );
    this.disposables.add(source.onDidChange((event) => this.onSourceChange(event)));
  }

  /** The panel became visible or hidden (`onDidChangeViewState`). */
  setVisible(visible: boolean): void {
    if (visible === this.visible) return;
    this.visible = visible;
    if (!visible) {
      // The webview is about to be torn down; it says `ready` again when shown.
      this.ready = false;
      this.snapshots.suspend();
    }
  }

  /** Handles one raw message from `onDidReceiveMessage`. Resolves when its action has finished. */
  async handleMessage(raw: unknown): Promise<void> {
    if (this.disposables.isDisposed) return;
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
      this.snapshots.runNow();
      this.snapshots.resume();
      return;
    }
    await this.perform(message);
  }

  dispose(): void {
    if (this.stackTimer !== null) this.clock.clearTimeout(this.stackTimer);
    this.stackTimer = null;
    this.disposables.dispose();
  }

  /** A finding is forwarded at once (the page flashes it); the snapshot follows through the throttle. */
  private onSourceChange(event: PoolEvent | undefined): void {
    if (this.disposables.isDisposed) return;
    if (event?.type === 'finding' && this.ready && this.visible) this.postEvent({ kind: 'finding', finding: event.finding });
    this.snapshots.request();
  }

  private postSnapshotNow(): void {
    const snapshot = this.source.snapshot();
    const reads = snapshot ? (this.source.stacks?.() ?? null) : null;
    const stacks = reads && reads.size > 0 ? Object.fromEntries([...reads.values()].map((read) => [read.leaseId, read])) : undefined;
    this.watchStacks(stacks !== undefined);
    // Equal versions mean equal snapshots: nothing to send (the webview ticks ages itself).
    // takenAt tells a restarted pool's version 1 from the previous run's; the stacks' read times, a newer read.
    const reread = stacks
      ? `#${Object.values(stacks)
          .map((read) => `${read.leaseId}:${read.sampledAt}`)
          .join(',')}`
      : '';
    const version = snapshot ? `${snapshot.version}@${snapshot.takenAt}${reread}` : null;
    if (version === this.lastVersion) return;
    this.lastVersion = version;
    this.post({
      type: 'snapshot',
      protocol: DASHBOARD_PROTOCOL_VERSION,
      source: { key: sourceKey(this.source), label: this.source.label ?? '' },
      snapshot,
      ...(stacks ? { stacks } : {}),
    });
  }

  /** The pool reads a busy worker once a second without an event: while there are stacks, look again in a second. */
  private watchStacks(any: boolean): void {
    if (!any || this.stackTimer !== null || this.disposables.isDisposed) return;
    this.stackTimer = this.clock.setTimeout(() => {
      this.stackTimer = null;
      this.snapshots.request();
    }, STACK_LOOK_MS);
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
    if (this.disposables.isDisposed) return;
    try {
      // A webview that was disposed meanwhile rejects or returns false: nothing to do.
      void Promise.resolve(this.port.postMessage(message)).catch(() => undefined);
    } catch {
      // Same, for a synchronous throw.
    }
  }
}

/** How often an open dashboard looks for newer stack reads while workers are busy (the pool reads once a second). */
const STACK_LOOK_MS = 1_000;

/** `Kill worker w3`, for the status line and the log. */
function describeIntent(intent: DashboardIntent): string {
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
