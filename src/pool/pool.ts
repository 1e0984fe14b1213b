import { XdebugHost } from '../dbgp/xdebugHost';
import type { FastCgiConnection } from '../fastcgi/connection';
import { installHint } from '../platform/phpCgiDiscovery';
import { ProcessHost } from '../platform/processHost';
import { AbandonedRequests } from './abandonedRequests';
import { afterRelease, mayFinish } from './afterRelease';
import { BusyDeadlines } from './busyDeadlines';
import { Capacity } from './capacity';
import { followDebugSession } from './debugHold';
import { PoolDebugging, type DebuggerControl, type DebuggerHost } from './debugging';
import type { OptionId } from '../shared/options';
import { PoolUnavailableError } from './errors';
import { PoolEvents } from './events';
import { PoolFindings } from './findings';
import { LeaseHistory } from './history';
import type { PoolHost, WorkerConnection } from './host';
import { ENDED_BY, INTERNAL, Lease, LENT_WORKER } from './lease';
import { LeaseBooks } from './leaseBooks';
import { checkLimits, defaultPoolOptions, type PoolOptions } from './options';
import { LeakHandler, type RetireMode } from './leakHandler';
import { Reaper } from './reaper';
import { Reconciler } from './reconciler';
import { buildSnapshot } from './snapshot';
import { spawnFailure, Spawner } from './spawner';
import { cleanStaleWorkers, startMinimum } from './startup';
import { SpawnFailures } from './spawnFailing';
import { StackWatch } from './stackWatch';
import type { Disposable, LeaseHolder, LeaseOutcome, LeaseRequestInfo, LeaseRevocation, PoolEvent, PoolSnapshot, PoolState } from './types';
import type { WorkerDebug, WorkerExitReason, WorkerState } from './types';
import { WaitQueue } from './waitQueue';
import { Worker, type WorkerOwner } from './worker';
import { everyWorker, stateLists } from './workerList';

export { PoolSaturatedError, PoolSpawnFailingError, PoolUnavailableError } from './errors';
export { DebuggerUnavailableError } from './debugging';
export { Lease } from './lease';
export { defaultPoolOptions, type PoolOptions } from './options';

/**
 * The process manager: php-cgi workers on starting / idle / busy / paused
 * (stopped at a breakpoint) / finishing ({@link AbandonedRequests}) /
 * draining / error lists, leased one request at a time (php-cgi does not
 * multiplex). This class is the one place where a worker changes list, and
 * reads as the story of a worker's life: spawned, idle, lent, released or
 * revoked, retired, reaped. The concepts around it live in their own files (the wait
 * queue, the busy deadlines, the spawner, the reconciler, the leak handler,
 * the finding builders, the snapshot), and what touches the OS comes through
 * a {@link PoolHost}.
 * Crashes throttle spawning (spawnBackoff.ts); while none starts,
 * requests are turned away at once ({@link PoolSpawnFailingError}).
 */
export class Pool<C extends WorkerConnection = FastCgiConnection> {
  readonly options: PoolOptions;
  private readonly host: PoolHost<C>;
  private state: PoolState = 'stopped';
  private problem: string | null = null;
  /** The option at fault when the pool failed, for the CLI's flag or the extension's setting. */
  private problemOption: OptionId | null = null;
  private startedAt: number | null = null;

  /** A worker's list is its state; only this class moves a worker between them, or off them once its process is gone. */
  private readonly lists = stateLists<Worker<C>>();
  private readonly starting = this.lists.starting;
  private readonly idle = this.lists.idle;
  private readonly busy = this.lists.busy;

  private readonly queue: WaitQueue<Lease<C>>;
  private readonly capacity: Capacity<C>;
  private readonly deadlines: BusyDeadlines<Lease<C>>;
  private readonly spawner: Spawner<C>;
  private readonly reconciler: Reconciler<C>;
  private readonly leaks: LeakHandler<C>;
  private readonly debugging: PoolDebugging;
  readonly debugger: DebuggerControl;
  private readonly abandoned: AbandonedRequests<C>;
  private readonly spawnFailures: SpawnFailures;
  private readonly reaper: Reaper<C>;
  /** When the busy workers' PHP stacks are read (issue 13). */
  readonly stacks: StackWatch<C>;
  private readonly events = new PoolEvents();
  private readonly findings = new PoolFindings((event) => {
    this.changed();
    this.emit(event);
  });
  private readonly history: LeaseHistory;
  private readonly books: LeaseBooks<C>;
  /** What workers and leases may ask of this pool; also how a lease is known to be ours. */
  private readonly owner: WorkerOwner<C>;
  private maintenanceTimer: NodeJS.Timeout | null = null;

