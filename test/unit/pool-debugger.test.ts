import { describe, expect, it, vi } from 'vitest';
import { DebuggerUnavailableError, PoolUnavailableError, type Lease, type Pool } from '../../src/pool/pool';
import type { PoolOptions } from '../../src/pool/options';
import type { PoolEvent } from '../../src/pool/types';
import { FakeDebuggerHost, type FakeRelay } from '../support/fakeDebugger';
import { lendIdle, fakePoolSuite, eventsOf, FakeHolder, FakeHost, fakeRequest, settle, startFakePool, type FakeConnection } from '../support/fakeLauncher';

// The debugger-aware pool against a fake host, a fake relay and a fake
// clock: --xdebug off|auto|on and the workers' arguments, the paused state,
// the busy deadline and the holder's timeouts that stand still during a
// debug session and resume with the time they had left, the spare worker,
// and "Debug Next Request".

const pools = fakePoolSuite();

async function start(options: Partial<PoolOptions>, debuggerHost = new FakeDebuggerHost(), host = new FakeHost()) {
  const started = await pools.start({ xdebug: 'on', ...options }, host, debuggerHost);
  return { ...started, relay: debuggerHost.relay as FakeRelay };
}

function stateOf(pool: Pool<FakeConnection>, lease: Lease<FakeConnection>): string | undefined {
  return pool.snapshot().workers.find((w) => w.id === lease.workerId)?.state;
}

function transitions(events: readonly PoolEvent[], workerId: string): string[] {
  return eventsOf(events, 'worker-state')
    .filter((e) => e.workerId === workerId)
    .map((e) => `${e.from}→${e.to}`);
}

