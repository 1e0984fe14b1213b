import { canonicalFrame, type LeaseStack, type StackStatus } from '../shared/stackTypes';
import { BusyDeadlines } from './busyDeadlines';
import * as drafts from './findingBuilder';
import type { PoolFindings } from './findings';
import type { StackCheck, WorkerConnection, WorkerStacks } from './host';
import { LENT_WORKER, type Lease } from './lease';
import type { LeaseHolder, LeaseOutcome, LeaseRequestInfo, PoolEvent } from './types';
import type { Worker } from './worker';
import type { WorkerList } from './workerList';

/** Leases younger than this are not read on the schedule: nearly every request ends before. */
export const SAMPLE_AFTER_MS = 1_000;
/** On the schedule, a worker is read at most this often. */
export const SAMPLE_EVERY_MS = 1_000;
/** How often the schedule looks for leases due for a read (a read is due at most this late). */
export const SAMPLE_TICK_MS = 250;
/** CPU-time readings one tick takes at most (each is a /proc read): the rest wait for the next tick. */
const CPU_READS_PER_TICK = 32;
/**
 * The canary waits until no lease has started or ended for this long: it
 * runs when the developer is not using the pool, and delays nobody's request
 * (one that comes meanwhile waits the few milliseconds it takes, rather than
 * starting a worker).
 */
export const CANARY_QUIET_MS = 1_000;

/** What the watch needs of the pool. */
export interface StackWatchPool<C extends WorkerConnection> {
  /** The lists whose workers may hold a running lease (or, under `keep`, a kept one). */
  readonly busy: WorkerList<Worker<C>>;
  readonly draining: WorkerList<Worker<C>>;
  /** Idle workers: their CPU time, read on the tick, is the next lease's baseline. */
  readonly idle: WorkerList<Worker<C>>;
  /** Lends an idle worker to the pool's own request (it counts in nothing); null if none is idle or requests wait. */
  lendInternal(request: LeaseRequestInfo, holder: LeaseHolder): Lease<C> | null;
  release(lease: Lease<C>, outcome: LeaseOutcome): boolean;
  isRunning(): boolean;
  changed(): void;
  emit(event: PoolEvent): void;
}

const CHECKING: StackStatus = Object.freeze({ state: 'checking', reason: null });

/**
 * When the pool reads where its busy workers are (issue 13): the PHP stack
 * and the wait reason of a worker, through the host's {@link WorkerStacks}.
 *
 * - At start, the canary: a script of the host's own with a known call chain
 *   runs as a request on a leased worker, once the pool has been quiet for a
 *   moment (it delays no request); its stack must read back exactly, or stack
 *   reading turns off with one `stacks-status` event and nothing else changes.
 * - On demand: {@link read} (one worker), {@link readAll} (every leased one).
 * - Past the slowlog timeout: a `slow-request` finding with the stack, once per lease.
 * - Just before a busy-timeout kill: {@link read}, called by the pool.
 * - For leases older than {@link SAMPLE_AFTER_MS}, at most once per
 *   {@link SAMPLE_EVERY_MS} per worker, so that a `defunct-busy` finding can
 *   carry the last stack seen before the worker died.
 *
 * A read is synchronous and short (≤ 1 ms for 20 frames; a CPU-busy worker is
 * stopped and continued within it). Scheduled reads run one per event-loop
 * turn, so that sixteen busy workers never add up to one long stall.
 *
 * A request's path costs nothing here but a few field writes: a lease's CPU
 * baseline (for the wait reason's `cpuMs`) is read on the tick, not when the
 * lease starts (a /proc read costs 30–100 µs, more than a whole lease). The
 * tick reads idle workers' CPU time, which is exact for their next lease (an
 * idle php-cgi uses none); a lease that starts on a worker not read since its
 * last request gets its baseline at the next tick or read, at most a tick
 * late (its first ≤ 250 ms of CPU are then not counted).
 */
