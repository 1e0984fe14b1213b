import * as vscode from 'vscode';
import { startPoolServer, type PoolServer } from '../gateway/poolServer';

/**
 * The composition root. For now it wires the engine to two commands and a
 * log channel; the tree, diagnostics and status bar are projections that
 * come with the extension issue.
 */
export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('FastCGI Pool', { log: true });
  context.subscriptions.push(log);
  let server: PoolServer | null = null;

  context.subscriptions.push(
    vscode.commands.registerCommand('fastcgiPool.start', async () => {
      if (server) return;
      const folder = vscode.workspace.workspaceFolders?.[0];
      if (!folder) {
        void vscode.window.showErrorMessage('FastCGI Pool: open a folder with a PHP app first.');
        return;
      }
      try {
        server = await startPoolServer({ documentRoot: folder.uri.fsPath, pool: {}, gateway: { port: 0 } });
        server.pool.onEvent((event) => log.debug(JSON.stringify(event)));
        log.info(`Listening on ${server.url}`);
      } catch (error) {
        log.error(String(error));
        void vscode.window.showErrorMessage(`FastCGI Pool: ${(error as Error).message}`);
      }
    }),
    vscode.commands.registerCommand('fastcgiPool.stop', async () => {
      const running = server;
      server = null;
      await running?.stop();
    }),
    { dispose: () => void server?.stop() },
  );
}

export function deactivate(): void {
  // Pools are stopped through the subscriptions' dispose.
}
