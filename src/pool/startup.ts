import type { PoolHost, WorkerConnection } from './host';
import type { PoolEvent } from './types';
/** What {@link startMinimum} reads of the pool and asks of it. */
export interface StartupPort {
  /** Workers alive or on their way. */
  live(): number;
  /** Workers serving a request now. */
  busy(): number;
  /** Whether the pool is still starting (a stop or a failure ends the loop). */
  starting(): boolean;
  /** Starts one worker; resolves once it answers, failed or died. */
  spawnOne(): Promise<void>;
  /** The first worker answers. */
  firstServes(): void;
}

/**
 * Brings a starting pool up to `target` workers, one at a time, each once
 * the previous answers: php-cgi needs ~15 ms of CPU to load before it
 * accepts, and four loading at once on two cores took ~50 ms each, all of it
 * before the first request could be served. Now the first worker serves
 * while the next one loads. Requests that arrive meanwhile wait in the
 * queue and may start extra workers on demand. The first request (the page
 * the developer just opened) also goes before the second worker loads: it
 * would take its CPU. That wait is at most 30 ms.
 */
export async function startMinimum(target: number, pool: StartupPort): Promise<void> {
  let first = true;
  while (pool.live() < target && pool.starting()) {
    const live = pool.live();
    await pool.spawnOne();
    // One that failed or died leaves the retries to the crash backoff
    // (ensureCapacity): retried here, a spawn that keeps failing at once
    // would spin without ever yielding to the event loop.
    if (pool.live() <= live) break;
    if (!first) continue;
    first = false;
    pool.firstServes();
    for (const until = Date.now() + 30; pool.busy() > 0 && Date.now() < until && pool.starting();) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
}

/**
 * Kills the workers a previous run of ours left behind (its registry in the
 * state folder says which, by pid and start time), before the first spawn,
 * and tells who was cleaned.
 */
export async function cleanStaleWorkers(host: Pick<PoolHost<WorkerConnection>, 'cleanStale'>, emit: (event: PoolEvent) => void): Promise<void> {
  const stale = await host.cleanStale();
  if (stale && (stale.killed.length > 0 || stale.reusedPids.length > 0)) {
    emit({ type: 'stale-workers-cleaned', killed: stale.killed, reusedPids: stale.reusedPids, stateDir: stale.stateDir });
  }
}
