import * as vscode from 'vscode';
import { DisposableStore } from './disposables';
import { CONFIG_SECTION } from './ids';
import type { PhpCgiStatus, PhpCgiDetector } from './phpCgi';
import type { PoolManager } from './poolManager';
import { documentRootOf, readSettings, type ServedRoot } from './settings';

/**
 * The Workers view's description, next to its title: the php-cgi found
 * (`php-cgi 8.2.36`, or `php-cgi not found`) and, for a single folder, the
 * document root it serves (`serves public/`): what a first run needs to
 * know before pressing Start, while the welcome view fills the empty tree.
 * VS Code shows it where the view has its own header (beside other views);
 * alone in its container, the container's title hides it, which is why the
 * welcome also has a button that says the same (Check for php-cgi).
 */
export function setupDescription(php: PhpCgiStatus | null, roots: readonly ServedRoot[]): string {
  const parts: string[] = [];
  if (php?.kind === 'found') parts.push(php.version ? `php-cgi ${php.version}` : 'php-cgi');
  else if (php?.kind === 'missing') parts.push('php-cgi not found');
  const [root] = roots;
  if (roots.length === 1 && root) parts.push(`serves ${root.shown === '' ? 'the folder' : root.shown.startsWith('/') ? root.shown : `${root.shown}/`}`);
  return parts.join(' · ');
}

/** Keeps the view's description current; looks for php-cgi again each time the view is shown. */
export class ViewDescriptionProjection implements vscode.Disposable {
  private readonly disposables = new DisposableStore();

  constructor(
    private readonly view: vscode.TreeView<unknown>,
    private readonly detector: PhpCgiDetector,
    private readonly manager: PoolManager,
  ) {
    this.disposables.add(detector.onDidChange(() => this.update()));
    this.disposables.add(
      manager.onDidChange((change) => {
        if (change.kind === 'folders' || change.kind === 'lifecycle') this.update();
      }),
    );
    this.disposables.add(
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration(`${CONFIG_SECTION}.documentRoot`)) this.update();
      }),
    );
    // php-cgi may have been installed while the view was away.
    this.disposables.add(
      view.onDidChangeVisibility(({ visible }) => {
        if (visible) void detector.check();
      }),
    );
    this.update();
  }

  update(): void {
    const roots = this.manager.pools.map((pool) => {
      if (pool.servedRoot) return pool.servedRoot;
      const { settings } = readSettings(vscode.workspace.getConfiguration(CONFIG_SECTION, pool.folder.uri));
      return documentRootOf(settings.documentRoot, pool.folder.uri.fsPath);
    });
    this.view.description = setupDescription(this.detector.status, roots);
  }

  dispose(): void {
    this.disposables.dispose();
  }
}
