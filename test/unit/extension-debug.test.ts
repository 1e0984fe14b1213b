import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('vscode', () => vi.importActual('../support/fakeVscode'));

import type * as vscode from 'vscode';
import { debugNextRequest, stopDebugging } from '../../src/extension/commands/debugCommands';
import type { CommandContext } from '../../src/extension/commands/context';
import { describePoolEvent } from '../../src/extension/log';
import { PhpDebugSessions } from '../../src/extension/phpDebug';
import { PoolManager } from '../../src/extension/poolManager';
import { readSettings, toServerOptions } from '../../src/extension/settings';
import { FindingLedger } from '../../src/extension/diagnostics/findingLedger';
import { StatusBarProjection } from '../../src/extension/statusBar';
import { tooltipMarkdown } from '../../src/extension/tree/tooltips';
import { present, WorkersTreeModel, type PoolSource, type WorkerNode } from '../../src/extension/tree/model';
import { fake, window as fakeWindow, type FakeLogChannel } from '../support/fakeVscode';
import { busyWorker, debuggerSnapshot, FakeServers, managerDeps, pausedWorker, snapshot, T0, worker, type FakePool } from './extension-fixtures';

// The editor's side of the step debugger: Debug Next Request (its glob, the
// offer to start PHP Debug's listener, the explanations when there is no
// Xdebug), Stop Debugging Requests, the paused worker in the tree and the
// status bar, the settings and the log lines.

const app = fake.folder('/ws/app', 0, 'app');
const key = app.uri.toString();