describe("--xdebug and the workers' arguments", () => {
  it('off: no relay, no arguments, and "Debug Next Request" says the debugger is off', async () => {
    const debuggerHost = new FakeDebuggerHost();
    const { pool, host } = await start({ xdebug: 'off' }, debuggerHost);
    expect(debuggerHost.relays).toEqual([]);
    expect(debuggerHost.detections).toBe(0);
    expect(host.launchArgs).toEqual([[]]);
    expect(pool.snapshot().debugger).toMatchObject({ status: 'off', relayPort: null, xdebug: null });
    expect(() => pool.debugger.arm()).toThrow(DebuggerUnavailableError);
    expect(() => pool.debugger.arm()).toThrow('the step debugger is off (xdebug off)');
  });

  it('on with Xdebug installed but not loaded: asks php-cgi first, loads it with -d, and points every worker at the relay', async () => {
    const { pool, host, relay, events } = await start({
      minWorkers: 2,
      maxWorkers: 2,
      ini: { 'xdebug.trigger_value': 'secret' },
      debugClient: '10.0.0.5:9000',
    });
    expect(relay.ide).toEqual({ host: '10.0.0.5', port: 9000 });
    const expected = [
      '-d',
      'zend_extension=xdebug',
      '-d',
      'xdebug.mode=debug',
      '-d',
      'xdebug.start_with_request=trigger',
      '-d',
      'xdebug.client_host=127.0.0.1',
      '-d',
      `xdebug.client_port=${relay.port}`,
      '-d',
      'xdebug.discover_client_host=0',
    ];
    expect(host.launchArgs).toEqual([expected, expected]);
    expect(pool.snapshot().debugger).toEqual({
      status: 'enabled',
      xdebug: 'loadable',
      version: '3.2.0',
      reason: null,
      ide: '10.0.0.5:9000',
      relayPort: relay.port,
      armed: null,
      notes: [],
    });
    expect(eventsOf(events, 'debugger-ready')).toHaveLength(1);
    // The trigger carries the user's trigger value.
    pool.debugger.arm();
    expect(pool.debugger.trigger('/anything')).toBe('secret');
  });

  it('on without Xdebug: the pool fails at once, naming the package, PECL and the option, and closes the relay', async () => {
    const debuggerHost = new FakeDebuggerHost();
    debuggerHost.availability = { kind: 'missing', detail: "Failed loading Zend extension 'xdebug'" };
    const pool = startFakePool({ xdebug: 'on' }, new FakeHost(), debuggerHost);
    const failure = await settle(
      pool.then(
        () => null,
        (error: unknown) => error,
      ),
    );
    expect(failure).toBeInstanceOf(PoolUnavailableError);
    expect(failure).toMatchObject({ option: 'xdebug' });
    expect((failure as Error).message).toMatch(
      /php-cgi has no Xdebug \(Failed loading Zend extension 'xdebug'\)\. To debug requests, .*sudo apt-get install php-xdebug.*pecl install xdebug.*set it to auto/,
    );
    expect(debuggerHost.relay?.closed).toBe(true);
  });

  it('a --debug-client that is not HOST:PORT is refused before anything starts, naming the option', async () => {
    await expect(startFakePool({ xdebug: 'on', debugClient: 'localhost' })).rejects.toMatchObject({
      option: 'debugClient',
      message: expect.stringMatching(/is not HOST:PORT/),
    });
  });

  it("auto: the first worker starts with the relay's settings but without loading Xdebug, and php-cgi is asked only once it serves", async () => {
    const debuggerHost = new FakeDebuggerHost();
    debuggerHost.holdDetection = true;
    const { pool, host, relay } = await start({ xdebug: 'auto' }, debuggerHost);
    expect(host.launchArgs[0]).not.toContain('zend_extension=xdebug');
    expect(host.launchArgs[0]).toContain(`xdebug.client_port=${relay.port}`);
    expect(debuggerHost.detections).toBe(1);
    expect(pool.snapshot().state).toBe('running'); // serving does not wait for the answer
    expect(pool.snapshot().debugger.status).toBe('detecting');
    expect(() => pool.debugger.arm()).toThrow(/still finding out/);
    debuggerHost.answer();
    await vi.advanceTimersByTimeAsync(0);
    // Installed but not loaded by php-cgi: auto runs without it, says why, and frees the relay's port.
    expect(pool.snapshot().debugger).toMatchObject({
      status: 'unavailable',
      xdebug: 'loadable',
      relayPort: null,
      reason: 'Xdebug 3.2.0 is installed but php-cgi does not load it',
    });
    expect(relay.closed).toBe(true);
    expect(() => pool.debugger.arm()).toThrow(/set xdebug to "on" to load it/);
  });

  it('auto with php-cgi loading Xdebug by itself: enabled, the workers already pointed at the relay', async () => {
    const debuggerHost = new FakeDebuggerHost();
    debuggerHost.availability = { kind: 'loaded', version: '3.3.1' };
    const { pool, relay } = await start({ xdebug: 'auto' }, debuggerHost);
    await vi.advanceTimersByTimeAsync(0);
    expect(pool.snapshot().debugger).toMatchObject({ status: 'enabled', xdebug: 'loaded', version: '3.3.1', relayPort: relay.port });
    expect(relay.closed).toBe(false);
  });

  it("the relay accepts only our workers' pids", async () => {
    const { pool, relay, events } = await start({});
    const ours = pool.snapshot().workers[0]?.pid as number;
    expect(relay.connect(ours)).toBe(true);
    expect(relay.connect(ours + 10_000)).toBe(false);
    expect(eventsOf(events, 'debug-relay').map((e) => e.event)).toEqual([
      { type: 'rejected', pid: ours + 10_000, reason: `pid ${ours + 10_000} is not one of the pool's workers` },
    ]);
  });
});

