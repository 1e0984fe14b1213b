import type { ChildProcess } from 'node:child_process';
import { FastCgiConnection } from '../fastcgi/connection';
import { describeExit, killProcessGroup, stopProcessGroup, type ProcessExit } from '../platform/processControl';
import { descendantsOf, inspectProcess, readStat, type ProcessTruth } from '../platform/processState';
import { createSocketDir, removeSocketDir, spawnWorker, WorkerSpawnError } from '../platform/spawnWorker';
import { workerEnvironment } from '../platform/workerEnvironment';
import { WorkerRegistry } from '../platform/workerRegistry';
import { DEFAULTS } from '../shared/defaults';
import { OptionError, type OptionId } from '../shared/options';
import { FindingLog } from './findings';
import { LeaseHistory } from './history';
import { SpawnBackoff } from './spawnBackoff';
import type {
  Disposable,
  Finding,
  FindingKind,
  FindingResolution,
  LeakPolicy,
  LeaseHistoryEntry,
  LeaseHolder,
  LeaseOutcome,
  LeaseRequestInfo,
  LeaseRevocation,
  LeaseSnapshot,
  PoolEvent,
  PoolLimits,
  PoolSnapshot,
  PoolState,
  WorkerExitReason,
  WorkerExitRecord,
  WorkerSnapshot,
  WorkerState,
} from './types';
import { WorkerList, type ListNode } from './workerList';

/** Everything a pool needs to run php-cgi workers. */
export interface PoolOptions extends PoolLimits {
  /** php-cgi executable (path or name on PATH). */
  phpCgi: string;
  /** Working directory of the workers (the document root). */
  cwd: string;
  /** `-d name=value` overrides for every worker. */
  ini: Readonly<Record<string, string>>;
  /**
   * Variables for the workers on top of a clean environment (PATH, HOME,
   * locale, TZ, PHPRC…: see workerEnvironment), like PHP-FPM's clear_env.
   */
  env: Readonly<Record<string, string | undefined>>;
  /** Grace period between SIGTERM and SIGKILL when stopping a worker. */
  stopGraceMs: number;
  /** Arm the parent-death signal on Linux (setpriv). */
  parentDeathSignal: boolean;
  /** How often idle timeouts are checked. */
  maintenanceIntervalMs: number;
  /** How often the reconciler compares the lists with the OS. */
  scanIntervalMs: number;
  /** `reclaim`: repair a leaked lease; `keep`: leave the worker marked, for inspection. */
  leakPolicy: LeakPolicy;
  /** Where the registry of our workers lives, for cleanup after a crash; null = none. */
  stateDir: string | null;
  /** Finished leases kept for the dashboard and the status endpoint. */
  historySize: number;
  /** How long a new worker may take to answer FCGI_GET_VALUES before it is used anyway; 0 = do not ask. */
  readyProbeTimeoutMs: number;
}

/** Defaults (src/shared/defaults.ts holds the values, for every consumer). */
export const defaultPoolOptions: Omit<PoolOptions, 'cwd'> = {
  phpCgi: DEFAULTS.phpCgi,
  ini: {},
  env: {},
  minWorkers: DEFAULTS.minWorkers,
  maxWorkers: DEFAULTS.maxWorkers,
  maxRequests: DEFAULTS.maxRequests,
  idleTimeoutMs: DEFAULTS.idleTimeoutMs,
  busyTimeoutMs: DEFAULTS.busyTimeoutMs,
  queueTimeoutMs: DEFAULTS.queueTimeoutMs,
  maxQueue: DEFAULTS.maxQueue,
  stopGraceMs: DEFAULTS.stopGraceMs,
  parentDeathSignal: true,
  maintenanceIntervalMs: DEFAULTS.maintenanceIntervalMs,
  scanIntervalMs: DEFAULTS.scanIntervalMs,
  leakPolicy: DEFAULTS.leakPolicy,
  stateDir: null,
  historySize: DEFAULTS.historySize,
  readyProbeTimeoutMs: DEFAULTS.readyProbeTimeoutMs,
};

/** The pool cannot serve at all (stopped, or php-cgi cannot start); `option` is the one to change, if one is at fault. */
export class PoolUnavailableError extends OptionError {
  constructor(message: string, option: OptionId | null = null) {
    super(message, option);
    this.name = 'PoolUnavailableError';
  }
}

/** Every worker is busy and the wait queue is full, or the wait ran out. */
export class PoolSaturatedError extends Error {
  constructor(
    readonly reason: 'queue-full' | 'queue-timeout',
    readonly waitedMs: number,
    readonly limits: { maxWorkers: number; maxQueue: number; queueTimeoutMs: number },
  ) {
    super(
      reason === 'queue-full'
        ? `all ${limits.maxWorkers} workers are busy and ${limits.maxQueue} requests are already waiting`
        : `all ${limits.maxWorkers} workers stayed busy for ${waitedMs} ms (queue timeout ${limits.queueTimeoutMs} ms)`,
    );
    this.name = 'PoolSaturatedError';
  }
}

/** A worker process and its place on the lists. */
class Worker implements ListNode<Worker> {
  prev: Worker | null = null;
  next: Worker | null = null;
  list: WorkerList<Worker> | null = null;

  state: WorkerState = 'starting';
  pid: number | null = null;
  child: ChildProcess | null = null;
  address = '';
  connection: FastCgiConnection | null = null;
  accesses = 0;
  readonly startedAt = Date.now();
  lastActiveAt = Date.now();
  lease: Lease | null = null;
  exitReason: WorkerExitReason | null = null;
  exit: ProcessExit | null = null;
  /** Resolves when the process has exited and been reaped. */
  exited: Promise<ProcessExit> | null = null;
  /** Kernel start time: with pid, the identity the reconciler checks. */
  startTime: number | null = null;
  /** The php-cgi that serves, when the worker is a wrapper that did not exec it. */
  serving: { pid: number; startTime: number; comm: string } | null = null;
  /** The OS says the process (or the php-cgi behind a wrapper) is gone or a zombie. */
  defunct = false;
  /** Under `keep`, the lease a finding is about, kept on the worker as evidence. */
  keptLease: LeaseSnapshot | null = null;
  /** The holder saw it die mid-request before its exit was reaped: the finding waits for the exit status. */
  diedDuringLease: { lease: LeaseSnapshot; detectedAt: number; processState: string | null } | null = null;

  constructor(readonly id: string) {}
}

/**
 * One worker lent to one request. The holder must call {@link Pool.release}
 * exactly once; the pool may end it first (busy timeout, worker death) and
 * then tells the holder through {@link LeaseHolder.revoke}.
 */
export class Lease {
  /** Set once the lease has ended, by its holder or by the pool. */
  endedAt = 0;
  endedBy: 'holder' | 'pool' | null = null;
  outcome: LeaseOutcome | null = null;
  firstByteAt = 0;
  /** @internal Links in the pool's busy-timeout queue (acquisition order = deadline order). */
  timedPrev: Lease | null = null;
  /** @internal */ timedNext: Lease | null = null;
  /** @internal */ timed = false;

  constructor(
    readonly id: string,
    /** @internal */ readonly worker: Worker,
    readonly request: LeaseRequestInfo,
    readonly holder: LeaseHolder,
    readonly queuedAt: number,
    readonly acquiredAt: number,
    /** @internal */ readonly pool: Pool,
  ) {}