export class StackWatch<C extends WorkerConnection> {
  private current: StackStatus = CHECKING;
  private readonly slow: BusyDeadlines<Lease<C>> | null;
  private stopped = true;
  private tick: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private readonly due: Array<Worker<C>> = [];
  private canaryTimer: NodeJS.Timeout | null = null;
  private lastActivityAt = 0;
  /** Workers lent to the canary right now (0 or 1). */
  canaryWorkers = 0;
  private readonly checked: Array<(status: StackStatus) => void> = [];

  constructor(
    private readonly host: WorkerStacks<C> | null,
    private readonly slowlogTimeoutMs: number,
    private readonly findings: PoolFindings,
    private readonly pool: StackWatchPool<C>,
  ) {
    this.slow = slowlogTimeoutMs > 0 ? new BusyDeadlines(slowlogTimeoutMs, (lease) => this.slowRequest(lease)) : null;
  }

  /** Whether stacks are read, and if not, why. */
  get status(): StackStatus {
    return this.current;
  }

  /** Resolves once the canary has decided (at once if it has). */
  whenChecked(): Promise<StackStatus> {
    if (this.current.state !== 'checking') return Promise.resolve(this.current);
    return new Promise((resolve) => this.checked.push(resolve));
  }

  /** The pool is running: decide whether stacks can be read here, and run the canary when the pool is quiet. */
  start(): void {
    this.stopped = false;
    this.lastActivityAt = Date.now();
    const host = this.host;
    // A host that reads no stacks (a test's) says so in the snapshot, without an event.
    if (!host) return this.settle({ state: 'off', reason: 'this pool reads no PHP stacks' }, false);
    const reason = host.unavailableReason();
    if (reason) return this.settle({ state: 'off', reason }, true);
    this.current = CHECKING;
    this.scheduleCanary(CANARY_QUIET_MS);
  }

  /** The pool is stopping: no more reads, timers or canary. */
  stop(): void {
    this.stopped = true;
    this.slow?.stop();
    if (this.tick) clearTimeout(this.tick);
    if (this.immediate) clearImmediate(this.immediate);
    if (this.canaryTimer) clearTimeout(this.canaryTimer);
    this.tick = this.immediate = this.canaryTimer = null;
    this.due.length = 0;
  }

  /** A lease started on `worker` (on every request's path: field writes and, with a slowlog timeout, one list append). */
  leaseStarted(worker: Worker<C>, lease: Lease<C>, now: number): void {
    this.lastActivityAt = now;
    if (this.slow) this.slow.start(worker.slowDeadline, lease, now);
    if (!this.host) return;
    // Read while idle after its last request: exact. Else the next tick or read takes it.
    worker.cpuBaselineMs = worker.idleCpuMs;
    worker.idleCpuMs = null;
    if (this.tick === null && !this.stopped) this.armTick();
  }

  /** The lease on `worker` ended. */
  leaseEnded(worker: Worker<C>, now: number): void {
    this.lastActivityAt = now;
    if (this.slow && worker.slowDeadline.subject !== null) this.slow.cancel(worker.slowDeadline);
  }

  /** The worker's process has exited and its findings are made: what was kept about its pid goes. */
  workerGone(worker: Worker<C>): void {
    const pid = worker.serving?.pid ?? worker.pid;
    if (pid !== null) this.host?.forget(pid);
  }

