import type { BusyDeadlines } from './busyDeadlines';
import type { PoolHost, WorkerConnection } from './host';
import { LENT_WORKER, type Lease } from './lease';
import type { AbandonedRequest } from './types';
import type { Worker } from './worker';

/** The pool's transitions an abandoned request calls for; each changes the lists in pool.ts. */
export interface AbandonedTransitions<C extends WorkerConnection> {
  /** busy → finishing. */
  finishing(worker: Worker<C>): void;
  /** finishing → idle (or its recycle): php-cgi is ready for the next request. */
  ready(worker: Worker<C>): void;
  /** The probe failed: the worker is gone or going (its exit tells which), or never answered. */
  failed(worker: Worker<C>): void;
  /** The worker's kept evidence (policy `keep`, busy timeout) no longer holds. */
  cleared(worker: Worker<C>): void;
}

/** Longest wait a timer can take (setTimeout fires at once beyond it). */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Probe<C> {
  readonly abandoned: AbandonedRequest;
  connection: C | null;
}

/**
 * Requests whose client left while the script ran. nginx ends such a
 * request by closing the upstream connection, and so does the gateway;
 * php-cgi then notices at its next output write (unless the script called
 * `ignore_user_abort(true)`), finishes the script and goes back to
 * accept(). Meanwhile the worker is `finishing`: not leased, not idle, with
 * the request and since when, on the busy timeout still.
 *
 * When it is ready again is known without knowing anything about the
 * script: a single-process php-cgi accepts one connection at a time, so a
 * new connection that sends FCGI_GET_VALUES is answered exactly when the
 * abandoned request has ended, on every platform, with no polling. That
 * connection stays open after the answer (notes §2.3) and becomes the
 * worker's kept connection.
 */
export class AbandonedRequests<C extends WorkerConnection> {
  /** Probes in flight, so that a worker taken out of service drops its probe at once. */
  private readonly probes = new Map<Worker<C>, Probe<C>>();

  constructor(
    private readonly host: Pick<PoolHost<C>, 'connect'>,
    private readonly options: { readonly busyTimeoutMs: number; readonly stopGraceMs: number },
    /** The lease's deadline stays on them while the worker finishes (the pool kept it when the lease ended). */
    private readonly deadlines: BusyDeadlines<Lease<C>>,
    private readonly pool: AbandonedTransitions<C>,
  ) {}

  /** The lease's client left while the script ran: the worker finishes it. */
  begin(worker: Worker<C>, lease: Lease<C>): void {
    // The busy timeout ends the script first; the probe only has to outlast it (0: no timeout, wait for ever).
    const busyTimeoutMs = this.options.busyTimeoutMs;
    const timeoutMs = busyTimeoutMs > 0 ? busyTimeoutMs - (lease.endedAt - lease.acquiredAt) + this.options.stopGraceMs : MAX_TIMER_MS;
    const abandoned: AbandonedRequest = Object.freeze({ lease: lease.snapshot(), abandonedAt: lease.endedAt });
    worker.abandoned = abandoned;
    this.pool.finishing(worker);
    // As nginx ends it: the request's connection closes, so PHP learns it at
    // its next write (and a php-cgi blocked reading that connection, because
    // the client left before anything was sent, gets its EOF); php-cgi serves
    // one connection at a time, so the probe is answered only after that.
    worker.dropConnection();
    const probe: Probe<C> = { abandoned, connection: null };
    this.probes.set(worker, probe);
    void this.run(worker, probe, Math.min(Math.max(1, timeoutMs), MAX_TIMER_MS));
  }

  /** Whether `lease` is the ended lease whose script its worker is still finishing (its busy deadline still counts). */
  isRunning(lease: Lease<C>): boolean {
    const worker = lease[LENT_WORKER];
    return worker.state === 'finishing' && worker.abandoned?.lease.id === lease.id;
  }

  /** The worker stopped finishing (ready, retired, exited): its deadline and probe go. */
  end(worker: Worker<C>): void {
    this.deadlines.cancel(worker.deadline);
    worker.abandoned = null;
    const probe = this.probes.get(worker);
    if (!probe) return;
    this.probes.delete(worker);
    probe.connection?.destroy();
  }

  private async run(worker: Worker<C>, probe: Probe<C>, timeoutMs: number): Promise<void> {
    try {
      // The connect succeeds at once (the kernel queues it); the answer
      // waits for php-cgi's accept().
      probe.connection = await this.host.connect(worker.address, timeoutMs);
      if (this.probes.get(worker) !== probe) {
        probe.connection.destroy();
        return;
      }
      await probe.connection.getValues(['FCGI_MPXS_CONNS'], timeoutMs);
    } catch {
      probe.connection?.destroy();
      if (this.probes.get(worker) !== probe) return;
      this.probes.delete(worker);
      this.pool.failed(worker);
      return;
    }
    const connection = probe.connection;
    if (this.probes.get(worker) !== probe || worker.state !== 'finishing') {
      connection.destroy();
      return;
    }
    this.probes.delete(worker);
    // It ran to its end, as far as PHP let it.
    worker.answered++;
    worker.lastActiveAt = Date.now();
    worker.dropConnection();
    worker.keepConnection(connection);
    if (worker.keptLease) this.pool.cleared(worker);
    this.pool.ready(worker);
  }
}
