import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('vscode', () => vi.importActual('../support/fakeVscode'));

import type * as vscode from 'vscode';
import type { CommandContext } from '../../src/extension/commands/context';
import { commandTable, registerCommands } from '../../src/extension/commands/table';
import { DashboardPanel } from '../../src/extension/dashboard/dashboardPanel';
import { DashboardSources } from '../../src/extension/dashboard/folderSource';
import { FindingLedger } from '../../src/extension/diagnostics/findingLedger';
import { Commands } from '../../src/extension/ids';
import { WorkerLogStore } from '../../src/extension/log';
import { PhpCgiDetector } from '../../src/extension/phpCgi';
import { PoolManager } from '../../src/extension/poolManager';
import type { TreeNode } from '../../src/extension/tree/model';
import { WorkersView } from '../../src/extension/tree/workersView';
import { WorkerActions } from '../../src/extension/workerActions';
import { ConfigurationError } from '../../src/gateway/poolServer';
import { fake, Uri, window as fakeWindow, type FakeLogChannel } from '../support/fakeVscode';
import { busyWorker, FakeServers, leaseStack, managerDeps, MemoryLogger, snapshot, T0, worker } from './extension-fixtures';

describe('commands', () => {
  let servers: FakeServers;
  let manager: PoolManager;
  let view: WorkersView;
  let ledger: FindingLedger;
  let log: FakeLogChannel;
  let store: WorkerLogStore;
  let registrations: vscode.Disposable[];
  let dashboards: DashboardSources;
  /** Whether a PHP Debug session listens, as the commands see it. */
  const phpDebug = { listening: false };
  const app = fake.folder('/ws/app', 0, 'app');
  const api = fake.folder('/ws/api', 1, 'api');
  const key = app.uri.toString();

  const run = (id: string, ...args: unknown[]) => (fake.commands.get(id) as (...a: unknown[]) => Promise<void>)(...args);

  beforeEach(async () => {
    vi.useFakeTimers({ now: T0, toFake: ['Date'] });
    fake.reset();
    servers = new FakeServers();
    manager = new PoolManager(managerDeps(servers, { isTrusted: () => fake.isTrusted }));
    await manager.syncFolders([app]);
    ledger = new FindingLedger(manager);
    view = new WorkersView(manager, ledger);
    log = fakeWindow.createOutputChannel('FastCGI Pool');
    store = new WorkerLogStore();
    const actions = new WorkerActions({ pools: manager, ledger, log });
    dashboards = new DashboardSources(manager, { view, actions });
    const ctx: CommandContext = {
      manager,
      view,
      log: log as unknown as vscode.LogOutputChannel,
      workerLogs: store,
      actions,
      extensionContext: { extensionUri: Uri.file('/ext') } as unknown as vscode.ExtensionContext,
      dashboardSourceFor: (pool) => dashboards.sourceFor(pool),
      phpCgi: new PhpCgiDetector(new MemoryLogger()),
      phpDebug,
    };
    registrations = registerCommands(ctx);
  });

  afterEach(() => {
    DashboardPanel.disposeAll();
    dashboards.dispose();
    for (const registration of registrations) registration.dispose();
    view.dispose();
    ledger.dispose();
    store.dispose();
    vi.useRealTimers();
  });

  it('registers exactly the command table', () => {
    expect([...fake.commands.keys()].sort()).toEqual(Object.keys(commandTable).sort());
  });

  it('Start in Restricted Mode explains why and offers to manage trust, starting nothing', async () => {
    fake.isTrusted = false;
    fake.messageChoices.push('Manage Workspace Trust');
    await run(Commands.start);
    expect(fake.messages[0]).toMatchObject({
      kind: 'warning',
      message: expect.stringMatching(/cannot start in Restricted Mode/),
      items: ['Manage Workspace Trust'],
    });
    expect(fake.executed.map((e) => e.command)).toContain('workbench.trust.manage');
    expect(servers.attempts).toEqual([]);
  });

  it('Start failures the user caused get one notification with Show Log and Open Settings', async () => {
    servers.failWith = new ConfigurationError('php-cgi not found: "php-cgi". Install it …', 'phpCgi');
    fake.messageChoices.push('Open Settings');
    await run(Commands.start);
    expect(fake.messages).toEqual([
      { kind: 'error', message: 'FastCGI Pool could not start for "app": php-cgi not found: "php-cgi". Install it …', items: ['Show Log', 'Open Settings'] },
    ]);
    expect(fake.executed).toContainEqual({ command: 'workbench.action.openSettings', args: ['fastcgiPool.phpCgiPath'] });
    servers.failWith = new ConfigurationError('document root not found: /x', 'documentRoot');
    fake.messageChoices.push('Show Log');
    await run(Commands.start);
    expect(log.shown).toBe(1);
  });

  it('Start and Stop pick the folder in a multi-root workspace, or take it from the pool node', async () => {
    await manager.syncFolders([app, api]);
    fake.quickPickResponder = (items) => items.find((i) => i.label === 'api');
    await run(Commands.start);
    expect(fake.quickPicks[0]?.items.map((i) => i.label)).toEqual(['app', 'api']);
    expect(manager.get(api.uri.toString())?.status).toBe('running');
    await run(Commands.start, { kind: 'pool', folderKey: key });
    expect(manager.get(key)?.status).toBe('running');
    await run(Commands.stop, { kind: 'pool', folderKey: api.uri.toString() });
    expect(manager.get(api.uri.toString())?.status).toBe('stopped');
  });

  it("Show Dashboard opens one dashboard per folder: the only folder's, even with no pool running", async () => {
    await run(Commands.showDashboard);
    expect(fake.quickPicks).toEqual([]);
    expect(fake.webviewPanels.map((p) => `${p.viewType} ${p.title}`)).toEqual(['fastcgiPool.dashboard FastCGI Pool Dashboard (app)']);
    const panel = fake.webviewPanels[0]!;
    expect(panel.webview.html).toContain('https://fake.vscode-cdn.net/ext/dist/webview/main.js');
    panel.received.fire({ type: 'ready', protocol: 1 });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(panel.posted).toEqual([{ type: 'snapshot', protocol: 1, source: { key, label: 'app' }, snapshot: null }]);
    // Again: the same panel comes to the front.
    await run(Commands.showDashboard);
    expect(fake.webviewPanels.length).toBe(1);
    expect(panel.revealed).toBe(1);
  });

  it('Show Dashboard picks among the running pools in a multi-root workspace, or takes the folder from the node', async () => {
    await manager.syncFolders([app, api]);
    await run(Commands.start, { kind: 'pool', folderKey: api.uri.toString() });
    // Only api runs: no question asked.
    await run(Commands.showDashboard);
    expect(fake.quickPicks).toEqual([]);
    expect(fake.webviewPanels.map((p) => p.title)).toEqual(['FastCGI Pool Dashboard (api)']);
    await run(Commands.start, { kind: 'pool', folderKey: key });
    fake.quickPickResponder = (items) => items.find((i) => i.label === 'app');
    await run(Commands.showDashboard);
    expect(fake.quickPicks[0]?.items.map((i) => i.label)).toEqual(['app', 'api']);
    expect(fake.webviewPanels.map((p) => p.title)).toEqual(['FastCGI Pool Dashboard (api)', 'FastCGI Pool Dashboard (app)']);
    // A dismissed pick opens nothing.
    fake.quickPickResponder = () => undefined;
    await run(Commands.showDashboard);
    expect(fake.webviewPanels.length).toBe(2);
    await run(Commands.showDashboard, { kind: 'pool', folderKey: api.uri.toString() });
    expect(fake.webviewPanels[0]?.revealed).toBe(1);
  });

  it('Show Dashboard without a folder says to open one', async () => {
    await manager.syncFolders([]);
    await run(Commands.showDashboard);
    expect(fake.messages.at(-1)).toMatchObject({ kind: 'info', message: expect.stringMatching(/open a folder/) });
    expect(fake.webviewPanels).toEqual([]);
  });

  describe('with a running pool', () => {
    beforeEach(async () => {
      await run(Commands.start);
      servers.last.pool.current = snapshot([worker({ id: 'w1', pid: 1001 }), busyWorker('w2', 1234, { method: 'POST', uri: '/form' })]);
    });

    it("Open in Browser opens the pool's URL", async () => {
      await run(Commands.openInBrowser);
      expect(fake.openedExternal).toEqual(['http://127.0.0.1:8080/']);
    });

    it("Kill and Recycle act on the tree node's worker and acknowledge its findings", async () => {
      const acknowledge = vi.spyOn(ledger, 'acknowledge');
      view.getChildren();
      await run(Commands.killWorker, view.nodeById(`worker:${key}#w2`) as TreeNode);
      await run(Commands.recycleWorker, view.nodeById(`worker:${key}#w1`) as TreeNode);
      expect(servers.last.pool.recycled).toEqual([
        { workerId: 'w2', mode: 'kill' },
        { workerId: 'w1', mode: 'graceful' },
      ]);
      expect(acknowledge.mock.calls).toEqual([
        [key, 'w2'],
        [key, 'w1'],
      ]);
    });

    it('from the palette, each worker command asks through a QuickPick of the workers it applies to', async () => {
      fake.quickPickResponder = (items) => items[0];
      await run(Commands.releaseLease);
      expect(fake.quickPicks[0]?.items.map((i) => i.label)).toEqual(['worker w2 · pid 1234']);
      expect(servers.last.pool.released).toEqual(['L7']);
      await run(Commands.killWorker);
      expect(fake.quickPicks[1]?.items.map((i) => i.label)).toEqual(['worker w1 · pid 1001', 'worker w2 · pid 1234']);
      await run(Commands.copyPid);
      expect(fake.clipboard).toBe('1001');
    });

    it('says so when no worker fits, and when the worker has moved on', async () => {
      servers.last.pool.current = snapshot([worker({ id: 'w1' })]);
      await run(Commands.copyAsCurl);
      expect(fake.messages.at(-1)).toMatchObject({ kind: 'info', message: 'No worker is serving a request right now.' });
      await run(Commands.releaseLease, { folderKey: key, workerId: 'w1', leaseId: 'L7' });
      expect(fake.messages.at(-1)).toMatchObject({ kind: 'warning', message: 'Lease L7 of worker w1 has already ended.' });
      await run(Commands.killWorker, { folderKey: key, workerId: 'w9' });
      expect(fake.messages.at(-1)).toMatchObject({ kind: 'warning', message: 'Worker w9 is no longer in the pool.' });
    });

    it('Copy Request as curl, from a lease row, copies method and URL', async () => {
      view.getChildren();
      await run(Commands.copyAsCurl, view.nodeById(`worker:${key}#w2/L7/request`) as TreeNode);
      expect(fake.clipboard).toBe('curl -i -X POST http://127.0.0.1:8080/form');
    });

    for (const [engine, answersByMessage] of [
      ['in-process', false],
      ['in its thread', true],
    ] as const)
      it(`Show Stack (the engine ${engine}) reads the worker now, lists its frames innermost first under its wait reason, and opens the picked frame at its line`, async () => {
        servers.last.pool.answersByMessage = answersByMessage;
        servers.last.pool.reads.set(
          'w2',
          leaseStack({ stack: leaseStack().stack!.map((f) => ({ ...f, file: f.file && f.file.replace('/app/', '/ws/app/') })) }),
        );
        fake.quickPickResponder = (items) => items[1];
        view.getChildren();
        await run(Commands.showStack, view.nodeById(`worker:${key}#w2`) as TreeNode);
        const pick = fake.quickPicks[0]!;
        expect(pick.items.map((i) => `${i.label} | ${(i as { description?: string }).description}`)).toEqual([
          'usleep() | <internal>',
          '$(arrow-right) Repo->query() | src/Repo.php:6',
          'controller() | index.php:18',
          '{main}() | index.php:21',
        ]);
        expect(pick.options).toMatchObject({ title: 'worker w2 · POST /form — sleeping in nanosleep() for 2.0 s; 3 ms CPU' });
        expect(String(fake.shownDocuments[0]?.target)).toBe('file:///ws/app/src/Repo.php');
        expect(fake.shownDocuments[0]?.options).toMatchObject({ selection: { start: { line: 5 } } });
      });

    it('Show Stack says in one line why there is no stack, with what the worker waits on', async () => {
      const reason = "live PHP stacks need Linux's /proc (this system is darwin)";
      servers.last.pool.reads.set(
        'w2',
        leaseStack({ stack: null, stackError: reason, wait: { state: 'sleeping', syscall: null, fd: null, target: null, cpuMs: 20, sinceMs: 0 } }),
      );
      await run(Commands.showStack, { folderKey: key, workerId: 'w2' });
      expect(fake.quickPicks).toEqual([]);
      expect(fake.messages.at(-1)).toMatchObject({ kind: 'info', message: `worker w2 · POST /form — sleeping; 20 ms CPU. No stack: ${reason}.` });
      await run(Commands.showStack, { folderKey: key, workerId: 'w1' });
      expect(fake.messages.at(-1)).toMatchObject({ kind: 'info', message: 'Worker w1 is not serving a request right now.' });
    });

    it('Reveal Request shows the worker in the tree and opens the script', async () => {
      await run(Commands.revealRequest, { folderKey: key, workerId: 'w2' });
      expect(fake.treeViews[0]?.reveals.length).toBe(1);
      expect(String(fake.shownDocuments[0]?.target)).toBe('file:///app/index.php');
    });

    it("the dashboard's Kill acts like the tree's: the pool kills the worker and its findings are acknowledged", async () => {
      const acknowledge = vi.spyOn(ledger, 'acknowledge');
      await run(Commands.showDashboard);
      const panel = fake.webviewPanels[0]!;
      panel.received.fire({ type: 'ready', protocol: 1 });
      panel.received.fire({ type: 'kill', requestId: 1, workerId: 'w2' });
      panel.received.fire({ type: 'releaseLease', requestId: 2, leaseId: 'L7' });
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(servers.last.pool.recycled).toEqual([{ workerId: 'w2', mode: 'kill' }]);
      expect(servers.last.pool.released).toEqual(['L7']);
      expect(acknowledge.mock.calls).toEqual([
        [key, 'w2'],
        [key, 'w2'],
      ]);
      const results = panel.posted.filter((m) => (m as { type: string }).type === 'event').map((m) => (m as { event: { ok: boolean; message: string } }).event);
      expect(results).toEqual([
        { kind: 'intent-result', requestId: 1, intent: 'kill', ok: true, message: 'Kill worker w2: done' },
        { kind: 'intent-result', requestId: 2, intent: 'releaseLease', ok: true, message: 'Release lease L7: done' },
      ]);
    });

    it("Open Worker Log opens the worker's read-only log document", async () => {
      await run(Commands.openWorkerLog, { folderKey: key, workerId: 'w1' });
      expect((fake.shownDocuments[0]?.target as { uri: { path: string } }).uri.path).toBe('/app/w1.log');
    });

    it('a failing handler is logged, not thrown at VS Code', async () => {
      servers.last.pool.recycleWorker = () => {
        throw new Error('boom');
      };
      await run(Commands.recycleWorker, { folderKey: key, workerId: 'w1' });
      expect(log.lines.at(-1)).toMatchObject({ level: 'error', text: expect.stringMatching(/^fastcgiPool\.worker\.recycle failed: Error: boom/) });
    });
  });
});
