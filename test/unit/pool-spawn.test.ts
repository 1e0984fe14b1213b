import { describe, expect, it, vi } from 'vitest';
import { WorkerSpawnError } from '../../src/platform/spawnWorker';
import { Pool, PoolUnavailableError, type Lease } from '../../src/pool/pool';
import type { PoolEvent } from '../../src/pool/types';
import { fakePoolSuite, eventsOf, FakeHolder, FakeHost, fakeRequest, settle, type FakeConnection, type FakeProcess } from '../support/fakeLauncher';

// Spawning, the readiness probe and the crash backoff against a fake host
// and a fake clock.

const pools = fakePoolSuite();

const start = pools.start;

/** Fake time of each event of `type`, relative to `t0`. */
function timeline(stamped: Array<{ at: number; event: PoolEvent }>, type: PoolEvent['type'], t0: number): number[] {
  return stamped.filter((s) => s.event.type === type).map((s) => s.at - t0);
}

describe('spawning', () => {
  it('starts the minimum one at a time, each on the starting list until it answers, and keeps the probe connection', async () => {
    const host = new FakeHost();
    host.next.loadMs = 40;
    const pool = new Pool<FakeConnection>({ cwd: '/srv', minWorkers: 2, maxWorkers: 2, scanIntervalMs: 0 }, host);
    pools.track(pool);
    const order: string[] = [];
    pool.onEvent((e) => {
      if (e.type === 'worker-starting' || e.type === 'worker-ready') order.push(`${e.type} ${e.workerId} at ${Date.now() - t0}`);
    });
    const t0 = Date.now();
    const started = pool.start();
    await vi.advanceTimersByTimeAsync(39);
    expect(pool.snapshot().counts).toMatchObject({ starting: 1, idle: 0 });
    expect(pool.snapshot().workers[0]?.pid).toBe(host.processes[0]?.pid);
    await settle(started);
    expect(order).toEqual(['worker-starting w1 at 0', 'worker-ready w1 at 40', 'worker-starting w2 at 40', 'worker-ready w2 at 80']);
    expect(pool.snapshot()).toMatchObject({ state: 'running', counts: { idle: 2, starting: 0 }, totals: { spawned: 2 } });
    const lease = pool.tryAcquire(fakeRequest(), new FakeHolder()) as Lease<FakeConnection>;
    expect(lease.openConnection()).not.toBeNull();
    expect(host.calls.connect).toBe(2); // the probes' connections, nothing more
    pool.release(lease, 'ok');
  });

  it('uses a worker that never answers the probe after readyProbeTimeoutMs, as before', async () => {
    const host = new FakeHost();
    host.next.answers = false; // a wrapper that is not php-cgi
    const { pool } = await start({ minWorkers: 1, maxWorkers: 1, readyProbeTimeoutMs: 300 }, host);
    expect(pool.snapshot().counts).toMatchObject({ idle: 1 });
    const lease = pool.tryAcquire(fakeRequest(), new FakeHolder()) as Lease<FakeConnection>;
    expect(lease.openConnection()).toBeNull(); // the probe's connection was not kept
    expect(await lease.connection()).toBeDefined();
    pool.release(lease, 'ok');
  });

  it('spawns on demand up to the maximum, then queues', async () => {
    const { pool, host } = await start({ minWorkers: 0, maxWorkers: 3 });
    expect(pool.snapshot().counts.total).toBe(0);
    const leases = [1, 2, 3, 4].map((i) => pool.acquire(fakeRequest(`/${i}`), new FakeHolder(`h${i}`)));
    expect(host.calls.launch).toBe(3);
    expect(pool.snapshot().counts).toMatchObject({ starting: 3, total: 3 });
    expect(pool.snapshot().queue.length).toBe(4);
    const firstThree = await settle(Promise.all(leases.slice(0, 3)));
    expect(firstThree.map((l) => l.request.uri)).toEqual(['/1', '/2', '/3']);
    expect(new Set(firstThree.map((l) => l.workerId)).size).toBe(3);
    expect(pool.snapshot().queue.length).toBe(1);
    pool.release(firstThree[1] as Lease<FakeConnection>, 'ok');
    const fourth = await (leases[3] as Promise<Lease<FakeConnection>>);
    expect(fourth.workerId).toBe(firstThree[1]?.workerId);
    expect(host.calls.launch).toBe(3);
    for (const lease of [firstThree[0], firstThree[2], fourth]) pool.release(lease as Lease<FakeConnection>, 'ok');
  });

  it('fails once, clearly, when php-cgi does not exist, and never retries', async () => {
    const host = new FakeHost();
    host.launchError = new WorkerSpawnError('php-cgi not found: /nonexistent/php-cgi', 'ENOENT');
    const pool = new Pool<FakeConnection>({ cwd: '/srv', minWorkers: 1, scanIntervalMs: 0 }, host);
    pools.track(pool);
    const events: PoolEvent[] = [];
    pool.onEvent((e) => events.push(e));
    const error = await settle(pool.start().catch((e: unknown) => e));
    expect(error).toBeInstanceOf(PoolUnavailableError);
    expect((error as Error).message).toMatch(
      /^php-cgi not found: \/nonexistent\/php-cgi\. Install it \(Debian\/Ubuntu: sudo apt-get install php-cgi;.*\) or set the path to php-cgi$/,
    );
    expect((error as PoolUnavailableError).option).toBe('phpCgi');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(host.calls.launch).toBe(1);
    expect(eventsOf(events, 'spawn-failed')).toEqual([
      { type: 'spawn-failed', workerId: 'w1', error: 'php-cgi not found: /nonexistent/php-cgi', code: 'ENOENT' },
    ]);
    expect(pool.snapshot()).toMatchObject({ state: 'failed', counts: { total: 0 } });
    await expect(pool.acquire(fakeRequest(), new FakeHolder())).rejects.toBeInstanceOf(PoolUnavailableError);
  });

  it('retries a launch that failed for a passing reason, after the backoff', async () => {
    const host = new FakeHost();
    host.launchError = new WorkerSpawnError('cannot start php-cgi: Resource temporarily unavailable', 'EAGAIN');
    const pool = new Pool<FakeConnection>({ cwd: '/srv', minWorkers: 1, scanIntervalMs: 0 }, host);
    pools.track(pool);
    const events: PoolEvent[] = [];
    pool.onEvent((e) => events.push(e));
    const t0 = Date.now();
    const started = pool.start();
    await vi.advanceTimersByTimeAsync(0);
    host.launchError = null;
    // start() does not retry at once (nor spin): it leaves the retry to the backoff.
    await settle(started);
    expect(eventsOf(events, 'spawn-failed')).toMatchObject([{ code: 'EAGAIN' }]);
    expect(eventsOf(events, 'spawn-throttled')).toMatchObject([{ delayMs: 100, consecutiveCrashes: 1 }]);
    await settle(new Promise<void>((resolve) => pool.onEvent((e) => e.type === 'worker-ready' && resolve())));
    expect(host.launchedAt.map((t) => t - t0)).toEqual([0, 100]);
    expect(pool.snapshot()).toMatchObject({ state: 'running', counts: { idle: 1 } });
  });

  it("forwards a worker's stderr as events, and reports stale workers the host cleaned", async () => {
    const host = new FakeHost();
    host.stale = { killed: [123, 456], reusedPids: [789], stateDir: '/state' };
    const { host: h, events } = await start({ minWorkers: 1, maxWorkers: 1, stateDir: '/state' }, host);
    h.processes[0]?.writeStderr('PHP Warning:  something\n');
    expect(eventsOf(events, 'worker-stderr')).toEqual([{ type: 'worker-stderr', workerId: 'w1', pid: h.processes[0]?.pid, text: 'PHP Warning:  something\n' }]);
    expect(eventsOf(events, 'stale-workers-cleaned')).toEqual([{ type: 'stale-workers-cleaned', killed: [123, 456], reusedPids: [789], stateDir: '/state' }]);
    // The cleanup comes after the pool says it is starting, and before its first worker.
    expect(events.map((e) => e.type).slice(0, 3)).toEqual(['pool-state', 'stale-workers-cleaned', 'worker-starting']);
  });
});