  get workerId(): string {
    return this.worker.id;
  }

  get workerPid(): number | null {
    return this.worker.pid;
  }

  /** Whether the lease is still held. */
  get active(): boolean {
    return this.endedAt === 0;
  }

  /**
   * The worker's kept FastCGI connection (FCGI_KEEP_CONN): normally the one
   * its readiness probe opened; a new one if that closed. php-cgi drops a
   * new connection that sends nothing within 5 s, so a lost one is replaced
   * only when a request is ready to go.
   */
  async connection(): Promise<FastCgiConnection> {
    const worker = this.worker;
    if (worker.connection && worker.connection.isOpen) return worker.connection;
    const connection = await FastCgiConnection.connect(worker.address, { timeoutMs: 5_000 });
    if (!this.active || worker.lease !== this) {
      connection.destroy();
      throw new Error(`lease ${this.id} ended while connecting to worker ${worker.id}`);
    }
    keepConnection(worker, connection);
    return connection;
  }

  /**
   * The worker's kept connection if it is open, else null (then call
   * {@link connection}): lets the gateway send a request without a promise
   * when, as nearly always, the connection exists.
   */
  openConnection(): FastCgiConnection | null {
    const connection = this.worker.connection;
    return connection !== null && connection.isOpen && this.active && this.worker.lease === this ? connection : null;
  }

  /** The holder's description changed (its client left, say): the next snapshot shows it. */
  holderChanged(): void {
    if (this.active) this.pool.invalidateSnapshot();
  }

  /** Marks the moment the worker's first response byte arrived (for history and latency). */
  markFirstByte(): void {
    if (this.firstByteAt === 0) this.firstByteAt = Date.now();
  }

  /** How the leased worker's process ended, or null if it is still alive after `waitMs`. */
  workerExit(waitMs: number): Promise<ProcessExit | null> {
    return this.pool.waitForWorkerExit(this.worker, waitMs);
  }

  snapshot(): LeaseSnapshot {
    return Object.freeze({
      id: this.id,
      workerId: this.worker.id,
      method: this.request.method,
      uri: this.request.uri,
      scriptFilename: this.request.scriptFilename,
      clientAddress: this.request.clientAddress,
      holder: this.holder.description,
      queuedAt: this.queuedAt,
      acquiredAt: this.acquiredAt,
    });
  }
}

interface Waiter {
  request: LeaseRequestInfo;
  holder: LeaseHolder;
  queuedAt: number;
  resolve: (lease: Lease) => void;
  reject: (error: Error) => void;
  settled: boolean;
}

/**
 * The process manager: php-cgi workers on starting / idle / busy / draining /
 * error lists, leased one request at a time (php-cgi does not multiplex).
 *
 * Spawning after crashes is throttled with an exponential backoff rather than
 * mod_fcgid's score: a single crash is retried at once-ish (100 ms), a crash
 * loop settles at one attempt per 10 s, and the snapshot can say exactly when
 * the next attempt comes, which a score cannot.
 */
export class Pool {
  readonly options: PoolOptions;
  private state: PoolState = 'stopped';
  private problem: string | null = null;
  private problemOption: OptionId | null = null;
  private startedAt: number | null = null;
  private socketDir: string | null = null;

  private readonly starting = new WorkerList<Worker>('starting');
  private readonly idle = new WorkerList<Worker>('idle');
  private readonly busy = new WorkerList<Worker>('busy');
  private readonly draining = new WorkerList<Worker>('draining');
  private readonly errored = new WorkerList<Worker>('error');
  private readonly lists: Record<WorkerState, WorkerList<Worker>> = {
    starting: this.starting,
    idle: this.idle,
    busy: this.busy,
    draining: this.draining,
    error: this.errored,
  };

  /**
   * FIFO of waiters from waitersHead on; slots before it are nulled as they
   * are taken, so a served request is not kept alive (with its exchange,
   * body and promise) until the array is compacted.
   */
  private readonly waiters: Array<Waiter | null> = [];
  /** Queued waiters by holder, for {@link withdraw}. */
  private readonly waiting = new Map<LeaseHolder, Waiter>();
  /** One timer for the oldest live waiter's queue timeout (FIFO: the queue is in deadline order). */
  private queueTimer: NodeJS.Timeout | null = null;
  private waitersHead = 0;
  private liveWaiters = 0;

  private readonly backoff = new SpawnBackoff();
  private spawnTimer: NodeJS.Timeout | null = null;
  private maintenanceTimer: NodeJS.Timeout | null = null;
  private readonly exits = new Set<Promise<unknown>>();
  private readonly recentExits: WorkerExitRecord[] = [];
  private readonly findings = new FindingLog();
  private readonly history: LeaseHistory;
  private registry: WorkerRegistry | null = null;
  private scanTimer: NodeJS.Timeout | null = null;
  private scanning = false;
  private lastScanAt = 0;

  /** Active leases by deadline (all share busyTimeoutMs, so acquisition order); one timer for the head. */
  private timedHead: Lease | null = null;
  private timedTail: Lease | null = null;
  private busyTimer: NodeJS.Timeout | null = null;

  private nextWorkerId = 1;
  private nextLeaseId = 1;
  private version = 0;
  private cachedSnapshot: PoolSnapshot | null = null;
  private readonly listeners = new Set<(event: PoolEvent) => void>();
  /** Listeners that asked not to get the per-request events. */
  private readonly quietListeners = new Set<(event: PoolEvent) => void>();
  /** Listeners that do get them: the per-request events are built only when this is > 0. */
  private perRequestListeners = 0;

  private readonly totals = { requests: 0, spawned: 0, exited: 0, crashed: 0, queueRejected: 0, busyTimeouts: 0 };

  constructor(options: Partial<PoolOptions> & { cwd: string }) {
    this.options = { ...defaultPoolOptions, ...options };
    this.history = new LeaseHistory(this.options.historySize);
    const o = this.options;
    if (o.minWorkers < 0 || o.maxWorkers < 1 || o.minWorkers > o.maxWorkers) {
      throw new RangeError(`worker limits must satisfy 0 ≤ min (${o.minWorkers}) ≤ max (${o.maxWorkers}), max ≥ 1`);
    }
  }

  /**
   * Subscribes to pool events; events are delivered synchronously. With
   * `perRequest: false` the listener is spared the events every request
   * causes (lease-acquired, lease-released, idle⇄busy worker-state): building
   * them (two lease snapshots, two state events) costs ~15 µs per request, and
   * a consumer that only reports problems (the CLI without --events) does not
   * need them. The snapshot stays exact either way.
   */
  onEvent(listener: (event: PoolEvent) => void, options?: { perRequest?: boolean }): Disposable {
    if (this.listeners.has(listener)) return { dispose: () => this.removeListener(listener) };
    this.listeners.add(listener);
    if (options?.perRequest === false) this.quietListeners.add(listener);
    else this.perRequestListeners++;
    return { dispose: () => this.removeListener(listener) };
  }

  private removeListener(listener: (event: PoolEvent) => void): void {
    if (!this.listeners.delete(listener)) return;
    if (!this.quietListeners.delete(listener)) this.perRequestListeners--;
  }