  /**
   * Reads the worker now, if it serves a lease (or, under `keep`, holds one
   * kept as evidence) and its process lives; remembers it as the worker's
   * last read. Null when there is nothing to read.
   */
  read(worker: Worker<C>): LeaseStack | null {
    const host = this.host;
    const leaseId = worker.lease?.id ?? worker.keptLease?.id;
    const pid = worker.serving?.pid ?? worker.pid;
    if (!host || leaseId === undefined || pid === null || worker.exit) return null;
    if (worker.cpuBaselineMs === null && worker.lease) worker.cpuBaselineMs = host.cpuTimeMs(pid);
    const { stack, wait } = host.sample(pid, worker.cpuBaselineMs);
    // Until the canary has passed, a stack read may come from a wrong table: none is shown.
    const trusted = stack.ok && this.current.state === 'on';
    const read: LeaseStack = {
      leaseId,
      workerId: worker.id,
      pid,
      sampledAt: Date.now(),
      stack: trusted && stack.ok ? stack.frames.map(canonicalFrame) : null,
      truncated: trusted && stack.ok ? stack.truncated : false,
      stackError: trusted ? null : stack.ok ? (this.current.reason ?? 'live PHP stacks are being checked (the canary has not run yet)') : stack.reason,
      wait,
    };
    worker.lastStack = read;
    return read;
  }

  /** {@link read} of the worker with this id; null if it serves (or keeps) no lease. */
  readWorker(workerId: string): LeaseStack | null {
    for (const worker of this.leasedWorkers()) if (worker.id === workerId) return this.read(worker);
    return null;
  }

  /** Reads every worker that serves (or keeps) a lease, one per event-loop turn; by worker id. */
  async readAll(): Promise<Map<string, LeaseStack>> {
    const reads = new Map<string, LeaseStack>();
    for (const worker of this.leasedWorkers()) {
      await new Promise((resolve) => setImmediate(resolve));
      const read = this.read(worker);
      if (read) reads.set(worker.id, read);
    }
    return reads;
  }

  /** The last read of each worker that still serves (or keeps) the lease it was read under; no new read. */
  lastReads(): Map<string, LeaseStack> {
    const reads = new Map<string, LeaseStack>();
    for (const worker of this.leasedWorkers()) {
      const last = worker.lastStack;
      if (last && last.leaseId === (worker.lease?.id ?? worker.keptLease?.id)) reads.set(worker.id, last);
    }
    return reads;
  }

  // ------------------------------------------------------------ the schedule

  /** Reads on the schedule: stacks once the canary passed; wait reasons alone where they are cheap. */
  private get scheduled(): boolean {
    return this.current.state === 'on' || (this.current.state === 'off' && this.host !== null && this.host.cheapWaits);
  }

  private *leasedWorkers(): Iterable<Worker<C>> {
    for (const list of [this.pool.busy, this.pool.draining]) {
      for (const worker of list) if ((worker.lease || worker.keptLease) && !worker.exit) yield worker;
    }
  }

  private armTick(): void {
    this.tick = setTimeout(this.onTick, SAMPLE_TICK_MS);
    this.tick.unref();
  }

  private readonly onTick = (): void => {
    this.tick = null;
    if (this.stopped) return;
    let leases = false;
    // Where CPU time is not cheap to read (`ps`), no baselines: cpuMs counts from the worker's start.
    let cpuReads = this.host?.cheapWaits ? 0 : CPU_READS_PER_TICK;
    const cpuCapped = cpuReads;
    const now = Date.now();
    for (const list of [this.pool.busy, this.pool.draining]) {
      for (const worker of list) {
        if (!worker.lease) continue;
        leases = true;
        if (worker.cpuBaselineMs === null && cpuReads < CPU_READS_PER_TICK) {
          worker.cpuBaselineMs = this.cpuTimeOf(worker);
          cpuReads++;
        }
        if (this.scheduled && this.isDue(worker, now) && !this.due.includes(worker)) this.due.push(worker);
      }
    }
    // The next lease's exact baseline; the tick after the last lease ends reads the workers it freed.
    for (const worker of this.pool.idle) {
      if (cpuReads >= CPU_READS_PER_TICK) break;
      if (worker.idleCpuMs !== null) continue;
      worker.idleCpuMs = this.cpuTimeOf(worker);
      cpuReads++;
    }
    this.drain();
    if (leases || (cpuReads >= CPU_READS_PER_TICK && cpuCapped === 0)) this.armTick();
  };

