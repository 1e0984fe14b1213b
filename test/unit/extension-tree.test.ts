import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('vscode', () => vi.importActual('../support/fakeVscode'));

import type * as vscode from 'vscode';
import { FindingLedger } from '../../src/extension/diagnostics/findingLedger';
import { PoolManager, type PoolStatus } from '../../src/extension/poolManager';
import { present, WorkersTreeModel, type PoolSource, type TreeNode } from '../../src/extension/tree/model';
import { WorkersView } from '../../src/extension/tree/workersView';
import type { PoolSnapshot } from '../../src/pool/types';
import type { LeaseStack } from '../../src/shared/stackTypes';
import { fake, type FakeTreeView, type MarkdownString, type ThemeIcon, type TreeItem } from '../support/fakeVscode';
import { busyWorker, FakeServers, finding, leaseStack, managerDeps, snapshot, T0, worker } from './extension-fixtures';
import { MAC_CAPABILITIES } from '../support/platforms';

/** A pool as the model sees it, with a snapshot the test replaces. */
function source(
  key: string,
  name: string,
  status: PoolStatus,
  snap: PoolSnapshot | null,
  port = 8080,
): PoolSource & { snap: PoolSnapshot | null; reads: Map<string, LeaseStack> } {
  return {
    key,
    name,
    status,
    problem: null,
    portMoved: null,
    server: snap ? { port, url: `http://127.0.0.1:${port}/` } : null,
    snap,
    reads: new Map(),
    snapshot() {
      return this.snap;
    },
    lastStacks() {
      return this.reads;
    },
  };
}

const A = 'file:///ws/app';
const folderPath = (): string => '/app';

function labels(model: WorkersTreeModel, now = T0): string[] {
  return model.allNodes().map((node) => {
    const p = present(node, now);
    return `${'  '.repeat(depth(model, node))}${p.label} | ${p.description} | ${p.contextValue}`;
  });
}

function depth(model: WorkersTreeModel, node: TreeNode): number {
  let d = 0;
  for (let parent = model.parentOf(node); parent; parent = model.parentOf(parent)) d++;
  return d;
}