  /** Starts the minimum number of workers; resolves once they answer (or failed). */
  async start(): Promise<void> {
    if (this.state !== 'stopped' && this.state !== 'failed') throw new Error(`pool is ${this.state}`);
    this.socketDir = createSocketDir();
    this.startedAt = Date.now();
    this.problem = null;
    this.setState('starting');
    if (this.options.stateDir) {
      this.registry = new WorkerRegistry(this.options.stateDir);
      const cleanup = await this.registry.cleanStale();
      if (cleanup.killed.length > 0 || cleanup.reusedPids.length > 0) {
        this.emit({ type: 'stale-workers-cleaned', killed: cleanup.killed.map((w) => w.pid), reusedPids: cleanup.reusedPids, stateDir: this.options.stateDir });
      }
    }
    // One worker at a time, each once the previous answers: php-cgi needs
    // ~15 ms of CPU to load before it accepts, and four loading at once on
    // two cores took ~50 ms each, all of it before the first request could
    // be served. Now the first worker serves while the next one loads.
    // Requests that arrive meanwhile wait in the queue and may start extra
    // workers on demand. The first request (the page the developer just
    // opened) also goes before the second worker loads: it would take its
    // CPU. That wait is at most 30 ms.
    const target = Math.min(this.options.minWorkers, this.options.maxWorkers);
    let first = true;
    while (this.liveCount < target && (this.state as PoolState) === 'starting') {
      await this.spawnOne();
      if (!first) continue;
      first = false;
      for (const until = Date.now() + 30; this.busy.size > 0 && Date.now() < until && (this.state as PoolState) === 'starting'; ) {
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
    if ((this.state as PoolState) === 'starting') this.setState('running');
    this.maintenanceTimer = setInterval(() => this.maintain(), this.options.maintenanceIntervalMs);
    this.maintenanceTimer.unref();
    this.lastScanAt = Date.now();
    if (this.options.scanIntervalMs > 0) {
      this.scanTimer = setInterval(() => void this.scan(), this.options.scanIntervalMs);
      this.scanTimer.unref();
    }
    if ((this.state as PoolState) === 'failed') throw new PoolUnavailableError(this.problem ?? 'pool failed to start', this.problemOption);
  }

  /**
   * Leases a worker: an idle one at once, else a new one if the limit allows,
   * else a place in the bounded wait queue. Rejects with
   * {@link PoolSaturatedError} when the queue is full or the wait runs out,
   * and with {@link PoolUnavailableError} when the pool cannot serve.
   */
  acquire(request: LeaseRequestInfo, holder: LeaseHolder, signal?: AbortSignal): Promise<Lease> {
    const queuedAt = Date.now();
    const lease = this.tryAcquire(request, holder, queuedAt);
    if (lease) return Promise.resolve(lease);
    if (this.state !== 'running' && this.state !== 'starting') {
      return Promise.reject(new PoolUnavailableError(this.unavailableMessage()));
    }
    this.ensureCapacity();
    if (this.liveWaiters >= this.options.maxQueue) {
      this.totals.queueRejected++;
      this.emit({ type: 'queue-rejected', reason: 'queue-full', waitedMs: 0, uri: request.uri });
      return Promise.reject(new PoolSaturatedError('queue-full', 0, this.options));
    }
    return new Promise<Lease>((resolve, reject) => {
      const waiter: Waiter = { request, holder, queuedAt, resolve, reject, settled: false };
      this.waiters.push(waiter);
      this.waiting.set(holder, waiter);
      this.liveWaiters++;
      if (this.queueTimer === null) this.armQueueTimer();
      this.changed();
      // A client that leaves while waiting gives its place up at once.
      signal?.addEventListener('abort', () => this.cancelWaiter(waiter), { once: true });
    });
  }

  /**
   * Gives up the queued {@link acquire} of `holder` (its client left): the
   * promise rejects and the place in the queue is freed. The cheap
   * alternative to an AbortSignal per request. Returns false if it was not
   * waiting.
   */
  withdraw(holder: LeaseHolder): boolean {
    const waiter = this.waiting.get(holder);
    if (waiter === undefined) return false;
    this.cancelWaiter(waiter);
    return true;
  }

  /** The synchronous fast path of {@link acquire}: a lease if a worker is idle now. */
  tryAcquire(request: LeaseRequestInfo, holder: LeaseHolder, queuedAt = Date.now()): Lease | null {
    if (this.state !== 'running' || this.liveWaiters > 0) return null;
    const worker = this.idle.popLast();
    if (!worker) return null;
    return this.lend(worker, request, holder, queuedAt);
  }

  /**
   * Ends a lease. Returns false if the lease had already ended: a second
   * release by its holder is reported as a `lease-protocol-error` event, never
   * silently ignored; a release after the pool revoked the lease is expected.
   */
  release(lease: Lease, outcome: LeaseOutcome): boolean {
    if (lease.pool !== this) {
      this.protocolError(lease, 'unknown-lease');
      return false;
    }
    if (lease.endedBy === 'pool') return false;
    if (lease.endedBy === 'holder') {
      this.protocolError(lease, 'double-release');
      return false;
    }
    const worker = lease.worker;
    // The holder saw the connection drop before the exit event came (a busy
    // event loop delays reaping): ask the OS now, so the finding never depends
    // on which of the two Node noticed first.
    const died = outcome === 'worker-died' && !worker.exit && worker.pid !== null ? inspectProcess(worker.pid, worker.startTime) : null;
    const diedSnapshot = died && died.status !== 'alive' ? lease.snapshot() : null;
    this.endLease(lease, outcome, 'holder');
    this.resolveWorkerFindings(worker, 'released', `lease ${lease.id} released by its holder (${outcome})`);
    if (died && died.status !== 'alive' && diedSnapshot) {
      // The finding waits for the exit status (it names the signal), dated now.
      worker.diedDuringLease = { lease: diedSnapshot, detectedAt: Date.now(), processState: died.status === 'zombie' ? died.stat.state : null };
      this.retire(worker, 'crashed', 'kill');
      return true;
    }
    if (worker.exit) {
      // Kept (policy keep) after its process had died: now it can go.
      this.dropExited(worker);
      return true;
    }
    if (worker.state !== 'busy') return true;
    if (outcome === 'ok') {
      if (this.options.maxRequests > 0 && worker.accesses >= this.options.maxRequests) {
        this.retire(worker, 'max-requests', 'graceful');
      } else {
        this.makeIdle(worker);
      }
    } else if (outcome === 'client-abort') {
      // The script may still be running; we cannot know when it ends, so the
      // worker is recycled rather than returned to the idle list under a lie.
      this.retire(worker, 'client-abort', 'graceful');
    } else if (outcome === 'timeout') {
      this.retire(worker, 'busy-timeout', 'kill');
    } else {
      this.retire(worker, outcome === 'worker-died' ? 'crashed' : 'connection-lost', 'kill');
    }
    return true;
  }

  /** Recycles a worker by id: graceful (finish the request first) or at once. */
  recycleWorker(workerId: string, mode: 'graceful' | 'kill'): boolean {
    const worker = this.findWorker(workerId);
    if (!worker || worker.state === 'error') return false;
    if (worker.exit) {
      // A defunct worker kept for inspection: its process is already gone.
      if (worker.lease) this.revoke(worker.lease, { kind: 'worker-exited', exit: worker.exit }, 'worker-died');
      this.resolveWorkerFindings(worker, 'worker-killed', 'removed by the developer');
      this.dropExited(worker);
      return true;
    }
    this.resolveWorkerFindings(worker, 'worker-killed', mode === 'kill' ? 'killed by the developer' : 'recycled by the developer');
    if (mode === 'graceful' && worker.state === 'busy') {
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
    const worker = this.allWorkers().find((w) => w.lease?.id === leaseId || w.keptLease?.id === leaseId);
    if (!worker) return false;
    if (worker.lease) this.revoke(worker.lease, { kind: 'worker-retired', reason: 'recycled-by-user' }, 'error');
    this.resolveWorkerFindings(worker, 'released', `lease ${leaseId} released by the developer`);
    if (worker.exit) this.dropExited(worker);
    else this.retire(worker, 'recycled-by-user', 'graceful');
    return true;
  }

  /** Stops every worker; resolves only when each has exited and been reaped. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.setState('stopping');
    if (this.maintenanceTimer) clearInterval(this.maintenanceTimer);
    if (this.spawnTimer) clearTimeout(this.spawnTimer);
    this.maintenanceTimer = this.spawnTimer = null;
    if (this.scanTimer) clearInterval(this.scanTimer);
    this.scanTimer = null;
    if (this.busyTimer) clearTimeout(this.busyTimer);
    this.busyTimer = null;
    this.rejectAllWaiters(new PoolUnavailableError('the pool is stopping'));
    for (const finding of this.findings.openFindings()) this.resolveFinding(finding, 'pool-stopped', 'the pool stopped');
    for (const worker of this.allWorkers()) {
      if (worker.exit) this.dropExited(worker);
      else if (worker.state !== 'starting') this.retire(worker, 'pool-stopping', 'graceful');
    }
    // Spawns in flight finish, see the stopping state and retire themselves.
    while (this.exits.size > 0) await Promise.allSettled([...this.exits]);
    if (this.socketDir) removeSocketDir(this.socketDir);
    this.socketDir = null;
    this.registry?.close();
    this.registry = null;
    this.setState('stopped');
  }

  /** The current immutable snapshot (cached until the next change). */
  snapshot(): PoolSnapshot {
    if (this.cachedSnapshot) return this.cachedSnapshot;
    const workers = this.allWorkers().map((worker) => this.workerSnapshot(worker));
    workers.sort((a, b) => a.startedAt - b.startedAt || compareIds(a.id, b.id));
    let oldest = 0;
    for (let i = this.waitersHead; i < this.waiters.length; i++) {
      const waiter = this.waiters[i] as Waiter;
      if (!waiter.settled) {
        oldest = Date.now() - waiter.queuedAt;
        break;
      }
    }
    const o = this.options;
    const snapshot: PoolSnapshot = {
      version: this.version,
      takenAt: Date.now(),
      state: this.state,
      problem: this.problem,
      startedAt: this.startedAt,
      limits: {
        minWorkers: o.minWorkers,
        maxWorkers: o.maxWorkers,
        maxRequests: o.maxRequests,
        idleTimeoutMs: o.idleTimeoutMs,
        busyTimeoutMs: o.busyTimeoutMs,
        queueTimeoutMs: o.queueTimeoutMs,
        maxQueue: o.maxQueue,
      },
      counts: {
        starting: this.starting.size,
        idle: this.idle.size,
        busy: this.busy.size,
        draining: this.draining.size,
        error: this.errored.size,
        total: this.starting.size + this.idle.size + this.busy.size + this.draining.size + this.errored.size,
      },
      workers,
      queue: { length: this.liveWaiters, oldestWaitMs: oldest },
      spawnBackoff: this.backoff.consecutiveCrashes > 0 ? { consecutiveCrashes: this.backoff.consecutiveCrashes, delayMs: this.backoff.delayMs() } : null,
      totals: { ...this.totals },
      recentExits: this.recentExits.slice(),
      findings: this.findings.all(),
      history: this.history.list(),
      leakPolicy: this.options.leakPolicy,
    };
    this.cachedSnapshot = deepFreeze(snapshot);
    return this.cachedSnapshot;
  }

  /** @internal Used by {@link Lease.workerExit}. */
  waitForWorkerExit(worker: Worker, waitMs: number): Promise<ProcessExit | null> {
    if (worker.exit) return Promise.resolve(worker.exit);
    if (!worker.exited) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), waitMs);
      void worker.exited?.then((exit) => {
        clearTimeout(timer);
        resolve(exit);
      });
    });
  }

  // ---------------------------------------------------------------- internals

  private lend(worker: Worker, request: LeaseRequestInfo, holder: LeaseHolder, queuedAt: number): Lease {
    const now = Date.now();
    const lease = new Lease(`L${this.nextLeaseId++}`, worker, request, holder, queuedAt, now, this);
    worker.lease = lease;
    worker.lastActiveAt = now;
    this.moveTo(worker, 'busy', null);
    if (this.options.busyTimeoutMs > 0) this.enqueueTimed(lease);
    this.totals.requests++;
    if (this.perRequestListeners > 0) this.emitPerRequest({ type: 'lease-acquired', lease: lease.snapshot(), waitedMs: now - queuedAt });
    return lease;
  }

  private endLease(lease: Lease, outcome: LeaseOutcome, by: 'holder' | 'pool'): void {
    lease.endedAt = Date.now();
    lease.endedBy = by;
    lease.outcome = outcome;
    if (lease.timed) this.dequeueTimed(lease);
    const worker = lease.worker;
    if (worker.lease === lease) worker.lease = null;
    worker.accesses++;
    worker.lastActiveAt = lease.endedAt;
    if (outcome === 'ok') this.backoff.recordSuccess();
    // Not frozen here: snapshot() deep-freezes what it hands out.
    this.history.add(
      ({
        id: lease.id,
        workerId: worker.id,
        pid: worker.pid,
        method: lease.request.method,
        uri: lease.request.uri,
        scriptFilename: lease.request.scriptFilename,
        clientAddress: lease.request.clientAddress,
        queuedAt: lease.queuedAt,
        acquiredAt: lease.acquiredAt,
        firstByteAt: lease.firstByteAt,
        releasedAt: lease.endedAt,
        outcome: historyOutcome(outcome),
      }),
    );
    this.changed();
    if (this.perRequestListeners > 0) {
      this.emitPerRequest({ type: 'lease-released', lease: lease.snapshot(), outcome, heldMs: lease.endedAt - lease.acquiredAt });
    }
  }

  /** The pool ends a lease on its own and tells the holder. */
  private revoke(lease: Lease, revocation: LeaseRevocation, outcome: LeaseOutcome): void {
    if (!lease.active) return;
    this.endLease(lease, outcome, 'pool');
    this.emit({ type: 'lease-revoked', lease: lease.snapshot(), revocation });
    try {
      lease.holder.revoke(revocation);
    } catch {
      // A faulty holder must not break the pool's bookkeeping.
    }
  }

  private enqueueTimed(lease: Lease): void {
    lease.timed = true;
    lease.timedPrev = this.timedTail;
    lease.timedNext = null;
    if (this.timedTail) this.timedTail.timedNext = lease;
    else this.timedHead = lease;
    this.timedTail = lease;
    if (this.busyTimer === null) this.armBusyTimer();
  }

  private dequeueTimed(lease: Lease): void {
    lease.timed = false;
    if (lease.timedPrev) lease.timedPrev.timedNext = lease.timedNext;
    else this.timedHead = lease.timedNext;
    if (lease.timedNext) lease.timedNext.timedPrev = lease.timedPrev;
    else this.timedTail = lease.timedPrev;
    lease.timedPrev = lease.timedNext = null;
    // The timer stays armed: if it fires early for a new head, it re-arms.
  }

  /** One timer for the oldest active lease's deadline. */
  private armBusyTimer(): void {
    const head = this.timedHead;
    if (head === null) {
      this.busyTimer = null;
      return;
    }
    const wait = Math.max(0, head.acquiredAt + this.options.busyTimeoutMs - Date.now());
    this.busyTimer = setTimeout(this.onBusyTimer, wait);
    this.busyTimer.unref();
  }

  private readonly onBusyTimer = (): void => {
    this.busyTimer = null;
    const now = Date.now();
    let head = this.timedHead;
    while (head !== null && head.acquiredAt + this.options.busyTimeoutMs <= now) {
      this.dequeueTimed(head);
      this.busyTimeout(head);
      head = this.timedHead;
    }
    if (this.busyTimer === null) this.armBusyTimer();
  };

  private busyTimeout(lease: Lease): void {
    if (!lease.active) return;
    this.totals.busyTimeouts++;
    const worker = lease.worker;
    const now = Date.now();
    const snapshot = lease.snapshot();
    const finding = this.addFinding(`busy-timeout:${lease.id}`, 'busy-timeout', worker, {
      lease: snapshot,
      detectionLatencyMs: now - (lease.acquiredAt + this.options.busyTimeoutMs),
      message: `worker ${worker.id} (pid ${worker.pid ?? '?'}) has been busy with ${describeRequest(snapshot)} for ${formatMs(now - lease.acquiredAt)}, past the busy timeout of ${formatMs(this.options.busyTimeoutMs)}`,
    });
    // The client is answered (504) under either policy: nobody waits for ever.
    this.revoke(lease, { kind: 'busy-timeout', timeoutMs: this.options.busyTimeoutMs }, 'timeout');
    if (this.options.leakPolicy === 'keep') {
      // Left as it is (perhaps stopped in a debugger or hung) for inspection.
      worker.keptLease = snapshot;
      this.changed();
      return;
    }
    // A hung or stopped script ignores SIGTERM, so the worker is killed.
    this.retire(worker, 'busy-timeout', 'kill');
    if (finding) this.resolveFinding(finding, 'reclaimed', 'the client got 504; the worker was killed and replaced');
  }

  private makeIdle(worker: Worker): void {
    if (this.state !== 'running' && this.state !== 'starting') {
      this.retire(worker, 'pool-stopping', 'graceful');
      return;
    }
    const waiter = this.nextWaiter();
    if (waiter) {
      waiter.resolve(this.lend(worker, waiter.request, waiter.holder, waiter.queuedAt));
      return;
    }
    this.moveTo(worker, 'idle', null);
  }

  private nextWaiter(): Waiter | null {
    while (this.waitersHead < this.waiters.length) {
      const waiter = this.waiters[this.waitersHead] as Waiter;
      this.waiters[this.waitersHead++] = null;
      if (this.waitersHead === this.waiters.length) {
        this.waiters.length = 0;
        this.waitersHead = 0;
      } else if (this.waitersHead > 256 && this.waitersHead * 2 > this.waiters.length) {
        this.waiters.splice(0, this.waitersHead);
        this.waitersHead = 0;
      }
      if (waiter.settled) continue;
      waiter.settled = true;
      this.waiting.delete(waiter.holder);
      this.liveWaiters--;
      return waiter;
    }
    return null;
  }

  private armQueueTimer(): void {
    for (let i = this.waitersHead; i < this.waiters.length; i++) {
      const waiter = this.waiters[i] as Waiter;
      if (waiter.settled) continue;
      this.queueTimer = setTimeout(this.onQueueTimer, Math.max(0, waiter.queuedAt + this.options.queueTimeoutMs - Date.now()));
      this.queueTimer.unref();
      return;
    }
    this.queueTimer = null;
  }

  private readonly onQueueTimer = (): void => {
    this.queueTimer = null;
    const now = Date.now();
    for (let i = this.waitersHead; i < this.waiters.length; i++) {
      const waiter = this.waiters[i] as Waiter;
      if (waiter.settled) continue;
      if (waiter.queuedAt + this.options.queueTimeoutMs > now) break;
      this.expireWaiter(waiter);
    }
    if (this.queueTimer === null) this.armQueueTimer();
  };

  private expireWaiter(waiter: Waiter): void {
    if (waiter.settled) return;
    waiter.settled = true;
    this.waiting.delete(waiter.holder);
    this.liveWaiters--;
    const waitedMs = Date.now() - waiter.queuedAt;
    this.totals.queueRejected++;
    this.changed();
    this.emit({ type: 'queue-rejected', reason: 'queue-timeout', waitedMs, uri: waiter.request.uri });
    waiter.reject(new PoolSaturatedError('queue-timeout', waitedMs, this.options));
  }

  private cancelWaiter(waiter: Waiter): void {
    if (waiter.settled) return;
    waiter.settled = true;
    this.waiting.delete(waiter.holder);
    this.liveWaiters--;
    this.changed();
    waiter.reject(new Error('the client went away while waiting for a worker'));
  }

  private rejectAllWaiters(error: Error): void {
    let waiter: Waiter | null;
    while ((waiter = this.nextWaiter())) waiter.reject(error);
    if (this.queueTimer) clearTimeout(this.queueTimer);
    this.queueTimer = null;
    this.changed();
  }

  /** Workers alive or on their way (not yet on the error list). */
  private get liveCount(): number {
    return this.starting.size + this.idle.size + this.busy.size + this.draining.size;
  }

  /** Spawns workers for waiters and the minimum, within the limits and the backoff. */
  private ensureCapacity(): void {
    if (this.state !== 'running' && this.state !== 'starting') return;
    if (this.spawnTimer) return;
    // While start() brings the pool up to its minimum, only demand spawns here.
    const floor = this.state === 'starting' ? 0 : this.options.minWorkers - this.liveCount;
    const wanted = Math.max(floor, this.liveWaiters + 1 - this.idle.size - this.starting.size);
    const room = this.options.maxWorkers - this.liveCount;
    const count = Math.min(wanted, room);
    if (count <= 0) return;
    const delay = this.backoff.delayMs();
    if (delay > 0 && this.backoff.nextAllowedAt > Date.now()) {
      const wait = this.backoff.nextAllowedAt - Date.now();
      this.spawnTimer = setTimeout(() => {
        this.spawnTimer = null;
        this.ensureCapacity();
      }, wait);
      this.spawnTimer.unref();
      this.emit({ type: 'spawn-throttled', delayMs: wait, consecutiveCrashes: this.backoff.consecutiveCrashes });
      return;
    }
    // After a crash, probe with one worker until one survives.
    const n = this.backoff.consecutiveCrashes > 0 ? Math.min(count, 1) : count;
    for (let i = 0; i < n; i++) void this.spawnOne();
  }

  private async spawnOne(): Promise<void> {
    const worker = new Worker(`w${this.nextWorkerId++}`);
    this.starting.push(worker);
    this.changed();
    this.emit({ type: 'worker-starting', workerId: worker.id });
    this.backoff.recordAttempt();
    let settle!: () => void;
    const tracked = new Promise<void>((resolve) => (settle = resolve));
    this.exits.add(tracked);
    try {
      const spawned = await spawnWorker({
        command: this.options.phpCgi,
        args: iniArgs(this.options.ini),
        env: workerEnvironment(process.env, this.options.env),
        cwd: this.options.cwd,
        socketDir: this.socketDir as string,
        name: worker.id,
        parentDeathSignal: this.options.parentDeathSignal,
      });
      worker.pid = spawned.pid;
      worker.child = spawned.child;
      worker.address = spawned.address;
      worker.startTime = readStat(spawned.pid)?.startTime ?? null;
      if (worker.startTime !== null) {
        this.registry?.add({ pid: spawned.pid, startTime: worker.startTime, pgid: spawned.pid, socketPath: spawned.address });
      }
      this.totals.spawned++;
      this.changed(); // the pid shows while php-cgi loads
      worker.exited = new Promise<ProcessExit>((resolve) => {
        spawned.child.once('exit', (code, signal) => {
          const exit = { code, signal };
          this.onWorkerExit(worker, exit);
          resolve(exit);
        });
      });
      spawned.child.stderr?.setEncoding('utf8');
      spawned.child.stderr?.on('data', (text: string) => {
        this.emit({ type: 'worker-stderr', workerId: worker.id, pid: spawned.pid, text });
      });
      this.exits.add(worker.exited);
      void worker.exited.then(() => this.exits.delete(worker.exited as Promise<ProcessExit>));
      await this.awaitAccepting(worker);
      if (worker.state !== 'starting') return; // it died (or the pool stopped) while loading
      this.emit({ type: 'worker-ready', workerId: worker.id, pid: spawned.pid });
      if (this.state === 'stopping' || this.state === 'stopped') {
        this.retire(worker, 'pool-stopping', 'graceful');
      } else if (worker.state === 'starting') {
        this.makeIdle(worker);
      }
    } catch (error) {
      this.starting.remove(worker);
      const code = error instanceof WorkerSpawnError ? (error.code ?? null) : null;
      const message = error instanceof Error ? error.message : String(error);
      this.emit({ type: 'spawn-failed', workerId: worker.id, error: message, code });
      this.changed();
      if (code === 'ENOENT' || code === 'EACCES' || code === 'ENOSYS') {
        // A wrong path will not fix itself: fail once, clearly, without a spawn loop.
        this.fail(`${message}. Install php-cgi (Debian/Ubuntu: sudo apt-get install php-cgi) or set the path to php-cgi`, 'phpCgi');
      } else {
        this.backoff.recordCrash();
        this.ensureCapacity();
      }
    } finally {
      settle();
      this.exits.delete(tracked);
    }
  }

  /**
   * Waits until the new worker answers FCGI_GET_VALUES: php-cgi loads its
   * extensions for 15–40 ms before it first calls accept(), and a request
   * sent to it meanwhile just waits. Until it answers, the worker stays on
   * the starting list (the truth), so the first request goes to a worker
   * that is really there, not to the newest spawn. The connection is kept
   * as the worker's FastCGI connection (php-cgi keeps it open after the
   * reply and serves requests on it). A worker that cannot answer (it died;
   * a wrapper that is not php-cgi) goes on as before after at most
   * `readyProbeTimeoutMs`; its exit, if any, is handled by the exit path.
   */
  private async awaitAccepting(worker: Worker): Promise<void> {
    const timeoutMs = this.options.readyProbeTimeoutMs;
    if (timeoutMs <= 0 || worker.address === '') return;
    let connection: FastCgiConnection | null = null;
    try {
      connection = await FastCgiConnection.connect(worker.address, { timeoutMs });
      await connection.getValues(['FCGI_MPXS_CONNS'], timeoutMs);
    } catch {
      connection?.destroy();
      return;
    }
    if (worker.state !== 'starting' || worker.connection !== null) {
      connection.destroy();
      return;
    }
    keepConnection(worker, connection);
  }

  private onWorkerExit(worker: Worker, exit: ProcessExit): void {
    worker.exit = exit;
    worker.connection?.destroy();
    worker.connection = null;
    const expected = worker.state === 'error' || worker.state === 'draining';
    const reason: WorkerExitReason = expected && worker.exitReason ? worker.exitReason : 'crashed';
    const uptimeMs = Date.now() - worker.startedAt;
    if (!expected) {
      this.totals.crashed++;
      // An exit before serving anything counts toward the crash backoff.
      if (worker.accesses === 0) this.backoff.recordCrash();
    }
    this.totals.exited++;
    this.registry?.remove(worker.pid as number);
    const died = worker.diedDuringLease;
    if (died) {
      worker.diedDuringLease = null;
      const finding = this.addFinding(`defunct-busy:${died.lease.id}`, 'defunct-busy', worker, {
        lease: died.lease,
        exit,
        processState: died.processState,
        detectedAt: died.detectedAt,
        detectionLatencyMs: 0,
        message: `worker ${worker.id} (pid ${worker.pid ?? '?'}) ${describeExit(exit)} while serving ${describeRequest(died.lease)} (lease ${died.lease.id}, ${formatMs(died.detectedAt - died.lease.acquiredAt)})`,
      });
      if (finding) this.resolveFinding(finding, 'reclaimed', 'lease ended, worker reaped and replaced');
    }
    const lease = worker.lease;
    if (lease) {
      // The seed bug: a worker died while its lease is still held.
      const snapshot = lease.snapshot();
      const finding = this.addFinding(`defunct-busy:${lease.id}`, 'defunct-busy', worker, {
        lease: snapshot,
        exit,
        detectionLatencyMs: 0,
        message: `worker ${worker.id} (pid ${worker.pid ?? '?'}) ${describeExit(exit)} while serving ${describeRequest(snapshot)} (lease ${lease.id}, ${formatMs(Date.now() - lease.acquiredAt)})`,
      });
      if (this.options.leakPolicy === 'keep') {
        // Stays on the busy list, marked, until its holder releases it or a
        // developer acts: the process table and the snapshot agree it is gone.
        worker.defunct = true;
        worker.exitReason = 'crashed';
        this.recordExit(worker, exit, 'crashed', uptimeMs);
        this.changed();
        this.emit({ type: 'worker-exited', workerId: worker.id, pid: worker.pid as number, exit, reason: 'crashed', uptimeMs, accesses: worker.accesses });
        return;
      }
      this.revoke(lease, { kind: 'worker-exited', exit }, 'worker-died');
      if (finding) this.resolveFinding(finding, 'reclaimed', 'lease ended, worker reaped and replaced');
    }
    this.resolveWorkerFindings(worker, 'worker-exited', `the process ${describeExit(exit)}`);
    // Reaped: it is no longer a process, so it leaves every list (mod_fcgid's
    // error → free); the exit stays visible in `recentExits`.
    worker.list?.remove(worker);
    worker.exitReason = reason;
    worker.state = 'error';
    this.recordExit(worker, exit, reason, uptimeMs);
    this.changed();
    this.emit({ type: 'worker-exited', workerId: worker.id, pid: worker.pid as number, exit, reason, uptimeMs, accesses: worker.accesses });
    this.ensureCapacity();
  }

  /**
   * Takes a worker out of service. `graceful`: SIGTERM (php-cgi finishes a
   * running request), SIGKILL after the grace period; `kill`: SIGKILL now.
   */
  private retire(worker: Worker, reason: WorkerExitReason, mode: 'graceful' | 'kill'): void {
    if (worker.state === 'error') return;
    if (worker.lease) {
      const revocation: LeaseRevocation = reason === 'pool-stopping' ? { kind: 'pool-stopping' } : { kind: 'worker-retired', reason };
      this.revoke(worker.lease, revocation, reason === 'pool-stopping' ? 'pool-stopping' : 'error');
    }
    this.moveTo(worker, 'error', reason);
    worker.connection?.destroy();
    worker.connection = null;
    const child = worker.child;
    if (child && !worker.exit) {
      const stopping = mode === 'kill' ? killProcessGroup(child) : stopProcessGroup(child, this.options.stopGraceMs);
      stopping.catch(() => undefined);
    }
    this.ensureCapacity();
  }

  private moveTo(worker: Worker, to: WorkerState, reason: WorkerExitReason | null): void {
    const from = worker.state;
    worker.state = to;
    if (reason) worker.exitReason = reason;
    this.lists[to].push(worker);
    this.changed();
    if (from !== to && this.listeners.size > 0) {
      // idle ⇄ busy happens twice per request: only for listeners that want per-request events.
      const perRequest = (from === 'idle' && to === 'busy') || (from === 'busy' && to === 'idle');
      if (!perRequest) this.emit({ type: 'worker-state', workerId: worker.id, pid: worker.pid, from, to, reason });
      else if (this.perRequestListeners > 0) this.emitPerRequest({ type: 'worker-state', workerId: worker.id, pid: worker.pid, from, to, reason });
    }
  }

  /** Idle timeout above the minimum: the least recently used go first. */
  private maintain(): void {
    const now = Date.now();
    if (this.options.idleTimeoutMs > 0) {
      let worker = this.idle.first();
      while (worker && this.liveCount > this.options.minWorkers) {
        const next: Worker | null = worker.next;
        if (now - worker.lastActiveAt >= this.options.idleTimeoutMs) this.retire(worker, 'idle-timeout', 'graceful');
        worker = next;
      }
    }
    this.ensureCapacity();
  }

  // ------------------------------------------------------------ reconciler

  /**
   * Compares every worker with what the OS says: process alive, zombie or
   * gone (pid *and* start time), the php-cgi behind a wrapper, defunct
   * descendants, and whether each lease's holder still exists. Runs on an
   * interval and works in slices, yielding to the event loop between them,
   * so that even hundreds of workers never stall request handling.
   */
  async scan(): Promise<void> {
    if (this.scanning || (this.state !== 'running' && this.state !== 'starting')) return;
    this.scanning = true;
    const previousScanAt = this.lastScanAt;
    try {
      const workers = this.allWorkers();
      for (let i = 0; i < workers.length; i += SCAN_SLICE) {
        if (i > 0) await new Promise((resolve) => setImmediate(resolve));
        for (const worker of workers.slice(i, i + SCAN_SLICE)) this.reconcile(worker, previousScanAt);
      }
    } finally {
      this.lastScanAt = Date.now();
      this.scanning = false;
    }
  }

  private reconcile(worker: Worker, previousScanAt: number): void {
    if (worker.pid === null || worker.exit || worker.list === null) return;
    const truth = inspectProcess(worker.pid, worker.startTime);
    if (truth.status !== 'alive') {
      this.markDefunct(worker, truth, null, previousScanAt);
      return;
    }
    if (truth.stat.comm === 'setpriv') return; // still on its way to exec php-cgi
    const descendants = descendantsOf(worker.pid);
    if (!worker.serving && !isPhp(truth.stat.comm)) {
      // A wrapper that did not exec php-cgi: remember the php-cgi it started.
      const php = descendants.find((d) => isPhp(d.comm) && d.state !== 'Z');
      if (php) {
        worker.serving = { pid: php.pid, startTime: php.startTime, comm: php.comm };
        this.changed();
      }
    }
    if (worker.serving) {
      const served = inspectProcess(worker.serving.pid, worker.serving.startTime);
      if (served.status !== 'alive') {
        this.markDefunct(worker, served, worker.serving, previousScanAt);
        return;
      }
    }
    for (const descendant of descendants) {
      const key = `zombie-descendant:${descendant.pid}:${descendant.startTime}`;
      if (descendant.state !== 'Z' || this.findings.hasOpen(key)) continue;
      this.addFinding(key, 'zombie-descendant', worker, {
        descendant: { pid: descendant.pid, comm: descendant.comm, state: descendant.state },
        processState: truth.stat.state,
        lease: worker.lease?.snapshot() ?? null,
        detectionLatencyMs: Date.now() - previousScanAt,
        message: `${descendant.comm} (pid ${descendant.pid}), a descendant of worker ${worker.id} (pid ${worker.pid}), is defunct: its parent has not reaped it`,
      });
    }
    // A zombie descendant that is gone now has been reaped.
    for (const finding of this.findings.openFor(worker.id)) {
      if (finding.kind !== 'zombie-descendant' || !finding.descendant) continue;
      const still = descendants.some((d) => d.pid === finding.descendant?.pid && d.state === 'Z');
      if (!still) this.resolveFinding(finding, 'descendant-reaped', `pid ${finding.descendant.pid} was reaped`);
    }
    const lease = worker.lease;
    if (lease && lease.holder.isActive?.() === false) {
      const snapshot = lease.snapshot();
      const finding = this.addFinding(`holder-gone:${lease.id}`, 'holder-gone', worker, {
        lease: snapshot,
        processState: truth.stat.state,
        detectionLatencyMs: Date.now() - previousScanAt,
        message: `${lease.holder.description} ended without releasing lease ${lease.id} on worker ${worker.id} (pid ${worker.pid}) for ${describeRequest(snapshot)} (held ${formatMs(Date.now() - lease.acquiredAt)})`,
      });
      if (finding && this.options.leakPolicy === 'reclaim') {
        this.endLease(lease, 'leaked', 'pool');
        // Its request may still run: recycle rather than reuse.
        this.retire(worker, 'connection-lost', 'graceful');
        this.resolveFinding(finding, 'reclaimed', 'lease ended as leaked; the worker was recycled');
      } else if (finding) {
        worker.keptLease = snapshot;
      }
    }
  }

  /** The process (or the php-cgi behind a wrapper) is gone or a zombie. */
  private markDefunct(worker: Worker, truth: Exclude<ProcessTruth, { status: 'alive' }>, served: Worker['serving'], previousScanAt: number): void {
    const lease = worker.lease;
    const state = truth.status === 'zombie' ? truth.stat.state : null;
    const what = served ? `its ${served.comm} (pid ${served.pid})` : `its process`;
    const how = truth.status === 'zombie' ? 'is defunct (zombie)' : truth.reused ? 'is gone (the pid now belongs to another process)' : 'is gone';
    if (lease) {
      const snapshot = lease.snapshot();
      const finding = this.addFinding(`defunct-busy:${lease.id}`, 'defunct-busy', worker, {
        lease: snapshot,
        processState: state,
        descendant: served ? { pid: served.pid, comm: served.comm, state: state ?? 'gone' } : null,
        detectionLatencyMs: Date.now() - previousScanAt,
        message: `worker ${worker.id} (pid ${worker.pid}): ${what} ${how} while serving ${describeRequest(snapshot)} (lease ${lease.id}, ${formatMs(Date.now() - lease.acquiredAt)})`,
      });
      if (this.options.leakPolicy === 'keep') {
        if (!worker.defunct) {
          worker.defunct = true;
          this.changed();
        }
        return;
      }
      this.revoke(lease, { kind: 'worker-retired', reason: 'crashed' }, 'worker-died');
      this.retire(worker, 'crashed', 'kill');
      if (finding) this.resolveFinding(finding, 'reclaimed', 'lease ended; the worker group was killed and replaced');
      return;
    }
    // Idle (or starting, draining) and dead: it leaves its list now, not
    // whenever its exit event comes.
    this.retire(worker, 'crashed', 'kill');
  }

  private addFinding(
    key: string,
    kind: FindingKind,
    worker: Worker | null,
    fields: Partial<Omit<Finding, 'id' | 'kind' | 'resolution'>> & { message: string },
  ): Finding | null {
    const finding = this.findings.add(key, {
      kind,
      workerId: worker?.id ?? null,
      pid: worker?.pid ?? null,
      exit: worker?.exit ?? null,
      processState: null,
      lease: null,
      descendant: null,
      detectionLatencyMs: null,
      detectedAt: Date.now(),
      ...fields,
    });
    if (!finding) return null;
    this.changed();
    this.emit({ type: 'finding', finding });
    return finding;
  }

  private resolveFinding(finding: Finding, how: FindingResolution['how'], detail: string): void {
    const done = this.findings.resolve(finding.id, how, detail);
    if (!done) return;
    this.changed();
    this.emit({ type: 'finding-resolved', finding: done });
  }

  private resolveWorkerFindings(worker: Worker, how: FindingResolution['how'], detail: string): void {
    for (const finding of this.findings.openFor(worker.id)) this.resolveFinding(finding, how, detail);
    if (worker.keptLease) {
      worker.keptLease = null;
      this.changed();
    }
  }

  private protocolError(lease: Lease, problem: 'double-release' | 'unknown-lease'): void {
    this.emit({ type: 'lease-protocol-error', leaseId: lease.id, workerId: lease.pool === this ? lease.workerId : null, problem, holder: lease.holder.description });
    const finding = this.addFinding(`lease-protocol:${lease.id}:${Date.now()}:${Math.random()}`, 'lease-protocol', lease.pool === this ? lease.worker : null, {
      lease: lease.snapshot(),
      detectionLatencyMs: 0,
      message:
        problem === 'double-release'
          ? `lease ${lease.id} was released a second time by ${lease.holder.description}; the second release was ignored and the counts are unchanged`
          : `${lease.holder.description} released lease ${lease.id}, which this pool never issued; ignored`,
    });
    if (finding) this.resolveFinding(finding, 'released', 'ignored: the lease had already ended');
  }

  /** Takes a worker whose process has exited off every list. */
  private dropExited(worker: Worker): void {
    worker.defunct = false;
    worker.keptLease = null;
    worker.list?.remove(worker);
    worker.state = 'error';
    this.changed();
    this.ensureCapacity();
  }

  private recordExit(worker: Worker, exit: ProcessExit, reason: WorkerExitReason, uptimeMs: number): void {
    this.recentExits.push({ workerId: worker.id, pid: worker.pid as number, exit, reason, exitedAt: Date.now(), uptimeMs, accesses: worker.accesses });
    if (this.recentExits.length > 20) this.recentExits.shift();
  }

  private fail(problem: string, option: OptionId | null = null): void {
    this.problem = problem;
    this.problemOption = option;
    this.rejectAllWaiters(new PoolUnavailableError(problem, option));
    this.setState('failed');
  }

  private unavailableMessage(): string {
    if (this.state === 'failed') return this.problem ?? 'the pool has failed';
    return `the pool is ${this.state}`;
  }

  private findWorker(id: string): Worker | null {
    return this.allWorkers().find((worker) => worker.id === id) ?? null;
  }

  /** Every worker on any list, copied so that callers may move them. */
  private allWorkers(): Worker[] {
    const workers: Worker[] = [];
    for (const list of Object.values(this.lists)) workers.push(...list);
    return workers;
  }

  private workerSnapshot(worker: Worker): WorkerSnapshot {
    return {
      id: worker.id,
      pid: worker.pid,
      state: worker.state,
      accesses: worker.accesses,
      startedAt: worker.startedAt,
      lastActiveAt: worker.lastActiveAt,
      lease: worker.lease ? worker.lease.snapshot() : worker.keptLease,
      exitReason: worker.exitReason,
      exit: worker.exit,
      findingIds: this.findings.openFor(worker.id).map((f) => f.id),
      defunct: worker.defunct,
      servingPid: worker.serving && worker.serving.pid !== worker.pid ? worker.serving.pid : null,
    };
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

  /** @internal Something a snapshot shows changed outside the pool (see Lease.holderChanged). */
  invalidateSnapshot(): void {
    this.changed();
  }

  private emitPerRequest(event: PoolEvent): void {
    for (const listener of this.listeners) {
      if (this.quietListeners.has(listener)) continue;
      try {
        listener(event);
      } catch {
        // One consumer's bug must not stop the others or the pool.
      }
    }
  }

  private emit(event: PoolEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // One consumer's bug must not stop the others or the pool.
      }
    }
  }
}

