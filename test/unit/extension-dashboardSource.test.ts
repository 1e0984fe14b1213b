import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('vscode', () => vi.importActual('../support/fakeVscode'));

import { DashboardController } from '../../src/extension/dashboard/controller';
import { DashboardSources, type FolderDashboardSource } from '../../src/extension/dashboard/folderSource';
import { FindingLedger } from '../../src/extension/diagnostics/findingLedger';
import { PoolManager } from '../../src/extension/poolManager';
import { WorkersView } from '../../src/extension/tree/workersView';
import { WorkerActions } from '../../src/extension/workerActions';
import type { PoolEvent } from '../../src/pool/types';
import type { HostToWebviewMessage } from '../../src/shared/dashboardProtocol';
import { fake, window as fakeWindow, type FakeLogChannel } from '../support/fakeVscode';
import { busyWorker, FakeServers, finding, managerDeps, snapshot, T0, worker } from './extension-fixtures';

describe('the dashboard source of a workspace folder', () => {
  let servers: FakeServers;
  let manager: PoolManager;
  let ledger: FindingLedger;
  let view: WorkersView;
  let log: FakeLogChannel;
  let sources: DashboardSources;
  const app = fake.folder('/ws/app', 0, 'app');
  const api = fake.folder('/ws/api', 1, 'api');
  const key = app.uri.toString();

  beforeEach(async () => {
    vi.useFakeTimers({ now: T0, toFake: ['Date'] });
    fake.reset();
    servers = new FakeServers();
    manager = new PoolManager(managerDeps(servers));
    await manager.syncFolders([app, api]);
    ledger = new FindingLedger(manager);
    view = new WorkersView(manager, ledger);
    log = fakeWindow.createOutputChannel('FastCGI Pool');
    sources = new DashboardSources(manager, { view, actions: new WorkerActions({ pools: manager, ledger, log }) });
  });

  afterEach(() => {
    sources.dispose();
    view.dispose();
    ledger.dispose();
    vi.useRealTimers();
  });

  const appSource = (): FolderDashboardSource => sources.sourceFor(manager.get(key)!);

  it('is keyed by the folder URI, labelled with its name, made once per folder', () => {
    const source = appSource();
    expect(source.key).toBe('file:///ws/app');
    expect(source.label).toBe('app');
    expect(appSource()).toBe(source);
    expect(sources.sourceForKey(key)).toBe(source);
    expect(sources.sourceFor(manager.get(api.uri.toString())!)).not.toBe(source);
    expect(sources.size).toBe(2);
  });

  it('finds the source for the serializer by key; a folder that is not open has none; no key means the only folder', async () => {
    expect(sources.sourceForKey('file:///ws/gone')).toBeUndefined();
    expect(sources.sourceForKey(null)).toBeUndefined(); // two folders: which one is unknown
    await manager.syncFolders([app]);
    expect(sources.sourceForKey(null)?.key).toBe(key);
  });

  it("snapshot() follows the folder's server: null while stopped, the pool's snapshot while running, null again once stopped", async () => {
    const source = appSource();
    expect(source.snapshot()).toBeNull();
    await manager.start(key);
    const running = snapshot([worker({ id: 'w1' }), busyWorker('w2', 1234)]);
    servers.last.pool.current = running;
    expect(source.snapshot()).toBe(running);
    await manager.stop(key);
    expect(source.snapshot()).toBeNull();
    // A new run: the same source shows it.
    await manager.start(key);
    const second = snapshot([worker({ id: 'w9' })], { version: 1, takenAt: T0 + 5_000 });
    servers.last.pool.current = second;
    expect(source.snapshot()).toBe(second);
  });

  it("tells its listeners about its folder's lifecycle and pool events (passing the event on), not about other folders", async () => {
    const source = appSource();
    const heard: (PoolEvent | undefined)[] = [];
    const subscription = source.onDidChange((event) => heard.push(event));
    await manager.start(key);
    expect(heard).toEqual([undefined, undefined]); // starting, running
    const found: PoolEvent = { type: 'finding', finding: finding() };
    servers.last.emit(found);
    expect(heard.at(-1)).toBe(found);
    heard.length = 0;
    await manager.start(api.uri.toString());
    servers.last.emit({ type: 'worker-starting', workerId: 'w1' });
    expect(heard).toEqual([]);
    subscription.dispose();
    await manager.stop(key);
    expect(heard).toEqual([]);
    expect(source.listenerCount).toBe(0);
  });

  it('forwards a new finding to the dashboard at once, so it flashes', async () => {
    const source = appSource();
    await manager.start(key);
    const posted: HostToWebviewMessage[] = [];
    const controller = new DashboardController({ postMessage: (m) => (posted.push(m), true) }, source, {
      clock: { now: () => Date.now(), setTimeout: () => 0, clearTimeout: () => undefined },
    });
    await controller.handleMessage({ type: 'ready', protocol: 1 });
    const f = finding();
    servers.last.emit({ type: 'finding', finding: f }, snapshot([worker({ id: 'w1' })], { version: 2, findings: [f] }));
    expect(posted.map((m) => (m.type === 'event' ? m.event.kind : m.type))).toEqual(['snapshot', 'finding']);
    controller.dispose();
  });

  describe('with a running pool', () => {
    beforeEach(async () => {
      await manager.start(key);
      servers.last.pool.current = snapshot([worker({ id: 'w1', pid: 1001 }), busyWorker('w2', 1234)]);
    });

    it("maps kill and recycle to recycleWorker(kill | graceful), acknowledges the worker's findings and logs it", async () => {
      const acknowledge = vi.spyOn(ledger, 'acknowledge');
      const source = appSource();
      expect(await source.kill('w2')).toBe(true);
      expect(await source.recycle('w1')).toBe(true);
      expect(servers.last.pool.recycled).toEqual([
        { workerId: 'w2', mode: 'kill' },
        { workerId: 'w1', mode: 'graceful' },
      ]);
      expect(acknowledge.mock.calls).toEqual([
        [key, 'w2'],
        [key, 'w1'],
      ]);
      expect(log.texts()).toEqual(['[app] worker w2 (pid 1234) killed from the dashboard', '[app] worker w1 (pid 1001) recycled from the dashboard']);
    });

    it("maps releaseLease to the pool's releaseLease and acknowledges the holder", async () => {
      const acknowledge = vi.spyOn(ledger, 'acknowledge');
      expect(await appSource().releaseLease('L7')).toBe(true);
      expect(servers.last.pool.released).toEqual(['L7']);
      expect(acknowledge.mock.calls).toEqual([[key, 'w2']]);
    });

    it('returns false when the pool refuses, and then acknowledges and logs nothing', async () => {
      const acknowledge = vi.spyOn(ledger, 'acknowledge');
      const source = appSource();
      expect(await source.kill('w9')).toBe(false);
      expect(await source.recycle('w9')).toBe(false);
      expect(await source.releaseLease('L99')).toBe(false);
      expect(servers.last.pool.recycled.map((r) => r.workerId)).toEqual(['w9', 'w9']);
      expect(servers.last.pool.released).toEqual(['L99']);
      expect(acknowledge).not.toHaveBeenCalled();
      expect(log.texts()).toEqual([]);
    });

    it('refuses every action once the pool is stopped', async () => {
      const source = appSource();
      await manager.stop(key);
      expect(await source.kill('w1')).toBe(false);
      expect(await source.recycle('w1')).toBe(false);
      expect(await source.releaseLease('L7')).toBe(false);
      expect(await source.revealWorker('w1')).toBe(false);
    });

    it('opens a script as a preview editor, at the line when there is one', async () => {
      const source = appSource();
      expect(await source.openScript('/ws/app/index.php')).toBe(true);
      expect(await source.openScript('/ws/app/lib.php', 12)).toBe(true);
      expect(String(fake.shownDocuments[0]?.target)).toBe('file:///ws/app/index.php');
      expect(fake.shownDocuments[0]?.options).toEqual({ preview: true });
      const options = fake.shownDocuments[1]?.options as { preview: boolean; selection: { start: { line: number } } };
      expect(options.preview).toBe(true);
      expect(options.selection.start.line).toBe(11);
    });

    it('reveals the worker in the Workers tree, and says false for a worker the tree does not show', async () => {
      const source = appSource();
      expect(await source.revealWorker('w2')).toBe(true);
      const reveal = fake.treeViews[0]?.reveals[0];
      expect((reveal?.element as { id: string }).id).toBe(`worker:${key}#w2`);
      expect(reveal?.options).toMatchObject({ select: true, expand: true, focus: true });
      expect(await source.revealWorker('w9')).toBe(false);
    });
  });

  describe('when its folder leaves the workspace', () => {
    it('is disposed with the folder when no dashboard shows it', async () => {
      const source = appSource();
      await manager.syncFolders([api]);
      expect(sources.sourceForKey(key)).toBeUndefined();
      expect(source.snapshot()).toBeNull();
      expect(await source.kill('w1')).toBe(false);
      expect(source.label).toBe('app');
    });

    it('stays while a dashboard shows it (which then shows no pool), and goes when that dashboard closes', async () => {
      await manager.start(key);
      const source = appSource();
      const heard: (PoolEvent | undefined)[] = [];
      const subscription = source.onDidChange((event) => heard.push(event));
      heard.length = 0;
      await manager.syncFolders([api]);
      expect(heard.length).toBeGreaterThan(0);
      expect(source.snapshot()).toBeNull();
      expect(sources.sourceForKey(key)).toBe(source);
      subscription.dispose();
      expect(sources.size).toBe(0);
    });

    it('comes back to life if the folder returns while its dashboard is open', async () => {
      const source = appSource();
      const subscription = source.onDidChange(() => undefined);
      await manager.syncFolders([api]);
      await manager.syncFolders([app, api]);
      await manager.start(key);
      servers.last.pool.current = snapshot([worker({ id: 'w1' })]);
      expect(sources.sourceForKey(key)).toBe(source);
      expect(source.snapshot()?.workers.map((w) => w.id)).toEqual(['w1']);
      subscription.dispose();
    });
  });

  it('disposing the registry drops every dashboard subscription', async () => {
    const source = appSource();
    const listener = vi.fn();
    source.onDidChange(listener);
    sources.dispose();
    expect(source.listenerCount).toBe(0);
    await manager.start(key);
    expect(listener).not.toHaveBeenCalled();
    expect(source.snapshot()).toBeNull();
    expect(source.onDidChange(listener)).toBeDefined();
    expect(source.listenerCount).toBe(0);
  });
});