describe('Debug Next Request and Stop Debugging Requests', () => {
  let servers: FakeServers;
  let manager: PoolManager;
  let log: FakeLogChannel;
  const phpDebug = { listening: false };
  let ctx: CommandContext;
  let pool: FakePool;

  beforeEach(async () => {
    vi.useFakeTimers({ now: T0, toFake: ['Date'] });
    fake.reset();
    servers = new FakeServers();
    manager = new PoolManager(managerDeps(servers));
    await manager.syncFolders([app]);
    await manager.start(key);
    pool = servers.last.pool;
    log = fakeWindow.createOutputChannel('FastCGI Pool');
    phpDebug.listening = false;
    ctx = { manager, log: log as unknown as vscode.LogOutputChannel, phpDebug } as unknown as CommandContext;
  });

  afterEach(() => {
    manager.dispose();
    vi.useRealTimers();
  });

  it('arms the next request (an empty answer), and offers PHP Debug\'s "Listen for Xdebug" when no php session listens', async () => {
    fake.extensions.add('xdebug.php-debug');
    fake.inputBoxAnswers.push('');
    fake.messageChoices.push('Start Listening');
    await debugNextRequest(ctx);
    expect(pool.armed).toEqual(['']);
    expect(fake.statusBarMessages).toEqual(['$(debug-alt) The next request to app will be debugged']);
    await vi.waitFor(() => expect(fake.startedDebugging).toHaveLength(1));
    expect(fake.messages[0]).toMatchObject({
      kind: 'info',
      message: expect.stringMatching(/No PHP debug session is listening for Xdebug on port 9003/),
      items: ['Start Listening'],
    });
    expect(fake.startedDebugging[0]).toEqual({ folder: app, configuration: { type: 'php', request: 'launch', name: 'Listen for Xdebug', port: 9003 } });
  });

  it('takes a path glob, checks it as it is typed, and offers nothing when a php session already listens', async () => {
    phpDebug.listening = true;
    fake.extensions.add('xdebug.php-debug');
    fake.inputBoxAnswers.push('/api/**');
    await debugNextRequest(ctx);
    expect(pool.armed).toEqual(['/api/**']);
    expect(fake.statusBarMessages).toEqual(['$(debug-alt) The next request matching /api/** to app will be debugged']);
    const validate = fake.inputBoxes[0]?.validateInput as (value: string) => unknown;
    expect(validate('')).toBeNull();
    expect(validate('*.php')).toBeNull();
    expect(fake.messages).toEqual([]);
  });

  it('without PHP Debug installed, says what would listen and shows it in the marketplace', async () => {
    fake.inputBoxAnswers.push('');
    fake.messageChoices.push('Show PHP Debug');
    pool.current = snapshot([worker()], { debugger: debuggerSnapshot({ ide: '127.0.0.1:9000' }) });
    await debugNextRequest(ctx);
    await vi.waitFor(() => expect(fake.executed).toContainEqual({ command: 'workbench.extensions.search', args: ['xdebug.php-debug'] }));
    expect(fake.messages[0]?.message).toMatch(/Nothing in VS Code listens for Xdebug at 127\.0\.0\.1:9000\. Install PHP Debug \(xdebug\.php-debug\)/);
    expect(pool.armed).toEqual(['']);
  });

  it('a dismissed question arms nothing', async () => {
    fake.inputBoxAnswers.push(undefined);
    await debugNextRequest(ctx);
    expect(pool.armed).toEqual([]);
  });

  it('without Xdebug, says how to get it: php-xdebug or PECL, with the install command to copy', async () => {
    pool.current = snapshot([worker()], {
      debugger: debuggerSnapshot({
        status: 'unavailable',
        xdebug: 'missing',
        version: null,
        reason: "php-cgi has no Xdebug (Failed loading Zend extension 'xdebug')",
        relayPort: null,
      }),
    });
    fake.messageChoices.push('Copy Install Command');
    await debugNextRequest(ctx);
    expect(fake.messages[0]).toMatchObject({ kind: 'warning', items: ['Copy Install Command', 'Open Settings'] });
    expect(fake.messages[0]?.message).toMatch(/php-cgi has no Xdebug .*sudo apt-get install php-xdebug; elsewhere: pecl install xdebug/);
    expect(fake.clipboard).toMatch(/php-xdebug|pecl install xdebug/);
    expect(fake.inputBoxes).toEqual([]);
  });

  it('with Xdebug installed but not loaded, offers to load it: the folder\'s setting set to "on" and the pool restarted', async () => {
    pool.current = snapshot([worker()], {
      debugger: debuggerSnapshot({ status: 'unavailable', reason: 'Xdebug 3.2.0 is installed but php-cgi does not load it', relayPort: null }),
    });
    fake.messageChoices.push('Load Xdebug and Restart');
    await debugNextRequest(ctx);
    expect(fake.messages[0]?.message).toBe(
      'Xdebug 3.2.0 is installed but php-cgi does not load it. Set fastcgiPool.xdebug to "on" to load it for the workers of "app".',
    );
    expect(fake.settingUpdates).toEqual([{ section: 'fastcgiPool', key: 'xdebug', value: 'on', target: 3, scope: key }]);
    expect(servers.started).toHaveLength(2);
    expect(servers.last.stopped).toBe(false);
    expect(servers.started[0]?.stopped).toBe(true);
  });

  it('with the debugger off, says so and opens the setting', async () => {
    pool.current = snapshot([worker()], { debugger: debuggerSnapshot({ status: 'off', xdebug: null, version: null, relayPort: null }) });
    fake.messageChoices.push('Open Settings');
    await debugNextRequest(ctx);
    expect(fake.messages[0]?.message).toBe('Step debugging is off for "app" (fastcgiPool.xdebug is "off").');
    expect(fake.executed).toContainEqual({ command: 'workbench.action.openSettings', args: ['fastcgiPool.xdebug'] });
  });

  it("Stop Debugging Requests stops every running pool's sessions and says how many", async () => {
    pool.current = snapshot([pausedWorker('w2', 2)]);
    await stopDebugging(ctx);
    expect(pool.stops).toBe(1);
    expect(fake.statusBarMessages).toEqual(['$(debug-disconnect) 1 debug session ended; the requests run on']);
  });

  it('with the engine in its thread (each action answered by a message), arms and stops just the same, saying what the engine answered', async () => {
    pool.answersByMessage = true;
    phpDebug.listening = true;
    fake.inputBoxAnswers.push('  /api/**  ');
    await debugNextRequest(ctx);
    expect(pool.armed).toEqual(['  /api/**  ']);
    // The trimmed glob is the engine's answer: said only once it came.
    expect(fake.statusBarMessages).toEqual(['$(debug-alt) The next request matching /api/** to app will be debugged']);
    pool.current = snapshot([pausedWorker('w2', 2), pausedWorker('w3', 3)]);
    await stopDebugging(ctx);
    expect(pool.stops).toBe(1);
    expect(fake.statusBarMessages.at(-1)).toBe('$(debug-disconnect) 2 debug sessions ended; the requests run on; "Debug Next Request" disarmed');
  });
});

describe('PHP Debug sessions', () => {
  beforeEach(() => fake.reset());

  it('knows whether a php debug session runs, from the start and terminate events', () => {
    fake.activeDebugSession = { id: 'node1', type: 'node', name: 'Launch' };
    const sessions = new PhpDebugSessions();
    expect(sessions.listening).toBe(false);
    fake.debugStarts.fire({ id: 'p1', type: 'php', name: 'Listen for Xdebug' });
    expect(sessions.listening).toBe(true);
    fake.debugEnds.fire({ id: 'p1', type: 'php', name: 'Listen for Xdebug' });
    expect(sessions.listening).toBe(false);
    sessions.dispose();
    fake.activeDebugSession = { id: 'p2', type: 'php', name: 'Listen for Xdebug' };
    expect(new PhpDebugSessions().listening).toBe(true);
  });
});

