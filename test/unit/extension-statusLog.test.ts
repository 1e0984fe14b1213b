import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('vscode', () => vi.importActual('../support/fakeVscode'));

import type * as vscode from 'vscode';
import { FindingLedger } from '../../src/extension/diagnostics/findingLedger';
import { describeGatewayEvent, describePoolEvent, LogProjection, WorkerLogStore } from '../../src/extension/log';
import { PoolManager } from '../../src/extension/poolManager';
import { StatusBarProjection } from '../../src/extension/statusBar';
import { fake, window as fakeWindow, type MarkdownString, type ThemeColor } from '../support/fakeVscode';
import { busyWorker, FakeServers, finding, leaseStack, managerDeps, snapshot, T0, worker } from './extension-fixtures';

describe('status bar', () => {
  let servers: FakeServers;
  let manager: PoolManager;
  let ledger: FindingLedger;
  let status: StatusBarProjection;
  const app = fake.folder('/ws/app', 0, 'app');
  const api = fake.folder('/ws/api', 1, 'api');

  beforeEach(async () => {
    vi.useFakeTimers({ now: T0 });
    fake.reset();
    servers = new FakeServers();
    manager = new PoolManager(managerDeps(servers, { isPortFree: async (_host, port) => port !== 8080 }));
    await manager.syncFolders([app]);
    ledger = new FindingLedger(manager);
    status = new StatusBarProjection(manager, ledger);
  });

  afterEach(() => {
    status.dispose();
    ledger.dispose();
    vi.useRealTimers();
  });

  const item = () => fake.statusBarItems[0]!;

  it('says "FastCGI stopped" and focuses the Workers view on click', () => {
    expect(item().text).toBe('FastCGI stopped');
    expect(item().shown).toBe(true);
    expect(item().command).toEqual({ command: 'fastcgiPool.workers.focus', title: 'Show FastCGI Workers' });
  });

  it('shows busy/max and the port, and says in its tooltip that a busy port moved the pool', async () => {
    await manager.start(app.uri.toString());
    servers.last.emit(
      { type: 'lease-acquired', lease: busyWorker('w2', 2).lease!, waitedMs: 0 },
      snapshot([busyWorker('w1', 1), busyWorker('w2', 2), worker({ id: 'w3' })]),
    );
    await vi.advanceTimersByTimeAsync(300);
    expect(item().text).toBe('FastCGI 2/4 busy · :8081');
    expect((item().tooltip as MarkdownString).value).toContain('(moved to 8081: port 8080 on 127\\.0\\.0\\.1 is in use)');
    expect(item().backgroundColor).toBeUndefined();
  });

  it('opens the running app on click (the only pool’s, or a pick among several), and the Workers view once none runs', async () => {
    await manager.start(app.uri.toString());
    await vi.advanceTimersByTimeAsync(300);
    expect(item().command).toEqual({ command: 'fastcgiPool.openInBrowser', title: 'Open in Browser', arguments: [{ folderKey: app.uri.toString() }] });
    expect((item().tooltip as MarkdownString).value).toContain('Click to open the app in the browser.');
    await manager.syncFolders([app, api]);
    await manager.start(api.uri.toString());
    await vi.advanceTimersByTimeAsync(300);
    expect(item().command).toEqual({ command: 'fastcgiPool.openInBrowser', title: 'Open in Browser', arguments: [] });
    await manager.stopAll();
    await vi.advanceTimersByTimeAsync(300);
    expect(item().command).toEqual({ command: 'fastcgiPool.workers.focus', title: 'Show FastCGI Workers' });
  });

  it('turns warning-coloured while findings are listed', async () => {
    await manager.start(app.uri.toString());
    servers.last.emit({ type: 'finding', finding: finding() });
    await vi.advanceTimersByTimeAsync(300);
    expect((item().backgroundColor as ThemeColor).id).toBe('statusBarItem.warningBackground');
    await manager.stop(app.uri.toString());
    await vi.advanceTimersByTimeAsync(300);
    expect(item().text).toBe('FastCGI stopped');
    expect(item().backgroundColor).toBeUndefined();
  });

  it('says apart how many workers finish the scripts of clients that left', async () => {
    await manager.start(app.uri.toString());
    const abandoned = { lease: busyWorker('w2', 2).lease!, abandonedAt: T0 - 500 };
    servers.last.pool.current = snapshot([busyWorker('w1', 1), worker({ id: 'w2', pid: 2, state: 'finishing', abandoned })]);
    status.update();
    expect(item().text).toBe('FastCGI 1/4 busy, 1 finishing · :8081');
    expect((item().tooltip as MarkdownString).value).toContain('1/4 busy, 1 finishing, 0 idle');
  });

  it('sums running pools of a multi-root workspace', async () => {
    await manager.syncFolders([app, api]);
    await manager.start(app.uri.toString());
    await manager.start(api.uri.toString());
    servers.started[0]!.pool.current = snapshot([busyWorker('w1', 1)]);
    status.update();
    expect(item().text).toBe('FastCGI 1/8 busy · :8081 :8081');
  });
});