  private nextWorkerId = 1;
  private nextLeaseId = 1;
  private version = 0;
  private cachedSnapshot: PoolSnapshot | null = null;
  private readonly totals = { requests: 0, spawned: 0, exited: 0, crashed: 0, queueRejected: 0, busyTimeouts: 0 };

  /** `host` touches the OS (by default php-cgi processes; tests pass a fake with their own connection type `C`), `debuggerHost` Xdebug (php-cgi and a DBGp relay). */
  constructor(options: Partial<PoolOptions> & { cwd: string }, host?: PoolHost<C>, debuggerHost?: DebuggerHost) {
    this.options = { ...defaultPoolOptions, ...options };
    checkLimits(this.options);
    // Without a host, C is the default FastCgiConnection: the one the real host makes.
    this.host = host ?? (new ProcessHost(this.options) as unknown as PoolHost<C>);
    this.history = new LeaseHistory(this.options.historySize);
    this.books = new LeaseBooks(this.history, this.totals, this.events, () => {
      this.spawner.backoff.recordSuccess();
      this.spawnFailures.served();
    });
    this.queue = new WaitQueue(this.options, {
      rejected: (reason, waitedMs, uri) => {
        this.totals.queueRejected++;
        this.changed();
        this.emit({ type: 'queue-rejected', reason, waitedMs, uri });
      },
      changed: () => this.changed(),
    });
    this.leaks = new LeakHandler(this.options.leakPolicy, this.options.busyTimeoutMs, this.host, this.findings, {
      revoke: (lease, revocation, outcome) => this.revoke(lease, revocation, outcome),
      endLease: (lease, outcome, by) => this.endLease(lease, outcome, by),
      retire: (worker, reason, mode) => this.retire(worker, reason, mode),
      changed: () => this.changed(),
    });
    this.stacks = new StackWatch(this.host.stacks ?? null, this.options.slowlogTimeoutMs, this.findings, {
      ...this.lists,
      lendInternal: (request, holder) => this.tryAcquire(request, holder, Date.now(), true),
      release: (lease, outcome) => this.release(lease, outcome),
      isRunning: () => this.state === 'running',
      changed: () => this.changed(),
      emit: (event) => this.emit(event),
    });
    this.deadlines = new BusyDeadlines(this.options.busyTimeoutMs, (lease) => {
      // An ended lease keeps its deadline while its worker finishes the script of the client that left.
      if (!lease.active && !this.abandoned.isRunning(lease)) return;
      this.totals.busyTimeouts++;
      // Where it is stuck, read just before the kill.
      this.leaks.busyTimeout(lease, this.stacks.read(lease[LENT_WORKER]));
    });
    this.debugger = this.debugging = new PoolDebugging(this.options, debuggerHost ?? XdebugHost.forPool(this.options), {
      acceptPid: (pid) => this.workerByPid(pid) !== undefined,
      sessionChanged: (pid, debug) => this.onDebugChange(pid, debug),
      changed: () => this.changed(),
      emit: (event) => this.emit(event),
    });
    this.abandoned = new AbandonedRequests(this.host, this.options, this.deadlines, {
      finishing: (worker) => this.moveTo(worker, 'finishing', null),
      ready: (worker) => this.doneWithRequest(worker),
      failed: (worker) => this.retire(worker, 'client-abort', 'leaving'),
      cleared: (worker) => this.leaks.cleared(worker, 'released', 'the abandoned request ended'),
    });
    this.spawnFailures = new SpawnFailures(this.findings);
    this.spawner = new Spawner(this.host, {
      exited: (worker, exit) => {
        // What the stack reader kept about the process goes; the worker's last stack stays (a finding may carry it).
        this.stacks.workerGone(worker);
        this.reaper.exited(worker, exit);
      },
      stderr: (worker, pid, text) => {
        worker.noteStderr(text);
        this.emit({ type: 'worker-stderr', workerId: worker.id, pid, text });
      },
      throttled: (delayMs, consecutiveCrashes) => this.emit({ type: 'spawn-throttled', delayMs, consecutiveCrashes }),
      throttleEnded: () => this.ensureCapacity(),
      args: () => this.debugging.workerArgs,
    });
    this.reaper = new Reaper(this.totals, this.spawner.backoff, this.spawnFailures, this.leaks, {
      reaped: (worker, reason) => this.reaped(worker, reason),
      afterExit: () => this.ensureCapacity(),
      emit: (event) => this.emit(event),
      changed: () => this.changed(),
    });
    this.reconciler = new Reconciler(this.host, {
      workers: () => everyWorker(this.lists),
      leaks: this.leaks,
      findings: this.findings,
      changed: () => this.changed(),
    });
    this.capacity = new Capacity(this.lists, this.options, {
      debugSessions: () => this.debugging.activeSessions,
      canaryWorkers: () => this.stacks.canaryWorkers,
      waiting: () => this.queue.length,
    });
    this.owner = {
      connect: (address, timeoutMs) => this.host.connect(address, timeoutMs),
      changed: () => this.changed(),
      // php-cgi closes its kept connection only as it leaves (its own request limit).
      connectionClosed: (worker) => worker.state === 'idle' && this.retire(worker, 'max-requests', 'leaving'),
    };
  }

