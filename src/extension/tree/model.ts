import type { Finding, LeaseSnapshot, PoolSnapshot, WorkerSnapshot } from '../../pool/types';
import { findingSeverity, openFindings } from '../../shared/findings';
import type { LeaseStack, PhpStackFrame, WaitReason } from '../../shared/stackTypes';
import { formatDuration, formatRequest } from '../../shared/text';
import { groupContext, leaseContext, poolContext, workerContext, type GroupKind, type LeaseField, type StackRow } from '../contextValues';
import { displayPath, poolSummary, workerDescription, workerLabel } from '../format';
import type { PoolSource, PoolStatus, PortMove } from '../poolManager';
import type { ServedRoot } from '../settings';
import { NO_STACKS, presentStackRow, stackRows } from './stackRows';

export type { PoolSource };

/**
 * The Workers tree as plain data: nodes keyed by stable ids, rebuilt from
 * pool snapshots by {@link WorkersTreeModel.sync}, which also says which
 * nodes VS Code has to re-read. Nothing here imports `vscode`; the view
 * turns a {@link Presentation} into a `TreeItem`.
 */

/** A folder's pool. */
export interface PoolNode {
  readonly kind: 'pool';
  readonly id: string;
  readonly folderKey: string;
  name: string;
  status: PoolStatus;
  port: number | null;
  url: string | null;
  portMoved: PortMove | null;
  /** What the running pool serves, for the tooltip. */
  servedRoot: ServedRoot | null;
  problem: string | null;
  snapshot: PoolSnapshot | null;
}

/** One of the pool's lists. */
export interface GroupNode {
  readonly kind: 'group';
  readonly id: string;
  readonly folderKey: string;
  readonly list: GroupKind;
  count: number;
  parent: PoolNode;
}

/** A worker; `findings` are its open ones. */
export interface WorkerNode {
  readonly kind: 'worker';
  readonly id: string;
  readonly folderKey: string;
  readonly workerId: string;
  worker: WorkerSnapshot;
  findings: readonly Finding[];
  /** The pool's last read of where it is, for its current lease; null if none yet. */
  stack: LeaseStack | null;
  parent: GroupNode;
}

/** One row of a busy worker's lease. */
export interface LeaseNode {
  readonly kind: 'lease';
  readonly id: string;
  readonly folderKey: string;
  readonly workerId: string;
  readonly field: LeaseField;
  lease: LeaseSnapshot;
  /** The pool's folder path, to show the script relative to it. */
  folderPath: string | null;
  parent: WorkerNode;
}

/**
 * Where a busy worker is, after its lease rows: what it waits on, then its
 * PHP stack innermost first (a frame with a file opens there), or one row
 * saying why there is no stack.
 */
export interface StackNode {
  readonly kind: 'stack';
  readonly id: string;
  readonly folderKey: string;
  readonly workerId: string;
  row: StackRow;
  /** For `frame` and `internal` rows; index 0 is the innermost. */
  frame: PhpStackFrame | null;
  index: number;
  /** The innermost frame of PHP code (with a file): where the request is. */
  innermost: boolean;
  wait: WaitReason | null;
  /** For a `note`: why there is no stack. */
  note: string;
  folderPath: string | null;
  parent: WorkerNode;
}

/** Any node of the Workers tree. */
export type TreeNode = PoolNode | GroupNode | WorkerNode | LeaseNode | StackNode;

/** How a node looks, without `vscode` types. */
export interface Presentation {
  readonly label: string;
  readonly description: string;
  readonly contextValue: string;
  readonly collapsible: 'none' | 'collapsed' | 'expanded';
  readonly icon: { readonly id: string; readonly color: string | null };
  /** What a click opens: a paused worker's breakpoint (`line` 1-based). */
  readonly open?: { readonly path: string; readonly line: number | null };
}

/** What VS Code must re-read after a sync: nothing, the whole tree, or these nodes (with their subtrees). */
export type TreeChange = { readonly kind: 'none' } | { readonly kind: 'all' } | { readonly kind: 'nodes'; readonly nodes: readonly TreeNode[] };

const GROUP_ORDER: readonly GroupKind[] = ['busy', 'paused', 'finishing', 'idle', 'starting', 'draining', 'error'];
const ALWAYS_SHOWN: ReadonlySet<GroupKind> = new Set<GroupKind>(['busy', 'idle', 'error']);
const GROUP_LABELS: Record<GroupKind, string> = {
  busy: 'Busy',
  paused: 'Paused',
  finishing: 'Finishing',
  idle: 'Idle',
  starting: 'Starting',
  draining: 'Draining',
  error: 'Error',
};
const LEASE_FIELDS: readonly LeaseField[] = ['request', 'script', 'client', 'age'];

