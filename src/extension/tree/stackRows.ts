import { frameName } from '../../shared/slowlogFormat';
import { describeWait } from '../../shared/stackText';
import type { LeaseStack, PhpStackFrame, StackStatus, WaitReason } from '../../shared/stackTypes';
import { stackContext, type StackRow } from '../contextValues';
import { displayPath } from '../format';
import type { Presentation, StackNode, TreeNode, WorkerNode } from './model';

/*
 * The Workers tree's rows of where a busy worker is (issue 13): what it
 * waits on, then its PHP stack, innermost first (a frame with a file opens
 * there; the innermost one of PHP code is marked), or one row saying why
 * there is none. Built from the pool's last read of the worker (the
 * once-a-second schedule's), never a new read.
 */

export const NO_STACKS: ReadonlyMap<string, LeaseStack> = new Map();

/** The rows of where a busy worker is: its wait reason, then its frames, or a note saying why there are none. */
export function stackRows(
  wid: string,
  leaseId: string,
  folderKey: string,
  workerId: string,
  found: LeaseStack | undefined,
  status: StackStatus | undefined,
  folderPath: string | null,
  parent: WorkerNode,
  take: <T extends TreeNode>(id: string, kind: T['kind'], make: () => T) => T,
): StackNode[] {
  const read = found && found.leaseId === leaseId ? found : null;
  const row = (key: string, kind: StackRow, fill: (node: StackNode) => void): StackNode => {
    const id = `${wid}/${leaseId}/${key}`;
    const node = take<StackNode>(id, 'stack', () => ({
      kind: 'stack',
      id,
      folderKey,
      workerId,
      row: kind,
      frame: null,
      index: 0,
      innermost: false,
      wait: null,
      note: '',
      folderPath,
      parent,
    }));
    node.row = kind;
    node.parent = parent;
    node.folderPath = folderPath;
    fill(node);
    return node;
  };
  const rows: StackNode[] = [];
  if (read?.wait) rows.push(row('wait', 'wait', (node) => (node.wait = read.wait)));
  const frames = read?.stack ?? null;
  if (frames && frames.length > 0) {
    const innermost = frames.findIndex((frame) => !frame.internal && frame.file !== null);
    frames.forEach((frame, index) =>
      rows.push(
        row(`frame${index}`, frame.internal ? 'internal' : 'frame', (node) => {
          node.frame = frame;
          node.index = index;
          node.innermost = index === innermost;
        }),
      ),
    );
  } else {
    rows.push(row('note', 'note', (node) => (node.note = stackNote(read, status))));
  }
  return rows;
}

/** Why a busy worker shows no stack, in one line. */
function stackNote(read: LeaseStack | null, status: StackStatus | undefined): string {
  if (read?.stackError) return read.stackError;
  if (read?.stack) return 'no PHP code running';
  if (status?.state === 'off') return status.reason ?? 'live PHP stacks are off';
  if (status?.state === 'checking') return 'live PHP stacks are being checked (the canary runs once the pool is quiet)';
  return 'read once the request has run for a second';
}

export function presentStackRow(node: StackNode): Presentation {
  const base = { contextValue: stackContext(node.row), collapsible: 'none' as const };
  switch (node.row) {
    case 'wait': {
      const wait = node.wait as WaitReason;
      const icon = wait.state === 'running' ? 'flame' : wait.state === 'stopped' ? 'debug-pause' : 'watch';
      return { ...base, label: 'Wait', description: describeWait(wait), icon: { id: icon, color: null } };
    }
    case 'frame':
    case 'internal': {
      const frame = node.frame as PhpStackFrame;
      const where = frame.internal || frame.file === null ? '<internal>' : `${displayPath(frame.file, node.folderPath)}:${frame.line ?? '?'}`;
      const icon = frame.internal ? 'symbol-event' : frame.class ? 'symbol-method' : 'symbol-function';
      // The innermost frame of the developer's code is where the request is: marked.
      return { ...base, label: `${frameName(frame)}()`, description: where, icon: { id: icon, color: node.innermost ? 'charts.yellow' : null } };
    }
    case 'note':
      return { ...base, label: 'Stack', description: node.note, icon: { id: 'info', color: null } };
  }
}