describe('the crash backoff', () => {
  it('waits 100 ms after the first crash, doubling to at most 10 s', async () => {
    const host = new FakeHost();
    host.next.crashAfterMs = 15; // answers the probe at 10 ms, dies at 15 ms, before any request
    const pool = new Pool<FakeConnection>({ cwd: '/srv', minWorkers: 1, maxWorkers: 1, scanIntervalMs: 0 }, host);
    pools.track(pool);
    const stamped: Array<{ at: number; event: PoolEvent }> = [];
    pool.onEvent((event) => stamped.push({ at: Date.now(), event }));
    const t0 = Date.now();
    await settle(pool.start());
    await vi.advanceTimersByTimeAsync(60_000);
    const starts = timeline(stamped, 'worker-starting', t0);
    const gaps = starts.slice(1).map((t, i) => t - (starts[i] as number));
    expect(gaps.slice(0, 10)).toEqual([100, 200, 400, 800, 1_600, 3_200, 6_400, 10_000, 10_000, 10_000]);
    // Each throttle says how long it waits: the delay, counted from the last attempt.
    const throttles = stamped.flatMap((s) => (s.event.type === 'spawn-throttled' ? [s.event] : []));
    expect(throttles.slice(0, 4).map((e) => [e.consecutiveCrashes, e.delayMs])).toEqual([
      [1, 85],
      [2, 185],
      [3, 385],
      [4, 785],
    ]);
    expect(pool.snapshot().spawnBackoff).toMatchObject({ delayMs: 10_000 });
    expect(pool.snapshot().totals.crashed).toBe(starts.length);
  });

  it('probes with one worker at a time after a crash, and a served request ends the backoff', async () => {
    const { pool, host, events } = await start({ minWorkers: 1, maxWorkers: 3 });
    const busy = pool.tryAcquire(fakeRequest('/busy'), new FakeHolder()) as Lease<FakeConnection>; // w1 stays alive and busy
    host.next.crashAfterMs = 5; // w2 dies while it loads, before answering the probe
    const waiting = [pool.acquire(fakeRequest('/1'), new FakeHolder())];
    await vi.advanceTimersByTimeAsync(5);
    expect(pool.snapshot().spawnBackoff).toEqual({ consecutiveCrashes: 1, delayMs: 100 });
    expect(pool.snapshot().queue.length).toBe(1); // a worker is alive: the request waits
    host.next.crashAfterMs = null; // the cause is fixed
    waiting.push(...[2, 3].map((i) => pool.acquire(fakeRequest(`/${i}`), new FakeHolder())));
    expect(host.calls.launch).toBe(2); // held back, three waiting
    await vi.advanceTimersByTimeAsync(95 + 10);
    expect(host.calls.launch).toBe(3); // one probe, not three
    const first = await (waiting[0] as Promise<Lease<FakeConnection>>);
    expect(pool.snapshot().spawnBackoff).not.toBeNull();
    pool.release(first, 'ok');
    expect(pool.snapshot().spawnBackoff).toBeNull();
    // The next spawns are not held back: the maintenance pass brings the pool up to demand.
    const [second, third] = await settle(Promise.all(waiting.slice(1)));
    expect(host.calls.launch).toBeGreaterThanOrEqual(4);
    expect(eventsOf(events, 'spawn-throttled')).toHaveLength(1);
    for (const lease of [busy, second, third]) pool.release(lease as Lease<FakeConnection>, 'ok');
  });

  it('counts a crash of a worker that had served, but not toward the backoff', async () => {
    const { pool, host } = await start({ minWorkers: 1, maxWorkers: 1 });
    pool.release(pool.tryAcquire(fakeRequest(), new FakeHolder()) as Lease<FakeConnection>, 'ok');
    host.processes[0]?.die({ code: null, signal: 'SIGSEGV' });
    expect(pool.snapshot().totals.crashed).toBe(1);
    expect(pool.snapshot().spawnBackoff).toBeNull();
    expect(host.calls.launch).toBe(2); // replaced at once
  });

  it("takes a worker that leaves cleanly after answering (php-cgi's own request limit) for a recycle, whatever its exit code", async () => {
    const { pool, host, events } = await start({ minWorkers: 1, maxWorkers: 1 });
    pool.release(pool.tryAcquire(fakeRequest(), new FakeHolder()) as Lease<FakeConnection>, 'ok');
    const proc = host.processes[0] as FakeProcess;
    // php-cgi closes its kept connection, then exits with the first non-zero status a script gave (here 255).
    proc.closeSockets();
    expect(pool.snapshot().workers[0]).toMatchObject({ state: 'error' }); // no longer lent
    proc.die({ code: 255, signal: null });
    expect(eventsOf(events, 'worker-exited')).toMatchObject([{ reason: 'max-requests', exit: { code: 255 } }]);
    expect(pool.snapshot()).toMatchObject({ totals: { crashed: 0 }, spawnBackoff: null, findings: [] });
    await vi.advanceTimersByTimeAsync(20);
    expect(pool.snapshot().counts).toMatchObject({ idle: 1, total: 1 });
  });
});

