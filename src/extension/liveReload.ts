import { isAbsolute, relative } from 'node:path';
import * as vscode from 'vscode';
import { isIgnoredForLiveReload } from '../shared/liveReload';
import { DisposableStore } from './disposables';
import type { PoolManager } from './poolManager';

/**
 * Tells each running pool's live reload about the files of its folder that
 * change: a save in the editor (`onDidSaveTextDocument`, at once) and any
 * change on disk (a file-system watcher: `git checkout`, a build step, a
 * save in another editor). A save is seen twice, which the engine's
 * coalescing merges into one reload. vendor/, node_modules/, .git/ and
 * editors' temp files never reload a page.
 */
export class LiveReloadRelay implements vscode.Disposable {
  private readonly disposables = new DisposableStore();

  constructor(private readonly manager: PoolManager) {
    this.disposables.add(vscode.workspace.onDidSaveTextDocument((document) => this.changed(document.uri)));
    const watcher = this.disposables.add(vscode.workspace.createFileSystemWatcher('**/*'));
    for (const event of [watcher.onDidChange, watcher.onDidCreate, watcher.onDidDelete]) this.disposables.add(event((uri) => this.changed(uri)));
  }

  /** A file changed: every running pool whose folder holds it hears of it, by its path in that folder. */
  changed(uri: vscode.Uri): void {
    if (uri.scheme !== 'file') return;
    for (const pool of this.manager.pools) {
      const live = pool.server?.gateway?.liveReload;
      if (!live) continue;
      const path = relative(pool.folder.uri.fsPath, uri.fsPath);
      if (path === '' || path.startsWith('..') || isAbsolute(path) || isIgnoredForLiveReload(path)) continue;
      live.changed([path.split('\\').join('/')]);
    }
  }

  dispose(): void {
    this.disposables.dispose();
  }
}
