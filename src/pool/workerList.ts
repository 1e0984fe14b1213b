import { IntrusiveList, type ListNode } from './intrusiveList';
import type { WorkerState } from './types';

export type { ListNode } from './intrusiveList';

/**
 * One of the pool's state lists (starting, idle, busy, finishing, draining, error). Like
 * mod_fcgid's shared-memory lists, a worker's membership *is* its state: the
 * list is intrusive, so a worker cannot sit on two lists at once. The tail is
 * the most recently used end: `popLast` hands out warm workers first, and
 * `first` is the one idle the longest.
 */
export class WorkerList<T extends ListNode<T>> extends IntrusiveList<T> {
  constructor(readonly name: string) {
    super();
  }
}

/** One list per state, named after it. */
export function stateLists<T extends ListNode<T>>(): Record<WorkerState, WorkerList<T>> {
  return {
    starting: new WorkerList<T>('starting'),
    idle: new WorkerList<T>('idle'),
    busy: new WorkerList<T>('busy'),
    paused: new WorkerList<T>('paused'),
    finishing: new WorkerList<T>('finishing'),
    draining: new WorkerList<T>('draining'),
    error: new WorkerList<T>('error'),
  };
}

/** Every worker on any list, copied so that callers may move them. */
export function everyWorker<T extends ListNode<T>>(lists: Record<WorkerState, WorkerList<T>>): T[] {
  const workers: T[] = [];
  for (const list of Object.values(lists)) workers.push(...list);
  return workers;
}
