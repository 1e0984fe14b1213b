import type { ProcessExit } from '../platform/processControl';
import type { LeaseStack } from '../shared/stackTypes';
import type { FindingResolution } from './types';
import * as drafts from './findingBuilder';
import type { PoolFindings } from './findings';
import type { PoolHost, WorkerConnection } from './host';
import { LENT_WORKER, type Lease } from './lease';
import type { LeakPolicy, LeaseOutcome, LeaseRevocation, WorkerExitReason } from './types';
import type { Worker } from './worker';

/**
 * How a worker is taken out of service: `graceful` SIGTERM (a running
 * request finishes) and SIGKILL after the grace period; `kill` SIGKILL now;
 * `leaving` no signal, because its process is gone or on its way out on
 * its own: its exit is judged as it comes (a clean exit after answering is
 * no crash), and only then is it replaced (SIGKILL if the exit has not come
 * within the grace period).
 */
export type RetireMode = 'graceful' | 'kill' | 'leaving';

/** The pool's transitions a leak may call for; each changes the lists in pool.ts. */
export interface LeakTransitions<C extends WorkerConnection> {
  /** Ends the lease and tells its holder. */
  revoke(lease: Lease<C>, revocation: LeaseRevocation, outcome: LeaseOutcome): void;
  /** Ends the lease without telling its holder (it is gone). */
  endLease(lease: Lease<C>, outcome: LeaseOutcome, by: 'holder' | 'pool'): void;
  /** Takes the worker out of service (→ error). */
  retire(worker: Worker<C>, reason: WorkerExitReason, mode: RetireMode): void;
  changed(): void;
}

/**
 * What the pool does about a leaked lease, in one place: a worker that died
 * while leased, a holder that ended without releasing, a request past the
 * busy timeout. Each becomes a finding; then `reclaim` repairs it at once
 * (the lease ends, the worker is replaced) and `keep` leaves the worker as it
 * is, marked, for a developer to inspect, until the lease is released or the
 * worker killed.
 */
export class LeakHandler<C extends WorkerConnection> {
  constructor(
    private readonly policy: LeakPolicy,
    private readonly busyTimeoutMs: number,
    private readonly host: Pick<PoolHost<C>, 'inspect'>,
    private readonly findings: PoolFindings,
    private readonly pool: LeakTransitions<C>,
  ) {}

  /**
   * Its holder released the lease as `worker-died`, before the exit was
   * reaped (a busy event loop delays reaping): the OS is asked now, so the
   * finding never depends on which of the two Node noticed first. If it is
   * dead, the finding waits for the exit status (it names the signal), dated
   * now, and this returns true: the worker must go.
   */
  holderSawDeath(worker: Worker<C>, lease: Lease<C>): boolean {
    if (worker.exit || worker.pid === null) return false;
    const truth = this.host.inspect(worker.pid, worker.startTime);
    if (truth.status === 'alive') return false;
    worker.diedDuringLease = { lease: lease.snapshot(), detectedAt: Date.now(), processState: truth.status === 'zombie' ? truth.stat.state : null };
    return true;
  }

  /** Whatever was found about the worker no longer holds (released, killed, exited): its findings resolve, its kept evidence goes. */
  cleared(worker: Worker<C>, how: FindingResolution['how'], detail: string): void {
    this.findings.resolveAll(worker.id, how, detail);
    if (worker.keptLease) {
      worker.keptLease = null;
      this.pool.changed();
    }
  }

  /**
   * A lease outlived the busy timeout, or (the lease has ended) the script
   * of a request whose client left still runs at the busy timeout; `stack`
   * is where it was, read just now (before any kill).
   */
  busyTimeout(lease: Lease<C>, stack: LeaseStack | null = null): void {
    const worker = lease[LENT_WORKER];
    const snapshot = lease.snapshot();
    // Found when it was read: the stack is of that moment (stackAgeMs 0).
    const finding = this.findings.report(drafts.withStack(drafts.busyTimeout(worker, snapshot, this.busyTimeoutMs, stack?.sampledAt ?? Date.now()), stack));
    const abandoned = !lease.active;
    // The client is answered (504) under either policy: nobody waits for ever.
    this.pool.revoke(lease, { kind: 'busy-timeout', timeoutMs: this.busyTimeoutMs }, 'timeout');
    if (this.policy === 'keep') {
      // Left as it is (perhaps stopped in a debugger or hung) for inspection.
      worker.keptLease = snapshot;
      this.pool.changed();
      return;
    }
    // A hung or stopped script ignores SIGTERM, so the worker is killed.
    this.pool.retire(worker, 'busy-timeout', 'kill');
    this.findings.resolve(
      finding,
      'reclaimed',
      abandoned ? 'its client had left; the worker was killed and replaced' : 'the client got 504; the worker was killed and replaced',
    );
  }

