import type { Finding, FindingResolution } from './types';

/**
 * The findings of one pool: open ones by id, plus the last resolved ones so
 * that a developer still sees what happened and how it was resolved.
 */
/** Shared, frozen: the common answer of openFor when nothing is open. */
const NONE: Finding[] = Object.freeze([]) as unknown as Finding[];

export class FindingLog {
  private readonly open = new Map<string, Finding>();
  /** Dedupe keys of open findings, e.g. `holder-gone:L7`. */
  private readonly byKey = new Map<string, string>();
  private readonly resolved: Finding[] = [];
  private nextId = 1;

  constructor(private readonly keepResolved = 100) {}

  /** Records a finding unless one with the same key is open; returns it, or null for a duplicate. */
  add(key: string, fields: Omit<Finding, 'id' | 'resolution'>): Finding | null {
    if (this.byKey.has(key)) return null;
    const finding: Finding = Object.freeze({ ...fields, id: `F${this.nextId++}`, resolution: null });
    this.open.set(finding.id, finding);
    this.byKey.set(key, finding.id);
    return finding;
  }

  /** Marks an open finding resolved; returns the resolved copy, or null if it was not open. */
  resolve(id: string, how: FindingResolution['how'], detail: string): Finding | null {
    const finding = this.open.get(id);
    if (!finding) return null;
    this.open.delete(id);
    for (const [key, value] of this.byKey) {
      if (value === id) this.byKey.delete(key);
    }
    const done: Finding = Object.freeze({ ...finding, resolution: Object.freeze({ at: Date.now(), how, detail }) });
    this.resolved.push(done);
    if (this.resolved.length > this.keepResolved) this.resolved.shift();
    return done;
  }

  /** Whether a finding with this key is open. */
  hasOpen(key: string): boolean {
    return this.byKey.has(key);
  }

  openFor(workerId: string): Finding[] {
    if (this.open.size === 0) return NONE;
    return [...this.open.values()].filter((f) => f.workerId === workerId);
  }

  openFindings(): Finding[] {
    return [...this.open.values()];
  }

  /** Resolved ones (oldest first), then open ones. */
  all(): Finding[] {
    return [...this.resolved, ...this.open.values()];
  }
}
