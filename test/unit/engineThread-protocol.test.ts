import { describe, expect, it } from 'vitest';
import {
  checkEngineActionArgs,
  checkEngineActionResult,
  isEngineActionName,
  MAX_CHANGED_FILES_PER_CALL,
  runEngineAction,
} from '../../src/engineThread/actions';
import {
  ENGINE_PROTOCOL_VERSION,
  isGatewayEvent,
  parseEngineMessage,
  parseMainMessage,
  toWireError,
  type EngineEvent,
  type EngineStartOptions,
} from '../../src/engineThread/protocol';
import { HistoryEncoder } from '../../src/engineThread/historyCodec';
import { fromWireError } from '../../src/engineThread/threadedServer';
import { GatewayListenError } from '../../src/gateway/gateway';
import { ConfigurationError, type PoolServer } from '../../src/gateway/poolServer';
import { PoolUnavailableError } from '../../src/pool/errors';
import { OptionError } from '../../src/shared/options';
import { debuggerSnapshot, leaseStack, snapshot } from './extension-fixtures';

const startOptions: EngineStartOptions = {
  documentRoot: '/srv/app',
  pool: { minWorkers: 1, maxWorkers: 4, env: { PATH: '/usr/bin' } },
  gateway: { host: '127.0.0.1', port: 0 },
  poolEvents: 'all',
  gatewayEvents: true,
  updateIntervalMs: 200,
  perRequestEventsPerUpdate: 250,
};

/** The refusal's reason, or a failure of the test when the message was accepted. */
function refusal(result: { ok: true } | { ok: false; error: string }): string {
  if (result.ok) throw new Error('accepted a message that should have been refused');
  return result.error;
}

