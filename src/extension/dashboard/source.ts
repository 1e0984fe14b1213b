import type { PoolEvent, PoolSnapshot } from '../../pool/types';
import type { LeaseStack } from '../../shared/stackTypes';

/** Anything with `dispose()`; `vscode.Disposable` is one. */
export interface DisposableLike {
  dispose(): unknown;
}

/**
 * What an intent's action returns: nothing or `true` when done, `false` when
 * the pool refused (the worker or lease was gone by then). A thrown error or
 * a rejected promise is reported to the webview as a failure with its message.
 */
export type IntentOutcome = void | boolean | Promise<void | boolean>;

/**
 * The pool a dashboard shows, and the actions it may ask for. The extension
 * implements it over its PoolManager (one per workspace folder); tests use
 * fakes. It has no `vscode` import, so the controller is tested in plain Node.
 *
 * A source lives as long as what it names (the folder), not as long as one
 * pool run: `snapshot()` is null while the folder's pool is stopped, and
 * `onDidChange` fires when it starts, changes or stops.
 */
export interface DashboardSource {
  /** Stable across window reloads (e.g. the folder URI); the serializer finds the source again by it. Default `default`. */
  readonly key?: string;
  /** Shown in the panel: the folder's name. */
  readonly label?: string;
  /** The pool now, or null when none runs. */
  snapshot(): PoolSnapshot | null;
  /** The last stack read of each busy worker, by worker id (no new read); absent in sources without stacks. */
  stacks?(): ReadonlyMap<string, LeaseStack>;
  /**
   * Called on every change. Pass the pool event when there is one: a
   * `finding` event is forwarded to the webview at once (it flashes and
   * announces it); every call schedules a (throttled) snapshot.
   */
  onDidChange(listener: (event?: PoolEvent) => void): DisposableLike;
  kill(workerId: string): IntentOutcome;
  recycle(workerId: string): IntentOutcome;
  releaseLease(leaseId: string): IntentOutcome;
  openScript(path: string, line?: number): IntentOutcome;
  revealWorker(workerId: string): IntentOutcome;
}

/** The key a source is known by (panels are one per key). */
export function sourceKey(source: DashboardSource): string {
  return source.key ?? 'default';
}