/**
 * The tree's state between syncs. Node objects are reused for the same id,
 * because VS Code identifies the element to refresh by object identity.
 */
export class WorkersTreeModel {
  private roots: PoolNode[] = [];
  private nodes = new Map<string, TreeNode>();
  private childIds = new Map<string, readonly string[]>();
  private childNodes = new Map<string, readonly TreeNode[]>();
  private signatures = new Map<string, string>();
  private parents = new Map<string, string>();

  /** The top level: one node per folder, or none while no pool is up (the welcome view shows). */
  rootNodes(): readonly PoolNode[] {
    return this.roots;
  }

  children(node: TreeNode): readonly TreeNode[] {
    return this.childNodes.get(node.id) ?? [];
  }

  parentOf(node: TreeNode): TreeNode | undefined {
    return node.kind === 'pool' ? undefined : node.parent;
  }

  /** Finds a live node by id (for reveal and for command arguments). */
  byId(id: string): TreeNode | undefined {
    return this.nodes.get(id);
  }

  /** Every node, in tree order. */
  allNodes(): TreeNode[] {
    const out: TreeNode[] = [];
    const visit = (node: TreeNode): void => {
      out.push(node);
      for (const child of this.children(node)) visit(child);
    };
    for (const root of this.roots) visit(root);
    return out;
  }

  /** Whether some description shows a time that moves on its own (so a clock tick must refresh). */
  hasLiveTimes(): boolean {
    for (const node of this.nodes.values()) if (node.kind === 'worker') return true;
    return false;
  }

  /**
   * Rebuilds the tree from the pools and returns what changed since the last
   * sync. A worker that moved to another list is re-read through its pool
   * node: VS Code rejects an id that is still registered under the old group.
   */
  sync(pools: readonly PoolSource[], folderPath: (key: string) => string | null, now: number): TreeChange {
    const nodes = new Map<string, TreeNode>();
    const childIds = new Map<string, readonly string[]>();
    const childNodes = new Map<string, readonly TreeNode[]>();
    const parents = new Map<string, string>();
    const take = <T extends TreeNode>(id: string, kind: T['kind'], make: () => T): T => {
      const existing = this.nodes.get(id);
      const node = existing !== undefined && existing.kind === kind ? (existing as T) : make();
      nodes.set(id, node);
      return node;
    };
    const setChildren = (parent: TreeNode, children: TreeNode[]): void => {
      childIds.set(
        parent.id,
        children.map((child) => child.id),
      );
      childNodes.set(parent.id, children);
      for (const child of children) parents.set(child.id, parent.id);
    };

    const anyUp = pools.some((pool) => pool.status !== 'stopped');
    const roots: PoolNode[] = [];
    for (const source of anyUp ? pools : []) {
      const pool = take<PoolNode>(`pool:${source.key}`, 'pool', () => ({
        kind: 'pool',
        id: `pool:${source.key}`,
        folderKey: source.key,
        name: source.name,
        status: source.status,
        port: null,
        url: null,
        portMoved: null,
        servedRoot: null,
        problem: null,
        snapshot: null,
      }));
      const snapshot = source.snapshot();
      pool.name = source.name;
      pool.status = source.status;
      pool.port = source.server?.port ?? null;
      pool.url = source.server?.url ?? null;
      pool.portMoved = source.portMoved;
      pool.servedRoot = source.servedRoot ?? null;
      pool.problem = source.problem ?? snapshot?.problem ?? null;
      pool.snapshot = snapshot;
      roots.push(pool);
      if (!snapshot) {
        setChildren(pool, []);
        continue;
      }
      const findings = openFindings(snapshot);
      const stacks = source.lastStacks?.() ?? NO_STACKS;
      const groups: GroupNode[] = [];
      for (const list of GROUP_ORDER) {
        const workers = snapshot.workers.filter((worker) => worker.state === list);
        if (workers.length === 0 && !ALWAYS_SHOWN.has(list)) continue;
        const id = `group:${source.key}#${list}`;
        const group = take<GroupNode>(id, 'group', () => ({ kind: 'group', id, folderKey: source.key, list, count: 0, parent: pool }));
        group.count = workers.length;
        group.parent = pool;
        groups.push(group);
        const workerNodes: WorkerNode[] = [];
        for (const worker of workers) {
          const wid = `worker:${source.key}#${worker.id}`;
          const node = take<WorkerNode>(wid, 'worker', () => ({
            kind: 'worker',
            id: wid,
            folderKey: source.key,
            workerId: worker.id,
            worker,
            findings: [],
            stack: null,
            parent: group,
          }));
          node.worker = worker;
          node.parent = group;
          node.findings = findings.filter((finding) => finding.workerId === worker.id || worker.findingIds.includes(finding.id));
          workerNodes.push(node);
          const lease = worker.lease;
          const read = stacks.get(worker.id);
          node.stack = read && lease && read.leaseId === lease.id ? read : null;
          if (!lease) {
            setChildren(node, []);
            continue;
          }
          const rows: LeaseNode[] = LEASE_FIELDS.map((field) => {
            const lid = `${wid}/${lease.id}/${field}`;
            const row = take<LeaseNode>(lid, 'lease', () => ({
              kind: 'lease',
              id: lid,
              folderKey: source.key,
              workerId: worker.id,
              field,
              lease,
              folderPath: null,
              parent: node,
            }));
            row.lease = lease;
            row.parent = node;
            row.folderPath = folderPath(source.key);
            return row;
          });
          const stack = stackRows(wid, lease.id, source.key, worker.id, stacks.get(worker.id), snapshot.stacks, folderPath(source.key), node, take);
          setChildren(node, [...rows, ...stack]);
        }
        setChildren(group, workerNodes);
      }
      setChildren(pool, groups);
    }

    // ---- diff against what VS Code was last given
    const signatures = new Map<string, string>();
    for (const node of nodes.values()) signatures.set(node.id, JSON.stringify(present(node, now)));
    const rootIds = roots.map((root) => root.id);
    const rootsChanged = !sameList(
      rootIds,
      this.roots.map((root) => root.id),
    );
    let change: TreeChange;
    if (rootsChanged) {
      change = { kind: 'all' };
    } else {
      const dirty = new Set<string>();
      for (const node of nodes.values()) {
        const before = this.signatures.get(node.id);
        if (before === undefined) continue; // new: its parent's child list changed
        if (before !== signatures.get(node.id) || !sameList(childIds.get(node.id) ?? [], this.childIds.get(node.id) ?? [])) dirty.add(node.id);
        const oldParent = this.parents.get(node.id);
        if (oldParent !== undefined && oldParent !== parents.get(node.id)) dirty.add(poolIdOf(node));
      }
      // Nodes that vanished change their parent's child list, which is caught above.
      const minimal = [...dirty].filter((id) => !hasDirtyAncestor(id, dirty, parents));
      change = minimal.length === 0 ? { kind: 'none' } : { kind: 'nodes', nodes: minimal.map((id) => nodes.get(id) as TreeNode) };
    }
    this.roots = roots;
    this.nodes = nodes;
    this.childIds = childIds;
    this.childNodes = childNodes;
    this.parents = parents;
    this.signatures = signatures;
    return change;
  }
}

