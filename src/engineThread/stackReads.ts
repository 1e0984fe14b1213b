import type { LeaseStack } from '../shared/stackTypes';

/**
 * The busy workers' last stack reads (issue 13), as the engine thread sends
 * them to the main thread: the tree and the dashboards show each busy
 * worker's last read (the engine reads a lease older than a second once a
 * second) without asking the thread, so the main thread keeps a copy, sent
 * with the next update when it changed.
 *
 * A read is a new object each time the engine reads a worker (the watch
 * keeps it as the worker's `lastStack`), so "changed" is a comparison of
 * identities: a new read, a worker that joined, or a lease that ended. At
 * most one read per leased worker crosses, and only while leases are long.
 */
export class StackReadsTracker {
  private sent: ReadonlyMap<string, LeaseStack> = new Map();

  constructor(
    /** The last read of each worker that still serves the lease it was read under (StackWatch.lastReads), or null before the pool exists. */
    private readonly current: () => ReadonlyMap<string, LeaseStack> | null,
  ) {}

  /** Whether the reads differ from those last taken. */
  changed(): boolean {
    const now = this.current();
    return now !== null && differs(now, this.sent);
  }

  /** The reads, when they differ from those last taken (they are taken now); null when unchanged. */
  take(): LeaseStack[] | null {
    const now = this.current();
    if (now === null || !differs(now, this.sent)) return null;
    this.sent = now;
    return [...now.values()];
  }
}

function differs(a: ReadonlyMap<string, LeaseStack>, b: ReadonlyMap<string, LeaseStack>): boolean {
  if (a.size !== b.size) return true;
  for (const [workerId, read] of a) if (b.get(workerId) !== read) return true;
  return false;
}
