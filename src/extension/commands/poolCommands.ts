import * as vscode from 'vscode';
import { CONFIG_SECTION, Views } from '../ids';
import { installHint } from '../phpCgi';
import { documentRootOf, readSettings, servedRootText } from '../settings';
import { PoolStartError, UntrustedWorkspaceError, type FolderPool } from '../poolManager';
import { pickPool, type CommandContext } from './context';
import { toFolderKey } from './targets';

/** Start Pool: the node's folder, the only stopped one, or a pick. Failures the user caused get a notification. */
export async function startPool(ctx: CommandContext, arg?: unknown): Promise<void> {
  if (!vscode.workspace.isTrusted) {
    await explainRestrictedMode();
    return;
  }
  if (ctx.manager.pools.length === 0) {
    const open = await vscode.window.showWarningMessage('FastCGI Pool serves a workspace folder: open a folder with a PHP app first.', 'Open Folder');
    if (open) await vscode.commands.executeCommand('vscode.openFolder');
    return;
  }
  const pool = await pickPool(ctx, toFolderKey(arg), ['stopped', 'failed'], 'Start the pool of which folder?');
  if (!pool) {
    // Everything already runs: Start then means "show me".
    await vscode.commands.executeCommand(Views.focusWorkers);
    return;
  }
  await runStart(ctx, pool, () => ctx.manager.start(pool.key));
}

/** Stop Pool: waits for every worker of the pool to exit. */
export async function stopPool(ctx: CommandContext, arg?: unknown): Promise<void> {
  const pool = await pickPool(ctx, toFolderKey(arg), ['running', 'starting', 'failed'], 'Stop the pool of which folder?');
  if (!pool) return;
  await vscode.window.withProgress({ location: { viewId: Views.workers } }, () => ctx.manager.stop(pool.key));
}

/** Restart Pool: stop, then start with the current settings. */
export async function restartPool(ctx: CommandContext, arg?: unknown): Promise<void> {
  if (!vscode.workspace.isTrusted) {
    await explainRestrictedMode();
    return;
  }
  const pool = await pickPool(ctx, toFolderKey(arg), ['running', 'failed'], 'Restart the pool of which folder?');
  if (!pool) return;
  await runStart(ctx, pool, () => ctx.manager.restart(pool.key));
}

/** Open in Browser: through `asExternalUri`, so that it works through Remote-SSH, Dev Containers, WSL, Codespaces and code-server. */
export async function openInBrowser(ctx: CommandContext, arg?: unknown): Promise<void> {
  const external = await externalAppUri(ctx, arg);
  if (external) await vscode.env.openExternal(external);
}

/** Open in Simple Browser: the app in an editor tab (VS Code's built-in Simple Browser), through the same forwarded address. */
export async function openInSimpleBrowser(ctx: CommandContext, arg?: unknown): Promise<void> {
  const external = await externalAppUri(ctx, arg);
  if (external) await vscode.commands.executeCommand('simpleBrowser.show', external.toString(true));
}

/** The running pool's address as the user's browser reaches it (a forwarded port in a remote window), or undefined after saying none runs. */
async function externalAppUri(ctx: CommandContext, arg: unknown): Promise<vscode.Uri | undefined> {
  const pool = await pickPool(ctx, toFolderKey(arg), ['running'], 'Open the pool of which folder?');
  const url = pool?.server?.url;
  if (!url) {
    void vscode.window.showInformationMessage('No FastCGI pool is running. Start one first.');
    return undefined;
  }
  return vscode.env.asExternalUri(vscode.Uri.parse(url));
}

/**
 * Check for php-cgi: looks for the configured php-cgi again (after
 * installing it) and says what it found, and what each folder would serve
 * (the detected document root or the setting's): what a first run needs to
 * know before Start.
 */
export async function detectPhpCgi(ctx: CommandContext): Promise<void> {
  const status = await ctx.phpCgi.check();
  const roots = ctx.manager.pools.map((pool) => {
    const root =
      pool.servedRoot ??
      documentRootOf(readSettings(vscode.workspace.getConfiguration(CONFIG_SECTION, pool.folder.uri)).settings.documentRoot, pool.folder.uri.fsPath);
    return `"${pool.name}" serves ${servedRootText(root)}.`;
  });
  if (status.kind === 'found') {
    void vscode.window.showInformationMessage([`php-cgi ${status.version ?? '(version unknown)'}: ${status.path}.`, ...roots].join(' '));
  } else {
    const choice = await vscode.window.showWarningMessage(`php-cgi not found: "${status.configured}". ${installHint(process.platform)}`, 'Open Settings');
    if (choice) await vscode.commands.executeCommand('workbench.action.openSettings', 'fastcgiPool.phpCgiPath');
  }
}

export function showLog(ctx: CommandContext): void {
  ctx.log.show(true);
}

async function runStart(ctx: CommandContext, pool: FolderPool, start: () => Promise<void>): Promise<void> {
  try {
    await vscode.window.withProgress({ location: { viewId: Views.workers } }, start);
    if (pool.portMoved) void explainMovedPort(ctx, pool);
  } catch (error) {
    if (error instanceof UntrustedWorkspaceError) {
      await explainRestrictedMode();
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    const setting = error instanceof PoolStartError ? error.setting : null;
    const choice = await vscode.window.showErrorMessage(`FastCGI Pool could not start for "${pool.name}": ${message}`, 'Show Log', 'Open Settings');
    if (choice === 'Show Log') showLog(ctx);
    else if (choice === 'Open Settings') await vscode.commands.executeCommand('workbench.action.openSettings', setting ?? 'fastcgiPool');
  }
}

/**
 * The configured port was taken: say who holds it and where the pool went.
 * One of our own stale workers can be stopped from here, and the pool
 * restarted on its port.
 */
async function explainMovedPort(ctx: CommandContext, pool: FolderPool): Promise<void> {
  const moved = pool.portMoved;
  if (!moved) return;
  const reclaim = moved.staleWorker ? `Stop It and Use :${moved.from}` : undefined;
  const message = `FastCGI Pool serves "${pool.name}" on :${moved.to}: ${moved.heldBy ?? `port ${moved.from} is in use`}.`;
  const choice = await vscode.window.showWarningMessage(message, ...(reclaim ? [reclaim] : []), 'Open in Browser', 'Show Log');
  if (choice === undefined) return;
  if (choice === reclaim) {
    const reclaimed = await vscode.window.withProgress({ location: { viewId: Views.workers } }, () => ctx.manager.reclaimPort(pool.key));
    if (!reclaimed) void vscode.window.showWarningMessage(`The stale worker (pid ${moved.staleWorker?.pid}) could not be stopped; see the log.`);
  } else if (choice === 'Open in Browser') {
    await openInBrowser(ctx, { folderKey: pool.key });
  } else {
    showLog(ctx);
  }
}

/** Why Start does nothing in Restricted Mode, with the way out. */
async function explainRestrictedMode(): Promise<void> {
  const choice = await vscode.window.showWarningMessage(
    "FastCGI Pool cannot start in Restricted Mode: it runs php-cgi on this workspace's code, and the workspace's settings choose the executable, ini overrides and environment. Trust the workspace to start a pool.",
    'Manage Workspace Trust',
  );
  if (choice) await vscode.commands.executeCommand('workbench.trust.manage');
}