  private cpuTimeOf(worker: Worker<C>): number | null {
    const pid = worker.serving?.pid ?? worker.pid;
    return pid === null || worker.exit || !this.host ? null : this.host.cpuTimeMs(pid);
  }

  private isDue(worker: Worker<C>, now: number): boolean {
    const lease = worker.lease;
    if (!lease || worker.exit || now - lease.acquiredAt < SAMPLE_AFTER_MS) return false;
    const last = worker.lastStack;
    return !last || last.leaseId !== lease.id || now - last.sampledAt >= SAMPLE_EVERY_MS;
  }

  private drain(): void {
    if (this.immediate === null && this.due.length > 0) this.immediate = setImmediate(this.onImmediate);
  }

  /** One scheduled read per turn: requests are served between them. */
  private readonly onImmediate = (): void => {
    this.immediate = null;
    if (this.stopped) return;
    const worker = this.due.shift();
    // Still due? Its lease may have ended, or an on-demand read came first.
    if (worker && this.isDue(worker, Date.now())) this.read(worker);
    this.drain();
  };

  // ------------------------------------------------------------- slowlog

  /** A lease passed the slowlog timeout: one `slow-request` finding, with the stack read now. */
  private slowRequest(lease: Lease<C>): void {
    if (!lease.active || this.stopped) return;
    const worker = lease[LENT_WORKER];
    const read = this.read(worker);
    this.findings.report(drafts.withStack(drafts.slowRequest(worker, lease.snapshot(), this.slowlogTimeoutMs, read?.sampledAt ?? Date.now()), read));
  }

  // -------------------------------------------------------------- canary

  private scheduleCanary(delayMs: number): void {
    this.canaryTimer = setTimeout(() => this.tryCanary(), delayMs);
    this.canaryTimer.unref();
  }

  /** Runs the canary once the pool has been quiet for a moment and a worker is idle. */
  private tryCanary(): void {
    this.canaryTimer = null;
    const host = this.host;
    if (this.stopped || !host || !this.pool.isRunning()) return;
    const quietFor = Date.now() - this.lastActivityAt;
    if (quietFor < CANARY_QUIET_MS) return this.scheduleCanary(CANARY_QUIET_MS - quietFor);
    const lease = this.pool.lendInternal(host.canaryRequest(), CANARY_HOLDER);
    if (!lease) return this.scheduleCanary(CANARY_QUIET_MS);
    this.canaryWorkers = 1;
    void this.runCanary(host, lease).finally(() => (this.canaryWorkers = 0));
  }

  private async runCanary(host: WorkerStacks<C>, lease: Lease<C>): Promise<void> {
    const worker = lease[LENT_WORKER];
    let check: StackCheck;
    try {
      const pid = worker.serving?.pid ?? worker.pid;
      if (pid === null) throw new Error('the worker has no process');
      check = await host.runCanary(pid, await lease.connection());
    } catch (error) {
      check = { ok: false, message: `live PHP stacks are off: the canary request failed: ${(error as Error).message}`, requestEnded: false };
    }
    // A canary that did not end cleanly leaves its worker in an unknown state: it goes.
    this.canaryWorkers = 0;
    this.pool.release(lease, check.requestEnded ? 'ok' : 'error');
    // Cut short by a stop: no verdict (the next start checks again).
    if (this.stopped || !this.pool.isRunning()) return;
    this.settle(check.ok ? { state: 'on', reason: null } : { state: 'off', reason: check.message ?? 'live PHP stacks are off: the canary failed' }, true);
  }

  private settle(status: StackStatus, announce: boolean): void {
    this.current = Object.freeze({ ...status });
    this.pool.changed();
    if (announce) this.pool.emit({ type: 'stacks-status', status: this.current });
    for (const resolve of this.checked.splice(0)) resolve(this.current);
  }
}

/** The canary's lease holder: the canary's own request is its only client. */
const CANARY_HOLDER: LeaseHolder = {
  description: 'stack canary',
  revoke(): void {
    // The canary sees its request fail and ends on its own.
  },
};
