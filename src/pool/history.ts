import type { ProcessExit } from '../platform/processControl';
import type { LeaseHistoryEntry, WorkerExitReason, WorkerExitRecord } from './types';

/** A bounded ring of finished leases: O(1) to add, oldest dropped first. */
export class LeaseHistory {
  private readonly entries: (LeaseHistoryEntry | undefined)[];
  private next = 0;
  private count = 0;

  constructor(readonly capacity = 1_000) {
    this.entries = new Array<LeaseHistoryEntry | undefined>(Math.max(1, capacity));
  }

  add(entry: LeaseHistoryEntry): void {
    this.entries[this.next] = entry;
    this.next = (this.next + 1) % this.entries.length;
    if (this.count < this.entries.length) this.count++;
  }

  /** Oldest first. */
  list(): LeaseHistoryEntry[] {
    const result: LeaseHistoryEntry[] = [];
    const start = (this.next - this.count + this.entries.length) % this.entries.length;
    for (let i = 0; i < this.count; i++) result.push(this.entries[(start + i) % this.entries.length] as LeaseHistoryEntry);
    return result;
  }
}

/** The last workers that exited (at most `capacity`, oldest first): the snapshot's `recentExits`. */
export class ExitLog {
  private readonly records: WorkerExitRecord[] = [];

  constructor(readonly capacity = 20) {}

  /** Records a reaped worker's exit, and returns the record. */
  add(
    worker: { readonly id: string; readonly pid: number | null; readonly accesses: number },
    exit: ProcessExit,
    reason: WorkerExitReason,
    uptimeMs: number,
  ): WorkerExitRecord {
    const record = { workerId: worker.id, pid: worker.pid as number, exit, reason, exitedAt: Date.now(), uptimeMs, accesses: worker.accesses };
    this.records.push(record);
    if (this.records.length > this.capacity) this.records.shift();
    return record;
  }

  /** Oldest first; the snapshot copies it. */
  list(): readonly WorkerExitRecord[] {
    return this.records;
  }
}
