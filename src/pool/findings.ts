import { leaseProtocol, type FindingDraft, type WorkerFacts } from './findingBuilder';
import type { Finding, FindingResolution, LeaseSnapshot, PoolEvent } from './types';

/** Shared, frozen: the common answer of openFor when nothing is open. */
const NONE: Finding[] = Object.freeze([]) as unknown as Finding[];

/**
 * The findings of one pool: open ones by id, plus the last resolved ones so
 * that a developer still sees what happened and how it was resolved.
 */
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

  get openCount(): number {
    return this.open.size;
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

/**
 * The pool's findings as the world sees them: each one reported and each
 * resolution announced exactly once, as an event (the log deduplicates).
 */
export class PoolFindings {
  readonly log = new FindingLog();

  constructor(
    /** Tells the pool's listeners (the snapshot changes too). */
    private readonly announce: (event: Extract<PoolEvent, { type: 'finding' | 'finding-resolved' | 'lease-protocol-error' }>) => void,
  ) {}

  /** Whether any finding is open (a release checks this before anything else). */
  get anyOpen(): boolean {
    return this.log.openCount > 0;
  }

  /** Records a finding unless the same one is open; returns it, or null for a duplicate. */
  report(draft: FindingDraft): Finding | null {
    const finding = this.log.add(draft.key, draft.fields);
    if (finding) this.announce({ type: 'finding', finding });
    return finding;
  }

  /** Resolves a finding that is still open (null: nothing to do). */
  resolve(finding: Finding | null, how: FindingResolution['how'], detail: string): void {
    const done = finding && this.log.resolve(finding.id, how, detail);
    if (done) this.announce({ type: 'finding-resolved', finding: done });
  }

  /** Resolves every open finding about one worker, or (workerId null) all of them. */
  resolveAll(workerId: string | null, how: FindingResolution['how'], detail: string): void {
    const open = workerId === null ? this.log.openFindings() : this.log.openFor(workerId);
    for (const finding of open) this.resolve(finding, how, detail);
  }

  /**
   * A holder released a lease twice, or released one this pool never issued
   * (`worker` null then): an event, and a finding resolved at once, since
   * the release was ignored and nothing is left to repair.
   */
  protocolError(worker: WorkerFacts | null, lease: LeaseSnapshot, problem: 'double-release' | 'unknown-lease'): void {
    this.announce({ type: 'lease-protocol-error', leaseId: lease.id, workerId: worker ? worker.id : null, problem, holder: lease.holder });
    const finding = this.report(leaseProtocol(worker, lease, problem, Date.now()));
    this.resolve(finding, 'released', 'ignored: the lease had already ended');
  }
}