/** The workers' `-d` arguments: the engine's ini defaults (DEFAULTS.workerIni), each unless the user's own `ini` sets that name. */
function iniArgs(ini: Readonly<Record<string, string>>): string[] {
  const args: string[] = [];
  for (const [name, value] of Object.entries({ ...DEFAULTS.workerIni, ...ini })) args.push('-d', `${name}=${value}`);
  return args;
}

function compareIds(a: string, b: string): number {
  return Number(a.slice(1)) - Number(b.slice(1));
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value as Record<string, unknown>)) deepFreeze(inner);
  }
  return value;
}

/** How many workers one scan slice inspects before yielding to the event loop. */
const SCAN_SLICE = 32;

/** php-cgi, php-cgi8.2, php8.2 — but not a wrapper script named php-fastcgi-wrapper. */
function isPhp(comm: string): boolean {
  return /^php(-cgi)?[\d.]*$/.test(comm);
}

/** Makes `connection` the worker's kept one, forgotten when it closes. */
function keepConnection(worker: Worker, connection: FastCgiConnection): void {
  worker.connection = connection;
  connection.once('close', () => {
    if (worker.connection === connection) worker.connection = null;
  });
}

function historyOutcome(outcome: LeaseOutcome): LeaseHistoryEntry['outcome'] {
  switch (outcome) {
    case 'ok':
    case 'client-abort':
    case 'worker-died':
    case 'timeout':
    case 'leaked':
      return outcome;
    default:
      return 'error';
  }
}

/** `GET /api/users (index.php)`. */
function describeRequest(lease: LeaseSnapshot): string {
  return `${lease.method} ${lease.uri} (${lease.scriptFilename})`;
}


function formatMs(ms: number): string {
  return ms < 1_000 ? `${Math.max(0, Math.round(ms))} ms` : `${(ms / 1_000).toFixed(1)} s`;
}
