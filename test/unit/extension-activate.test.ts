import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const hoisted = vi.hoisted(() => ({ start: null as null | ((options: unknown) => Promise<unknown>), threadEntries: [] as string[] }));

vi.mock('vscode', () => vi.importActual('../support/fakeVscode'));
// The composition root starts each pool in an engine thread; here it gets fake servers.
vi.mock('../../src/engineThread/threadedServer', async (importOriginal) => ({
  ...(await importOriginal<typeof ThreadedServerModule>()),
  createThreadedStartServer: (setup: { entry: string }) => {
    hoisted.threadEntries.push(setup.entry);
    return (options: unknown) => (hoisted.start as (options: unknown) => Promise<unknown>)(options);
  },
}));

import type * as vscode from 'vscode';
import type * as ThreadedServerModule from '../../src/engineThread/threadedServer';
import { activate, deactivate } from '../../src/extension/extension';
import { poolStateDir, sweepStaleWorkers } from '../../src/extension/staleWorkers';
import { readStat } from '../../src/platform/processState';
import { fake, FakeWebviewPanel, Uri, type FakeLogChannel } from '../support/fakeVscode';
import { FakeServers, MemoryLogger, snapshot, busyWorker } from './extension-fixtures';

interface Manifest {
  contributes: { commands: { command: string }[] };
}
const manifest = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as Manifest;

describe('activate / deactivate', () => {
  let servers: FakeServers;
  let storage: string;
  let context: { subscriptions: { dispose(): unknown }[]; storageUri: unknown; globalStorageUri: unknown; extensionUri: unknown };

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    fake.reset();
    servers = new FakeServers();
    hoisted.start = servers.start as (options: unknown) => Promise<unknown>;
    storage = mkdtempSync(join(tmpdir(), 'fastcgi-pool-ext-'));
    fake.workspaceFolders = [fake.folder('/ws/app', 0, 'app')];
    fake.isTrusted = true;
    context = { subscriptions: [], storageUri: Uri.file(storage), globalStorageUri: Uri.file(join(storage, 'global')), extensionUri: Uri.file('/ext') };
  });

  afterEach(async () => {
    await deactivate();
    for (const subscription of context.subscriptions) subscription.dispose();
    rmSync(storage, { recursive: true, force: true });
    vi.useRealTimers();
  });

  it('composes the services: every contributed command, the tree, the status bar, the log, diagnostics', () => {
    activate(context as unknown as vscode.ExtensionContext);
    expect([...fake.commands.keys()].sort()).toEqual(manifest.contributes.commands.map((c) => c.command).sort());
    expect(fake.treeViews.map((view) => view.id)).toEqual(['fastcgiPool.workers']);
    expect(fake.statusBarItems[0]?.text).toBe('FastCGI stopped');
    expect(fake.channels.map((channel) => channel.name)).toEqual(['FastCGI Pool']);
    expect(fake.collections.map((collection) => collection.name)).toEqual(['fastcgi-pool']);
    expect([...fake.contentProviders.keys()]).toEqual(['fastcgi-pool-log']);
    expect(fake.codeActionProviders.length).toBe(1);
    expect(fake.contextKeys.get('fastcgiPool.running')).toBe(false);
    expect(fake.contextKeys.get('fastcgiPool.canStart')).toBe(true);
    expect([...fake.serializers.keys()]).toEqual(['fastcgiPool.dashboard']);
    // Pools run in engine threads, from the bundle the .vsix ships next to the extension's.
    expect(hoisted.threadEntries.at(-1)).toBe('/ext/dist/engineThread.js');
  });

  it('restores a dashboard left open before a reload onto its folder\'s pool, and one of a closed folder as "no pool"', async () => {
    activate(context as unknown as vscode.ExtensionContext);
    await (fake.commands.get('fastcgiPool.start') as () => Promise<void>)();
    servers.last.pool.current = snapshot([busyWorker('w1', 1)]);
    const serializer = fake.serializers.get('fastcgiPool.dashboard')!;
    const restored = new FakeWebviewPanel('fastcgiPool.dashboard', 'FastCGI Pool Dashboard (app)', {}, {});
    await serializer.deserializeWebviewPanel(restored as unknown as vscode.WebviewPanel, { v: 1, sourceKey: 'file:///ws/app', windowMs: 60_000 });
    restored.received.fire({ type: 'ready', protocol: 1 });
    const gone = new FakeWebviewPanel('fastcgiPool.dashboard', 'FastCGI Pool Dashboard (old)', {}, {});
    await serializer.deserializeWebviewPanel(gone as unknown as vscode.WebviewPanel, { v: 1, sourceKey: 'file:///ws/old', windowMs: 60_000 });
    gone.received.fire({ type: 'ready', protocol: 1 });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(restored.posted).toEqual([{ type: 'snapshot', protocol: 1, source: { key: 'file:///ws/app', label: 'app' }, snapshot: servers.last.pool.current }]);
    expect(gone.posted).toEqual([{ type: 'snapshot', protocol: 1, source: { key: 'file:///ws/old', label: 'folder no longer open' }, snapshot: null }]);
    // "Show Dashboard" now brings the restored panel to the front instead of opening a second one.
    await (fake.commands.get('fastcgiPool.showDashboard') as () => Promise<void>)();
    expect(fake.webviewPanels).toEqual([]);
    expect(restored.revealed).toBe(1);
  });

  it('starts a pool from the command with a per-folder state dir in workspace storage, and deactivate waits for it to stop', async () => {
    activate(context as unknown as vscode.ExtensionContext);
    await (fake.commands.get('fastcgiPool.start') as () => Promise<void>)();
    const server = servers.last;
    expect(server.options.pool.stateDir).toBe(poolStateDir(storage, 'file:///ws/app'));
    expect(fake.contextKeys.get('fastcgiPool.running')).toBe(true);
    server.pool.current = snapshot([busyWorker('w1', 1)]);
    await deactivate();
    expect(server.stopped).toBe(true);
  });

  it("logs that settings changed for a running pool instead of restarting it behind the developer's back", async () => {
    activate(context as unknown as vscode.ExtensionContext);
    await (fake.commands.get('fastcgiPool.start') as () => Promise<void>)();
    fake.configurationEvents.fire({ affectsConfiguration: (section) => section === 'fastcgiPool' });
    expect((fake.channels[0] as FakeLogChannel).texts()).toContain('[app] settings changed; run "FastCGI: Restart Pool" to apply them');
    expect(servers.started.length).toBe(1);
  });

  it('disposes everything it created', () => {
    activate(context as unknown as vscode.ExtensionContext);
    for (const subscription of context.subscriptions) subscription.dispose();
    expect(fake.commands.size).toBe(0);
    expect(fake.treeViews[0]?.disposed).toBe(true);
    expect(fake.statusBarItems[0]?.disposed).toBe(true);
    expect(fake.collections[0]?.disposed).toBe(true);
    expect(fake.serializers.size).toBe(0);
  });

  it('closes the open dashboards when it is disposed', async () => {
    activate(context as unknown as vscode.ExtensionContext);
    await (fake.commands.get('fastcgiPool.showDashboard') as () => Promise<void>)();
    const panel = fake.webviewPanels[0]!;
    expect(panel.title).toBe('FastCGI Pool Dashboard (app)');
    for (const subscription of context.subscriptions) subscription.dispose();
    expect(panel.disposed).toBe(true);
  });
});

