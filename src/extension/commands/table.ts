import * as vscode from 'vscode';
import { Commands, type CommandId } from '../ids';
import type { CommandContext, CommandHandler } from './context';
import { showDashboard } from './dashboardCommands';
import { debugNextRequest, stopDebugging } from './debugCommands';
import { detectPhpCgi, openInBrowser, openInSimpleBrowser, restartPool, showLog, startPool, stopPool } from './poolCommands';
import { showStack } from './stackCommands';
import { copyAsCurl, copyPid, killWorker, openWorkerLog, recycleWorker, releaseLease, revealRequest } from './workerCommands';

/**
 * Every command, in one table keyed by its contributed id. The manifest test
 * checks this table and package.json's `contributes.commands` against each
 * other, so a command cannot be contributed without a handler or vice versa.
 */
export const commandTable: Readonly<Record<CommandId, CommandHandler>> = {
  [Commands.start]: startPool,
  [Commands.stop]: stopPool,
  [Commands.restart]: restartPool,
  [Commands.openInBrowser]: openInBrowser,
  [Commands.openInSimpleBrowser]: openInSimpleBrowser,
  [Commands.showLog]: showLog,
  [Commands.showDashboard]: showDashboard,
  [Commands.killWorker]: killWorker,
  [Commands.recycleWorker]: recycleWorker,
  [Commands.releaseLease]: releaseLease,
  [Commands.revealRequest]: revealRequest,
  [Commands.copyAsCurl]: copyAsCurl,
  [Commands.openWorkerLog]: openWorkerLog,
  [Commands.copyPid]: copyPid,
  [Commands.detectPhpCgi]: detectPhpCgi,
  [Commands.debugNextRequest]: debugNextRequest,
  [Commands.stopDebugging]: stopDebugging,
  [Commands.showStack]: showStack,
};

/**
 * Registers the table. A handler that throws is logged rather than left to
 * VS Code's generic "command failed" toast: failures worth a notification
 * are shown by the handlers themselves.
 */
export function registerCommands(ctx: CommandContext): vscode.Disposable[] {
  return Object.entries(commandTable).map(([id, handler]) =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        await handler(ctx, ...args);
      } catch (error) {
        ctx.log.error(`${id} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      }
    }),
  );
}
