import * as vscode from 'vscode';
import { Views } from '../ids';
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

/** Open in Browser: through `asExternalUri`, so that it works in remote windows and code-server too. */
export async function openInBrowser(ctx: CommandContext, arg?: unknown): Promise<void> {
  const pool = await pickPool(ctx, toFolderKey(arg), ['running'], 'Open the pool of which folder?');
  const url = pool?.server?.url;
  if (!url) {
    void vscode.window.showInformationMessage('No FastCGI pool is running. Start one first.');
    return;
  }
  const external = await vscode.env.asExternalUri(vscode.Uri.parse(url));
  await vscode.env.openExternal(external);
}

export function showLog(ctx: CommandContext): void {
  ctx.log.show(true);
}

async function runStart(ctx: CommandContext, pool: FolderPool, start: () => Promise<void>): Promise<void> {
  try {
    await vscode.window.withProgress({ location: { viewId: Views.workers } }, start);
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

/** Why Start does nothing in Restricted Mode, with the way out. */
async function explainRestrictedMode(): Promise<void> {
  const choice = await vscode.window.showWarningMessage(
    'FastCGI Pool cannot start in Restricted Mode: it runs php-cgi on this workspace\'s code, and the workspace\'s settings choose the executable, ini overrides and environment. Trust the workspace to start a pool.',
    'Manage Workspace Trust',
  );
  if (choice) await vscode.commands.executeCommand('workbench.trust.manage');
}