  /** Subscribes to pool events, delivered synchronously; `perRequest: false` spares a listener the per-request ones (see {@link PoolEvents}). */
  onEvent(listener: (event: PoolEvent) => void, options?: { perRequest?: boolean }): Disposable {
    return this.events.subscribe(listener, options?.perRequest !== false);
  }

  /** Starts the minimum number of workers; resolves once they answer (or failed). */
  async start(): Promise<void> {
    if (this.state !== 'stopped' && this.state !== 'failed') throw new Error(`pool is ${this.state}`);
    this.host.open();
    this.startedAt = Date.now();
    this.problem = null;
    this.problemOption = null;
    this.setState('starting');
    await this.debugging.begin().catch((error: PoolUnavailableError) => {
      this.fail(error.message, error.option);
      throw error;
    });
    await cleanStaleWorkers(this.host, (event) => this.emit(event));
    await startMinimum(Math.min(this.options.minWorkers, this.options.maxWorkers), {
      live: () => this.capacity.live,
      busy: () => this.busy.size,
      starting: () => (this.state as PoolState) === 'starting',
      spawnOne: () => this.spawnOne(),
      firstServes: () => void this.debugging.decide().catch(() => undefined), // asked now, php-cgi does not slow the first page
    });
    void this.debugging.decide().catch(() => undefined);
    if ((this.state as PoolState) === 'starting') this.setState('running');
    if ((this.state as PoolState) === 'running') this.stacks.start();
    this.maintenanceTimer = setInterval(() => this.maintain(), this.options.maintenanceIntervalMs);
    this.maintenanceTimer.unref();
    this.reconciler.scanEvery(this.options.scanIntervalMs, () => this.scan());
    if ((this.state as PoolState) === 'failed') throw new PoolUnavailableError(this.problem ?? 'pool failed to start', this.problemOption);
  }

  /**
   * Leases a worker: an idle one at once, else a new one if the limit allows,
   * else a place in the bounded wait queue. Rejects with
   * {@link PoolSaturatedError} when the queue is full or the wait runs out,
   * and with {@link PoolUnavailableError} when the pool cannot serve.
   */
  acquire(request: LeaseRequestInfo, holder: LeaseHolder, signal?: AbortSignal): Promise<Lease<C>> {
    const queuedAt = Date.now();
    const lease = this.tryAcquire(request, holder, queuedAt);
    if (lease) return Promise.resolve(lease);
    if (this.state !== 'running' && this.state !== 'starting') {
      return Promise.reject(new PoolUnavailableError(this.state === 'failed' ? (this.problem ?? 'the pool has failed') : `the pool is ${this.state}`));
    }
    this.ensureCapacity();
    const failing = this.spawnFailures.error(this.capacity.live - this.starting.size, this.spawner.backoff);
    if (failing) return Promise.reject(failing);
    return this.queue.wait(request, holder, queuedAt, signal);
  }