describe('log', () => {
  it('writes pool events at fitting levels', () => {
    expect(
      describePoolEvent({
        type: 'worker-exited',
        workerId: 'w2',
        pid: 1234,
        exit: { code: null, signal: 'SIGKILL' },
        reason: 'crashed',
        uptimeMs: 62_000,
        accesses: 3,
      }),
    ).toEqual([{ level: 'warn', text: 'worker w2 (pid 1234) was killed by SIGKILL after 3 requests, up 1 min 02 s (crashed)', workerId: 'w2' }]);
    expect(describePoolEvent({ type: 'lease-acquired', lease: busyWorker('w2', 1).lease!, waitedMs: 3 })[0]).toMatchObject({
      level: 'trace',
      text: 'lease L7 → w2: GET /slow?ms=3000 (waited 3 ms)',
    });
    expect(describePoolEvent({ type: 'finding', finding: finding() })[0]).toMatchObject({
      level: 'error',
      text: expect.stringMatching(/^finding F1: defunct-busy: worker w2/),
    });
    expect(describePoolEvent({ type: 'stale-workers-cleaned', killed: [11, 12], reusedPids: [], stateDir: '/s' })[0]).toMatchObject({
      level: 'info',
      text: 'stopped 2 workers left behind by an earlier session (pids 11, 12)',
    });
    // A finding that carries a stack: the wait reason and the frames follow, one a line, as the CLI prints them.
    const stacked = describePoolEvent({
      type: 'finding',
      finding: finding({ kind: 'busy-timeout', exit: null, stack: leaseStack().stack!, stackAgeMs: 0, wait: leaseStack().wait! }),
    })[0]!;
    expect(stacked.level).toBe('warn');
    expect(stacked.text.split('\n').slice(1)).toEqual([
      '  wait: sleeping in nanosleep() for 2.0 s; 3 ms CPU',
      '  [0x00007f0000001000] usleep() <internal>',
      '  [0x00007f0000001000] Repo->query() /app/src/Repo.php:6',
      '  [0x00007f0000001000] controller() /app/index.php:18',
      '  [0x00007f0000001000] {main}() /app/index.php:21',
    ]);
    const reason = "live PHP stacks are off: the canary's stack read back wrong (frame 1: expected x, read y)";
    expect(describePoolEvent({ type: 'stacks-status', status: { state: 'off', reason } })).toEqual([{ level: 'warn', text: reason, workerId: null }]);
    expect(describePoolEvent({ type: 'stacks-status', status: { state: 'on', reason: null } })[0]).toMatchObject({ level: 'info' });
    expect(describePoolEvent({ type: 'worker-stderr', workerId: 'w1', pid: 1, text: 'a\n\nb\n' }).map((l) => l.text)).toEqual(['[w1] a', '[w1] b']);
  });

  it('writes one line per request and PHP stderr as warnings', () => {
    expect(describeGatewayEvent({ type: 'request', method: 'GET', uri: '/x', status: 502, durationMs: 12, workerId: 'w1', leaseId: 'L1', bytes: 0 })).toEqual([
      { level: 'warn', text: 'GET /x 502 12 ms w1', workerId: 'w1' },
    ]);
    expect(
      describeGatewayEvent({
        type: 'php-stderr',
        method: 'GET',
        workerId: 'w1',
        leaseId: 'L1',
        scriptFilename: '/a.php',
        uri: '/warn',
        text: 'PHP Warning:  x\n',
      }),
    ).toEqual([{ level: 'warn', text: '[w1 /warn] PHP Warning:  x', workerId: 'w1' }]);
    // Past the engine thread's per-update budget, requests arrive counted, not one by one.
    expect(
      describeGatewayEvent({ type: 'requests-summarized', requests: 9_450, byStatus: { '200': 9_400, '404': 50 }, leaseEvents: 37_800, spanMs: 196 }),
    ).toEqual([{ level: 'info', text: '… and 9450 more requests in 196 ms (9400× 200, 50× 404), not logged one by one', workerId: null }]);
  });

  it('feeds the channel with the folder as prefix and each worker its own log document', async () => {
    vi.useFakeTimers({ now: T0 });
    fake.reset();
    const servers = new FakeServers();
    const manager = new PoolManager(managerDeps(servers));
    const app = fake.folder('/ws/app', 0, 'app');
    await manager.syncFolders([app]);
    const channel = fakeWindow.createOutputChannel('FastCGI Pool');
    const store = new WorkerLogStore();
    const projection = new LogProjection(manager, channel as unknown as vscode.LogOutputChannel, store);
    const changed: string[] = [];
    store.onDidChange((uri) => changed.push(uri.toString()));
    await manager.start(app.uri.toString());
    servers.last.emit({ type: 'worker-ready', workerId: 'w1', pid: 4242 });
    servers.last.options.onGatewayEvent?.({ type: 'request', method: 'GET', uri: '/', status: 200, durationMs: 3, workerId: 'w1', leaseId: 'L1', bytes: 10 });
    expect(channel.texts()).toEqual(['[app] worker w1 ready (pid 4242)', '[app] GET / 200 3 ms w1']);
    const uri = store.uriFor(app.uri.toString(), 'app', 'w1');
    expect(uri.path).toBe('/app/w1.log');
    expect(store.provideTextDocumentContent(uri)).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} \[info\] worker w1 ready \(pid 4242\)\n\d\d:\d\d:\d\d\.\d{3} \[info\] GET \/ 200 3 ms w1\n$/,
    );
    await vi.advanceTimersByTimeAsync(300);
    expect(changed).toEqual([uri.toString()]);
    await manager.restart(app.uri.toString());
    expect(store.provideTextDocumentContent(uri)).toBe('No log lines for worker w1 (yet).\n');
    projection.dispose();
    store.dispose();
    vi.useRealTimers();
  });
});
