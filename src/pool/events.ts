import type { Disposable, PoolEvent, WorkerExitReason, WorkerState } from './types';

type Listener = (event: PoolEvent) => void;

/**
 * The pool's subscribers. Events are delivered synchronously; a listener
 * that throws is skipped, never allowed to stop the others or the pool.
 *
 * A listener may decline the events every request causes (lease-acquired,
 * lease-released, idle ⇄ busy worker-state): building them (two lease
 * snapshots, two state events) costs ~15 µs per request, and a consumer that
 * only reports problems (the CLI without --events) does not need them. They
 * are built only while some listener wants them. The snapshot stays exact
 * either way.
 */
export class PoolEvents {
  private readonly listeners = new Set<Listener>();
  /** Listeners that asked not to get the per-request events. */
  private readonly quiet = new Set<Listener>();
  /** Listeners that do get them: the per-request events are built only when this is > 0. */
  perRequest = 0;

  /** Whether anyone listens at all. */
  get any(): boolean {
    return this.listeners.size > 0;
  }

  subscribe(listener: Listener, perRequest: boolean): Disposable {
    const dispose = { dispose: () => this.unsubscribe(listener) };
    if (this.listeners.has(listener)) return dispose;
    this.listeners.add(listener);
    if (!perRequest) this.quiet.add(listener);
    else this.perRequest++;
    return dispose;
  }

  /** An event every listener gets. */
  emit(event: PoolEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // One consumer's bug must not stop the others or the pool.
      }
    }
  }

  /** A per-request event: only for the listeners that want them (check {@link perRequest} before building it). */
  emitPerRequest(event: PoolEvent): void {
    for (const listener of this.listeners) {
      if (this.quiet.has(listener)) continue;
      try {
        listener(event);
      } catch {
        // One consumer's bug must not stop the others or the pool.
      }
    }
  }

  /** A worker changed list. idle ⇄ busy happens twice per request: only listeners that want per-request events get those. */
  workerState(workerId: string, pid: number | null, from: WorkerState, to: WorkerState, reason: WorkerExitReason | null): void {
    const perRequest = (from === 'idle' && to === 'busy') || (from === 'busy' && to === 'idle');
    if (!perRequest) this.emit({ type: 'worker-state', workerId, pid, from, to, reason });
    else if (this.perRequest > 0) this.emitPerRequest({ type: 'worker-state', workerId, pid, from, to, reason });
  }

  private unsubscribe(listener: Listener): void {
    if (!this.listeners.delete(listener)) return;
    if (!this.quiet.delete(listener)) this.perRequest--;
  }
}
