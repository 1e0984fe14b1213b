import type { WorkerState } from '../pool/types';
import type { PoolStatus } from './poolManager';

/**
 * The `contextValue` grammar of the Workers tree. Menus in package.json
 * match these with `viewItem == …` or `viewItem =~ /…/`; the manifest test
 * checks that every such clause matches a value the tree really emits.
 *
 * ```
 * pool.<status>                      status: stopped | starting | running | stopping | failed
 * group.<list>                       list:   busy | paused | finishing | idle | starting | draining | error
 * worker.<state>[.lease][.finding][.debug]
 *                                    state:  starting | idle | busy | paused | finishing | draining | error
 *                                    .lease    it holds a lease (Release Lease, Reveal Request, Copy as curl)
 *                                    .finding  it has an open finding (marked in the tree, quick fixes)
 *                                    .debug    it is in a step-debugging session (Stop Debugging Requests)
 * lease.<field>                      field:  request | script | client | age  (a busy worker's lease details)
 * stack.<row>                        row:    wait | frame | internal | note   (where a busy worker is: what it
 *                                            waits on, a PHP frame, a frame of PHP itself, or why no stack)
 * ```
 *
 * Flags are appended in that fixed order, so a regex such as
 * `/^worker\.(idle|busy)(\.|$)/` selects by state and `/\.lease(\.|$)/` by flag.
 */

/** The lists shown as group nodes. */
export type GroupKind = WorkerState;

/** The rows under a busy worker. */
export type LeaseField = 'request' | 'script' | 'client' | 'age';

/** The live-stack rows under a busy worker, after its lease rows. */
export type StackRow = 'wait' | 'frame' | 'internal' | 'note';

const POOL_STATUSES: readonly PoolStatus[] = ['stopped', 'starting', 'running', 'stopping', 'failed'];
const GROUP_KINDS: readonly GroupKind[] = ['busy', 'paused', 'finishing', 'idle', 'starting', 'draining', 'error'];
const WORKER_STATES: readonly WorkerState[] = ['starting', 'idle', 'busy', 'paused', 'finishing', 'draining', 'error'];
const LEASE_FIELDS: readonly LeaseField[] = ['request', 'script', 'client', 'age'];
const STACK_ROWS: readonly StackRow[] = ['wait', 'frame', 'internal', 'note'];

export function poolContext(status: PoolStatus): string {
  return `pool.${status}`;
}

export function groupContext(kind: GroupKind): string {
  return `group.${kind}`;
}

export function workerContext(state: WorkerState, flags: { lease: boolean; finding: boolean; debug?: boolean }): string {
  return `worker.${state}${flags.lease ? '.lease' : ''}${flags.finding ? '.finding' : ''}${flags.debug ? '.debug' : ''}`;
}

export function leaseContext(field: LeaseField): string {
  return `lease.${field}`;
}

export function stackContext(row: StackRow): string {
  return `stack.${row}`;
}

/** Every value the grammar allows (the manifest test's universe). */
export function allContextValues(): string[] {
  const values = [...POOL_STATUSES.map(poolContext), ...GROUP_KINDS.map(groupContext), ...LEASE_FIELDS.map(leaseContext), ...STACK_ROWS.map(stackContext)];
  for (const state of WORKER_STATES) {
    for (const lease of [false, true])
      for (const finding of [false, true]) for (const debug of [false, true]) values.push(workerContext(state, { lease, finding, debug }));
  }
  return values;
}