describe('a lease in a debug session', () => {
  it("busy ⇄ paused with the breakpoint's file and line; counts.paused; the holder is told when the session starts and ends", async () => {
    const { pool, relay, events } = await start({});
    const holder = new FakeHolder();
    const lease = lendIdle(pool, holder);
    const pid = lease.workerPid as number;
    relay.connect(pid, '/srv/index.php');
    expect(stateOf(pool, lease)).toBe('busy');
    expect(pool.snapshot().workers[0]?.debug).toMatchObject({ state: 'running', file: '/srv/index.php', line: null, ide: 'connected' });
    expect(holder.debugged).toEqual([true]);
    relay.pause(pid, '/srv/src/Controller.php', 42);
    expect(stateOf(pool, lease)).toBe('paused');
    expect(pool.snapshot().counts).toMatchObject({ busy: 0, paused: 1, total: 1 });
    expect(pool.snapshot().workers[0]?.debug).toMatchObject({ state: 'paused', file: '/srv/src/Controller.php', line: 42 });
    relay.run(pid);
    relay.pause(pid, '/srv/src/Controller.php', 43);
    relay.end(pid);
    expect(stateOf(pool, lease)).toBe('busy');
    expect(pool.snapshot().workers[0]?.debug).toBeNull();
    expect(holder.debugged).toEqual([true, false]);
    expect(transitions(events, lease.workerId)).toEqual(['starting→idle', 'idle→busy', 'busy→paused', 'paused→busy', 'busy→paused', 'paused→busy']);
    expect(eventsOf(events, 'worker-debug').map((e) => e.debug?.state ?? null)).toEqual(['running', 'paused', 'running', 'paused', null]);
    pool.release(lease, 'ok');
    expect(stateOf(pool, lease)).toBe('idle');
  });

  it('suspends the busy deadline for the whole session and resumes it with the time it had left', async () => {
    const { pool, relay } = await start({ busyTimeoutMs: 1_000 });
    const holder = new FakeHolder();
    const lease = lendIdle(pool, holder);
    const pid = lease.workerPid as number;
    await vi.advanceTimersByTimeAsync(400);
    relay.connect(pid);
    relay.pause(pid, '/srv/x.php', 3);
    await vi.advanceTimersByTimeAsync(30_000); // 30× the busy timeout at a breakpoint
    await pool.scan();
    expect(holder.revocations).toEqual([]);
    expect(pool.snapshot().findings).toEqual([]);
    relay.run(pid);
    relay.end(pid);
    await vi.advanceTimersByTimeAsync(599);
    expect(holder.revocations).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(holder.revocations).toEqual([{ kind: 'busy-timeout', timeoutMs: 1_000 }]);
    expect(pool.snapshot().findings.map((f) => f.kind)).toEqual(['busy-timeout']);
  });

  it('a resumed deadline goes back in expiry order, ahead of a later lease that expires after it', async () => {
    const { pool, relay } = await start({ minWorkers: 2, maxWorkers: 2, busyTimeoutMs: 1_000 });
    const t0 = Date.now();
    const revokedAt: Record<string, number> = {};
    const a = new FakeHolder('a');
    const b = new FakeHolder('b');
    for (const h of [a, b]) h.revoke = () => void (revokedAt[h.description] = Date.now() - t0);
    const leaseA = lendIdle(pool, a);
    await vi.advanceTimersByTimeAsync(100);
    relay.connect(leaseA.workerPid as number); // 900 ms left
    await vi.advanceTimersByTimeAsync(100);
    lendIdle(pool, b); // expires at 1 200
    await vi.advanceTimersByTimeAsync(50);
    relay.end(leaseA.workerPid as number); // resumes at 250 with 900 left: expires at 1 150, before b
    await vi.advanceTimersByTimeAsync(2_000);
    expect(revokedAt).toEqual({ a: 1_150, b: 1_200 });
  });

  it('an IDE that cannot be reached holds nothing: the deadline runs on', async () => {
    const { pool, relay } = await start({ busyTimeoutMs: 1_000 });
    const holder = new FakeHolder();
    const lease = lendIdle(pool, holder);
    const pid = lease.workerPid as number;
    relay.connect(pid);
    relay.pause(pid, '/srv/x.php', 3);
    relay.ideGone(pid); // the IDE hung up: the relay lets the worker go
    expect(stateOf(pool, lease)).toBe('busy');
    expect(holder.debugged).toEqual([true, false]);
    expect(pool.snapshot().workers[0]?.debug).toMatchObject({ ide: 'unreachable' });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(holder.revocations).toEqual([{ kind: 'busy-timeout', timeoutMs: 1_000 }]);
  });

  it('reports no holder-gone while the session lasts, and does once it is over', async () => {
    const { pool, relay } = await start({ leakPolicy: 'keep' });
    const holder = new FakeHolder();
    const lease = lendIdle(pool, holder);
    relay.connect(lease.workerPid as number);
    holder.active = false;
    await pool.scan();
    expect(pool.snapshot().findings).toEqual([]);
    relay.end(lease.workerPid as number);
    await pool.scan();
    expect(pool.snapshot().findings.map((f) => f.kind)).toEqual(['holder-gone']);
  });

  it("a worker that dies while paused: defunct-busy as usual, and the relay's late word about it is harmless", async () => {
    const { pool, host, relay } = await start({});
    const holder = new FakeHolder();
    const lease = lendIdle(pool, holder);
    const pid = lease.workerPid as number;
    relay.connect(pid);
    relay.pause(pid, '/srv/x.php', 3);
    host.byPid(pid)?.closeSockets(); // the kernel closes a killed process's sockets
    host.byPid(pid)?.die({ code: null, signal: 'SIGKILL' });
    relay.end(pid);
    expect(pool.snapshot().findings.map((f) => [f.kind, f.pid])).toEqual([['defunct-busy', pid]]);
    expect(holder.revocations).toEqual([{ kind: 'worker-exited', exit: { code: null, signal: 'SIGKILL' } }]);
    expect(pool.snapshot().counts.paused).toBe(0);
    // It died before serving a request: the crash backoff's first step (100 ms), then a replacement.
    await vi.advanceTimersByTimeAsync(200);
    expect(pool.snapshot().counts).toMatchObject({ idle: 1, paused: 0 });
  });

  it('Recycle on a paused worker drains it after its request', async () => {
    const { pool, relay, host } = await start({});
    const lease = lendIdle(pool);
    const pid = lease.workerPid as number;
    relay.connect(pid);
    relay.pause(pid, '/srv/x.php', 3);
    expect(pool.recycleWorker(lease.workerId, 'graceful')).toBe(true);
    expect(stateOf(pool, lease)).toBe('draining');
    relay.end(pid);
    pool.release(lease, 'ok');
    expect(host.byPid(pid)?.signals).toEqual(['SIGTERM']);
  });
});

