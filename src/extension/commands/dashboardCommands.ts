import * as vscode from 'vscode';
import { DashboardPanel } from '../dashboard/dashboardPanel';
import type { PoolStatus } from '../poolManager';
import { pickPool, type CommandContext } from './context';
import { toFolderKey } from './targets';

const EVERY_STATUS: readonly PoolStatus[] = ['stopped', 'starting', 'running', 'stopping', 'failed'];
const LIVE: readonly PoolStatus[] = ['starting', 'running'];

/**
 * Show Dashboard: the lease dashboard of the node's folder, or of the only
 * running pool, or a pick among the running pools (multi-root). With no pool
 * running it still opens, for the only folder or a picked one: it says no
 * pool runs, and fills in once one starts.
 */
export async function showDashboard(ctx: CommandContext, arg?: unknown): Promise<void> {
  if (ctx.manager.pools.length === 0) {
    void vscode.window.showInformationMessage('FastCGI Pool serves a workspace folder: open a folder with a PHP app first.');
    return;
  }
  const anyLive = ctx.manager.pools.some((pool) => LIVE.includes(pool.status));
  const pool = await pickPool(ctx, toFolderKey(arg), anyLive ? LIVE : EVERY_STATUS, 'Show the dashboard of which folder?');
  if (!pool) return;
  DashboardPanel.createOrShow(ctx.extensionContext, ctx.dashboardSourceFor(pool), ctx.log);
}
