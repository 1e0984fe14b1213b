import * as vscode from 'vscode';
import { DASHBOARD_TITLE, DASHBOARD_VIEW_TYPE, parseDashboardViewState } from '../../shared/dashboardProtocol';
import { DisposableStore } from '../disposables';
import { DashboardController, type DashboardLog } from './controller';
import { createNonce, renderDashboardHtml } from './html';
import { sourceKey, type DashboardSource } from './source';

export type { DashboardSource } from './source';

/** The built webview, relative to the extension: the only folder the panel may load from. */
const WEBVIEW_DIR = ['dist', 'webview'] as const;

/**
 * The "FastCGI Pool Dashboard" editor panel: one per source (workspace
 * folder). It owns the WebviewPanel and a DashboardController, which does the
 * work; this class is only the `vscode` glue.
 *
 * No `retainContextWhenHidden`: a hidden dashboard costs nothing; shown
 * again, the page reloads, restores its view state and asks for a fresh
 * snapshot. Register `DashboardSerializer` so it also survives a reload.
 */
export class DashboardPanel implements vscode.Disposable {
  static readonly viewType = DASHBOARD_VIEW_TYPE;
  private static readonly panels = new Map<string, DashboardPanel>();

  private readonly disposables = new DisposableStore();
  private readonly controller: DashboardController;

  /** Shows the source's dashboard, creating it if needed. */
  static createOrShow(context: vscode.ExtensionContext, source: DashboardSource, log?: DashboardLog): DashboardPanel {
    const existing = DashboardPanel.panels.get(sourceKey(source));
    if (existing) {
      existing.panel.reveal();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(
      DASHBOARD_VIEW_TYPE,
      panelTitle(source),
      { viewColumn: vscode.ViewColumn.Active, preserveFocus: false },
      { ...webviewOptions(context.extensionUri), retainContextWhenHidden: false, enableFindWidget: true },
    );
    return new DashboardPanel(panel, context, source, log);
  }

  /** Takes over a panel VS Code restored after a reload (from the serializer). */
  static revive(panel: vscode.WebviewPanel, context: vscode.ExtensionContext, source: DashboardSource, log?: DashboardLog): DashboardPanel {
    DashboardPanel.panels.get(sourceKey(source))?.dispose();
    panel.webview.options = webviewOptions(context.extensionUri);
    panel.title = panelTitle(source);
    return new DashboardPanel(panel, context, source, log);
  }

  /** The open dashboards' panels, e.g. to close them all when the extension deactivates. */
  static disposeAll(): void {
    for (const panel of [...DashboardPanel.panels.values()]) panel.dispose();
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    context: vscode.ExtensionContext,
    readonly source: DashboardSource,
    log: DashboardLog | undefined,
  ) {
    DashboardPanel.panels.set(sourceKey(source), this);
    this.disposables.add(panel);
    const webview = panel.webview;
    this.controller = this.disposables.add(new DashboardController(webview, source, log ? { log } : {}));
    const file = (name: string): string => webview.asWebviewUri(vscode.Uri.joinPath(context.extensionUri, ...WEBVIEW_DIR, name)).toString();
    webview.html = renderDashboardHtml({
      cspSource: webview.cspSource,
      nonce: createNonce(),
      scriptUri: file('main.js'),
      styleUri: file('dashboard.css'),
      toolkitUri: file('toolkit.min.js'),
    });
    this.disposables.add(webview.onDidReceiveMessage((message: unknown) => void this.controller.handleMessage(message)));
    this.disposables.add(panel.onDidChangeViewState((e) => this.controller.setVisible(e.webviewPanel.visible)));
    this.disposables.add(panel.onDidDispose(() => this.dispose()));
  }

  /** Closes the panel: its subscriptions go first, then its controller, then the webview panel. */
  dispose(): void {
    if (this.disposables.isDisposed) return;
    if (DashboardPanel.panels.get(sourceKey(this.source)) === this) DashboardPanel.panels.delete(sourceKey(this.source));
    this.disposables.dispose();
  }
}

/**
 * Brings dashboards back after a window reload. VS Code hands over the
 * panel and the state the webview last saved; the state's `sourceKey` finds
 * the source again. A source that is gone (its folder was closed) gets a
 * stand-in that shows "no pool" and refuses every intent.
 */
export class DashboardSerializer implements vscode.WebviewPanelSerializer<unknown> {
  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly resolveSource: (key: string | null) => DashboardSource | undefined,
    private readonly log?: DashboardLog,
  ) {}

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const { sourceKey: key } = parseDashboardViewState(state);
    const source = this.resolveSource(key) ?? missingSource(key);
    DashboardPanel.revive(panel, this.context, source, this.log);
  }
}

/** Registers the serializer (call it in `activate`, with `onWebviewPanel:fastcgiPool.dashboard` as an activation event). */
export function registerDashboardSerializer(
  context: vscode.ExtensionContext,
  resolveSource: (key: string | null) => DashboardSource | undefined,
  log?: DashboardLog,
): vscode.Disposable {
  return vscode.window.registerWebviewPanelSerializer(DASHBOARD_VIEW_TYPE, new DashboardSerializer(context, resolveSource, log));
}

function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return {
    enableScripts: true,
    enableCommandUris: false,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, ...WEBVIEW_DIR)],
  };
}

function panelTitle(source: DashboardSource): string {
  return source.label ? `${DASHBOARD_TITLE} (${source.label})` : DASHBOARD_TITLE;
}

function missingSource(key: string | null): DashboardSource {
  return {
    key: key ?? 'default',
    label: 'folder no longer open',
    snapshot: () => null,
    onDidChange: () => ({ dispose: () => undefined }),
    kill: () => false,
    recycle: () => false,
    releaseLease: () => false,
    openScript: () => false,
    revealWorker: () => false,
  };
}