describe('engine channel: main → engine messages', () => {
  it('accepts a start, a call and a stop as they are built', () => {
    const start = { type: 'start', protocol: ENGINE_PROTOCOL_VERSION, options: startOptions };
    expect(parseMainMessage(start)).toEqual({ ok: true, value: start });
    expect(parseMainMessage({ type: 'call', id: 3, action: 'recycleWorker', args: ['w2', 'kill'] })).toEqual({
      ok: true,
      value: { type: 'call', id: 3, action: 'recycleWorker', args: ['w2', 'kill'] },
    });
    expect(parseMainMessage({ type: 'stop', drainMs: 1_000 })).toEqual({ ok: true, value: { type: 'stop', drainMs: 1_000 } });
  });

  it('refuses anything else, saying why', () => {
    expect(refusal(parseMainMessage(null))).toBe('not an object');
    expect(refusal(parseMainMessage({ type: 'launch' }))).toBe('unknown message type "launch"');
    expect(refusal(parseMainMessage({ type: 'start', protocol: 0, options: startOptions }))).toMatch(
      new RegExp(`protocol 0 is not ${ENGINE_PROTOCOL_VERSION} \\(a stale engine bundle\\?\\)`),
    );
    expect(refusal(parseMainMessage({ type: 'start', protocol: ENGINE_PROTOCOL_VERSION, options: startOptions, extra: 1 }))).toBe('start: unexpected "extra"');
    expect(refusal(parseMainMessage({ type: 'start', protocol: ENGINE_PROTOCOL_VERSION, options: { ...startOptions, documentRoot: '' } }))).toBe(
      'start: documentRoot must be a non-empty string',
    );
    expect(refusal(parseMainMessage({ type: 'start', protocol: ENGINE_PROTOCOL_VERSION, options: { ...startOptions, poolEvents: 'some' } }))).toMatch(
      /poolEvents must be one of none, lifecycle, all/,
    );
    expect(
      refusal(parseMainMessage({ type: 'start', protocol: ENGINE_PROTOCOL_VERSION, options: { ...startOptions, pool: { workerProcessObserver: {} } } })),
    ).toMatch(/the thread's own/);
    expect(refusal(parseMainMessage({ type: 'start', protocol: ENGINE_PROTOCOL_VERSION, options: { ...startOptions, updateIntervalMs: -1 } }))).toMatch(
      /updateIntervalMs/,
    );
    expect(refusal(parseMainMessage({ type: 'call', id: -1, action: 'recycleWorker', args: [] }))).toBe('call: id must be a non-negative integer');
    expect(refusal(parseMainMessage({ type: 'call', id: 1, action: 'toString', args: [] }))).toBe('call: unknown action "toString"');
    expect(refusal(parseMainMessage({ type: 'call', id: 1, action: 'releaseLease', args: 'L1' }))).toBe('call: args must be an array');
    expect(refusal(parseMainMessage({ type: 'stop', drainMs: 1.5 }))).toMatch(/drainMs must be a non-negative integer/);
    expect(refusal(parseMainMessage({ type: 'stop' }))).toBe('stop: missing "drainMs"');
  });
});

describe('engine channel: engine → main messages', () => {
  const wire = { name: 'GatewayListenError', message: 'port 8080 is in use', option: 'port', code: 'EADDRINUSE' };

  it('accepts each message type with the fields the main thread acts on', () => {
    const snap = { ...snapshot(), history: new HistoryEncoder().encode([]) };
    expect(parseEngineMessage({ type: 'started', url: 'http://127.0.0.1:8080/', port: 8080, snapshot: snap, liveReload: true }).ok).toBe(true);
    // A snapshot with its history as objects is not what the thread sends.
    expect(parseEngineMessage({ type: 'started', url: 'http://127.0.0.1:8080/', port: 8080, snapshot: snapshot(), liveReload: false }).ok).toBe(false);
    // Whether live reload runs decides whether the main thread reports changed files: it must be said.
    expect(parseEngineMessage({ type: 'started', url: 'http://127.0.0.1:8080/', port: 8080, snapshot: snap }).ok).toBe(false);
    expect(parseEngineMessage({ type: 'start-failed', error: wire }).ok).toBe(true);
    const update = {
      type: 'update',
      snapshot: null,
      events: [
        { type: 'worker-ready', workerId: 'w1', pid: 12 },
        { type: 'request', method: 'GET', uri: '/', status: 200 },
      ],
    };
    expect(parseEngineMessage(update)).toEqual({ ok: true, value: update });
    // The busy workers' stack reads, when they changed (an empty list: no lease is read any more).
    const withStacks = { type: 'update', snapshot: null, events: [], stacks: [leaseStack()] };
    expect(parseEngineMessage(withStacks)).toEqual({ ok: true, value: withStacks });
    expect(parseEngineMessage({ ...withStacks, stacks: [] }).ok).toBe(true);
    expect(parseEngineMessage({ type: 'reply', id: 4, ok: true, result: false }).ok).toBe(true);
    expect(parseEngineMessage({ type: 'reply', id: 4, ok: false, error: wire }).ok).toBe(true);
    expect(
      parseEngineMessage({ type: 'worker-process', change: 'spawned', worker: { pid: 12, pgid: 12, startTime: 345, socketPath: '/tmp/x/w1.sock' } }).ok,
    ).toBe(true);
    expect(parseEngineMessage({ type: 'worker-process', change: 'reaped', pid: 12 }).ok).toBe(true);
    expect(parseEngineMessage({ type: 'fatal', reason: 'uncaught Error: x' }).ok).toBe(true);
    expect(parseEngineMessage({ type: 'stopped', error: null }).ok).toBe(true);
  });

  it('refuses what the main thread could misread: pids it would kill, unknown events, errors it would rebuild', () => {
    expect(refusal(parseEngineMessage({ type: 'worker-process', change: 'spawned', worker: { pid: -1, pgid: 1, startTime: 1, socketPath: '' } }))).toMatch(
      /^worker-process:/,
    );
    expect(refusal(parseEngineMessage({ type: 'worker-process', change: 'spawned', worker: { pid: 0, pgid: 0, startTime: null, socketPath: '' } }))).toMatch(
      /^worker-process:/,
    );
    expect(refusal(parseEngineMessage({ type: 'worker-process', change: 'reaped', pid: '12' }))).toMatch(/^worker-process:/);
    expect(refusal(parseEngineMessage({ type: 'update', snapshot: null, events: [{ type: 'worker-teleported' }] }))).toBe(
      'update: an event of an unknown type',
    );
    expect(refusal(parseEngineMessage({ type: 'update', snapshot: { version: 'x' }, events: [] }))).toMatch(/snapshot must be a pool snapshot/);
    expect(refusal(parseEngineMessage({ type: 'update', snapshot: null, events: [], stacks: [{ ...leaseStack(), workerId: 7 }] }))).toBe(
      'update: stacks must be a list of stack reads',
    );
    expect(refusal(parseEngineMessage({ type: 'update', snapshot: null, events: [], stacks: leaseStack() }))).toBe(
      'update: stacks must be a list of stack reads',
    );
    expect(refusal(parseEngineMessage({ type: 'start-failed', error: { ...wire, option: 'notAnOption' } }))).toMatch(/not a wire error/);
    expect(refusal(parseEngineMessage({ type: 'reply', id: 1, ok: false }))).toMatch(/^reply:/);
    expect(
      refusal(parseEngineMessage({ type: 'started', url: 'x', port: 70_000, snapshot: { ...snapshot(), history: new HistoryEncoder().encode([]) } })),
    ).toMatch(/^started:/);
  });

  it('routes each event to the pool or the gateway listener by its type alone', () => {
    expect(isGatewayEvent({ type: 'request', method: 'GET', uri: '/', status: 200, durationMs: 1, workerId: null, leaseId: null, bytes: 0 })).toBe(true);
    expect(isGatewayEvent({ type: 'php-stderr', workerId: 'w1', leaseId: 'L1', scriptFilename: '/a.php', method: 'GET', uri: '/', text: 'x' })).toBe(true);
    expect(isGatewayEvent({ type: 'worker-starting', workerId: 'w1' })).toBe(false);
  });

  it("passes every event main's features send: the debugger's, the stacks' status, live reload's", () => {
    const events = [
      { type: 'stacks-status', status: { state: 'on', reason: null } },
      { type: 'worker-debug', workerId: 'w1', pid: 12, debug: { state: 'paused', file: '/app/a.php', line: 3, since: 1, ide: 'connected' } },
      { type: 'debugger-ready', debugger: debuggerSnapshot() },
      { type: 'debug-armed', armed: { pattern: '/api/**', since: 1 } },
      { type: 'debug-relay', event: { type: 'ide-silent', pid: 12, silentMs: 5_000 } },
      { type: 'live-reload', action: 'css', files: ['a.css'], clients: 1 },
      { type: 'live-reload-blocked', path: '/csp.php', directive: 'script-src', policy: "script-src 'none'" },
    ];
    expect(parseEngineMessage({ type: 'update', snapshot: null, events }).ok).toBe(true);
    expect(events.map((event) => isGatewayEvent(event as EngineEvent))).toEqual([false, false, false, false, false, true, true]);
  });
});

describe('engine channel: errors across it', () => {
  it('keeps what the extension acts on: a busy port stays a GatewayListenError with its code, a setting at fault its option', () => {
    const busy = fromWireError(toWireError(new GatewayListenError('port 8080 on 127.0.0.1 is already in use', 'EADDRINUSE')));
    expect(busy).toBeInstanceOf(GatewayListenError);
    expect((busy as GatewayListenError).code).toBe('EADDRINUSE');
    expect((busy as GatewayListenError).option).toBe('port');
    const config = fromWireError(toWireError(new ConfigurationError('document root not found: /nope', 'documentRoot')));
    expect(config).toBeInstanceOf(ConfigurationError);
    expect(config).toMatchObject({ name: 'ConfigurationError', message: 'document root not found: /nope', option: 'documentRoot' });
    expect(fromWireError(toWireError(new PoolUnavailableError('php-cgi exited at once', 'phpCgi')))).toBeInstanceOf(PoolUnavailableError);
    const other = fromWireError(toWireError(new RangeError('odd')));
    expect(other).not.toBeInstanceOf(OptionError);
    expect(other).toMatchObject({ name: 'RangeError', message: 'odd' });
    expect(toWireError('a string')).toEqual({ name: 'Error', message: 'a string', option: null, code: null });
  });
});

describe('engine actions table', () => {
  it("checks each action's arguments by its specs before anything runs", () => {
    expect(checkEngineActionArgs('recycleWorker', ['w2', 'graceful'])).toEqual({ ok: true, value: ['w2', 'graceful'] });
    expect(refusal(checkEngineActionArgs('recycleWorker', ['w2']))).toBe('expected 2 arguments (workerId, mode), got 1');
    expect(refusal(checkEngineActionArgs('recycleWorker', ['w2', 'gently']))).toBe('mode must be "graceful" or "kill"');
    expect(refusal(checkEngineActionArgs('recycleWorker', ['../w2', 'kill']))).toBe('workerId must be a worker id');
    expect(refusal(checkEngineActionArgs('releaseLease', [7]))).toBe('leaseId must be a lease id');
    expect(checkEngineActionArgs('armDebugger', [null])).toEqual({ ok: true, value: [null] });
    expect(checkEngineActionArgs('armDebugger', ['/api/**'])).toEqual({ ok: true, value: ['/api/**'] });
    expect(refusal(checkEngineActionArgs('armDebugger', []))).toBe('expected 1 argument (pattern), got 0');
    expect(refusal(checkEngineActionArgs('armDebugger', ['x'.repeat(1_001)]))).toMatch(/^pattern must be a path glob/);
    expect(checkEngineActionArgs('stopDebugging', [])).toEqual({ ok: true, value: [] });
    expect(refusal(checkEngineActionArgs('stopDebugging', [true]))).toBe('expected 0 arguments (), got 1');
    expect(refusal(checkEngineActionArgs('readStack', ['w2', 'now']))).toBe('expected 1 argument (workerId), got 2');
    expect(checkEngineActionArgs('liveReloadChanged', [['src/a.php', 'style.css']]).ok).toBe(true);
    expect(refusal(checkEngineActionArgs('liveReloadChanged', [[]]))).toMatch(/^files must be a list of 1 to 1000 file paths/);
    expect(refusal(checkEngineActionArgs('liveReloadChanged', [['a.php', '']]))).toMatch(/^files must be/);
    expect(refusal(checkEngineActionArgs('liveReloadChanged', [Array.from({ length: MAX_CHANGED_FILES_PER_CALL + 1 }, (_, n) => `f${n}`)]))).toMatch(
      /^files must be/,
    );
    expect(refusal(checkEngineActionArgs('liveReloadChanged', ['a.php']))).toMatch(/^files must be/);
    expect(isEngineActionName('recycleWorker')).toBe(true);
    expect(isEngineActionName('constructor')).toBe(false);
  });

  it('runs an action against the engine, and refuses bad arguments with the action named', async () => {
    const asked: unknown[] = [];
    const engine = {
      pool: {
        recycleWorker: (id: string, mode: string) => (asked.push(['recycle', id, mode]), id === 'w1'),
        releaseLease: (id: string) => (asked.push(['release', id]), false),
      },
    } as unknown as PoolServer;
    await expect(runEngineAction(engine, 'recycleWorker', ['w1', 'kill'])).resolves.toBe(true);
    await expect(runEngineAction(engine, 'releaseLease', ['L9'])).resolves.toBe(false);
    await expect(runEngineAction(engine, 'releaseLease', [])).rejects.toThrow('releaseLease: expected 1 argument (leaseId), got 0');
    expect(asked).toEqual([
      ['recycle', 'w1', 'kill'],
      ['release', 'L9'],
    ]);
  });

  it("runs main's features' actions against the engine's parts, answering with plain data", async () => {
    const asked: unknown[] = [];
    const read = leaseStack();
    const changed: string[][] = [];
    const engine = {
      pool: {
        debugger: {
          // The engine's trigger, with a field of its own: only the result's fields cross.
          arm: (pattern: string | null) => (asked.push(['arm', pattern]), { pattern, since: 5, regex: /x/ }),
          stopDebugging: () => (asked.push(['stop']), { disarmed: true, sessionsEnded: 2 }),
        },
        stacks: { readWorker: (id: string) => (asked.push(['read', id]), id === 'w2' ? read : null) },
      },
      gateway: { liveReload: { changed: (files: string[]) => changed.push(files) } },
    } as unknown as PoolServer;
    await expect(runEngineAction(engine, 'armDebugger', ['/api/**'])).resolves.toEqual({ pattern: '/api/**', since: 5 });
    await expect(runEngineAction(engine, 'stopDebugging', [])).resolves.toEqual({ disarmed: true, sessionsEnded: 2 });
    await expect(runEngineAction(engine, 'readStack', ['w2'])).resolves.toBe(read);
    await expect(runEngineAction(engine, 'readStack', ['w3'])).resolves.toBeNull();
    await expect(runEngineAction(engine, 'liveReloadChanged', [['a.php']])).resolves.toBe(true);
    expect(asked).toEqual([['arm', '/api/**'], ['stop'], ['read', 'w2'], ['read', 'w3']]);
    expect(changed).toEqual([['a.php']]);
    const withoutLiveReload = { ...engine, gateway: { liveReload: null } } as unknown as PoolServer;
    await expect(runEngineAction(withoutLiveReload, 'liveReloadChanged', [['a.php']])).resolves.toBe(false);
  });

  it('checks a result on the main thread', () => {
    expect(checkEngineActionResult('releaseLease', true)).toEqual({ ok: true, value: true });
    expect(refusal(checkEngineActionResult('recycleWorker', 'yes'))).toMatch(/not the action's result/);
    expect(checkEngineActionResult('armDebugger', { pattern: null, since: 1 }).ok).toBe(true);
    expect(checkEngineActionResult('armDebugger', { pattern: 3, since: 1 }).ok).toBe(false);
    expect(checkEngineActionResult('stopDebugging', { disarmed: false, sessionsEnded: 0 }).ok).toBe(true);
    expect(checkEngineActionResult('stopDebugging', { disarmed: false }).ok).toBe(false);
    expect(checkEngineActionResult('readStack', null).ok).toBe(true);
    expect(checkEngineActionResult('readStack', leaseStack()).ok).toBe(true);
    expect(checkEngineActionResult('readStack', { ...leaseStack(), stack: 'usleep' }).ok).toBe(false);
    expect(checkEngineActionResult('liveReloadChanged', undefined).ok).toBe(false);
  });
});
