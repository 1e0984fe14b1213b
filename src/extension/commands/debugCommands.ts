import * as vscode from 'vscode';
import { compilePathGlob } from '../../dbgp/requestMatcher';
import type { DebuggerSnapshot } from '../../pool/types';
import { PHP_DEBUG } from '../ids';
import { PhpDebugSessions } from '../phpDebug';
import type { FolderPool } from '../poolManager';
import { pickPool, type CommandContext } from './context';
import { toFolderKey } from './targets';

/**
 * "FastCGI: Debug Next Request" and "FastCGI: Stop Debugging Requests". The
 * pool adds Xdebug's trigger to the next PHP request (or the next one whose
 * path matches a glob); Xdebug connects to the pool's relay, the relay to
 * the IDE, and the worker shows as paused at its breakpoint meanwhile.
 */

/** Debug Next Request: asks for an optional path glob, arms the pool, and offers PHP Debug's listener when none runs. */
export async function debugNextRequest(ctx: CommandContext, arg?: unknown): Promise<void> {
  const pool = await pickPool(ctx, toFolderKey(arg), ['running'], 'Debug the next request of which folder?');
  const server = pool?.server;
  if (!pool || !server) {
    void vscode.window.showInformationMessage('No FastCGI pool is running. Start one first.');
    return;
  }
  const debug = pool.snapshot()?.debugger;
  if (!debug || debug.status !== 'enabled') {
    await explainNoDebugger(ctx, pool, debug);
    return;
  }
  const pattern = await vscode.window.showInputBox({
    title: 'FastCGI: Debug Next Request',
    prompt: 'The next PHP request is debugged; or type a path glob, and the next request whose path matches it is.',
    placeHolder: 'empty: the next request · /api/** · *.php · /orders/*',
    validateInput: (value) => {
      if (value.trim() === '') return null;
      try {
        compilePathGlob(value);
        return null;
      } catch (error) {
        return (error as Error).message;
      }
    },
  });
  if (pattern === undefined) return; // dismissed
  const armed = await server.pool.debugger.arm(pattern);
  const what = armed.pattern ? `The next request matching ${armed.pattern}` : 'The next request';
  // The log has it from the pool's debug-armed event.
  vscode.window.setStatusBarMessage(`$(debug-alt) ${what} to ${pool.name} will be debugged`, 5_000);
  void offerListener(ctx, pool, debug);
}

/** Stop Debugging Requests: disarms, and lets every paused request run on without the debugger. */
export async function stopDebugging(ctx: CommandContext, arg?: unknown): Promise<void> {
  const key = toFolderKey(arg);
  const pools = key !== undefined ? [ctx.manager.get(key)] : ctx.manager.pools.filter((pool) => pool.status === 'running');
  let sessions = 0;
  let disarmed = false;
  // Every pool at once: with the engines in their threads, each answers by a message.
  const results = await Promise.all(pools.map((pool) => pool?.server?.pool.debugger.stopDebugging()));
  for (const result of results) {
    if (!result) continue;
    sessions += result.sessionsEnded;
    disarmed ||= result.disarmed;
  }
  const said = sessions > 0 ? `${sessions} debug session${sessions === 1 ? '' : 's'} ended; the requests run on` : 'no request was being debugged';
  vscode.window.setStatusBarMessage(`$(debug-disconnect) ${said}${disarmed ? '; "Debug Next Request" disarmed' : ''}`, 5_000);
  ctx.log.info(`stop debugging requests: ${said}${disarmed ? '; the next-request trigger disarmed' : ''}`);
}

/** No PHP debug session listens: offer to start PHP Debug's "Listen for Xdebug", or to install PHP Debug. */
async function offerListener(ctx: CommandContext, pool: FolderPool, debug: DebuggerSnapshot): Promise<void> {
  if (ctx.phpDebug.listening) return;
  const port = Number(/:(\d+)$/.exec(debug.ide)?.[1] ?? 9003);
  if (PhpDebugSessions.installed()) {
    const start = 'Start Listening';
    const choice = await vscode.window.showInformationMessage(
      `No PHP debug session is listening for Xdebug on port ${port}. Start PHP Debug's "${PHP_DEBUG.listenConfigurationName}"?`,
      start,
    );
    if (choice !== start) return;
    if (!(await PhpDebugSessions.listen(pool.folder, port))) ctx.log.warn(`[${pool.name}] PHP Debug did not start listening on port ${port}`);
    return;
  }
  const show = 'Show PHP Debug';
  const choice = await vscode.window.showInformationMessage(
    `Nothing in VS Code listens for Xdebug at ${debug.ide}. Install PHP Debug (${PHP_DEBUG.extensionId}) and run its "${PHP_DEBUG.listenConfigurationName}", or point fastcgiPool.debugClient at your debugger.`,
    show,
  );
  if (choice === show) await vscode.commands.executeCommand('workbench.extensions.search', PHP_DEBUG.extensionId);
}

/** Why this pool cannot debug, and how to change that: the setting, or installing Xdebug. */
async function explainNoDebugger(ctx: CommandContext, pool: FolderPool, debug: DebuggerSnapshot | undefined): Promise<void> {
  const settings = 'Open Settings';
  if (!debug || debug.status === 'detecting') {
    void vscode.window.showInformationMessage('The pool is still finding out whether php-cgi has Xdebug; try again in a moment.');
    return;
  }
  if (debug.status === 'off') {
    const choice = await vscode.window.showInformationMessage(`Step debugging is off for "${pool.name}" (fastcgiPool.xdebug is "off").`, settings);
    if (choice === settings) await vscode.commands.executeCommand('workbench.action.openSettings', 'fastcgiPool.xdebug');
    return;
  }
  if (debug.xdebug === 'loadable') {
    const load = 'Load Xdebug and Restart';
    const choice = await vscode.window.showInformationMessage(
      `${debug.reason ?? 'Xdebug is installed but not loaded'}. Set fastcgiPool.xdebug to "on" to load it for the workers of "${pool.name}".`,
      load,
      settings,
    );
    if (choice === load) {
      await vscode.workspace.getConfiguration('fastcgiPool', pool.folder.uri).update('xdebug', 'on', vscode.ConfigurationTarget.WorkspaceFolder);
      await ctx.manager.restart(pool.key);
    } else if (choice === settings) {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'fastcgiPool.xdebug');
    }
    return;
  }
  const command = process.platform === 'linux' ? 'sudo apt-get install php-xdebug' : 'pecl install xdebug';
  const copy = 'Copy Install Command';
  const choice = await vscode.window.showWarningMessage(
    `${debug.reason ?? 'php-cgi has no Xdebug'}. To debug requests, install Xdebug (Debian/Ubuntu: sudo apt-get install php-xdebug; elsewhere: pecl install xdebug), then restart the pool.`,
    copy,
    settings,
  );
  if (choice === copy) await vscode.env.clipboard.writeText(command);
  else if (choice === settings) await vscode.commands.executeCommand('workbench.action.openSettings', 'fastcgiPool.xdebug');
}
