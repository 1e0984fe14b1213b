import type { ProcessExit } from '../platform/processControl';
import { WorkerSpawnError } from '../platform/spawnWorker';
import type { PoolHost, WorkerConnection } from './host';
import { SpawnBackoff } from './spawnBackoff';
import type { Worker } from './worker';

/** What the pool hears from a worker's process once it runs. */
export interface WorkerProcessEvents<C extends WorkerConnection> {
  /** Its exit, synchronously as it is reaped (before `worker.exited` resolves). */
  exited(worker: Worker<C>, exit: ProcessExit): void;
  stderr(worker: Worker<C>, pid: number, text: string): void;
  /** Spawning waits `delayMs` for the crash backoff. */
  throttled(delayMs: number, consecutiveCrashes: number): void;
  /** The wait is over: spawns may start again. */
  throttleEnded(): void;
  /** Arguments for the next worker besides the host's own (the debugger's `-d` settings). */
  args?(): readonly string[];
}

/** Why a worker could not be started, and whether trying again can help. */
export interface SpawnFailure {
  readonly message: string;
  /** The errno name, where there is one. */
  readonly code: string | null;
  /** A wrong path or permission will not fix itself: no retry. */
  readonly permanent: boolean;
}

/**
 * Starts worker processes and tells when one is ready, through the host;
 * holds spawning back after crashes (the backoff); and knows which spawns and
 * processes are still under way, so that `stop()` can wait until every one
 * of them has exited and been reaped. Which list a worker is on is the
 * pool's business, not this file's.
 */
export class Spawner<C extends WorkerConnection> {
  /** Crashes slow spawning down; a served request resets it. */
  readonly backoff = new SpawnBackoff();
  /** Spawns in flight and processes not yet reaped. */
  private readonly pending = new Set<Promise<unknown>>();
  /** Set while the backoff holds spawning back. */
  private throttle: NodeJS.Timeout | null = null;

  constructor(
    private readonly host: PoolHost<C>,
    private readonly events: WorkerProcessEvents<C>,
  ) {}

  /**
   * How many of `wanted` spawns may start now: none while the backoff holds
   * spawning back (`throttleEnded` tells when it may go on), and after a
   * crash one at a time, a probe, until a worker survives.
   */
  allowed(wanted: number): number {
    if (this.throttle !== null || wanted <= 0) return 0;
    const backoff = this.backoff;
    if (backoff.delayMs() > 0 && backoff.nextAllowedAt > Date.now()) {
      const wait = backoff.nextAllowedAt - Date.now();
      this.throttle = setTimeout(() => {
        this.throttle = null;
        this.events.throttleEnded();
      }, wait);
      this.throttle.unref();
      this.events.throttled(wait, backoff.consecutiveCrashes);
      return 0;
    }
    return backoff.consecutiveCrashes > 0 ? Math.min(wanted, 1) : wanted;
  }

  /** Cancels a held-back spawn (the pool is stopping). */
  cancelThrottle(): void {
    if (this.throttle) clearTimeout(this.throttle);
    this.throttle = null;
  }

  /** Marks a spawn as under way (an attempt, for the backoff) until the returned function is called. */
  begin(): () => void {
    this.backoff.recordAttempt();
    let settle!: () => void;
    const tracked = new Promise<void>((resolve) => (settle = resolve));
    this.pending.add(tracked);
    return () => {
      settle();
      this.pending.delete(tracked);
    };
  }

  /** Starts the worker's process and wires its exit and stderr to the pool. */
  async launch(worker: Worker<C>): Promise<void> {
    const launched = await this.host.launch(worker.id, this.events.args?.() ?? []);
    worker.pid = launched.pid;
    worker.process = launched;
    worker.address = launched.address;
    worker.startTime = launched.startTime;
    const exited = new Promise<ProcessExit>((resolve) => {
      launched.onExit((exit) => {
        this.events.exited(worker, exit);
        resolve(exit);
      });
    });
    worker.exited = exited;
    launched.onStderr((text) => this.events.stderr(worker, launched.pid, text));
    this.pending.add(exited);
    void exited.then(() => this.pending.delete(exited));
  }

  /**
   * Waits until the new worker answers FCGI_GET_VALUES: php-cgi loads its
   * extensions for 15–40 ms before it first calls accept(), and a request
   * sent to it meanwhile just waits. Until it answers, the worker stays on
   * the starting list (the truth), so the first request goes to a worker
   * that is really there, not to the newest spawn. The connection is kept
   * as the worker's FastCGI connection (php-cgi keeps it open after the
   * reply and serves requests on it). A wrapper that is not php-cgi (no
   * answer in `timeoutMs`) goes on as before. One that refused or closed the
   * connection has died or is dying (a broken php.ini, a missing extension):
   * its exit is awaited here (for as long again), so that it is judged as a
   * failed start, never lent as if it were ready.
   */
  async awaitReady(worker: Worker<C>, timeoutMs: number): Promise<void> {
    if (timeoutMs <= 0 || worker.address === '') return;
    let connection: C | null = null;
    try {
      connection = await this.host.connect(worker.address, timeoutMs);
      await connection.getValues(['FCGI_MPXS_CONNS'], timeoutMs);
    } catch (error) {
      connection?.destroy();
      if (!isTimeout(error)) await worker.exitWithin(timeoutMs);
      return;
    }
    if (worker.state !== 'starting' || worker.connection !== null) {
      connection.destroy();
      return;
    }
    worker.answersProbe = true;
    worker.keepConnection(connection);
  }

  /** Resolves once no spawn is under way and every process started has been reaped. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}

/** A connect or probe that ran out of time (as opposed to one refused or closed). */
function isTimeout(error: unknown): boolean {
  const failure = error as { code?: unknown; kind?: unknown } | null;
  return failure?.code === 'ETIMEDOUT' || failure?.kind === 'timeout';
}

/** What a failed launch means for the pool. */
export function spawnFailure(error: unknown): SpawnFailure {
  const code = error instanceof WorkerSpawnError ? (error.code ?? null) : null;
  const message = error instanceof Error ? error.message : String(error);
  return { message, code, permanent: code === 'ENOENT' || code === 'EACCES' || code === 'ENOSYS' };
}