  /**
   * Gives up the queued {@link acquire} of `holder` (its client left): the
   * promise rejects and the place in the queue is freed. The cheap
   * alternative to an AbortSignal per request. Returns false if it was not
   * waiting.
   */
  withdraw(holder: LeaseHolder): boolean {
    return this.queue.withdraw(holder);
  }

  /** The synchronous fast path of {@link acquire}: a lease if a worker is idle now (`internal`: the pool's own request). */
  tryAcquire(request: LeaseRequestInfo, holder: LeaseHolder, queuedAt = Date.now(), internal = false): Lease<C> | null {
    if (this.state !== 'running' || this.queue.length > 0) return null;
    const worker = this.idle.popLast();
    if (!worker) return null;
    return this.lend(worker, request, holder, queuedAt, internal);
  }

  /**
   * Ends a lease. Returns false if the lease had already ended: a second
   * release by its holder is reported as a `lease-protocol-error` event, never
   * silently ignored; a release after the pool revoked the lease is expected.
   */
  release(lease: Lease<C>, outcome: LeaseOutcome): boolean {
    const worker = lease[LENT_WORKER];
    if (worker.owner !== this.owner) {
      this.findings.protocolError(null, lease.snapshot(), 'unknown-lease');
      return false;
    }
    if (lease[ENDED_BY] === 'pool') return false;
    if (lease[ENDED_BY] === 'holder') {
      this.findings.protocolError(worker, lease.snapshot(), 'double-release');
      return false;
    }
    const died = outcome === 'worker-died' && this.leaks.holderSawDeath(worker, lease);
    const finishing = outcome === 'client-abort' && mayFinish(worker);
    this.endLease(lease, outcome, 'holder', finishing);
    if (this.findings.anyOpen || worker.keptLease) this.leaks.cleared(worker, 'released', `lease ${lease.id} released by its holder (${outcome})`);
    if (died) {
      this.retire(worker, 'crashed', 'kill');
      return true;
    }
    if (worker.exit) {
      // Kept (policy keep) after its process had died: now it can go.
      this.dropExited(worker);
      return true;
    }
    if (worker.state !== 'busy' && worker.state !== 'paused' && worker.state !== 'draining') return true;
    const next = afterRelease(outcome, finishing);
    if (next.kind === 'done') this.doneWithRequest(worker);
    else if (next.kind === 'finish') this.abandoned.begin(worker, lease);
    else this.retire(worker, next.reason, next.mode);
    return true;
  }

  /** Recycles a worker by id: graceful (finish the request first) or at once. */
  recycleWorker(workerId: string, mode: 'graceful' | 'kill'): boolean {
    const worker = everyWorker(this.lists).find((w) => w.id === workerId);
    if (!worker || worker.state === 'error') return false;
    if (worker.exit) {
      // A defunct worker kept for inspection: its process is already gone.
      if (worker.lease) this.revoke(worker.lease, { kind: 'worker-exited', exit: worker.exit }, 'worker-died');
      this.leaks.cleared(worker, 'worker-killed', 'removed by the developer');
      this.dropExited(worker);
      return true;
    }
    this.leaks.cleared(worker, 'worker-killed', mode === 'kill' ? 'killed by the developer' : 'recycled by the developer');
    if (mode === 'graceful' && (worker.state === 'busy' || worker.state === 'paused')) {
      // Finishes its lease first; `release` sees the draining state and retires it.
      this.moveTo(worker, 'draining', 'recycled-by-user');
      return true;
    }
    this.retire(worker, mode === 'kill' ? 'killed-by-user' : 'recycled-by-user', mode);
    return true;
  }

