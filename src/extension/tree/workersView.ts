import * as vscode from 'vscode';
import { plural } from '../../shared/text';
import type { FindingLedger } from '../diagnostics/findingLedger';
import { DisposableStore } from '../disposables';
import { Views } from '../ids';
import type { PoolManager } from '../poolManager';
import { Throttle } from '../throttle';
import { present, WorkersTreeModel, type TreeNode } from './model';
import { tooltipMarkdown } from './tooltips';

/** How often ages in descriptions move on while the view is visible. */
const TICK_MS = 1_000;

/**
 * The Workers tree: a projection of the pool manager. Engine events only
 * schedule a sync; the sync reads snapshots, diffs them against what VS Code
 * shows and refreshes just the nodes that changed, at most four times a
 * second and never while the view is hidden.
 */
export class WorkersView implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly disposables = new DisposableStore();
  private readonly model = new WorkersTreeModel();
  private readonly changed = this.disposables.add(new vscode.EventEmitter<TreeNode | TreeNode[] | undefined>());
  readonly onDidChangeTreeData = this.changed.event;
  readonly treeView: vscode.TreeView<TreeNode>;
  /** Tree refreshes: suspended while the view is hidden. */
  private readonly refreshes: Throttle;
  /** The badge is on the activity bar, visible while the view is not: it has its own, never suspended, throttle. */
  private readonly badgeUpdates: Throttle;
  private ticker: NodeJS.Timeout | null = null;
  /** Pool nodes VS Code was last given as leaves (no snapshot yet: starting, stopped, failed). */
  private readonly leafPools = new Set<string>();

  constructor(
    private readonly manager: PoolManager,
    private readonly ledger: FindingLedger,
  ) {
    this.treeView = this.disposables.add(vscode.window.createTreeView(Views.workers, { treeDataProvider: this, showCollapseAll: true }));
    this.refreshes = this.disposables.add(new Throttle(() => this.refresh(), { suspended: !this.treeView.visible }));
    this.badgeUpdates = this.disposables.add(new Throttle(() => this.updateBadge()));
    this.disposables.add(
      manager.onDidChange(() => {
        this.refreshes.request();
        this.badgeUpdates.request();
      }),
    );
    this.disposables.add(this.treeView.onDidChangeVisibility(({ visible }) => this.setVisible(visible)));
    this.disposables.add(ledger.onDidChange(() => this.badgeUpdates.request()));
    this.disposables.add({ dispose: () => this.stopTicker() });
    if (this.treeView.visible) this.startTicker();
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    const p = present(node, Date.now());
    const state =
      p.collapsible === 'none'
        ? vscode.TreeItemCollapsibleState.None
        : p.collapsible === 'collapsed'
          ? vscode.TreeItemCollapsibleState.Collapsed
          : vscode.TreeItemCollapsibleState.Expanded;
    if (node.kind === 'pool') this.expandWhenItGrows(node, state);
    const item = new vscode.TreeItem(p.label, state);
    item.id = node.id;
    item.description = p.description;
    item.contextValue = p.contextValue;
    item.iconPath = new vscode.ThemeIcon(p.icon.id, p.icon.color ? new vscode.ThemeColor(p.icon.color) : undefined);
    if (node.kind === 'lease' && node.field === 'script' && node.lease.scriptFilename) {
      item.command = { command: 'vscode.open', title: 'Open Script', arguments: [vscode.Uri.file(node.lease.scriptFilename)] };
    }
    if (node.kind === 'stack' && node.frame && !node.frame.internal && node.frame.file) {
      // A frame opens where the request is in that file.
      const line = Math.max(0, (node.frame.line ?? 1) - 1);
      const selection = new vscode.Range(line, 0, line, 0);
      item.command = {
        command: 'vscode.open',
        title: 'Open Frame',
        arguments: [vscode.Uri.file(node.frame.file), { selection, preview: true } satisfies vscode.TextDocumentShowOptions],
      };
    } else if (p.open) {
      // A paused worker: its breakpoint's line (the debugger's own view shows it too, once it has stopped there).
      const line = Math.max(0, (p.open.line ?? 1) - 1);
      const options: vscode.TextDocumentShowOptions = { preview: true, selection: new vscode.Range(line, 0, line, 0) };
      item.command = { command: 'vscode.open', title: 'Open Breakpoint', arguments: [vscode.Uri.file(p.open.path), options] };
    }
    return item;
  }

  /** Tooltips are built on hover: they are the expensive part and most are never seen. */
  resolveTreeItem(item: vscode.TreeItem, node: TreeNode): vscode.TreeItem {
    const markdown = tooltipMarkdown(node, Date.now());
    if (markdown !== null) {
      const tooltip = new vscode.MarkdownString(markdown);
      tooltip.supportThemeIcons = true;
      item.tooltip = tooltip;
    }
    return item;
  }

  getChildren(node?: TreeNode): TreeNode[] {
    if (node) return [...this.model.children(node)];
    // VS Code asks for the roots only on a full refresh: sync so it reads the present.
    this.sync();
    return [...this.model.rootNodes()];
  }

  getParent(node: TreeNode): TreeNode | undefined {
    return this.model.parentOf(node);
  }

  /**
   * Selects a worker, expanded so its lease shows; resolves false if it is not
   * in the tree. The sync first makes the node's id known to VS Code's side
   * through a refresh, since reveal needs it registered.
   */
  async revealWorker(folderKey: string, workerId: string, focus: boolean): Promise<boolean> {
    this.refresh();
    const node = this.model.byId(`worker:${folderKey}#${workerId}`);
    if (!node) return false;
    await this.treeView.reveal(node, { select: true, focus, expand: true });
    return true;
  }

  /** The live node with this id (commands receive nodes; tests look them up). */
  nodeById(id: string): TreeNode | undefined {
    return this.model.byId(id);
  }

  dispose(): void {
    this.disposables.dispose();
  }

  /**
   * VS Code applies a TreeItem's collapsibleState only when it first sees
   * its id (microsoft/vscode#54192): a pool node it was given while the pool
   * started, still without children, would stay collapsed once its workers
   * arrive. Revealing it expanded opens it as a new node would be. (Seen in
   * the e2e test once the engine moved to its thread: the view opened in the
   * few ms between the port answering and the main thread hearing "started".)
   */
  private expandWhenItGrows(node: TreeNode, state: vscode.TreeItemCollapsibleState): void {
    if (state === vscode.TreeItemCollapsibleState.None) {
      this.leafPools.add(node.id);
      return;
    }
    if (!this.leafPools.delete(node.id)) return;
    // After VS Code has this item: reveal asks for it by id.
    setTimeout(() => void Promise.resolve(this.treeView.reveal(node, { expand: true, select: false, focus: false })).catch(() => undefined), 0);
  }

  private setVisible(visible: boolean): void {
    if (visible) {
      this.refreshes.resume();
      this.startTicker();
    } else {
      this.refreshes.suspend();
      this.stopTicker();
    }
  }

  private startTicker(): void {
    if (this.ticker || this.disposables.isDisposed) return;
    this.ticker = setInterval(() => {
      if (this.model.hasLiveTimes()) this.refreshes.request();
    }, TICK_MS);
  }

  private stopTicker(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
  }

  private sync(): ReturnType<WorkersTreeModel['sync']> {
    return this.model.sync(this.manager.pools, (key) => this.manager.get(key)?.folder.uri.fsPath ?? null, Date.now());
  }

  private refresh(): void {
    const change = this.sync();
    if (change.kind === 'all') this.changed.fire(undefined);
    else if (change.kind === 'nodes') this.changed.fire([...change.nodes]);
    this.updateBadge();
  }

  /** The badge counts the findings listed in Problems: open ones, and those the pool resolved on its own. */
  private updateBadge(): void {
    const count = this.ledger.all().length;
    const open = this.ledger.openCount();
    this.treeView.badge = count > 0 ? { value: count, tooltip: `FastCGI Pool: ${plural(count, 'finding')} (${open} open), see Problems` } : undefined;
  }
}
