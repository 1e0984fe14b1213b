import type { BusyDeadlines } from './busyDeadlines';
import { inDebugSession } from './debugging';
import type { WorkerConnection } from './host';
import type { Lease } from './lease';
import type { WorkerDebug } from './types';
import type { Worker } from './worker';

/**
 * What a step-debugging session does to the lease of the worker it runs on:
 * while the worker's Xdebug talks to an IDE (a human may be reading the code
 * at a breakpoint), the busy deadline stands still, and the lease's holder
 * is told so that it stops its own timeouts too (`LeaseHolder.debugging`);
 * when the session ends, both go on with the time they had left. A session
 * whose IDE is unreachable holds nothing: the relay is closing it and the
 * request runs on as usual.
 *
 * Records `debug` on the worker and returns whether the worker is paused at
 * a breakpoint now (the pool then moves it to the paused list).
 */
export function followDebugSession<C extends WorkerConnection>(
  worker: Worker<C>,
  debug: WorkerDebug | null,
  deadlines: BusyDeadlines<Lease<C>>,
  now: number,
): boolean {
  const was = inDebugSession(worker.debug);
  const is = inDebugSession(debug);
  worker.debug = debug;
  const lease = worker.lease;
  if (was !== is && lease !== null) {
    // A deadline that already expired, or belongs to no lease, is left alone by both.
    if (is) deadlines.suspend(worker.deadline, now);
    else deadlines.resume(worker.deadline, now);
    try {
      lease.holder.debugging?.(is);
    } catch {
      // A faulty holder must not break the pool's bookkeeping.
    }
  }
  return is && debug?.state === 'paused';
}
