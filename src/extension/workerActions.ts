import type { PoolHandle } from './poolManager';

/** Where an action came from, for its log line. */
export type ActionOrigin = 'editor' | 'dashboard';

/** What the actions need: the folders' pools, the findings ledger and the log. */
export interface WorkerActionsDeps {
  readonly pools: { get(key: string): { readonly name: string; readonly server: { readonly pool: PoolHandle } | null } | undefined };
  /** Told when the developer deals with a worker, so its findings leave Problems. */
  readonly ledger: { acknowledge(folderKey: string, workerId: string): void };
  readonly log: { info(message: string): void };
}

/**
 * What a developer may do to a worker of a running pool: kill it, recycle
 * it, release its lease. One implementation for the Workers tree and the
 * palette (and the quick fixes, which run those commands) and for the
 * dashboard's intents. The pool has the last word: `false` when it refuses
 * (the worker or the lease is gone by then); with the engine in its thread
 * that answer is a reply over the channel, hence the promise. A done action acknowledges
 * the worker's findings, which then leave Problems, and is logged with
 * where it came from. Nothing here asks for confirmation: neither the tree
 * nor the palette confirms a kill, so neither does the dashboard.
 */
export class WorkerActions {
  constructor(private readonly deps: WorkerActionsDeps) {}

  /** Kill (SIGKILL now; a request it serves is cut) or recycle (gracefully, after its current request). */
  async retire(folderKey: string, workerId: string, mode: 'kill' | 'graceful', origin: ActionOrigin): Promise<boolean> {
    const folder = this.deps.pools.get(folderKey);
    const pool = folder?.server?.pool;
    if (!folder || !pool) return false;
    // Read before: a worker that has left is no longer in the snapshot to name its pid.
    const worker = pool.snapshot().workers.find((candidate) => candidate.id === workerId);
    if (!(await pool.recycleWorker(workerId, mode))) return false;
    this.deps.ledger.acknowledge(folderKey, workerId);
    this.deps.log.info(`[${folder.name}] worker ${workerId} (pid ${worker?.pid ?? '?'}) ${mode === 'kill' ? 'killed' : 'recycled'} from the ${origin}`);
    return true;
  }

  /** Ends a lease from outside (its holder is told) and recycles its worker. */
  async releaseLease(folderKey: string, leaseId: string, origin: ActionOrigin): Promise<boolean> {
    const folder = this.deps.pools.get(folderKey);
    const pool = folder?.server?.pool;
    if (!folder || !pool) return false;
    // Read before: once released, the snapshot no longer says whose lease it was.
    const holder = pool.snapshot().workers.find((worker) => worker.lease?.id === leaseId);
    if (!(await pool.releaseLease(leaseId))) return false;
    if (holder) this.deps.ledger.acknowledge(folderKey, holder.id);
    this.deps.log.info(`[${folder.name}] lease ${leaseId}${holder ? ` of worker ${holder.id}` : ''} released from the ${origin}`);
    return true;
  }
}
