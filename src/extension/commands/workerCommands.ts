import * as vscode from 'vscode';
import type { WorkerSnapshot } from '../../pool/types';
import { curlCommand } from '../format';
import { liveWorker, pickWorker, type CommandContext } from './context';
import { toWorkerTarget, type WorkerTarget } from './targets';

/**
 * The worker commands. Each takes its worker from the argument (a tree node
 * or a quick fix's target) or, from the palette, through a QuickPick of the
 * workers it applies to; then it re-reads the worker, which may have moved on.
 */

/** The worker a command is about, from its argument or a pick. */
async function target(
  ctx: CommandContext,
  arg: unknown,
  filter: (worker: WorkerSnapshot) => boolean,
  placeHolder: string,
  none: string,
): Promise<WorkerTarget | undefined> {
  return toWorkerTarget(arg) ?? (await pickWorker(ctx, filter, placeHolder, none));
}

const alive = (worker: WorkerSnapshot): boolean => worker.state !== 'error';
const hasLease = (worker: WorkerSnapshot): boolean => worker.lease !== null;

/** Kill Worker: SIGKILL at once; a request it serves is cut (its client gets a 502). */
export function killWorker(ctx: CommandContext, arg?: unknown): Promise<void> {
  return retireWorker(ctx, arg, 'kill', alive, 'Kill which worker? (SIGKILL, its request is cut)', 'No worker is running.');
}

/** Recycle Worker: gracefully, after its current request. */
export function recycleWorker(ctx: CommandContext, arg?: unknown): Promise<void> {
  const recyclable = (w: WorkerSnapshot): boolean => w.state === 'idle' || w.state === 'busy' || w.state === 'finishing';
  return retireWorker(ctx, arg, 'graceful', recyclable, 'Recycle which worker? (after its current request)', 'No idle or busy worker to recycle.');
}

/** Kill or Recycle: the same steps, with the mode, the workers offered and the wording; the action is the dashboard's too. */
async function retireWorker(
  ctx: CommandContext,
  arg: unknown,
  mode: 'kill' | 'graceful',
  filter: (worker: WorkerSnapshot) => boolean,
  placeHolder: string,
  none: string,
): Promise<void> {
  const t = await target(ctx, arg, filter, placeHolder, none);
  const live = t && liveWorker(ctx, t);
  if (!live) return;
  if (!(await ctx.actions.retire(live.pool.key, live.worker.id, mode, 'editor'))) {
    void vscode.window.showWarningMessage(`Worker ${live.worker.id} is already leaving the pool.`);
  }
}

/** Release Lease: ends the worker's lease from outside (its holder is told) and recycles the worker. */
export async function releaseLease(ctx: CommandContext, arg?: unknown): Promise<void> {
  const t = await target(ctx, arg, hasLease, 'Release the lease of which worker?', 'No worker holds a lease right now.');
  const live = t && liveWorker(ctx, t);
  if (!t || !live) return;
  const lease = live.worker.lease;
  if (!lease || (t.leaseId && t.leaseId !== lease.id)) {
    void vscode.window.showWarningMessage(
      t.leaseId ? `Lease ${t.leaseId} of worker ${live.worker.id} has already ended.` : `Worker ${live.worker.id} holds no lease.`,
    );
    return;
  }
  if (!(await ctx.actions.releaseLease(live.pool.key, lease.id, 'editor'))) {
    void vscode.window.showWarningMessage(`Lease ${lease.id} has already ended.`);
  }
}

/** Reveal Request: opens the script the request runs and shows the worker's lease in the tree. */
export async function revealRequest(ctx: CommandContext, arg?: unknown): Promise<void> {
  const t = await target(ctx, arg, hasLease, 'Reveal the request of which worker?', 'No worker is serving a request right now.');
  const live = t && liveWorker(ctx, t);
  if (!live) return;
  const lease = live.worker.lease;
  if (!lease) {
    void vscode.window.showInformationMessage(`Worker ${live.worker.id} has finished its request.`);
    return;
  }
  await ctx.view.revealWorker(live.pool.key, live.worker.id, false);
  if (lease.scriptFilename) await vscode.window.showTextDocument(vscode.Uri.file(lease.scriptFilename), { preview: true });
}

/** Copy Request as curl: method and URL (the pool does not record headers or body). */
export async function copyAsCurl(ctx: CommandContext, arg?: unknown): Promise<void> {
  const t = await target(ctx, arg, hasLease, 'Copy the request of which worker?', 'No worker is serving a request right now.');
  const live = t && liveWorker(ctx, t);
  if (!live) return;
  const lease = live.worker.lease;
  const url = live.pool.server?.url;
  if (!lease || !url) {
    void vscode.window.showInformationMessage(`Worker ${live.worker.id} has finished its request.`);
    return;
  }
  await vscode.env.clipboard.writeText(curlCommand(lease, url));
  vscode.window.setStatusBarMessage(`$(check) Copied ${lease.method} ${lease.uri} as curl`, 3_000);
}

/** Open Worker Log: the worker's events, requests and stderr as a read-only document. */
export async function openWorkerLog(ctx: CommandContext, arg?: unknown): Promise<void> {
  const t = await target(ctx, arg, () => true, 'Open the log of which worker?', 'No worker is running.');
  if (!t) return;
  const pool = ctx.manager.get(t.folderKey);
  if (!pool) return;
  const document = await vscode.workspace.openTextDocument(ctx.workerLogs.uriFor(pool.key, pool.name, t.workerId));
  await vscode.window.showTextDocument(document, { preview: true });
}

/** Copy PID. */
export async function copyPid(ctx: CommandContext, arg?: unknown): Promise<void> {
  const t = await target(ctx, arg, (w) => w.pid !== null, 'Copy the pid of which worker?', 'No worker has a process yet.');
  const live = t && liveWorker(ctx, t);
  if (!live) return;
  if (live.worker.pid === null) {
    void vscode.window.showInformationMessage(`Worker ${live.worker.id} has no process yet.`);
    return;
  }
  await vscode.env.clipboard.writeText(String(live.worker.pid));
  vscode.window.setStatusBarMessage(`$(check) Copied pid ${live.worker.pid}`, 3_000);
}