describe('WorkersTreeModel', () => {
  it('is empty while no pool is up, so the welcome view with its Start link shows', () => {
    const model = new WorkersTreeModel();
    model.sync([source(A, 'app', 'stopped', null)], folderPath, T0);
    expect(model.rootNodes()).toEqual([]);
  });

  it('shows pool → Busy / Idle / Error (+ Starting, Draining when any) → workers → lease rows', () => {
    const model = new WorkersTreeModel();
    const snap = snapshot([
      worker({ id: 'w1', pid: 1001, accesses: 5, lastActiveAt: T0 - 12_000 }),
      busyWorker('w2', 1234, { uri: '/api/users' }, 2_300),
      worker({ id: 'w3', pid: null, state: 'starting', startedAt: T0 - 300 }),
    ]);
    model.sync([source(A, 'app', 'running', snap)], folderPath, T0);
    expect(labels(model)).toEqual([
      'app | :8080 · 1/4 busy | pool.running',
      '  Busy | 1 | group.busy',
      '    worker w2 · pid 1234 | GET /api/users · 2.3 s | worker.busy.lease',
      '      Request | GET /api/users | lease.request',
      '      Script | index.php | lease.script',
      '      Client | 127.0.0.1:50312 | lease.client',
      '      Age | 2.3 s · lease L7 | lease.age',
      '      Stack | read once the request has run for a second | stack.note',
      '  Idle | 1 | group.idle',
      '    worker w1 · pid 1001 | idle 12 s · 5 req | worker.idle',
      '  Starting | 1 | group.starting',
      '    worker w3 · pid … | starting · 0 s | worker.starting',
      '  Error | 0 | group.error',
    ]);
  });

  it('shows a worker finishing the script of a client that left: not busy, not idle, the request and how long ago', () => {
    const model = new WorkersTreeModel();
    const abandoned = {
      lease: busyWorker('w2', 1234, { uri: '/wp-cron.php?doing_wp_cron' }, 3_000).lease as NonNullable<ReturnType<typeof busyWorker>['lease']>,
      abandonedAt: T0 - 1_200,
    };
    const snap = snapshot([worker({ id: 'w1' }), worker({ id: 'w2', pid: 1234, state: 'finishing', abandoned })]);
    model.sync([source(A, 'app', 'running', snap)], folderPath, T0);
    expect(labels(model)).toEqual([
      'app | :8080 · 0/4 busy · 1 finishing | pool.running',
      '  Busy | 0 | group.busy',
      '  Finishing | 1 | group.finishing',
      '    worker w2 · pid 1234 | finishing · GET /wp-cron.php?doing_wp_cron · client left 1.2 s ago | worker.finishing',
      '  Idle | 1 | group.idle',
      '    worker w1 · pid 1001 | idle 12 s · 5 req | worker.idle',
      '  Error | 0 | group.error',
    ]);
    expect(present(model.byId(`worker:${A}#w2`) as TreeNode, T0).icon).toEqual({ id: 'debug-step-out', color: 'charts.yellow' });
  });

  it('says on the pool node that workers exit at start (spawn-failing), in the error colour', () => {
    const model = new WorkersTreeModel();
    const failing = finding({
      id: 'F9',
      kind: 'spawn-failing',
      workerId: null,
      lease: null,
      exit: { code: 255, signal: null },
      message: 'workers exit before serving (3 in a row): …',
    });
    model.sync(
      [
        source(
          A,
          'app',
          'running',
          snapshot([], {
            findings: [failing],
            problem: 'workers exit before serving: worker w3 (pid 7) exited with code 255 before serving a request; its stderr ends: PHP Fatal error: …',
          }),
        ),
      ],
      folderPath,
      T0,
    );
    const pool = present(model.rootNodes()[0] as TreeNode, T0);
    expect(pool.description).toBe(':8080 · 0/4 busy · ⚠ 1 · workers exit at start');
    expect(pool.icon).toEqual({ id: 'error', color: 'problemsErrorIcon.foreground' });
  });

  it('expands a busy worker into where it is: its wait reason, then its PHP frames, innermost first', () => {
    const model = new WorkersTreeModel();
    const pool = source(A, 'app', 'running', snapshot([busyWorker('w2', 1234, { uri: '/report' }, 2_300)]));
    pool.reads.set('w2', leaseStack());
    model.sync([pool], folderPath, T0);
    expect(labels(model).filter((line) => line.includes('| stack.'))).toEqual([
      '      Wait | sleeping in nanosleep() for 2.0 s; 3 ms CPU | stack.wait',
      '      usleep() | <internal> | stack.internal',
      '      Repo->query() | src/Repo.php:6 | stack.frame',
      '      controller() | index.php:18 | stack.frame',
      '      {main}() | index.php:21 | stack.frame',
    ]);
    // The innermost frame of PHP code is where the request is: marked.
    const icons = model
      .allNodes()
      .filter((n) => n.kind === 'stack')
      .map((n) => present(n, T0).icon);
    expect(icons).toEqual([
      { id: 'watch', color: null },
      { id: 'symbol-event', color: null },
      { id: 'symbol-method', color: 'charts.yellow' },
      { id: 'symbol-function', color: null },
      { id: 'symbol-function', color: null },
    ]);
    // A read of an earlier lease says nothing about this one.
    pool.reads.set('w2', leaseStack({ leaseId: 'L6' }));
    model.sync([pool], folderPath, T0);
    expect(labels(model).filter((line) => line.includes('| stack.'))).toEqual(['      Stack | read once the request has run for a second | stack.note']);
  });

  it('says in one line why there is no stack, beside the wait reason the system gives', () => {
    const model = new WorkersTreeModel();
    const reason = "live PHP stacks need Linux's /proc (this system is darwin)";
    const pool = source(A, 'app', 'running', snapshot([busyWorker('w2', 1234)], { stacks: { state: 'off', reason } }));
    model.sync([pool], folderPath, T0);
    expect(labels(model).filter((line) => line.includes('| stack.'))).toEqual([`      Stack | ${reason} | stack.note`]);
    pool.reads.set(
      'w2',
      leaseStack({ stack: null, stackError: reason, wait: { state: 'running', syscall: null, fd: null, target: null, cpuMs: 1_800, sinceMs: 0 } }),
    );
    pool.snap = { ...(pool.snap as PoolSnapshot), version: 2 };
    model.sync([pool], folderPath, T0);
    expect(labels(model).filter((line) => line.includes('| stack.'))).toEqual([
      '      Wait | running; 1.8 s CPU | stack.wait',
      `      Stack | ${reason} | stack.note`,
    ]);
  });

  it('colours worker icons by state and marks a worker with a finding', () => {
    const model = new WorkersTreeModel();
    const f = finding({ id: 'F1', workerId: 'w2' });
    const snap = snapshot([worker({ id: 'w1' }), { ...busyWorker('w2', 1234, { uri: '/die' }, 400), findingIds: ['F1'], defunct: true }], {
      findings: [f],
      leakPolicy: 'keep',
    });
    model.sync([source(A, 'app', 'running', snap)], folderPath, T0);
    const idle = present(model.byId(`worker:${A}#w1`) as TreeNode, T0);
    const marked = present(model.byId(`worker:${A}#w2`) as TreeNode, T0);
    expect(idle.icon).toEqual({ id: 'circle-outline', color: 'charts.green' });
    expect(marked.icon).toEqual({ id: 'error', color: 'problemsErrorIcon.foreground' });
    expect(marked.contextValue).toBe('worker.busy.lease.finding');
    expect(marked.description).toBe('GET /die · 400 ms · defunct · ⚠ defunct-busy');
    expect(present(model.rootNodes()[0] as TreeNode, T0).description).toBe(':8080 · 1/4 busy · ⚠ 1');
  });

  it('keeps ids and node objects stable across syncs (VS Code refreshes by identity)', () => {
    const model = new WorkersTreeModel();
    const pool = source(A, 'app', 'running', snapshot([worker({ id: 'w1' })]));
    model.sync([pool], folderPath, T0);
    const before = model.byId(`worker:${A}#w1`);
    pool.snap = snapshot([worker({ id: 'w1', accesses: 6 })]);
    model.sync([pool], folderPath, T0);
    expect(model.byId(`worker:${A}#w1`)).toBe(before);
    expect(model.allNodes().map((n) => n.id)).toEqual([`pool:${A}`, `group:${A}#busy`, `group:${A}#idle`, `worker:${A}#w1`, `group:${A}#error`]);
  });

  it('refreshes only the element that changed', () => {
    const model = new WorkersTreeModel();
    const pool = source(A, 'app', 'running', snapshot([worker({ id: 'w1', accesses: 5 }), worker({ id: 'w2', pid: 1002, accesses: 1 })]));
    model.sync([pool], folderPath, T0);
    expect(model.sync([pool], folderPath, T0)).toEqual({ kind: 'none' });
    pool.snap = snapshot([worker({ id: 'w1', accesses: 6 }), worker({ id: 'w2', pid: 1002, accesses: 1 })]);
    const change = model.sync([pool], folderPath, T0);
    expect(change.kind === 'nodes' && change.nodes.map((n) => n.id)).toEqual([`worker:${A}#w1`]);
  });

  it("lets time move a busy worker's age without touching the rest", () => {
    const model = new WorkersTreeModel();
    const pool = source(A, 'app', 'running', snapshot([busyWorker('w2', 1234, {}, 2_300)]));
    model.sync([pool], folderPath, T0);
    const change = model.sync([pool], folderPath, T0 + 1_000);
    // The worker covers its Age row: one refresh of the worker re-reads both.
    expect(change.kind === 'nodes' && change.nodes.map((n) => n.id)).toEqual([`worker:${A}#w2`]);
  });

  it('refreshes through the pool node when a worker changes list (its id must not be registered twice)', () => {
    const model = new WorkersTreeModel();
    const pool = source(A, 'app', 'running', snapshot([worker({ id: 'w1' })]));
    model.sync([pool], folderPath, T0);
    pool.snap = snapshot([busyWorker('w1', 1001)]);
    const change = model.sync([pool], folderPath, T0);
    expect(change.kind === 'nodes' && change.nodes.map((n) => n.id)).toEqual([`pool:${A}`]);
  });

  it('re-reads the whole tree when pools appear or go', () => {
    const model = new WorkersTreeModel();
    const pool = source(A, 'app', 'running', snapshot());
    model.sync([pool], folderPath, T0);
    expect(model.sync([source(A, 'app', 'stopped', null)], folderPath, T0)).toEqual({ kind: 'all' });
  });

  it('draws a starting pool expanded already, so that VS Code does not keep it collapsed once its workers appear', () => {
    const model = new WorkersTreeModel();
    model.sync([source(A, 'app', 'starting', null)], folderPath, T0);
    expect(present(model.rootNodes()[0]!, T0).collapsible).toBe('expanded');
    // A pool that failed to start has nothing to show under it.
    model.sync([source(A, 'app', 'failed', null)], folderPath, T0);
    expect(present(model.rootNodes()[0]!, T0).collapsible).toBe('none');
  });

  it('shows one pool per folder in a multi-root workspace, stopped ones included', () => {
    const model = new WorkersTreeModel();
    model.sync([source(A, 'app', 'running', snapshot()), source('file:///ws/api', 'api', 'stopped', null)], folderPath, T0);
    expect(model.rootNodes().map((n) => `${n.name}: ${present(n, T0).description} (${present(n, T0).contextValue})`)).toEqual([
      'app: :8080 · 0/4 busy (pool.running)',
      'api: stopped (pool.stopped)',
    ]);
  });

  it('shows a starting pool expanded, so that its workers show when they come (VS Code keeps a node collapsed that first had no children)', () => {
    const model = new WorkersTreeModel();
    model.sync([source(A, 'app', 'starting', null), source('file:///ws/api', 'api', 'stopped', null)], folderPath, T0);
    expect(model.rootNodes().map((n) => `${n.name} ${present(n, T0).collapsible}`)).toEqual(['app expanded', 'api none']);
  });
});

