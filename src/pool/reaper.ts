import { describeExit, type ProcessExit } from '../platform/processControl';
import { ExitLog } from './history';
import type { WorkerConnection } from './host';
import { leftBeforeRunning, type LeakHandler } from './leakHandler';
import type { SpawnBackoff } from './spawnBackoff';
import type { SpawnFailures } from './spawnFailing';
import type { PoolEvent, PoolSnapshot, WorkerExitReason } from './types';
import type { Worker } from './worker';

/** What a worker's exit means for the pool. */
export interface ExitVerdict {
  /** The reason the exit record and the event give. */
  readonly reason: WorkerExitReason;
  /** It counts as a crash (totals.crashed). */
  readonly crash: boolean;
  /** It had not answered a single request: such a crash feeds the spawn backoff. */
  readonly beforeServing: boolean;
}

/**
 * Judges a worker's exit once its FastCGI connection has delivered what it
 * had.
 *
 * - A request truly unanswered (its lease still held, or its holder saw the
 *   worker die under it): a crash.
 * - The pool stopped it (SIGTERM / SIGKILL for a reason of its own): as
 *   expected; a crash only if the pool stopped it because it was dead.
 * - It left on its own, without a signal, after answering requests: a
 *   normal recycle, like php-cgi's own PHP_FCGI_MAX_REQUESTS (500 by
 *   default on Windows). Its exit code does not matter: php-cgi exits with
 *   the first non-zero exit status of any script it ran (7 after `exit(7)`,
 *   255 after a fatal error), so the code says nothing about the process.
 * - Anything else (a signal that did not come from us, or an exit before it
 *   answered anything) is a crash.
 */
function judgeExit<C extends WorkerConnection>(worker: Worker<C>, exit: ProcessExit, unanswered: boolean): ExitVerdict {
  // A worker finishing the script of a client that left did run it; so did one that sent part of an
  // answer, and one whose script Xdebug was debugging (it had stopped at a breakpoint, say).
  const beforeServing =
    worker.answered === 0 && worker.state !== 'finishing' && worker.debug === null && !(worker.lease !== null && worker.lease.firstByteAt > 0);
  if (unanswered || worker.diedDuringLease) return { reason: 'crashed', crash: true, beforeServing };
  if (worker.stopSent && worker.exitReason) return { reason: worker.exitReason, crash: worker.exitReason === 'crashed', beforeServing };
  if (exit.signal === null && !beforeServing) return { reason: 'max-requests', crash: false, beforeServing };
  return { reason: 'crashed', crash: true, beforeServing };
}

/** The pool's side of an exit: the list change, and what follows it. */
export interface ReaperPort<C extends WorkerConnection> {
  /** Takes the reaped worker off every list, with the reason it left. */
  reaped(worker: Worker<C>, reason: WorkerExitReason): void;
  /** Replaces it, and turns away waiters if no worker is coming. */
  afterExit(): void;
  emit(event: PoolEvent): void;
  changed(): void;
}

/** How many exits the snapshot keeps. */
const RECENT_EXITS = 20;

/**
 * What happens when a worker's process has exited and been reaped: when to
 * judge it, what it means ({@link judgeExit}), and what is counted and
 * recorded. The pool takes it off its list.
 *
 * A busy worker's connection may still hold its last, complete answer
 * (END_REQUEST read, or in the socket buffer: the exit of a php-cgi that
 * leaves right after its last answer is often reaped before that answer is
 * read), so its exit is judged once the connection has delivered what it
 * had and closed.
 */
export class Reaper<C extends WorkerConnection> {
  /** The last exits, oldest first (the snapshot's `recentExits`). */
  readonly recent = new ExitLog(RECENT_EXITS);
  /**
   * php-cgi's own request limit (PHP_FCGI_MAX_REQUESTS, set by a wrapper,
   * 500 by default on Windows), learned once two workers in a row have left
   * on their own after the same number of answers. A worker that reaches it
   * is not lent again: it leaves right after its answer, before the pool
   * could see it go, and a request lent to it in that moment would have to
   * go elsewhere.
   */
  ownLimit: number | null = null;
  private lastLeftAfter: number | null = null;

  constructor(
    private readonly totals: { -readonly [K in keyof PoolSnapshot['totals']]: number },
    private readonly backoff: SpawnBackoff,
    private readonly failures: SpawnFailures,
    private readonly leaks: Pick<LeakHandler<C>, 'workerExited' | 'cleared'>,
    private readonly pool: ReaperPort<C>,
  ) {}

  /** The process of `worker` exited and was reaped. */
  exited(worker: Worker<C>, exit: ProcessExit): void {
    const connection = worker.connection;
    if (worker.lease !== null && connection !== null) {
      worker.pendingExit = exit;
      connection.once('close', () => this.settle(worker, exit));
      return;
    }
    this.settle(worker, exit);
  }

  private settle(worker: Worker<C>, exit: ProcessExit): void {
    worker.pendingExit = null;
    worker.exit = exit;
    worker.dropConnection();
    const lease = worker.lease;
    const verdict = judgeExit(worker, exit, lease !== null && !leftBeforeRunning(lease, exit));
    const uptimeMs = Date.now() - worker.startedAt;
    if (verdict.crash) {
      this.totals.crashed++;
      if (verdict.beforeServing) this.backoff.recordCrash();
    }
    this.totals.exited++;
    if (this.leaks.workerExited(worker, exit)) {
      // `keep`: it stays on the busy list, marked defunct, as evidence.
      worker.exitReason = 'crashed';
      this.record(worker, exit, 'crashed', uptimeMs);
      return;
    }
    this.leaks.cleared(worker, 'worker-exited', `the process ${describeExit(exit)}`);
    if (verdict.reason === 'max-requests' && !worker.stopSent) this.learnLimit(worker.answered);
    this.pool.reaped(worker, verdict.reason);
    this.record(worker, exit, verdict.reason, uptimeMs);
    if (verdict.crash && verdict.beforeServing) {
      this.failures.failed(
        { workerId: worker.id, pid: worker.pid, exit, error: null, stderr: worker.stderrTail, at: Date.now() },
        this.backoff.consecutiveCrashes,
      );
    }
    this.pool.afterExit();
  }

  private learnLimit(answered: number): void {
    if (this.lastLeftAfter === answered) this.ownLimit = answered;
    this.lastLeftAfter = answered;
  }

  private record(worker: Worker<C>, exit: ProcessExit, reason: WorkerExitReason, uptimeMs: number): void {
    const pid = this.recent.add(worker, exit, reason, uptimeMs).pid;
    this.pool.changed();
    this.pool.emit({ type: 'worker-exited', workerId: worker.id, pid, exit, reason, uptimeMs, accesses: worker.accesses });
  }
}