function poolIdOf(node: TreeNode): string {
  return `pool:${node.folderKey}`;
}

function hasDirtyAncestor(id: string, dirty: ReadonlySet<string>, parents: ReadonlyMap<string, string>): boolean {
  for (let parent = parents.get(id); parent !== undefined; parent = parents.get(parent)) {
    if (dirty.has(parent)) return true;
  }
  return false;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}

/** How a node looks at `now`. */
export function present(node: TreeNode, now: number): Presentation {
  switch (node.kind) {
    case 'pool':
      return presentPool(node);
    case 'group':
      return {
        label: GROUP_LABELS[node.list],
        description: String(node.count),
        contextValue: groupContext(node.list),
        collapsible: node.count > 0 ? 'expanded' : 'none',
        icon: { id: GROUP_ICONS[node.list], color: null },
      };
    case 'worker':
      return presentWorker(node, now);
    case 'lease':
      return presentLeaseRow(node, now);
    case 'stack':
      return presentStackRow(node);
  }
}

const GROUP_ICONS: Record<GroupKind, string> = {
  busy: 'pulse',
  paused: 'debug-pause',
  finishing: 'debug-step-out',
  idle: 'circle-large-outline',
  starting: 'loading~spin',
  draining: 'arrow-circle-down',
  error: 'error',
};