describe('the spare worker', () => {
  it('while a worker is paused, one worker beyond --max-workers serves; it leaves once no session is left', async () => {
    const { pool, relay, events } = await start({ minWorkers: 1, maxWorkers: 1 });
    const debugged = lendIdle(pool);
    const pid = debugged.workerPid as number;
    // Without a session, the second request waits in the queue.
    const queued = pool.acquire(fakeRequest('/asset.css'), new FakeHolder());
    await vi.advanceTimersByTimeAsync(50);
    expect(pool.snapshot().counts).toMatchObject({ total: 1 });
    relay.connect(pid);
    relay.pause(pid, '/srv/x.php', 3);
    const spareLease = await settle(queued);
    expect(spareLease.workerId).not.toBe(debugged.workerId);
    expect(pool.snapshot().counts).toMatchObject({ paused: 1, busy: 1, total: 2 });
    // Only one spare, however many requests wait.
    const waiting = [pool.acquire(fakeRequest('/a'), new FakeHolder()), pool.acquire(fakeRequest('/b'), new FakeHolder())];
    await vi.advanceTimersByTimeAsync(50);
    expect(pool.snapshot().counts.total).toBe(2);
    pool.release(spareLease, 'ok');
    const next = await settle(waiting[0] as Promise<Lease<FakeConnection>>);
    pool.release(next, 'ok');
    const last = await settle(waiting[1] as Promise<Lease<FakeConnection>>);
    pool.release(last, 'ok');
    expect(pool.snapshot().counts).toMatchObject({ idle: 1, paused: 1, total: 2 });
    relay.end(pid);
    expect(eventsOf(events, 'worker-state').filter((e) => e.reason === 'spare-not-needed')).toHaveLength(1);
    pool.release(debugged, 'ok');
    await vi.advanceTimersByTimeAsync(50);
    expect(pool.snapshot().counts).toMatchObject({ idle: 1, total: 1 });
  });

  it('when the session ends with the spare still busy, the first worker to finish its request goes', async () => {
    const { pool, relay } = await start({ minWorkers: 1, maxWorkers: 1 });
    const debugged = lendIdle(pool);
    const pid = debugged.workerPid as number;
    relay.connect(pid);
    const spare = await settle(pool.acquire(fakeRequest('/ajax'), new FakeHolder()));
    relay.end(pid);
    expect(pool.snapshot().counts).toMatchObject({ busy: 2, total: 2 });
    pool.release(debugged, 'ok');
    expect(pool.snapshot().workers.find((w) => w.id === debugged.workerId)).toMatchObject({ state: 'error', exitReason: 'spare-not-needed' });
    pool.release(spare, 'ok');
    expect(pool.snapshot().counts).toMatchObject({ idle: 1, busy: 0 });
  });
});

