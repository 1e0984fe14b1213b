import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import { createThreadedStartServer } from '../engineThread/threadedServer';
import { registerCommands } from './commands/table';
import { ContextKeyProjection } from './contextKeys';
import { DashboardPanel, registerDashboardSerializer } from './dashboard/dashboardPanel';
import { DashboardSources } from './dashboard/folderSource';
import { DiagnosticsProjection } from './diagnostics/diagnostics';
import { FindingLedger } from './diagnostics/findingLedger';
import { FindingQuickFixes } from './diagnostics/quickFixes';
import { DisposableStore } from './disposables';
import { CONFIG_SECTION, LOG_CHANNEL_NAME, WORKER_LOG_SCHEME } from './ids';
import { LogProjection, WorkerLogStore } from './log';
import { PhpDebugSessions } from './phpDebug';
import { PoolManager } from './poolManager';
import { stopRegisteredWorker } from '../platform/workerRegistry';
import { explainBusyPort } from './busyPort';
import { LiveReloadRelay } from './liveReload';
import { PhpCgiDetector } from './phpCgi';
import { isPortFree } from './ports';
import { phpExecutablePaths, readSettings } from './settings';
import { poolStateDir, sweepStaleWorkers } from './staleWorkers';
import { StatusBarProjection } from './statusBar';
import { WorkersView } from './tree/workersView';
import { ViewDescriptionProjection } from './viewDescription';
import { WorkerActions } from './workerActions';

/** The running extension's services, for `deactivate`. */
let manager: PoolManager | undefined;

/**
 * The composition root: builds the services, wires them and hands them to
 * `context.subscriptions` in one store that disposes in reverse order, so
 * the projections unsubscribe before the manager stops the pools. The pool
 * manager is the single source of truth; the tree, diagnostics, status bar
 * and log are projections of its snapshots and events.
 */
export function activate(context: vscode.ExtensionContext): void {
  const activationStartedAt = Date.now();
  const store = new DisposableStore();
  context.subscriptions.push(store);

  const log = store.add(vscode.window.createOutputChannel(LOG_CHANNEL_NAME, { log: true }));
  // Workspace storage when a folder is open, so each workspace's registry is its own.
  const storageRoot = (context.storageUri ?? context.globalStorageUri).fsPath;
  const pools = store.add(
    new PoolManager({
      // Each running pool (its workers, HTTP front and reconciler) in a worker thread of its own: see docs/engine-thread.md.
      startServer: createThreadedStartServer({
        entry: vscode.Uri.joinPath(context.extensionUri, 'dist', 'engineThread.js').fsPath,
        onProtocolError: (reason) => log.error(reason),
      }),
      isPortFree,
      readSettings: (folder) => readSettings(vscode.workspace.getConfiguration(CONFIG_SECTION, folder.uri)),
      stateDirFor: (folder) => poolStateDir(storageRoot, folder.uri.toString()),
      isTrusted: () => vscode.workspace.isTrusted,
      log,
      explainBusyPort: (_host, port) => explainBusyPort(port, storageRoot),
      stopStaleWorker: (worker) => stopRegisteredWorker(worker),
      phpExecutablesFor: (folder) => phpExecutablePaths(vscode.workspace.getConfiguration('php', folder.uri)),
    }),
  );
  manager = pools;
  void pools.syncFolders(vscode.workspace.workspaceFolders ?? []);

  const workerLogs = store.add(new WorkerLogStore());
  const ledger = store.add(new FindingLedger(pools));
  const view = store.add(new WorkersView(pools, ledger));
  const diagnostics = store.add(new DiagnosticsProjection(pools, ledger, readmeUri(context.extensionUri)));
  store.add(new StatusBarProjection(pools, ledger));
  store.add(new LogProjection(pools, log, workerLogs));
  store.add(new ContextKeyProjection(pools));
  // First run: is php-cgi installed (the welcome view and the view's description say), and live reload on save.
  const phpCgi = store.add(new PhpCgiDetector(log));
  void phpCgi.check();
  store.add(new ViewDescriptionProjection(view.treeView as vscode.TreeView<unknown>, phpCgi, pools));
  store.add(new LiveReloadRelay(pools));

  store.add(vscode.workspace.registerTextDocumentContentProvider(WORKER_LOG_SCHEME, workerLogs));
  store.add(
    vscode.languages.registerCodeActionsProvider({ scheme: 'file' }, new FindingQuickFixes(diagnostics), { providedCodeActionKinds: FindingQuickFixes.kinds }),
  );
  // The lease dashboards: one source per folder, panels restored after a reload by the serializer.
  // Added after the sources, the panels close first; the manager stops the pools after both.
  // Kill, Recycle, Release Lease: one implementation for the commands and the dashboards.
  const actions = new WorkerActions({ pools, ledger, log });
  const dashboards = store.add(new DashboardSources(pools, { view, actions }));
  store.add(registerDashboardSerializer(context, (key) => dashboards.sourceForKey(key), log));
  store.add({ dispose: () => DashboardPanel.disposeAll() });
  const phpDebug = store.add(new PhpDebugSessions());
  const commands = registerCommands({
    manager: pools,
    view,
    log,
    workerLogs,
    actions,
    extensionContext: context,
    dashboardSourceFor: (pool) => dashboards.sourceFor(pool),
    phpCgi,
    phpDebug,
  });
  for (const registration of commands) store.add(registration);

  store.add(vscode.workspace.onDidChangeWorkspaceFolders(() => void pools.syncFolders(vscode.workspace.workspaceFolders ?? [])));
  store.add(vscode.workspace.onDidGrantWorkspaceTrust(() => log.info('workspace trusted: "FastCGI: Start Pool" can run now')));
  store.add(
    vscode.workspace.onDidChangeConfiguration((event) => {
      for (const pool of pools.pools) {
        // Not applied on the fly: a restart would cut requests the developer may be debugging.
        if (pool.server && event.affectsConfiguration(CONFIG_SECTION, pool.folder.uri)) {
          log.info(`[${pool.name}] settings changed; run "FastCGI: Restart Pool" to apply them`);
        }
      }
    }),
  );

  // Workers an earlier, crashed or reloaded, extension host left behind.
  void sweepStaleWorkers(storageRoot, log);
  // What the extension adds to the window's start-up (the engine loads only when a pool starts).
  log.info(`activated in ${Date.now() - activationStartedAt} ms`);
}

/**
 * The README that explains each finding kind (diagnostic codes link to its
 * anchors). vsce stores it as `readme.md` in the .vsix; a development
 * checkout has `README.md`, and file systems may care about case.
 */
function readmeUri(extensionUri: vscode.Uri): vscode.Uri {
  const packaged = vscode.Uri.joinPath(extensionUri, 'readme.md');
  return existsSync(packaged.fsPath) ? packaged : vscode.Uri.joinPath(extensionUri, 'README.md');
}

/** Stops every pool and resolves once all workers have exited (VS Code waits for it). */
export async function deactivate(): Promise<void> {
  const running = manager;
  manager = undefined;
  await running?.stopAll(1_000);
}