function presentPool(node: PoolNode): Presentation {
  const snapshot = node.snapshot;
  const findings = openFindings(snapshot).length;
  let description: string;
  let icon: Presentation['icon'];
  switch (node.status) {
    case 'running': {
      const busy = snapshot?.counts.busy ?? 0;
      description = poolSummary(node.port ?? 0, busy, snapshot?.limits.maxWorkers ?? 0);
      if (node.portMoved) description += ` · moved from :${node.portMoved.from}`;
      const finishing = snapshot?.counts.finishing ?? 0;
      if (finishing > 0) description += ` · ${finishing} finishing`;
      if (findings > 0) description += ` · ⚠ ${findings}`;
      // Workers exit before serving (a broken php.ini): about the pool, so said here; the tooltip quotes the problem.
      const spawnFailing = openFindings(snapshot).some((finding) => finding.kind === 'spawn-failing');
      icon =
        snapshot?.state === 'failed' || spawnFailing
          ? { id: 'error', color: 'problemsErrorIcon.foreground' }
          : findings > 0
            ? { id: 'server-process', color: 'problemsWarningIcon.foreground' }
            : { id: 'server-process', color: 'charts.green' };
      if (snapshot?.state === 'failed') description += ' · failed';
      else if (spawnFailing) description += ' · workers exit at start';
      break;
    }
    case 'starting':
      description = 'starting…';
      icon = { id: 'loading~spin', color: null };
      break;
    case 'stopping':
      description = 'stopping…';
      icon = { id: 'loading~spin', color: null };
      break;
    case 'failed':
      description = 'failed to start';
      icon = { id: 'error', color: 'problemsErrorIcon.foreground' };
      break;
    case 'stopped':
      description = 'stopped';
      icon = { id: 'circle-slash', color: null };
      break;
  }
  // Expanded from the start, not only once a snapshot shows workers: VS Code keeps the state it first
  // rendered for an id, and a pool node first drawn while starting (none) came back collapsed once running.
  const expandable = snapshot !== null || node.status === 'starting' || node.status === 'running';
  return { label: node.name, description, contextValue: poolContext(node.status), collapsible: expandable ? 'expanded' : 'none', icon };
}

function presentWorker(node: WorkerNode, now: number): Presentation {
  const worker = node.worker;
  let description = workerDescription(worker, now);
  if (worker.defunct) description += ' · defunct';
  if (node.findings.length > 0) description += ` · ⚠ ${[...new Set(node.findings.map((finding) => finding.kind))].join(', ')}`;
  const debug = worker.debug;
  // Xdebug may name code that has no file (eval'd: a dbgp:// URI): only a path can be opened.
  const file = worker.state === 'paused' && debug?.file && /^(\/|[A-Za-z]:[\\/])/.test(debug.file) ? debug.file : null;
  return {
    label: workerLabel(worker),
    description,
    contextValue: workerContext(worker.state, {
      lease: worker.lease !== null,
      finding: node.findings.length > 0,
      debug: debug !== null && debug.ide === 'connected',
    }),
    collapsible: worker.lease ? 'collapsed' : 'none',
    icon: workerIcon(node),
    ...(file ? { open: { path: file, line: debug?.line ?? null } } : {}),
  };
}

function workerIcon(node: WorkerNode): Presentation['icon'] {
  if (node.findings.some((finding) => findingSeverity(finding.kind) === 'error') || node.worker.defunct)
    return { id: 'error', color: 'problemsErrorIcon.foreground' };
  if (node.findings.length > 0) return { id: 'warning', color: 'problemsWarningIcon.foreground' };
  switch (node.worker.state) {
    case 'busy':
      return { id: 'circle-filled', color: 'charts.yellow' };
    case 'paused':
      return { id: 'debug-pause', color: 'debugIcon.pauseForeground' };
    case 'finishing':
      return { id: 'debug-step-out', color: 'charts.yellow' };
    case 'idle':
      return { id: 'circle-outline', color: 'charts.green' };
    case 'starting':
      return { id: 'loading~spin', color: null };
    case 'draining':
      return { id: 'arrow-circle-down', color: 'charts.blue' };
    case 'error':
      return { id: 'circle-slash', color: 'errorForeground' };
  }
}

function presentLeaseRow(node: LeaseNode, now: number): Presentation {
  const lease = node.lease;
  const base = { contextValue: leaseContext(node.field), collapsible: 'none' as const };
  switch (node.field) {
    case 'request':
      return { ...base, label: 'Request', description: formatRequest(lease), icon: { id: 'globe', color: null } };
    case 'script':
      return { ...base, label: 'Script', description: displayPath(lease.scriptFilename, node.folderPath), icon: { id: 'file-code', color: null } };
    case 'client':
      return { ...base, label: 'Client', description: lease.clientAddress, icon: { id: 'plug', color: null } };
    case 'age':
      return { ...base, label: 'Age', description: `${formatDuration(now - lease.acquiredAt)} · lease ${lease.id}`, icon: { id: 'watch', color: null } };
  }
}