  /**
   * The worker's exit was reaped and its connection has delivered what it
   * had. A lease still held now is a request truly unanswered, a
   * `defunct-busy` (the seed bug), unless the worker left cleanly without
   * a byte of it: then it went after its last answer (php-cgi's own
   * request limit) before it read this request, nothing of it ran, and the
   * holder is told to send it elsewhere. Returns true when the policy keeps
   * the dead worker on the busy list, marked, as evidence.
   */
  workerExited(worker: Worker<C>, exit: ProcessExit): boolean {
    const died = worker.diedDuringLease;
    if (died) {
      // Its holder saw it die first and the lease has ended: only the finding waited for the exit status.
      worker.diedDuringLease = null;
      const found = { detectedAt: died.detectedAt, detectionLatencyMs: 0, processState: died.processState };
      const finding = this.findings.report(drafts.withStack(drafts.defunctBusy(worker, died.lease, { seen: 'exit', exit }, found), worker.lastStack));
      this.findings.resolve(finding, 'reclaimed', 'lease ended, worker reaped and replaced');
    }
    const lease = worker.lease;
    if (!lease) return false;
    if (leftBeforeRunning(lease, exit)) {
      this.pool.revoke(lease, { kind: 'worker-left', exit }, 'unreachable');
      return false;
    }
    const found = { detectedAt: Date.now(), detectionLatencyMs: 0, processState: null };
    // The last stack seen of this lease (read on the schedule), marked with its age.
    const finding = this.findings.report(drafts.withStack(drafts.defunctBusy(worker, lease.snapshot(), { seen: 'exit', exit }, found), worker.lastStack));
    if (this.policy === 'keep') {
      // Until its holder releases it or a developer acts: the process table and the snapshot agree it is gone.
      worker.defunct = true;
      return true;
    }
    this.pool.revoke(lease, { kind: 'worker-exited', exit }, 'worker-died');
    this.findings.resolve(finding, 'reclaimed', 'lease ended, worker reaped and replaced');
    return false;
  }

  /** The reconciler saw the process (or the php-cgi behind a wrapper) gone or a zombie. */
  defunct(worker: Worker<C>, cause: Extract<drafts.DefunctCause, { seen: 'process-table' }>, processState: string | null, detectionLatencyMs: number): void {
    const lease = worker.lease;
    if (!lease) {
      // Idle (or starting, finishing, draining) and dead: no leak, but it
      // leaves its list now, not whenever its exit event comes, which then
      // says whether it crashed or left after its last answer. A wrapper
      // whose php-cgi died is still alive, and is killed.
      this.pool.retire(worker, 'crashed', cause.served ? 'kill' : 'leaving');
      return;
    }
    const found = { detectedAt: Date.now(), detectionLatencyMs, processState };
    const finding = this.findings.report(drafts.withStack(drafts.defunctBusy(worker, lease.snapshot(), cause, found), worker.lastStack));
    if (this.policy === 'keep') {
      if (!worker.defunct) {
        worker.defunct = true;
        this.pool.changed();
      }
      return;
    }
    this.pool.revoke(lease, { kind: 'worker-retired', reason: 'crashed' }, 'worker-died');
    this.pool.retire(worker, 'crashed', 'kill');
    this.findings.resolve(finding, 'reclaimed', 'lease ended; the worker group was killed and replaced');
  }

  /** The reconciler saw that the lease's holder ended without releasing it. */
  holderGone(worker: Worker<C>, lease: Lease<C>, processState: string, detectionLatencyMs: number): void {
    const snapshot = lease.snapshot();
    const finding = this.findings.report(drafts.holderGone(worker, snapshot, processState, Date.now(), detectionLatencyMs));
    if (!finding) return;
    if (this.policy === 'keep') {
      worker.keptLease = snapshot;
      return;
    }
    this.pool.endLease(lease, 'leaked', 'pool');
    // Its request may still run: recycle rather than reuse.
    this.pool.retire(worker, 'connection-lost', 'graceful');
    this.findings.resolve(finding, 'reclaimed', 'lease ended as leaked; the worker was recycled');
  }
}

/** Whether the worker left cleanly before a byte of the lease's request came back: then the request never ran. */
export function leftBeforeRunning<C extends WorkerConnection>(lease: Lease<C>, exit: ProcessExit): boolean {
  return exit.signal === null && lease.firstByteAt === 0;
}