describe('a paused worker in the tree, the status bar and the log', () => {
  beforeEach(() => fake.reset());

  const source = (snap = snapshot([pausedWorker('w2', 2), busyWorker('w3', 3), worker({ id: 'w1' })])): PoolSource => ({
    key,
    name: 'app',
    status: 'running',
    problem: null,
    portMoved: null,
    server: { port: 8080, url: 'http://127.0.0.1:8080/' },
    snapshot: () => snap,
  });

  it('has a Paused group; its row reads "paused at Controller.php:42", has a pause icon and opens that line', () => {
    const model = new WorkersTreeModel();
    model.sync([source()], () => '/app', T0);
    const groups = model
      .allNodes()
      .filter((n) => n.kind === 'group')
      .map((n) => present(n, T0).label);
    expect(groups).toEqual(['Busy', 'Paused', 'Idle', 'Error']);
    const row = model.byId(`worker:${key}#w2`) as WorkerNode;
    const p = present(row, T0);
    expect(p.description).toBe('paused at Controller.php:42 · GET /orders · 1 min 05 s');
    expect(p.icon).toEqual({ id: 'debug-pause', color: 'debugIcon.pauseForeground' });
    expect(p.contextValue).toBe('worker.paused.lease.debug');
    expect(p.open).toEqual({ path: '/app/src/Controller.php', line: 42 });
    expect(tooltipMarkdown(row, T0)).toMatch(/paused at a breakpoint in `\/app\/src\/Controller\.php` line 42.*\n- no timeout runs while the session lasts/);
    // A busy worker running under the debugger says so, and opens nothing.
    const running = { ...busyWorker('w4', 4), debug: { state: 'running' as const, file: '/app/index.php', line: null, since: T0, ide: 'connected' as const } };
    model.sync([source(snapshot([running]))], () => '/app', T0);
    const busy = present(model.byId(`worker:${key}#w4`) as WorkerNode, T0);
    expect(busy.description).toBe('debugging · GET /slow?ms=3000 · 2.3 s');
    expect(busy.open).toBeUndefined();
  });

  it('the status bar counts paused workers apart from busy ones and marks an armed "Debug Next Request"', async () => {
    const servers = new FakeServers();
    const manager = new PoolManager(managerDeps(servers));
    await manager.syncFolders([app]);
    await manager.start(key);
    servers.last.pool.current = snapshot([pausedWorker('w2', 2), busyWorker('w3', 3)], {
      debugger: debuggerSnapshot({ armed: { pattern: '/api/**', since: T0 } }),
    });
    const ledger = new FindingLedger(manager);
    const bar = new StatusBarProjection(manager, ledger);
    bar.update();
    expect(bar.item.text).toBe('FastCGI 1/4 busy · $(debug-pause) 1 paused · $(debug-alt) next · :8080');
    const tooltip = (bar.item.tooltip as { value: string }).value;
    expect(tooltip).toContain('$(debug-pause) worker w2 paused at Controller\\.php:42');
    expect(tooltip).toContain('the next request matching `/api/**` will be debugged');
    bar.dispose();
    ledger.dispose();
    manager.dispose();
  });

  it("logs a pause, an IDE that cannot be reached, and the debugger's start-up decision", () => {
    expect(
      describePoolEvent({
        type: 'worker-debug',
        workerId: 'w2',
        pid: 2,
        debug: { state: 'paused', file: '/app/C.php', line: 42, since: T0, ide: 'connected' },
      }),
    ).toEqual([{ level: 'info', text: 'worker w2 (pid 2) paused at /app/C.php:42; its timeouts wait', workerId: 'w2' }]);
    const unreachable = describePoolEvent({ type: 'debug-relay', event: { type: 'ide-unreachable', pid: 2, ide: '127.0.0.1:9003', error: 'ECONNREFUSED' } });
    expect(unreachable[0]).toMatchObject({
      level: 'warn',
      text: expect.stringMatching(/no debugger listens at 127\.0\.0\.1:9003 \(ECONNREFUSED\).*Listen for Xdebug/),
    });
    expect(describePoolEvent({ type: 'debugger-ready', debugger: debuggerSnapshot() })[0]?.text).toMatch(
      /^Xdebug 3\.2\.0: requests can be debugged through the pool's relay \(IDE at 127\.0\.0\.1:9003\)/,
    );
  });
});

describe('the settings', () => {
  const reader = (values: Record<string, unknown>) => ({ get: <T>(name: string) => values[name] as T | undefined });

  it('read fastcgiPool.xdebug and fastcgiPool.debugClient, with a problem line for bad values', () => {
    expect(readSettings(reader({})).settings).toMatchObject({ xdebug: 'auto', debugClient: '127.0.0.1:9003' });
    const good = readSettings(reader({ xdebug: 'on', debugClient: '[::1]:9000' }));
    expect(good).toMatchObject({ settings: { xdebug: 'on', debugClient: '[::1]:9000' }, problems: [] });
    const bad = readSettings(reader({ xdebug: 'yes', debugClient: 'localhost' }));
    expect(bad.settings).toMatchObject({ xdebug: 'auto', debugClient: '127.0.0.1:9003' });
    expect(bad.problems).toEqual([
      'fastcgiPool.xdebug must be "off", "auto" or "on"; using "auto"',
      expect.stringMatching(/^fastcgiPool\.debugClient: debug client "localhost" is not HOST:PORT/),
    ]);
    // Empty: the ini's xdebug.client_host/client_port decide (the engine's null).
    expect(toServerOptions(readSettings(reader({ debugClient: '' })).settings, '/ws/app', 8080, null).pool).toMatchObject({
      xdebug: 'auto',
      debugClient: null,
    });
  });
});