describe('"Debug Next Request" and "Stop Debugging Requests"', () => {
  it('triggers the next request whose path matches, once, and says so in events and the snapshot', async () => {
    const { pool, events } = await start({});
    expect(pool.debugger.trigger('/api/x')).toBeNull();
    const armed = pool.debugger.arm('/api/**');
    expect(armed).toMatchObject({ pattern: '/api/**' });
    expect(pool.snapshot().debugger.armed).toMatchObject({ pattern: '/api/**' });
    expect(pool.debugger.trigger('/index.php?x=1')).toBeNull();
    expect(pool.debugger.trigger('/api/orders/7?expand=1')).toBe('1');
    expect(pool.debugger.trigger('/api/orders/8')).toBeNull();
    expect(pool.snapshot().debugger.armed).toBeNull();
    expect(eventsOf(events, 'debug-armed').map((e) => e.armed?.pattern ?? null)).toEqual(['/api/**', null]);
    expect(() => pool.debugger.arm('[')).not.toThrow(); // a bracket is a literal character in these globs
    expect(() => pool.debugger.arm('   ')).not.toThrow(); // blank: the next request
    expect(pool.snapshot().debugger.armed?.pattern).toBeNull();
  });

  it('Stop Debugging Requests disarms and ends every session; the paused worker is busy again, its timeouts running', async () => {
    const { pool, relay } = await start({ busyTimeoutMs: 1_000 });
    const holder = new FakeHolder();
    const lease = lendIdle(pool, holder);
    relay.connect(lease.workerPid as number);
    relay.pause(lease.workerPid as number, '/srv/x.php', 3);
    pool.debugger.arm();
    expect(pool.debugger.stopDebugging()).toEqual({ disarmed: true, sessionsEnded: 1 });
    expect(relay.endAllCalls).toBe(1);
    expect(stateOf(pool, lease)).toBe('busy');
    expect(pool.snapshot().debugger.armed).toBeNull();
    expect(holder.debugged).toEqual([true, false]);
  });

  it('stopping the pool ends the sessions first, so paused requests run on, and closes the relay', async () => {
    const debuggerHost = new FakeDebuggerHost();
    const { pool, relay, events } = await start({}, debuggerHost);
    const lease = lendIdle(pool);
    relay.connect(lease.workerPid as number);
    relay.pause(lease.workerPid as number, '/srv/x.php', 3);
    await settle(pool.stop());
    expect(relay.closed).toBe(true);
    // The paused lease's deadline resumed as its session ended, and stopped with the pool: no timer is left.
    expect(vi.getTimerCount()).toBe(0);
    const order = events.filter((e) => (e.type === 'worker-debug' && e.debug === null) || e.type === 'lease-revoked').map((e) => e.type);
    expect(order[0]).toBe('worker-debug');
  });
});
