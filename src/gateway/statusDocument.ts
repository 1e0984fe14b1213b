import type { Pool } from '../pool/pool';
import type { PoolSnapshot, WorkerSnapshot } from '../pool/types';
import type { LeaseStack } from '../shared/stackTypes';

/** Where the gateway serves (and what it adds, such as live reload's state), added to the snapshot. */
export interface GatewayInfo {
  readonly documentRoot: string;
  readonly port: number;
  readonly [more: string]: unknown;
}

/** `?stacks=1` (or `true`) on the status path asks for every busy worker's PHP stack. */
export function wantsStacks(url: string): boolean {
  const query = url.indexOf('?');
  if (query < 0) return false;
  const value = new URLSearchParams(url.slice(query + 1)).get('stacks');
  return value === '1' || value === 'true';
}

/**
 * The status JSON: the pool's snapshot and where the gateway serves. With
 * stacks, each worker serving a lease (or keeping one under `keep`) is read
 * first, one per event-loop turn, and its lease carries `stack` (innermost
 * first, null when none could be read, then `stackError` says why) and
 * `wait`; the snapshot is taken after the reads, and a lease that ended
 * meanwhile carries nothing.
 */
export async function statusDocument(pool: Pool, gateway: GatewayInfo, withStacks: boolean): Promise<unknown> {
  if (!withStacks) return { ...pool.snapshot(), gateway };
  const reads = await pool.stacks.readAll();
  const snapshot = pool.snapshot();
  return { ...snapshot, workers: snapshot.workers.map((worker) => withStack(worker, reads.get(worker.id))), gateway };
}

function withStack(worker: WorkerSnapshot, read: LeaseStack | undefined): WorkerSnapshot | PoolSnapshot['workers'][number] {
  const lease = worker.lease;
  if (!lease || !read || read.leaseId !== lease.id) return worker;
  return {
    ...worker,
    lease: { ...lease, stack: read.stack, wait: read.wait, ...(read.stack === null && read.stackError !== null ? { stackError: read.stackError } : {}) },
  };
}