describe('stale workers of an earlier session', () => {
  it("are stopped at activation from every folder's registry", async () => {
    const storage = mkdtempSync(join(tmpdir(), 'fastcgi-pool-stale-'));
    // A "worker" in its own process group, as the pool starts them, left by an owner that has died.
    const orphan = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
    try {
      const pid = orphan.pid as number;
      const deadOwner = spawnSync('true').pid as number;
      const dir = poolStateDir(storage, 'file:///ws/app');
      mkdirSync(dir, { recursive: true });
      const startTime = readStat(pid)?.startTime ?? 0;
      writeFileSync(
        join(dir, `workers-${deadOwner}.json`),
        JSON.stringify({ ownerPid: deadOwner, ownerStartTime: null, workers: [{ pid, startTime, pgid: pid, socketPath: join(dir, 'gone.sock') }] }),
      );
      const exited = new Promise((resolve) => orphan.once('exit', (_code, signal) => resolve(signal)));
      const log = new MemoryLogger();
      expect(await sweepStaleWorkers(storage, log)).toBe(1);
      expect(await exited).toBe('SIGKILL');
      expect(log.lines).toEqual([`info stopped 1 php-cgi worker left behind by an earlier session (pids ${pid})`]);
      expect(await sweepStaleWorkers(storage, log)).toBe(0);
    } finally {
      orphan.kill('SIGKILL');
      rmSync(storage, { recursive: true, force: true });
    }
  });

  it('is a no-op where no pool ever ran', async () => {
    expect(await sweepStaleWorkers(join(tmpdir(), 'fastcgi-pool-never-created'), new MemoryLogger())).toBe(0);
  });
});
