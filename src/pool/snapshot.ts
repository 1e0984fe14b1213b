import type { FindingLog } from './findings';
import type { WorkerConnection } from './host';
import type { LeaseHistory } from './history';
import type { SpawnBackoff } from './spawnBackoff';
import type { StackStatus } from '../shared/stackTypes';
import type { DebuggerSnapshot, LeakPolicy, PoolLimits, PoolSnapshot, PoolState, WorkerExitRecord, WorkerSnapshot, WorkerState } from './types';
import type { Worker } from './worker';
import type { WorkerList } from './workerList';

/** What a snapshot is made of: the pool's state, read, never changed. */
export interface SnapshotSource<C extends WorkerConnection> {
  readonly version: number;
  readonly state: PoolState;
  readonly problem: string | null;
  readonly startedAt: number | null;
  readonly limits: PoolLimits;
  readonly leakPolicy: LeakPolicy;
  readonly lists: Readonly<Record<WorkerState, WorkerList<Worker<C>>>>;
  readonly queue: { readonly length: number; readonly oldestQueuedAt: number | null };
  readonly backoff: SpawnBackoff;
  readonly totals: PoolSnapshot['totals'];
  readonly recentExits: readonly WorkerExitRecord[];
  readonly findings: FindingLog;
  readonly history: LeaseHistory;
  readonly platform: PoolSnapshot['platform'];
  readonly debugger: DebuggerSnapshot;
  readonly stacks: StackStatus;
}

/**
 * The immutable picture of the pool at one moment, deep-frozen. Its JSON is
 * a public interface (`GET /.fastcgi-pool/status`, the CLI's --events, the
 * dashboard): the field names and their order do not change.
 */
export function buildSnapshot<C extends WorkerConnection>(source: SnapshotSource<C>): PoolSnapshot {
  const { lists, limits } = source;
  const workers: WorkerSnapshot[] = [];
  for (const list of Object.values(lists)) for (const worker of list) workers.push(workerSnapshot(worker, source.findings));
  workers.sort((a, b) => a.startedAt - b.startedAt || compareIds(a.id, b.id));
  const now = Date.now();
  const snapshot: PoolSnapshot = {
    version: source.version,
    takenAt: now,
    state: source.state,
    problem: source.problem,
    startedAt: source.startedAt,
    limits: {
      minWorkers: limits.minWorkers,
      maxWorkers: limits.maxWorkers,
      maxRequests: limits.maxRequests,
      idleTimeoutMs: limits.idleTimeoutMs,
      busyTimeoutMs: limits.busyTimeoutMs,
      queueTimeoutMs: limits.queueTimeoutMs,
      maxQueue: limits.maxQueue,
    },
    counts: {
      starting: lists.starting.size,
      idle: lists.idle.size,
      busy: lists.busy.size,
      paused: lists.paused.size,
      finishing: lists.finishing.size,
      draining: lists.draining.size,
      error: lists.error.size,
      total: lists.starting.size + lists.idle.size + lists.busy.size + lists.paused.size + lists.finishing.size + lists.draining.size + lists.error.size,
    },
    workers,
    queue: { length: source.queue.length, oldestWaitMs: source.queue.oldestQueuedAt === null ? 0 : now - source.queue.oldestQueuedAt },
    spawnBackoff: source.backoff.consecutiveCrashes > 0 ? { consecutiveCrashes: source.backoff.consecutiveCrashes, delayMs: source.backoff.delayMs() } : null,
    totals: { ...source.totals },
    recentExits: source.recentExits.slice(),
    findings: source.findings.all(),
    history: source.history.list(),
    leakPolicy: source.leakPolicy,
    platform: source.platform,
    debugger: source.debugger,
    stacks: source.stacks,
  };
  return deepFreeze(snapshot);
}

function workerSnapshot<C extends WorkerConnection>(worker: Worker<C>, findings: FindingLog): WorkerSnapshot {
  return {
    id: worker.id,
    pid: worker.pid,
    state: worker.state,
    accesses: worker.accesses,
    startedAt: worker.startedAt,
    lastActiveAt: worker.lastActiveAt,
    lease: worker.lease ? worker.lease.snapshot() : worker.keptLease,
    abandoned: worker.abandoned,
    exitReason: worker.exitReason,
    exit: worker.exit,
    findingIds: findings.openFor(worker.id).map((f) => f.id),
    defunct: worker.defunct,
    servingPid: worker.serving && worker.serving.pid !== worker.pid ? worker.serving.pid : null,
    debug: worker.debug,
  };
}

/** `w2` before `w10`. */
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
