import * as vscode from 'vscode';
import type { Finding } from '../../pool/types';
import { DisposableStore } from '../disposables';
import type { PoolChange, PoolManager } from '../poolManager';

/** A finding and the folder whose pool reported it. */
export interface LedgerEntry {
  readonly folderKey: string;
  /** The latest version (resolved once `finding.resolution` is set). */
  readonly finding: Finding;
}

/**
 * Resolutions that mean the finding has been dealt with, so it leaves
 * Problems: the developer killed or recycled the worker, or the pool stopped.
 * Others (the pool reclaimed the lease on its own, the holder released it,
 * the worker exited) stay, because the code that caused them is still
 * there. `released` does not say who released (the holder, or the developer
 * through Release Lease), so our commands say it: {@link FindingLedger.acknowledge}.
 */
const ACKNOWLEDGED: ReadonlySet<NonNullable<Finding['resolution']>['how']> = new Set(['worker-killed', 'pool-stopped']);

/**
 * The findings worth showing, open or recently resolved. With the default
 * leak policy (`reclaim`) the pool resolves a defunct-busy finding in the
 * same tick it finds it; the snapshot then only says "resolved", but the
 * script still killed its worker, and the developer must see that. So the
 * ledger keeps what the events said until the script changes on disk or the
 * pool starts or stops.
 */
export class FindingLedger implements vscode.Disposable {
  private readonly disposables = new DisposableStore();
  private readonly entries = new Map<string, LedgerEntry>();
  /** `folder#worker` the developer acted on: its findings leave once resolved. */
  private readonly acknowledged = new Set<string>();
  private readonly changed = this.disposables.add(new vscode.EventEmitter<void>());
  /** Fires after every change, synchronously. */
  readonly onDidChange = this.changed.event;

  constructor(manager: PoolManager) {
    this.disposables.add(manager.onDidChange((change) => this.onChange(change)));
  }

  all(): LedgerEntry[] {
    return [...this.entries.values()];
  }

  openCount(): number {
    let count = 0;
    for (const entry of this.entries.values()) if (entry.finding.resolution === null) count++;
    return count;
  }

  /**
   * The developer acted on this worker (Kill, Recycle, Release Lease): its
   * resolved findings leave now, its open ones when they resolve.
   */
  acknowledge(folderKey: string, workerId: string): void {
    this.acknowledged.add(`${folderKey}#${workerId}`);
    let removed = false;
    for (const [key, entry] of [...this.entries]) {
      if (entry.folderKey === folderKey && entry.finding.workerId === workerId && entry.finding.resolution !== null) {
        this.entries.delete(key);
        removed = true;
      }
    }
    if (removed) this.changed.fire();
  }

  /** A file changed: resolved findings about it (its script, or a frame of their stack) no longer describe its code. */
  clearScript(fsPath: string): void {
    let removed = false;
    for (const [key, entry] of [...this.entries]) {
      const finding = entry.finding;
      if (finding.resolution !== null && (finding.lease?.scriptFilename === fsPath || finding.stack?.some((frame) => frame.file === fsPath))) {
        this.entries.delete(key);
        removed = true;
      }
    }
    if (removed) this.changed.fire();
  }

  dispose(): void {
    this.disposables.dispose();
  }

  private onChange(change: PoolChange): void {
    if (change.kind === 'folders') return;
    if (change.kind === 'lifecycle') {
      if (change.pool.status === 'starting' || change.pool.status === 'stopped') this.clearFolder(change.pool.key);
      return;
    }
    if (change.kind !== 'pool-event') return;
    const event = change.event;
    if (event.type !== 'finding' && event.type !== 'finding-resolved') return;
    const key = `${change.pool.key}#${event.finding.id}`;
    const resolution = event.finding.resolution;
    const dealtWith = resolution !== null && (ACKNOWLEDGED.has(resolution.how) || this.acknowledged.has(`${change.pool.key}#${event.finding.workerId ?? ''}`));
    if (dealtWith) this.entries.delete(key);
    else this.entries.set(key, { folderKey: change.pool.key, finding: event.finding });
    this.changed.fire();
  }

  private clearFolder(folderKey: string): void {
    for (const key of [...this.acknowledged]) if (key.startsWith(`${folderKey}#`)) this.acknowledged.delete(key);
    let removed = false;
    for (const [key, entry] of [...this.entries]) {
      if (entry.folderKey === folderKey) {
        this.entries.delete(key);
        removed = true;
      }
    }
    if (removed) this.changed.fire();
  }
}