  /**
   * Ends a lease from outside its holder (a developer's "Release Lease"): the
   * holder is told, and the worker, whose request was cut, is recycled.
   */
  releaseLease(leaseId: string): boolean {
    const worker = everyWorker(this.lists).find((w) => w.lease?.id === leaseId || w.keptLease?.id === leaseId);
    if (!worker) return false;
    if (worker.lease) this.revoke(worker.lease, { kind: 'worker-retired', reason: 'recycled-by-user' }, 'error');
    this.leaks.cleared(worker, 'released', `lease ${leaseId} released by the developer`);
    if (worker.exit) this.dropExited(worker);
    else this.retire(worker, 'recycled-by-user', 'graceful');
    return true;
  }

  /** Stops every worker; resolves only when each has exited and been reaped. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.setState('stopping');
    if (this.maintenanceTimer) clearInterval(this.maintenanceTimer);
    this.maintenanceTimer = null;
    this.reconciler.stopScanning();
    this.spawner.cancelThrottle();
    // Paused requests run on without the debugger and finish, rather than wait for SIGKILL (their deadlines resume, then stop).
    const debuggerStopped = this.debugging.stop();
    this.deadlines.stop();
    this.stacks.stop();
    this.queue.rejectAll(new PoolUnavailableError('the pool is stopping'));
    this.findings.resolveAll(null, 'pool-stopped', 'the pool stopped');
    this.spawnFailures.reset();
    for (const worker of everyWorker(this.lists)) {
      if (worker.exit) this.dropExited(worker);
      else if (worker.state !== 'starting') this.retire(worker, 'pool-stopping', 'graceful');
    }
    // Spawns in flight finish, see the stopping state and retire themselves.
    await Promise.all([this.spawner.settled(), debuggerStopped]);
    this.host.close();
    this.setState('stopped');
  }

  /** The current immutable snapshot (cached until the next change). */
  snapshot(): PoolSnapshot {
    if (this.cachedSnapshot) return this.cachedSnapshot;
    this.cachedSnapshot = buildSnapshot({
      version: this.version,
      state: this.state,
      problem: this.problem ?? this.spawnFailures.problem(),
      startedAt: this.startedAt,
      limits: this.options,
      leakPolicy: this.options.leakPolicy,
      lists: this.lists,
      queue: { length: this.queue.length, oldestQueuedAt: this.queue.oldestQueuedAt() },
      backoff: this.spawner.backoff,
      totals: this.totals,
      recentExits: this.reaper.recent.list(),
      findings: this.findings.log,
      platform: this.host.capabilities?.() ?? null,
      history: this.history,
      debugger: this.debugging.snapshot(),
      stacks: this.stacks.status,
    });
    return this.cachedSnapshot;
  }

  /**
   * Compares every worker with what the OS says (see {@link Reconciler}).
   * Runs on an interval; tests call it to know a scan has happened.
   */
  async scan(): Promise<void> {
    if (this.state !== 'running' && this.state !== 'starting') return;
    await this.reconciler.scan();
  }

  // ------------------------------------------------------- a lease's life

  private lend(worker: Worker<C>, request: LeaseRequestInfo, holder: LeaseHolder, queuedAt: number, internal = false): Lease<C> {
    const now = Date.now();
    const lease = new Lease<C>(`${internal ? 'C' : 'L'}${this.nextLeaseId++}`, worker, request, holder, queuedAt, now);
    lease[INTERNAL] = internal;
    worker.lease = lease;
    this.moveTo(worker, 'busy', null);
    if (this.options.busyTimeoutMs > 0) this.deadlines.start(worker.deadline, lease, now);
    this.stacks.leaseStarted(worker, lease, now);
    this.books.lent(lease, now);
    return lease;
  }

  /** `keepDeadline`: the busy timeout still runs for the script of a client that left. */
  private endLease(lease: Lease<C>, outcome: LeaseOutcome, by: 'holder' | 'pool', keepDeadline = false): void {
    lease.endedAt = Date.now();
    lease[ENDED_BY] = by;
    lease.outcome = outcome;
    const worker = lease[LENT_WORKER];
    if (worker.deadline.subject === lease && !keepDeadline) this.deadlines.cancel(worker.deadline);
    if (worker.lease === lease) worker.lease = null;
    this.stacks.leaseEnded(worker, lease.endedAt);
    this.changed();
    this.books.ended(lease, outcome);
  }

