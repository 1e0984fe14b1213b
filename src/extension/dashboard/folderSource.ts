import * as vscode from 'vscode';
import type { PoolEvent, PoolSnapshot } from '../../pool/types';
import type { LeaseStack } from '../../shared/stackTypes';
import { DisposableStore } from '../disposables';
import type { FolderPool, PoolChange } from '../poolManager';
import type { WorkerActions } from '../workerActions';
import type { DashboardSource, DisposableLike, IntentOutcome } from './source';

/** The part of the PoolManager a folder's dashboard reads (PoolManager is one; tests may fake it). */
export interface DashboardPools {
  readonly pools: readonly FolderPool[];
  get(key: string): FolderPool | undefined;
  onDidChange(listener: (change: PoolChange) => unknown): DisposableLike;
}

/** What the dashboard's actions use: the same services as the worker commands. */
export interface DashboardServices {
  /** The Workers tree (`WorkersView`): Reveal selects the worker there. */
  readonly view: { revealWorker(folderKey: string, workerId: string, focus: boolean): Promise<boolean> };
  /** Kill, Recycle, Release Lease: the commands' implementation. */
  readonly actions: Pick<WorkerActions, 'retire' | 'releaseLease'>;
}

/**
 * One workspace folder's pool as a dashboard sees it. It names the folder,
 * not one pool run: every call looks the folder's pool up in the manager,
 * so the snapshot is null while the pool is stopped (or the folder has left
 * the workspace) and follows the next run when it starts again.
 *
 * The actions are the tree's worker commands without their pickers (one
 * {@link WorkerActions} serves both): the intent was already checked
 * against the snapshot by the controller, and the pool has the last word.
 */
export class FolderDashboardSource implements DashboardSource, vscode.Disposable {
  private readonly listeners = new Set<DisposableLike>();
  private disposed = false;
  /** The folder's name when last seen, for a folder that has left the workspace. */
  private lastLabel: string;

  constructor(
    readonly key: string,
    private readonly pools: DashboardPools,
    private readonly services: DashboardServices,
    /** Called when the last listener (an open dashboard) lets go. */
    private readonly onUnused: (source: FolderDashboardSource) => void = () => undefined,
  ) {
    this.lastLabel = pools.get(key)?.name ?? '';
  }

  /** The folder's name (it may change while the folder stays). */
  get label(): string {
    const name = this.folder()?.name;
    if (name !== undefined) this.lastLabel = name;
    return this.lastLabel;
  }

  /** How many dashboards listen now. */
  get listenerCount(): number {
    return this.listeners.size;
  }

  snapshot(): PoolSnapshot | null {
    return this.folder()?.snapshot() ?? null;
  }

  stacks(): ReadonlyMap<string, LeaseStack> {
    return this.folder()?.lastStacks() ?? new Map();
  }

  onDidChange(listener: (event?: PoolEvent) => void): DisposableLike {
    if (this.disposed) return { dispose: () => undefined };
    const subscription = this.pools.onDidChange((change) => {
      if (change.kind === 'folders') {
        // The folder may have left (the snapshot is then null) or been renamed.
        listener();
      } else if (change.pool.key === this.key) {
        if (change.kind === 'pool-event') listener(change.event);
        else if (change.kind === 'lifecycle') listener();
        // Gateway events (one per request) change nothing the pool's own events do not.
      }
    });
    let done = false;
    const registration: DisposableLike = {
      dispose: () => {
        if (done) return;
        done = true;
        subscription.dispose();
        this.listeners.delete(registration);
        if (this.listeners.size === 0 && !this.disposed) this.onUnused(this);
      },
    };
    this.listeners.add(registration);
    return registration;
  }

  kill(workerId: string): IntentOutcome {
    return !this.disposed && this.services.actions.retire(this.key, workerId, 'kill', 'dashboard');
  }

  recycle(workerId: string): IntentOutcome {
    return !this.disposed && this.services.actions.retire(this.key, workerId, 'graceful', 'dashboard');
  }

  releaseLease(leaseId: string): IntentOutcome {
    return !this.disposed && this.services.actions.releaseLease(this.key, leaseId, 'dashboard');
  }

  async openScript(path: string, line?: number): Promise<boolean> {
    if (this.disposed) return false;
    const position = line === undefined ? undefined : new vscode.Position(line - 1, 0);
    await vscode.window.showTextDocument(vscode.Uri.file(path), { preview: true, ...(position ? { selection: new vscode.Range(position, position) } : {}) });
    return true;
  }

  async revealWorker(workerId: string): Promise<boolean> {
    if (this.disposed || !this.folder()?.server) return false;
    return this.services.view.revealWorker(this.key, workerId, true);
  }

  /** Drops every dashboard's subscription: they hear nothing more, and the actions refuse. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const registration of [...this.listeners]) registration.dispose();
  }

  private folder(): FolderPool | undefined {
    return this.disposed ? undefined : this.pools.get(this.key);
  }
}

/**
 * The dashboards' sources, one per workspace folder, made on first use and
 * kept by the folder's key (its URI), so the command and the serializer hand
 * the same source to `DashboardPanel`, which keeps one panel per key. A
 * source goes with its folder: when the folder leaves the workspace and no
 * dashboard shows it (else when that dashboard closes). Disposing the
 * registry disposes every source.
 */
export class DashboardSources implements vscode.Disposable {
  private readonly disposables = new DisposableStore();
  private readonly sources = new Map<string, FolderDashboardSource>();

  constructor(
    private readonly pools: DashboardPools,
    private readonly services: DashboardServices,
  ) {
    this.disposables.add({ dispose: () => this.disposeSources() });
    this.disposables.add(
      pools.onDidChange((change) => {
        if (change.kind === 'folders') this.prune();
      }),
    );
  }

  /** The folder's source. */
  sourceFor(pool: FolderPool): FolderDashboardSource {
    return this.sourceForKey(pool.key) as FolderDashboardSource;
  }

  /**
   * The source of the folder with this key, for the serializer: undefined
   * when no such folder is open. A null key (the page never got a snapshot)
   * means the only folder, when there is one.
   */
  sourceForKey(key: string | null): FolderDashboardSource | undefined {
    const folderKey = key ?? (this.pools.pools.length === 1 ? this.pools.pools[0]?.key : undefined);
    if (folderKey === undefined) return undefined;
    const cached = this.sources.get(folderKey);
    if (cached) return cached;
    if (!this.pools.get(folderKey)) return undefined;
    const source = new FolderDashboardSource(folderKey, this.pools, this.services, (unused) => {
      if (!this.pools.get(unused.key)) this.forget(unused);
    });
    this.sources.set(folderKey, source);
    return source;
  }

  /** The sources made so far (for tests). */
  get size(): number {
    return this.sources.size;
  }

  dispose(): void {
    this.disposables.dispose();
  }

  private disposeSources(): void {
    for (const source of this.sources.values()) source.dispose();
    this.sources.clear();
  }

  /** Sources of folders that left the workspace, unless a dashboard still shows them. */
  private prune(): void {
    for (const source of [...this.sources.values()]) {
      if (!this.pools.get(source.key) && source.listenerCount === 0) this.forget(source);
    }
  }

  private forget(source: FolderDashboardSource): void {
    if (this.sources.get(source.key) === source) this.sources.delete(source.key);
    source.dispose();
  }
}
