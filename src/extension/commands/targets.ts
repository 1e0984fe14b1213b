/**
 * What command arguments may be. Tree nodes, quick fixes and the QuickPick
 * all hand a worker over as a {@link WorkerTarget}; VS Code passes whatever
 * the menu gave, so arguments are checked, never trusted.
 */

/** A reference to one worker of one folder's pool (a tree node is one). */
export interface WorkerTarget {
  readonly folderKey: string;
  readonly workerId: string;
  /** The lease the caller saw, when it matters that it is still the same (Release Lease). */
  readonly leaseId?: string | null;
}

/** Reads a worker reference out of a command argument: a worker or lease node, or a quick fix's target. */
export function toWorkerTarget(arg: unknown): WorkerTarget | undefined {
  if (typeof arg !== 'object' || arg === null) return undefined;
  const record = arg as Record<string, unknown>;
  if (typeof record.folderKey !== 'string' || typeof record.workerId !== 'string') return undefined;
  let leaseId: string | null = null;
  if (typeof record.leaseId === 'string') leaseId = record.leaseId;
  else if (record.kind === 'lease' && typeof record.lease === 'object' && record.lease !== null) {
    const id = (record.lease as Record<string, unknown>).id;
    if (typeof id === 'string') leaseId = id;
  }
  return { folderKey: record.folderKey, workerId: record.workerId, leaseId };
}

/** Reads a folder reference out of a command argument: a pool node (or any node), or a `{ folderKey }`. */
export function toFolderKey(arg: unknown): string | undefined {
  if (typeof arg !== 'object' || arg === null) return undefined;
  const key = (arg as Record<string, unknown>).folderKey;
  return typeof key === 'string' ? key : undefined;
}
