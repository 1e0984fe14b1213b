import type { WorkerConnection } from './host';
import type { PoolOptions } from './options';
import type { WorkerState } from './types';
import type { Worker } from './worker';
import type { WorkerList } from './workerList';

/** What the capacity reads from the rest of the pool. */
export interface CapacitySources {
  /** Workers in a debug session now: each earns the pool one spare. */
  debugSessions(): number;
  /** Workers lent to the stack canary: back within milliseconds, so no spawn for them. */
  canaryWorkers(): number;
  /** Requests waiting for a worker. */
  waiting(): number;
}

/**
 * How many workers the pool should have — PHP-FPM's `pm` and mod_fcgid's
 * spawn limits as one count: the minimum, the maximum (one more while a
 * worker sits at a breakpoint, so that the paused page's assets and AJAX
 * calls are still served), the workers a queue needs, and the idle ones past
 * their timeout. It only counts and picks; the pool spawns and retires.
 */
export class Capacity<C extends WorkerConnection> {
  constructor(
    private readonly lists: Record<WorkerState, WorkerList<Worker<C>>>,
    private readonly options: PoolOptions,
    private readonly sources: CapacitySources,
  ) {}

  /** Workers alive or on their way (not yet on the error list). */
  get live(): number {
    const { starting, idle, busy, paused, finishing, draining } = this.lists;
    return starting.size + idle.size + busy.size + paused.size + finishing.size + draining.size;
  }

  /** The maximum, and one spare while a worker is in a debug session. */
  get max(): number {
    return this.options.maxWorkers + (this.sources.debugSessions() > 0 ? 1 : 0);
  }

  /** Above the maximum: a worker that comes free now is not kept. */
  get surplus(): boolean {
    return this.live > this.max;
  }

  /**
   * How many workers to spawn now (before the crash backoff has its say):
   * up to the minimum once the pool runs (while it starts, start() brings
   * it there), and for the waiters that no idle or starting worker will
   * take, never past the maximum.
   */
  toSpawn(running: boolean): number {
    const floor = running ? this.options.minWorkers - this.live : 0;
    const demand = this.sources.waiting() + 1 - this.lists.idle.size - this.lists.starting.size - this.sources.canaryWorkers();
    return Math.min(Math.max(floor, demand), this.max - this.live);
  }

  /**
   * Idle workers to retire, least recently used first: past the idle
   * timeout while above the minimum, or above the maximum (the spare of a
   * debug session that ended). The caller retires each before the next is
   * picked, so the counts are always current.
   */
  *idleToRetire(now: number): Generator<{ worker: Worker<C>; reason: 'idle-timeout' | 'spare-not-needed' }> {
    let worker = this.lists.idle.first();
    while (worker) {
      const next: Worker<C> | null = worker.next;
      if (this.surplus) yield { worker, reason: 'spare-not-needed' };
      else if (this.options.idleTimeoutMs > 0 && this.live > this.options.minWorkers && now - worker.lastActiveAt >= this.options.idleTimeoutMs) {
        yield { worker, reason: 'idle-timeout' };
      }
      worker = next;
    }
  }
}
