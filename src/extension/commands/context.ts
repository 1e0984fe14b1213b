import * as vscode from 'vscode';
import type { WorkerSnapshot } from '../../pool/types';
import type { DashboardSource } from '../dashboard/source';
import { workerDescription, workerLabel } from '../format';
import type { WorkerLogStore } from '../log';
import type { PhpCgiDetector } from '../phpCgi';
import type { PhpDebugSessions } from '../phpDebug';
import type { FolderPool, PoolManager, PoolStatus } from '../poolManager';
import type { WorkersView } from '../tree/workersView';
import type { WorkerActions } from '../workerActions';
import type { WorkerTarget } from './targets';

/** What every command handler may use: the services `activate` composed. */
export interface CommandContext {
  readonly manager: PoolManager;
  readonly view: WorkersView;
  readonly log: vscode.LogOutputChannel;
  readonly workerLogs: WorkerLogStore;
  /** Kill, Recycle, Release Lease (the dashboard's intents use the same). */
  readonly actions: WorkerActions;
  /** The extension's context: the dashboard loads its webview files from the extension's folder. */
  readonly extensionContext: vscode.ExtensionContext;
  /** The folder's dashboard source (one per folder, made on first use). */
  readonly dashboardSourceFor: (pool: FolderPool) => DashboardSource;
  /** Whether php-cgi is installed (Check for php-cgi asks it again). */
  readonly phpCgi: PhpCgiDetector;
  /** Whether a PHP Debug session listens ("Debug Next Request" offers to start one). */
  readonly phpDebug: Pick<PhpDebugSessions, 'listening'>;
}

/** A command's implementation; `args` are what VS Code passes (a tree node, a quick fix's target, nothing). */
export type CommandHandler = (ctx: CommandContext, ...args: unknown[]) => unknown;

/**
 * The folder a pool command is about: the node it was invoked on, the only
 * candidate, or the user's pick among the candidates (multi-root).
 * Resolves undefined when there is nothing to pick or the pick was dismissed.
 */
export async function pickPool(
  ctx: CommandContext,
  key: string | undefined,
  statuses: readonly PoolStatus[],
  placeHolder: string,
): Promise<FolderPool | undefined> {
  if (key !== undefined) return ctx.manager.get(key);
  const candidates = ctx.manager.pools.filter((pool) => statuses.includes(pool.status));
  if (candidates.length <= 1) return candidates[0];
  const picked = await vscode.window.showQuickPick(
    candidates.map((pool) => ({
      label: pool.name,
      description: pool.status === 'running' && pool.server ? `:${pool.server.port}` : pool.status,
      detail: pool.folder.uri.fsPath,
      pool,
    })),
    { placeHolder },
  );
  return picked?.pool;
}

/** A worker the user picked from every running pool, filtered to those the command applies to. */
export async function pickWorker(
  ctx: CommandContext,
  filter: (worker: WorkerSnapshot) => boolean,
  placeHolder: string,
  none: string,
): Promise<WorkerTarget | undefined> {
  const now = Date.now();
  const multiRoot = ctx.manager.pools.length > 1;
  const items: (vscode.QuickPickItem & { target: WorkerTarget })[] = [];
  for (const pool of ctx.manager.pools) {
    for (const worker of pool.snapshot()?.workers ?? []) {
      if (!filter(worker)) continue;
      items.push({
        label: workerLabel(worker),
        description: workerDescription(worker, now),
        ...(multiRoot ? { detail: pool.name } : {}),
        target: { folderKey: pool.key, workerId: worker.id, leaseId: worker.lease?.id ?? null },
      });
    }
  }
  if (items.length === 0) {
    void vscode.window.showInformationMessage(none);
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(items, { placeHolder, matchOnDescription: true, matchOnDetail: true });
  return picked?.target;
}

/** The worker as the pool sees it now, with its pool; a warning if it has left meanwhile. */
export function liveWorker(ctx: CommandContext, target: WorkerTarget): { pool: FolderPool; worker: WorkerSnapshot } | undefined {
  const pool = ctx.manager.get(target.folderKey);
  const worker = pool?.snapshot()?.workers.find((candidate) => candidate.id === target.workerId);
  if (!pool || !worker) {
    void vscode.window.showWarningMessage(`Worker ${target.workerId} is no longer in the pool.`);
    return undefined;
  }
  return { pool, worker };
}
