import type { ProcessTruth } from '../platform/processState';
import { inDebugSession } from './debugging';
import { zombieDescendant, type DefunctCause } from './findingBuilder';
import type { PoolFindings } from './findings';
import type { PoolHost, WorkerConnection } from './host';
import type { LeakHandler } from './leakHandler';
import type { Worker } from './worker';

/** Where the reconciler reports what it sees; the pool and its leak handler decide what happens. */
export interface ReconcilerPort<C extends WorkerConnection> {
  /** Every worker on any list, copied so that the pool may move them meanwhile. */
  workers(): Array<Worker<C>>;
  /** Dead busy workers and ended holders: see {@link LeakHandler.defunct}, {@link LeakHandler.holderGone}. */
  readonly leaks: Pick<LeakHandler<C>, 'defunct' | 'holderGone'>;
  /** Zombie descendants are reported here, and resolved once reaped. */
  readonly findings: PoolFindings;
  /** A wrapper's php-cgi was found (the snapshot shows it). */
  changed(): void;
}

/** How many workers one scan slice inspects before yielding to the event loop. */
const SCAN_SLICE = 32;

/**
 * Compares every worker with what the OS says: process alive, zombie or gone
 * (pid *and* start time), the php-cgi behind a wrapper, defunct descendants,
 * and whether each lease's holder still exists. It only looks and reports;
 * the pool acts.
 */
export class Reconciler<C extends WorkerConnection> {
  private scanning = false;
  private timer: NodeJS.Timeout | null = null;
  /** When the last scan ended: what a finding's detection latency is measured from. */
  private lastScanAt = 0;

  constructor(
    private readonly host: Pick<PoolHost<C>, 'inspect' | 'descendants' | 'readProcesses'>,
    private readonly port: ReconcilerPort<C>,
  ) {}

  /** The pool started: latencies count from now, and `scan` (the pool's) runs every `intervalMs` (0: never) until {@link stopScanning}. */
  scanEvery(intervalMs: number, scan: () => Promise<void>): void {
    this.lastScanAt = Date.now();
    this.stopScanning();
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => void scan(), intervalMs);
    this.timer.unref();
  }

  stopScanning(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * One pass over every worker, in slices that yield to the event loop
   * between them, so that even hundreds of workers never stall request
   * handling. A scan already running makes this a no-op.
   */
  async scan(): Promise<void> {
    if (this.host.readProcesses) {
      // An ended holder is our own bookkeeping: its worker is looked at at
      // every scan, pid by pid, even while the last scan still waits for a
      // `ps` that a busy machine may take hundreds of ms to answer.
      for (const worker of this.port.workers()) if (worker.lease?.holder.isActive?.() === false) this.reconcile(worker, this.lastScanAt, this.host);
    }
    if (this.scanning) return;
    this.scanning = true;
    const previousScanAt = this.lastScanAt;
    try {
      const workers = this.port.workers();
      // One reading for the whole scan where the host offers it (one `ps`
      // call instead of one per worker); a reading that failed says nothing,
      // and nothing is reported from it.
      const asked = pidsOf(workers);
      const reading = this.host.readProcesses ? await this.host.readProcesses(asked).catch(() => null) : this.host;
      if (!reading) return;
      // A worker whose pid came after the reading was taken is not in it: the next scan looks at it.
      const covered = new Set(asked);
      for (let i = 0; i < workers.length; i += SCAN_SLICE) {
        if (i > 0) await new Promise((resolve) => setImmediate(resolve));
        for (const worker of workers.slice(i, i + SCAN_SLICE)) {
          if (worker.pid !== null && covered.has(worker.pid)) this.reconcile(worker, previousScanAt, reading);
        }
      }
    } finally {
      this.lastScanAt = Date.now();
      this.scanning = false;
    }
  }

  private reconcile(worker: Worker<C>, previousScanAt: number, reading: Pick<PoolHost<C>, 'inspect' | 'descendants'>): void {
    if (worker.pid === null || worker.exit || worker.list === null) return;
    const truth = reading.inspect(worker.pid, worker.startTime);
    if (truth.status !== 'alive') {
      // A busy worker's connection may still hold its last, complete answer
      // (php-cgi leaving after its own request limit): the exit path judges
      // it once the connection has delivered what it had and closed.
      if (worker.lease !== null && worker.connection !== null) return;
      this.port.leaks.defunct(worker, sighting(truth, null), stateLetter(truth), Date.now() - previousScanAt);
      return;
    }
    if (truth.stat.comm === 'setpriv') return; // still on its way to exec php-cgi
    const descendants = reading.descendants(worker.pid);
    if (!worker.serving && !isPhp(truth.stat.comm)) {
      // A wrapper that did not exec php-cgi: remember the php-cgi it started.
      const php = descendants.find((d) => isPhp(d.comm) && d.state !== 'Z');
      if (php) {
        worker.serving = { pid: php.pid, startTime: php.startTime, comm: php.comm };
        this.port.changed();
      }
    }
    if (worker.serving) {
      const served = reading.inspect(worker.serving.pid, worker.serving.startTime);
      if (served.status !== 'alive' && (worker.lease === null || worker.connection === null)) {
        this.port.leaks.defunct(worker, sighting(served, worker.serving), stateLetter(served), Date.now() - previousScanAt);
        return;
      }
    }
    const findings = this.port.findings;
    for (const descendant of descendants) {
      if (descendant.state !== 'Z') continue;
      const draft = zombieDescendant(worker, descendant, truth.stat.state, worker.lease?.snapshot() ?? null, Date.now(), Date.now() - previousScanAt);
      if (!findings.log.hasOpen(draft.key)) findings.report(draft);
    }
    // A zombie descendant that is gone now has been reaped.
    for (const finding of findings.log.openFor(worker.id)) {
      if (finding.kind !== 'zombie-descendant' || !finding.descendant) continue;
      const still = descendants.some((d) => d.pid === finding.descendant?.pid && d.state === 'Z');
      if (!still) findings.resolve(finding, 'descendant-reaped', `pid ${finding.descendant.pid} was reaped`);
    }
    const lease = worker.lease;
    // A request paused in the debugger is not a leak, whatever its holder says; looked at again once the session ends.
    if (lease && !inDebugSession(worker.debug) && lease.holder.isActive?.() === false) {
      this.port.leaks.holderGone(worker, lease, truth.stat.state, Date.now() - previousScanAt);
    }
  }
}

/** The pids a scan asks about: each worker's, and the php-cgi's behind a wrapper (it may have left the group). */
function pidsOf<C extends WorkerConnection>(workers: ReadonlyArray<Worker<C>>): number[] {
  const pids: number[] = [];
  for (const worker of workers) {
    if (worker.pid !== null) pids.push(worker.pid);
    if (worker.serving) pids.push(worker.serving.pid);
  }
  return pids;
}

function sighting(
  truth: Exclude<ProcessTruth, { status: 'alive' }>,
  served: Worker<WorkerConnection>['serving'],
): Extract<DefunctCause, { seen: 'process-table' }> {
  return { seen: 'process-table', status: truth.status, reused: truth.status === 'gone' && truth.reused, served };
}

function stateLetter(truth: Exclude<ProcessTruth, { status: 'alive' }>): string | null {
  return truth.status === 'zombie' ? truth.stat.state : null;
}

/** php-cgi, php-cgi8.2, php8.2 — but not a wrapper script named php-fastcgi-wrapper. */
function isPhp(comm: string): boolean {
  return /^php(-cgi)?[\d.]*$/.test(comm);
}