  /** The pool ends a lease on its own and tells the holder. */
  private revoke(lease: Lease<C>, revocation: LeaseRevocation, outcome: LeaseOutcome): void {
    if (!lease.active) return;
    this.endLease(lease, outcome, 'pool');
    this.emit({ type: 'lease-revoked', lease: lease.snapshot(), revocation });
    try {
      lease.holder.revoke(revocation);
    } catch {
      // A faulty holder must not break the pool's bookkeeping.
    }
  }

  // ------------------------------------------------------ a worker's life

  /** Spawns workers for waiters and the minimum, within the limits and the backoff; waiters for none are told why. */
  private ensureCapacity(): void {
    if (this.state !== 'running' && this.state !== 'starting') return;
    const n = this.spawner.allowed(this.capacity.toSpawn(this.state === 'running'));
    for (let i = 0; i < n; i++) void this.spawnOne();
    const failing = this.queue.length > 0 ? this.spawnFailures.error(this.capacity.live - this.starting.size, this.spawner.backoff) : null;
    if (failing) this.queue.rejectAll(failing);
  }

  /** starting → idle once it answers (or error, if it cannot start). */
  private async spawnOne(): Promise<void> {
    const worker = new Worker<C>(`w${this.nextWorkerId++}`, this.owner);
    this.starting.push(worker);
    this.changed();
    this.emit({ type: 'worker-starting', workerId: worker.id });
    const done = this.spawner.begin();
    try {
      await this.spawner.launch(worker);
      this.totals.spawned++;
      this.changed(); // the pid shows while php-cgi loads
      await this.spawner.awaitReady(worker, this.options.readyProbeTimeoutMs);
      if (worker.state !== 'starting') return; // it died (or the pool stopped) while loading
      this.emit({ type: 'worker-ready', workerId: worker.id, pid: worker.pid as number });
      if (this.state === 'stopping' || this.state === 'stopped') this.retire(worker, 'pool-stopping', 'graceful');
      else this.makeIdle(worker);
    } catch (error) {
      this.starting.remove(worker);
      const failure = spawnFailure(error);
      this.emit({ type: 'spawn-failed', workerId: worker.id, error: failure.message, code: failure.code });
      this.changed();
      if (failure.permanent) {
        // A wrong path will not fix itself: fail once, clearly, without a spawn loop.
        this.fail(`${failure.message}. ${installHint()} or set the path to php-cgi`, 'phpCgi');
      } else {
        this.spawner.backoff.recordCrash();
        this.spawnFailures.launchFailed(worker.id, failure.message, this.spawner.backoff.consecutiveCrashes);
        this.ensureCapacity();
      }
    } finally {
      done();
    }
  }

  /** → busy for the next waiter, or → idle. */
  private makeIdle(worker: Worker<C>): void {
    if (this.state !== 'running' && this.state !== 'starting') {
      this.retire(worker, 'pool-stopping', 'graceful');
      return;
    }
    const waiter = this.queue.take();
    if (waiter) {
      waiter.resolve(this.lend(worker, waiter.request, waiter.holder, waiter.queuedAt));
      return;
    }
    if (this.capacity.surplus) this.retire(worker, 'spare-not-needed', 'graceful');
    else this.moveTo(worker, 'idle', null);
  }

  /** Its request is over (answered, or the abandoned script ended): recycled if due, else idle. */
  private doneWithRequest(worker: Worker<C>): void {
    // Recycled gracefully while busy: its request is done, now it goes.
    if (worker.state === 'draining') this.retire(worker, 'recycled-by-user', 'graceful');
    else if (this.options.maxRequests > 0 && worker.accesses >= this.options.maxRequests) this.retire(worker, 'max-requests', 'graceful');
    else if (this.reaper.ownLimit !== null && worker.answered >= this.reaper.ownLimit) this.retire(worker, 'max-requests', 'leaving');
    else this.makeIdle(worker);
  }