describe('WorkersView', () => {
  let servers: FakeServers;
  let manager: PoolManager;
  let view: WorkersView;
  let treeView: FakeTreeView<TreeNode>;
  let ledger: FindingLedger;
  let folder: vscode.WorkspaceFolder;

  beforeEach(async () => {
    vi.useFakeTimers({ now: T0 });
    fake.reset();
    servers = new FakeServers();
    manager = new PoolManager(managerDeps(servers));
    folder = fake.folder('/ws/app', 0, 'app');
    await manager.syncFolders([folder]);
    ledger = new FindingLedger(manager);
    view = new WorkersView(manager, ledger);
    treeView = fake.treeViews[0] as FakeTreeView<TreeNode>;
    await manager.start(folder.uri.toString());
    await vi.advanceTimersByTimeAsync(300);
    view.getChildren();
    treeView.fires.length = 0;
  });

  afterEach(() => {
    view.dispose();
    ledger.dispose();
    vi.useRealTimers();
  });

  const item = (id: string): TreeItem => view.getTreeItem(view.nodeById(id) as TreeNode) as unknown as TreeItem;

  it('renders TreeItems with stable ids, descriptions, contextValues and state-coloured ThemeIcons', () => {
    const key = folder.uri.toString();
    servers.last.pool.current = snapshot([busyWorker('w2', 1234, { uri: '/slow?ms=3000' }, 2_300)]);
    vi.setSystemTime(T0);
    view.getChildren();
    const worker = item(`worker:${key}#w2`);
    expect(worker.label).toBe('worker w2 · pid 1234');
    expect(worker.description).toBe('GET /slow?ms=3000 · 2.3 s');
    expect(worker.id).toBe(`worker:${key}#w2`);
    expect(worker.contextValue).toBe('worker.busy.lease');
    expect((worker.iconPath as ThemeIcon).id).toBe('circle-filled');
    expect((worker.iconPath as ThemeIcon).color?.id).toBe('charts.yellow');
    const script = item(`worker:${key}#w2/L7/script`);
    expect(script.command?.command).toBe('vscode.open');
  });

  it('opens a frame at its line when clicked', () => {
    const key = folder.uri.toString();
    servers.last.pool.current = snapshot([busyWorker('w2', 1234, { uri: '/report' }, 2_300)]);
    servers.last.pool.reads.set('w2', leaseStack());
    view.getChildren();
    const frame = item(`worker:${key}#w2/L7/frame1`);
    expect(frame.label).toBe('Repo->query()');
    expect(frame.command?.command).toBe('vscode.open');
    const [uri, options] = frame.command?.arguments as [{ fsPath: string }, { selection: { start: { line: number } } }];
    expect(uri.fsPath).toBe('/app/src/Repo.php');
    expect(options.selection.start.line).toBe(5);
    expect(item(`worker:${key}#w2/L7/frame0`).command).toBeUndefined();
  });

  it('builds a Markdown tooltip with pid, start time, accesses, lease and finding details', () => {
    const key = folder.uri.toString();
    const f = finding({ id: 'F1', workerId: 'w2' });
    servers.last.pool.current = snapshot([{ ...busyWorker('w2', 1234, { uri: '/die' }, 400), findingIds: ['F1'] }], { findings: [f] });
    view.getChildren();
    const node = view.nodeById(`worker:${key}#w2`) as TreeNode;
    const resolved = view.resolveTreeItem(view.getTreeItem(node), node) as unknown as TreeItem;
    const tooltip = (resolved.tooltip as MarkdownString).value;
    expect((resolved.tooltip as MarkdownString).supportThemeIcons).toBe(true);
    expect(tooltip).toContain('pid `1234`');
    expect(tooltip).toMatch(/started \d\d:\d\d:\d\d/);
    expect(tooltip).toContain('5 requests served');
    expect(tooltip).toContain('**lease L7** `GET /die`');
    expect(tooltip).toContain('client `127.0.0.1:50312` via `http 127.0.0.1:50312 #42`');
    expect(tooltip).toContain('**defunct-busy**');
  });

  it('says in the pool’s tooltip what this OS lets the pool check, and claims nothing without it', () => {
    const key = folder.uri.toString();
    servers.last.pool.current = snapshot([worker()], { platform: MAC_CAPABILITIES });
    view.getChildren();
    const node = view.nodeById(`pool:${key}`) as TreeNode;
    const tooltip = ((view.resolveTreeItem(view.getTreeItem(node), node) as unknown as TreeItem).tooltip as MarkdownString).value;
    expect(tooltip).toContain('**macOS**');
    expect(tooltip).toContain('- process truth: one ps call per scan \\(state, zombies, descendants in the worker’s group\\)');
    expect(tooltip).toContain('a watchdog that stops them when the manager’s pipe closes');
    expect(tooltip).toContain('- live PHP stacks: not available here');
    servers.last.pool.current = snapshot([worker()], { platform: null, version: 2 });
    view.getChildren();
    const bare = ((view.resolveTreeItem(view.getTreeItem(node), node) as unknown as TreeItem).tooltip as MarkdownString).value;
    expect(bare).not.toContain('process truth');
  });

  it("says in the busy worker's tooltip where it is: the innermost frame of PHP code and what it waits on", () => {
    const key = folder.uri.toString();
    servers.last.pool.current = snapshot([busyWorker('w2', 1234, { uri: '/report' }, 2_300)]);
    servers.last.pool.reads.set('w2', leaseStack());
    view.getChildren();
    const node = view.nodeById(`worker:${key}#w2`) as TreeNode;
    const tooltip = ((view.resolveTreeItem(view.getTreeItem(node), node) as unknown as TreeItem).tooltip as MarkdownString).value;
    expect(tooltip).toMatch(/^\*\*where\*\* \(read \d+ ms ago\)$/m);
    expect(tooltip).toContain('- in `Repo->query()` at `/app/src/Repo.php:6`');
    // Markdown-escaped: the wait reason is text, never markup.
    expect(tooltip).toContain('- sleeping in nanosleep\\(\\) for 2\\.0 s; 3 ms CPU');
  });

  it('coalesces a burst of pool events into element-level refreshes, at most 4 per second', async () => {
    const server = servers.last;
    for (let i = 0; i < 100; i++) {
      server.emit({ type: 'worker-state', workerId: 'w1', pid: 1001, from: 'idle', to: 'busy', reason: null }, snapshot([worker({ id: 'w1', accesses: i })]));
      await vi.advanceTimersByTimeAsync(9);
    }
    expect(treeView.fires.length).toBeGreaterThan(0);
    expect(treeView.fires.length).toBeLessThanOrEqual(4);
    for (const fired of treeView.fires) expect(Array.isArray(fired)).toBe(true);
  });

  it('does not refresh while hidden, and catches up when shown again', async () => {
    treeView.setVisible(false);
    servers.last.emit(
      { type: 'lease-acquired', lease: busyWorker('w1', 1001).lease as NonNullable<ReturnType<typeof busyWorker>['lease']>, waitedMs: 0 },
      snapshot([busyWorker('w1', 1001)]),
    );
    await vi.advanceTimersByTimeAsync(5_000);
    expect(treeView.fires).toEqual([]);
    treeView.setVisible(true);
    await vi.advanceTimersByTimeAsync(10);
    expect(treeView.fires.length).toBe(1);
  });

  it('ticks busy ages once a second while visible', async () => {
    servers.last.pool.current = snapshot([busyWorker('w2', 1234)]);
    view.getChildren();
    treeView.fires.length = 0;
    await vi.advanceTimersByTimeAsync(3_000);
    expect(treeView.fires.length).toBe(3);
    treeView.setVisible(false);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(treeView.fires.length).toBe(3);
  });

  it('puts a badge on the view for findings in Problems', async () => {
    const f = finding();
    servers.last.emit({ type: 'finding', finding: f }, snapshot([busyWorker('w2', 1234)], { findings: [f] }));
    await vi.advanceTimersByTimeAsync(300);
    expect(treeView.badge).toEqual({ value: 1, tooltip: 'FastCGI Pool: 1 finding (1 open), see Problems' });
  });

  it("opens a pool node that VS Code first got without children once its workers arrive (VS Code keeps a node's first collapsible state)", async () => {
    const key = folder.uri.toString();
    await manager.stop(key);
    // A start that failed: the pool node shows, with nothing below it.
    servers.failWith = new Error('php-cgi exited at once');
    await manager.start(key).catch(() => undefined);
    view.getChildren();
    expect(item(`pool:${key}`).collapsibleState).toBe(0); // None
    servers.failWith = null;
    await manager.start(key);
    await vi.advanceTimersByTimeAsync(300);
    view.getChildren();
    expect(item(`pool:${key}`).collapsibleState).toBe(2); // Expanded, which VS Code would ignore for a known id…
    await vi.advanceTimersByTimeAsync(1);
    expect(treeView.reveals.map((r) => [(r.element as TreeNode).id, r.options])).toEqual([[`pool:${key}`, { expand: true, select: false, focus: false }]]); // …so it is revealed expanded
    item(`pool:${key}`);
    await vi.advanceTimersByTimeAsync(1);
    expect(treeView.reveals).toHaveLength(1); // once
  });

  it('reveals a worker expanded', async () => {
    servers.last.pool.current = snapshot([busyWorker('w2', 1234)]);
    expect(await view.revealWorker(folder.uri.toString(), 'w2', true)).toBe(true);
    expect(treeView.reveals[0]?.options).toEqual({ select: true, focus: true, expand: true });
    expect(await view.revealWorker(folder.uri.toString(), 'w9', true)).toBe(false);
  });
});
