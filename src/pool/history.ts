import type { LeaseHistoryEntry } from './types';

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