  /** → error: takes a worker out of service (see {@link RetireMode}). */
  private retire(worker: Worker<C>, reason: WorkerExitReason, mode: RetireMode): void {
    if (worker.state === 'error') return;
    if (worker.lease) {
      const revocation: LeaseRevocation = reason === 'pool-stopping' ? { kind: 'pool-stopping' } : { kind: 'worker-retired', reason };
      this.revoke(worker.lease, revocation, reason === 'pool-stopping' ? 'pool-stopping' : 'error');
    }
    this.moveTo(worker, 'error', reason);
    worker.dropConnection();
    const running = worker.exit || worker.pendingExit ? null : worker.process;
    if (running && mode === 'leaving') {
      // Replaced once its exit has said whether it crashed (the backoff must know first).
      worker.killUnlessGoneIn(this.options.stopGraceMs);
      return;
    }
    if (running) {
      worker.stopSent = true;
      const stopping = mode === 'kill' ? running.kill() : running.stop(this.options.stopGraceMs);
      stopping.catch(() => undefined);
    }
    this.ensureCapacity();
  }

  private moveTo(worker: Worker<C>, to: WorkerState, reason: WorkerExitReason | null): void {
    const from = worker.state;
    if (from === 'finishing') this.abandoned.end(worker);
    worker.state = to;
    if (reason) worker.exitReason = reason;
    this.lists[to].push(worker);
    this.changed();
    if (from !== to && this.events.any) this.events.workerState(worker.id, worker.pid, from, to, reason);
  }

  /** A worker's debug session changed: its lease's timeouts stop or go on (debugHold.ts), busy ⇄ paused, the spare (see {@link Capacity}). */
  private onDebugChange(pid: number, debug: WorkerDebug | null): void {
    const worker = this.workerByPid(pid);
    if (!worker) return;
    const paused = followDebugSession(worker, debug, this.deadlines, Date.now());
    if (paused !== (worker.state === 'paused') && (worker.state === 'busy' || worker.state === 'paused')) this.moveTo(worker, paused ? 'paused' : 'busy', null);
    this.changed();
    this.emit({ type: 'worker-debug', workerId: worker.id, pid, debug });
    // The last session ended: an idle spare goes now, a busy one after its request (makeIdle).
    this.maintain(true); // requests already waiting may have the spare now
  }

  /** Idle workers past their timeout or above the maximum go, least recently used first; then the minimum and the waiters (`waitersOnly`: the waiters only). */
  private maintain(waitersOnly = false): void {
    for (const { worker, reason } of this.capacity.idleToRetire(Date.now())) this.retire(worker, reason, 'graceful');
    if (!waitersOnly || this.queue.length > 0) this.ensureCapacity();
  }

  /** Reaped: no longer a process, it leaves every list (mod_fcgid's error → free); `recentExits` keeps the exit. */
  private reaped(worker: Worker<C>, reason: WorkerExitReason): void {
    if (worker.state === 'finishing') this.abandoned.end(worker);
    worker.list?.remove(worker);
    worker.exitReason = reason;
    worker.state = 'error';
  }

  /** Takes a worker whose process has exited off every list. */
  private dropExited(worker: Worker<C>): void {
    worker.defunct = false;
    worker.keptLease = null;
    worker.list?.remove(worker);
    worker.state = 'error';
    this.changed();
    this.ensureCapacity();
  }

  // -------------------------------------------------------------- the pool

  /** Ours by pid (or the pid of the php-cgi behind a wrapper). */
  private workerByPid(pid: number): Worker<C> | undefined {
    return everyWorker(this.lists).find((w) => w.pid === pid || w.serving?.pid === pid);
  }

  private fail(problem: string, option: OptionId | null = null): void {
    this.problem = problem;
    this.problemOption = option;
    this.queue.rejectAll(new PoolUnavailableError(problem, option));
    this.setState('failed');
  }

  private setState(state: PoolState): void {
    this.state = state;
    this.changed();
    this.emit({ type: 'pool-state', state, problem: this.problem });
  }

  private changed(): void {
    this.version++;
    this.cachedSnapshot = null;
  }

  private emit(event: PoolEvent): void {
    this.events.emit(event);
  }
}
