import * as vscode from 'vscode';
import { frameName } from '../../shared/slowlogFormat';
import { describeWait, innermostUserFrame } from '../../shared/stackText';
import type { PhpStackFrame } from '../../shared/stackTypes';
import { formatRequest } from '../../shared/text';
import { displayPath } from '../format';
import { liveWorker, pickWorker, type CommandContext } from './context';
import { toWorkerTarget } from './targets';

/**
 * Show Stack: reads a busy worker's PHP stack and wait reason now and lists
 * the frames, innermost first, with what it waits on as the title; picking a
 * frame opens its file at its line. Where no stack can be read (another
 * system, an unknown PHP build), one line says why, with the wait reason.
 */
export async function showStack(ctx: CommandContext, arg?: unknown): Promise<void> {
  const t =
    toWorkerTarget(arg) ?? (await pickWorker(ctx, (w) => w.lease !== null, 'Show the PHP stack of which worker?', 'No worker is serving a request right now.'));
  const live = t && liveWorker(ctx, t);
  if (!live) return;
  const lease = live.worker.lease;
  const read = lease ? ((await live.pool.server?.pool.stacks?.readWorker(live.worker.id)) ?? null) : null;
  if (!lease || !read) {
    void vscode.window.showInformationMessage(`Worker ${live.worker.id} is not serving a request right now.`);
    return;
  }
  const title = `worker ${live.worker.id} · ${formatRequest(lease)}${read.wait ? ` — ${describeWait(read.wait)}` : ''}`;
  const frames = read.stack ?? [];
  if (frames.length === 0) {
    void vscode.window.showInformationMessage(`${title}. No stack: ${read.stackError ?? 'no PHP code is running'}.`);
    return;
  }
  const folderPath = live.pool.folder.uri.fsPath;
  const where = innermostUserFrame(frames);
  const items: Array<vscode.QuickPickItem & { frame: PhpStackFrame | null }> = frames.map((frame) => ({
    label: `${frame === where ? '$(arrow-right) ' : ''}${frameName(frame)}()`,
    description: frame.internal || frame.file === null ? '<internal>' : `${displayPath(frame.file, folderPath)}:${frame.line ?? '?'}`,
    frame,
  }));
  if (read.truncated) items.push({ label: '…', description: 'more frames than were read', frame: null });
  const picked = await vscode.window.showQuickPick(items, {
    title,
    placeHolder: 'PHP stack, innermost first: pick a frame to open it',
    matchOnDescription: true,
  });
  const frame = picked?.frame;
  if (!frame || frame.internal || frame.file === null) return;
  const line = Math.max(0, (frame.line ?? 1) - 1);
  await vscode.window.showTextDocument(vscode.Uri.file(frame.file), { preview: true, selection: new vscode.Range(line, 0, line, 0) });
}