describe('stop()', () => {
  it('resolves only after every worker has exited and been reaped, a hung one after the grace period', async () => {
    const { pool, host } = await start({ minWorkers: 3, maxWorkers: 3, stopGraceMs: 2_000 });
    const lease = pool.tryAcquire(fakeRequest(), new FakeHolder()) as Lease<FakeConnection>;
    const hung = host.byPid(lease.workerPid) as NonNullable<ReturnType<FakeHost['byPid']>>;
    hung.hung = true;
    let stopped = false;
    const stopping = pool.stop().then(() => (stopped = true));
    expect(lease.active).toBe(false);
    expect((lease.holder as FakeHolder).revocations).toEqual([{ kind: 'pool-stopping' }]);
    const t0 = Date.now();
    await vi.advanceTimersByTimeAsync(1_999);
    expect(stopped).toBe(false);
    expect(host.running).toEqual([hung]);
    expect(host.calls.close).toBe(0);
    await settle(stopping);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2_000);
    expect(hung.signals).toEqual(['SIGTERM', 'SIGKILL']);
    expect(host.running).toEqual([]);
    expect(host.calls.close).toBe(1);
    expect(pool.snapshot()).toMatchObject({ state: 'stopped', counts: { total: 0 } });
  });

  it('waits for a spawn still loading, which then retires itself', async () => {
    const host = new FakeHost();
    const { pool } = await start({ minWorkers: 1, maxWorkers: 2 }, host);
    pool.tryAcquire(fakeRequest(), new FakeHolder());
    void pool.acquire(fakeRequest(), new FakeHolder()).catch(() => undefined); // starts w2
    expect(pool.snapshot().counts.starting).toBe(1);
    await settle(pool.stop());
    expect(host.running).toEqual([]);
    expect(host.processes.map((p) => p.signals)).toEqual([['SIGTERM'], ['SIGTERM']]);
  });
});
