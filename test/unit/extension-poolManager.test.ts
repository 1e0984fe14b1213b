import { createServer, type Server } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('vscode', () => vi.importActual('../support/fakeVscode'));

import { ConfigurationError } from '../../src/gateway/poolServer';
import { PoolManager, PoolStartError, UntrustedWorkspaceError, type PoolChange } from '../../src/extension/poolManager';
import { describeBusyPort } from '../../src/extension/busyPort';
import { isPortFree } from '../../src/extension/ports';
import { poolStateDir } from '../../src/extension/staleWorkers';
import { fake } from '../support/fakeVscode';
import { FakeServers, managerDeps, MemoryLogger } from './extension-fixtures';

describe('PoolManager', () => {
  let servers: FakeServers;
  let log: MemoryLogger;
  const app = fake.folder('/ws/app', 0, 'app');
  const api = fake.folder('/ws/api', 1, 'api');
  const key = app.uri.toString();

  beforeEach(() => {
    fake.reset();
    servers = new FakeServers();
    log = new MemoryLogger();
  });

  it('keeps one pool per workspace folder, keyed by the folder URI', async () => {
    const manager = new PoolManager(managerDeps(servers, { log }));
    await manager.syncFolders([api, app]);
    expect(manager.pools.map((pool) => `${pool.name} ${pool.status}`)).toEqual(['app stopped', 'api stopped']);
    await manager.start(key);
    await manager.start(api.uri.toString());
    expect(servers.started.map((server) => server.options.documentRoot)).toEqual(['/ws/app', '/ws/api']);
    expect(manager.get(key)?.status).toBe('running');
  });

  it("starts with the folder's settings, its state dir, and forwards engine events", async () => {
    const changes: string[] = [];
    const settings: Record<string, unknown> = { port: 9000, maxWorkers: 2, leakPolicy: 'keep', documentRoot: 'public' };
    const manager = new PoolManager(
      managerDeps(servers, { log, stateDirFor: (folder) => poolStateDir('/storage', folder.uri.toString()) }, () => ({
        get: <T>(k: string) => settings[k] as T,
      })),
    );
    // The pool object is live: record its status when the change fires.
    manager.onDidChange((c) => changes.push(c.kind === 'lifecycle' ? `lifecycle ${c.pool.status}` : c.kind));
    await manager.syncFolders([app]);
    await manager.start(key);
    const options = servers.last.options;
    expect(options.documentRoot).toBe('/ws/app/public');
    expect(options.gateway.port).toBe(9000);
    expect(options.pool).toMatchObject({ maxWorkers: 2, leakPolicy: 'keep', stateDir: poolStateDir('/storage', key) });
    expect(poolStateDir('/storage', key)).toMatch(/^\/storage\/pools\/[0-9a-f]{16}$/);
    servers.last.emit({ type: 'worker-ready', workerId: 'w1', pid: 42 });
    expect(changes).toEqual(['folders', 'lifecycle starting', 'lifecycle running', 'pool-event']);
    expect(log.lines.some((line) => line.startsWith('info [app] listening on http://127.0.0.1:9000/'))).toBe(true);
  });

  it('moves to the next free port when the configured one is busy, and says so', async () => {
    const probed: number[] = [];
    const manager = new PoolManager(
      managerDeps(servers, {
        log,
        isPortFree: async (_host, port) => {
          probed.push(port);
          return port !== 8080;
        },
      }),
    );
    servers.busyPorts.add(8081); // taken between probe and listen
    await manager.syncFolders([app]);
    await manager.start(key);
    expect(probed).toEqual([8080, 8081, 8082]);
    expect(servers.last.port).toBe(8082);
    expect(manager.get(key)?.portMoved).toEqual({ from: 8080, to: 8082, heldBy: 'port 8080 on 127.0.0.1 is in use' });
    expect(log.lines).toContain('warn [app] port 8080 on 127.0.0.1 is in use; serving on 8082 instead');
  });

  it('says who holds the configured port before moving on: a process, another folder’s pool, one of our stale workers (which it can stop)', async () => {
    const stale = { pid: 4321, startTime: 99, pgid: 4321, socketPath: '/tmp/x.sock' };
    const stopped: number[] = [];
    let holder: Parameters<typeof describeBusyPort>[2] = { kind: 'process', pid: 4242, command: 'python3 -m http.server 8080' };
    const busy = new Set([8080]);
    const manager = new PoolManager(
      managerDeps(servers, {
        log,
        isPortFree: async (_host, port) => !busy.has(port),
        explainBusyPort: () => holder,
        stopStaleWorker: async (worker) => {
          stopped.push(worker.pid);
          busy.delete(8080);
          return true;
        },
      }),
    );
    await manager.syncFolders([app, api]);
    await manager.start(key);
    expect(manager.get(key)?.portMoved).toEqual({ from: 8080, to: 8081, heldBy: 'port 8080 on 127.0.0.1 is in use by pid 4242 (python3 -m http.server 8080)' });
    expect(log.lines).toContain('warn [app] port 8080 on 127.0.0.1 is in use by pid 4242 (python3 -m http.server 8080); serving on 8081 instead');
    expect(await manager.reclaimPort(key)).toBe(false); // not ours to stop
    // The second folder wants 8081 too: this window's own pool holds it.
    busy.add(8081);
    await manager.start(api.uri.toString());
    expect(manager.get(api.uri.toString())?.portMoved?.heldBy).toBe('port 8080 on 127.0.0.1 is in use by pid 4242 (python3 -m http.server 8080)');
    await manager.stopAll();
    busy.delete(8081);
    servers.started.length = 0;
    // A stale worker of ours: named as such, and stopping it gives the pool its port back.
    holder = { kind: 'stale-worker', pid: 4321, command: 'php-cgi', worker: stale };
    await manager.start(key);
    expect(manager.get(key)?.portMoved).toMatchObject({ from: 8080, to: 8081, staleWorker: stale });
    expect(manager.get(key)?.portMoved?.heldBy).toBe(
      'port 8080 on 127.0.0.1 is held by one of our own stale workers (pid 4321, php-cgi), left behind by an earlier session',
    );
    expect(await manager.reclaimPort(key)).toBe(true);
    expect(stopped).toEqual([4321]);
    expect(servers.last.port).toBe(8080);
    expect(manager.get(key)?.portMoved).toBeNull();
    expect(describeBusyPort(8080, '127.0.0.1', { kind: 'own-pool', folder: 'api' })).toBe('port 8080 on 127.0.0.1 is used by this window\'s pool of "api"');
  });

  it('names this window’s other pool when two folders want the same port', async () => {
    const manager = new PoolManager(
      managerDeps(servers, { log, isPortFree: async (_host, port) => !servers.started.some((s) => s.port === port && !s.stopped) }),
    );
    await manager.syncFolders([app, api]);
    await manager.start(key);
    await manager.start(api.uri.toString());
    expect(manager.get(api.uri.toString())?.portMoved?.heldBy).toBe('port 8080 on 127.0.0.1 is used by this window\'s pool of "app"');
  });

  it('gives up after port+20 with a message that names the setting', async () => {
    const manager = new PoolManager(managerDeps(servers, { log, isPortFree: async () => false }));
    await manager.syncFolders([app]);
    const failure = manager.start(key);
    await expect(failure).rejects.toBeInstanceOf(PoolStartError);
    await expect(failure).rejects.toMatchObject({
      setting: 'fastcgiPool.port',
      message: expect.stringMatching(/ports 8080–8100 on 127\.0\.0\.1 are all in use.*fastcgiPool\.port/),
    });
    expect(manager.get(key)?.status).toBe('failed');
    expect(servers.attempts).toEqual([]);
  });

  it('turns engine errors into messages about our settings', async () => {
    const manager = new PoolManager(managerDeps(servers, { log }));
    await manager.syncFolders([app]);
    servers.failWith = new ConfigurationError('php-cgi not found: "php-cgi". Install it …', 'phpCgi');
    await expect(manager.start(key)).rejects.toMatchObject({ setting: 'fastcgiPool.phpCgiPath' });
    expect(manager.get(key)?.problem).toMatch(/php-cgi not found/);
    servers.failWith = new ConfigurationError('document root not found: /ws/app/public', 'documentRoot');
    await expect(manager.start(key)).rejects.toMatchObject({ setting: 'fastcgiPool.documentRoot' });
  });

  it('refuses to start in an untrusted workspace', async () => {
    const manager = new PoolManager(managerDeps(servers, { log, isTrusted: () => false }));
    await manager.syncFolders([app]);
    await expect(manager.start(key)).rejects.toBeInstanceOf(UntrustedWorkspaceError);
    expect(servers.attempts).toEqual([]);
  });

  it('serialises start and stop, and stopAll waits for every server to stop', async () => {
    const manager = new PoolManager(managerDeps(servers, { log }));
    await manager.syncFolders([app, api]);
    const started = Promise.all([manager.start(key), manager.start(api.uri.toString())]);
    const stopped = manager.stopAll();
    await started;
    await stopped;
    expect(servers.started.every((server) => server.stopped)).toBe(true);
    expect(manager.pools.map((pool) => pool.status)).toEqual(['stopped', 'stopped']);
  });

  it('drops events of a stopped server and stops the pool of a removed folder', async () => {
    const changes: PoolChange[] = [];
    const manager = new PoolManager(managerDeps(servers, { log }));
    await manager.syncFolders([app, api]);
    await manager.start(api.uri.toString());
    const server = servers.last;
    await manager.syncFolders([app]);
    expect(server.stopped).toBe(true);
    expect(manager.pools.map((pool) => pool.name)).toEqual(['app']);
    manager.onDidChange((change) => changes.push(change));
    server.emit({ type: 'worker-ready', workerId: 'w9', pid: 9 });
    expect(changes).toEqual([]);
  });

  it('drops late events of a start that failed, and of a run that ended, but not of the run that serves', async () => {
    const changes: string[] = [];
    const manager = new PoolManager(managerDeps(servers, { log }));
    await manager.syncFolders([app]);
    servers.busyPorts.add(8080); // free when probed, taken when listening: the next port serves
    await manager.start(key);
    const [failed, serving] = servers.attempts;
    manager.onDidChange((change) => changes.push(change.kind === 'pool-event' ? `${change.kind} ${change.event.type}` : change.kind));
    failed?.onPoolEvent?.({ type: 'worker-ready', workerId: 'w1', pid: 1 });
    serving?.onPoolEvent?.({ type: 'worker-ready', workerId: 'w1', pid: 2 });
    expect(changes).toEqual(['pool-event worker-ready']);
    await manager.stop(key);
    changes.length = 0;
    serving?.onPoolEvent?.({
      type: 'worker-exited',
      workerId: 'w1',
      pid: 2,
      exit: { code: 0, signal: null },
      reason: 'pool-stopping',
      uptimeMs: 1,
      accesses: 0,
    });
    expect(changes).toEqual([]);
  });

  it('shows a pool whose engine died on its own as failed, with why, and starts it again on request', async () => {
    const changes: string[] = [];
    const manager = new PoolManager(managerDeps(servers, { log }));
    manager.onDidChange((c) => changes.push(c.kind === 'lifecycle' ? `lifecycle ${c.pool.status}` : c.kind));
    await manager.syncFolders([app]);
    await manager.start(key);
    const crashed = servers.last;
    const pool = manager.get(key)!;
    const failed = new Promise<void>((resolve) => manager.onDidChange((c) => c.kind === 'lifecycle' && c.pool.status === 'failed' && resolve()));
    crashed.fail('the engine thread crashed: uncaught Error: boom; killed 2 workers it left running (pids 11, 12)');
    await failed;
    expect(pool.problem).toBe('the engine thread crashed: uncaught Error: boom; killed 2 workers it left running (pids 11, 12)');
    expect(pool.snapshot()).toBeNull();
    expect(changes).toEqual(['folders', 'lifecycle starting', 'lifecycle running', 'lifecycle failed']);
    expect(log.lines).toContain('error [app] the engine thread crashed: uncaught Error: boom; killed 2 workers it left running (pids 11, 12)');
    expect(crashed.stopped).toBe(false);
    await manager.start(key);
    expect(pool.status).toBe('running');
    expect(pool.problem).toBeNull();
    // A late word from the dead run changes nothing.
    crashed.fail('late');
    await manager.stop(key);
    expect(pool.status).toBe('stopped');
    expect(log.lines.filter((line) => line.includes('late'))).toEqual([]);
  });

  it('restarts with fresh settings', async () => {
    const settings: Record<string, unknown> = { port: 8080 };
    const manager = new PoolManager(managerDeps(servers, { log }, () => ({ get: <T>(k: string) => settings[k] as T })));
    await manager.syncFolders([app]);
    await manager.start(key);
    settings.port = 8090;
    await manager.restart(key);
    expect(servers.started.map((server) => `${server.port} ${server.stopped}`)).toEqual(['8080 true', '8090 false']);
  });
});

describe('isPortFree', () => {
  let server: Server | null = null;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = null;
  });

  it('says false for a port in use and true once it is released', async () => {
    server = createServer();
    const port = await new Promise<number>((resolve) => server?.listen(0, '127.0.0.1', () => resolve((server?.address() as { port: number }).port)));
    expect(await isPortFree('127.0.0.1', port)).toBe(false);
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    server = null;
    expect(await isPortFree('127.0.0.1', port)).toBe(true);
  });
});
