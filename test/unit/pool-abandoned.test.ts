import { describe, expect, it, vi } from 'vitest';
import type { Lease, Pool } from '../../src/pool/pool';
import { fakePoolSuite, eventsOf, FakeHolder, fakeRequest, settle, type FakeConnection, type FakeHost, type FakeProcess } from '../support/fakeLauncher';

// A client that leaves while its script runs, against a fake host and a
// fake clock: the lease ends at once, the worker is `finishing` (neither
// leased nor idle) until php-cgi answers a new connection, and only the busy
// timeout ends a script that runs on for too long.

const pools = fakePoolSuite();

const start = pools.start;

/** A lease whose script is now running on its worker (the fake process answers no new connection until it ends). */
function running(pool: Pool<FakeConnection>, host: FakeHost, uri = '/cron'): { lease: Lease<FakeConnection>; proc: FakeProcess } {
  const lease = pool.tryAcquire(fakeRequest(uri), new FakeHolder(`http #${uri}`));
  if (!lease) throw new Error('no idle worker');
  const proc = host.byPid(lease.workerPid) as FakeProcess;
  proc.runningScript = true;
  return { lease, proc };
}

/** The gateway's side of a client abort: it releases the lease, then closes the connection as nginx does. */
function clientLeft(pool: Pool<FakeConnection>, lease: Lease<FakeConnection>): void {
  const connection = lease.openConnection();
  expect(pool.release(lease, 'client-abort')).toBe(true);
  connection?.destroy();
}

describe('a client that leaves while its script runs', () => {
  it('ends the lease at once; the worker is finishing, with the request and since when, until php-cgi is ready, then idle again, warm', async () => {
    const { pool, host, events } = await start({ minWorkers: 1, maxWorkers: 1 });
    const { lease, proc } = running(pool, host);
    await vi.advanceTimersByTimeAsync(50);
    const leftAt = Date.now();
    clientLeft(pool, lease);
    expect(lease.active).toBe(false);
    expect(pool.snapshot().history.at(-1)).toMatchObject({ id: lease.id, outcome: 'client-abort' });
    await vi.advanceTimersByTimeAsync(5_000); // the script runs on for 5 s
    const during = pool.snapshot();
    expect(during.counts).toMatchObject({ busy: 0, idle: 0, finishing: 1, total: 1 });
    expect(during.workers[0]).toMatchObject({
      pid: proc.pid,
      state: 'finishing',
      lease: null,
      abandoned: { abandonedAt: leftAt, lease: { id: lease.id, uri: '/cron', holder: 'http #/cron' } },
    });
    expect(proc.signals).toEqual([]);
    proc.endScript();
    await vi.advanceTimersByTimeAsync(0);
    const after = pool.snapshot();
    expect(after.counts).toMatchObject({ idle: 1, finishing: 0, total: 1 });
    expect(after.workers[0]).toMatchObject({ pid: proc.pid, state: 'idle', abandoned: null, accesses: 1 });
    expect(after.totals).toMatchObject({ spawned: 1, exited: 0, crashed: 0, busyTimeouts: 0 });
    expect(eventsOf(events, 'worker-state').map((e) => `${e.from}→${e.to}`)).toEqual(['starting→idle', 'idle→busy', 'busy→finishing', 'finishing→idle']);
    // The probe's connection is the worker's kept one now: the next request needs no new connection.
    const next = pool.tryAcquire(fakeRequest('/next'), new FakeHolder()) as Lease<FakeConnection>;
    expect(next.workerPid).toBe(proc.pid);
    expect(next.openConnection()).not.toBeNull();
    pool.release(next, 'ok');
  });

  it('closes the kept connection itself: a php-cgi blocked reading it (the client left before anything was sent) is ready at once', async () => {
    const { pool, host } = await start({ minWorkers: 1, maxWorkers: 1 });
    const lease = pool.tryAcquire(fakeRequest('/left-early'), new FakeHolder()) as Lease<FakeConnection>;
    const proc = host.byPid(lease.workerPid) as FakeProcess;
    const kept = lease.openConnection() as FakeConnection;
    // The holder releases without closing anything (its client left before it connected).
    pool.release(lease, 'client-abort');
    expect(kept.isOpen).toBe(false);
    await vi.advanceTimersByTimeAsync(20);
    expect(pool.snapshot().workers[0]).toMatchObject({ pid: proc.pid, state: 'idle' });
  });

  it('is not lent while finishing: a new request gets another worker, within the maximum', async () => {
    const { pool, host } = await start({ minWorkers: 1, maxWorkers: 2 });
    const { lease, proc } = running(pool, host);
    clientLeft(pool, lease);
    const other = await settle(pool.acquire(fakeRequest('/other'), new FakeHolder()));
    expect(other.workerPid).not.toBe(proc.pid);
    // At the maximum, the next one waits for whichever is free first: the finishing worker, once its script ends.
    const waiting = pool.acquire(fakeRequest('/third'), new FakeHolder());
    await vi.advanceTimersByTimeAsync(100);
    expect(pool.snapshot().queue.length).toBe(1);
    proc.endScript();
    const third = await settle(waiting);
    expect(third.workerPid).toBe(proc.pid);
    expect(host.calls.launch).toBe(2);
    pool.release(other, 'ok');
    pool.release(third, 'ok');
  });

  it('a burst of aborts causes no respawn storm: spawns stay within the maximum, and every worker is idle again when the scripts end', async () => {
    const { pool, host } = await start({ minWorkers: 1, maxWorkers: 4, queueTimeoutMs: 60_000 });
    const leases: Array<Lease<FakeConnection>> = [];
    for (let i = 0; i < 64; i++) {
      const lease = await settle(pool.acquire(fakeRequest(`/job/${i}`), new FakeHolder()));
      (host.byPid(lease.workerPid) as FakeProcess).runningScript = true;
      clientLeft(pool, lease);
      leases.push(lease);
      // Scripts end at their own pace (here every 30 ms, whichever runs).
      if (i % 3 === 2) for (const proc of host.running) proc.endScript();
      await vi.advanceTimersByTimeAsync(10);
    }
    for (const proc of host.running) proc.endScript();
    await vi.advanceTimersByTimeAsync(10);
    const snapshot = pool.snapshot();
    expect(host.calls.launch).toBeLessThanOrEqual(4);
    expect(snapshot.counts).toMatchObject({ idle: host.calls.launch, finishing: 0, busy: 0, error: 0 });
    expect(snapshot.totals).toMatchObject({ exited: 0, crashed: 0 });
    expect(host.processes.every((proc) => proc.signals.length === 0)).toBe(true);
    expect(snapshot.history.filter((entry) => entry.outcome === 'client-abort')).toHaveLength(64);
  });

  it('the busy timeout still runs: a script that runs on too long is killed and reported, its client having left', async () => {
    const { pool, host } = await start({ minWorkers: 1, maxWorkers: 1, busyTimeoutMs: 1_000 });
    const { lease, proc } = running(pool, host);
    await vi.advanceTimersByTimeAsync(400);
    clientLeft(pool, lease);
    await vi.advanceTimersByTimeAsync(599);
    expect(proc.signals).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(proc.signals).toEqual(['SIGKILL']);
    const finding = pool.snapshot().findings.find((f) => f.kind === 'busy-timeout');
    expect(finding).toMatchObject({
      lease: { id: lease.id },
      resolution: { how: 'reclaimed', detail: 'its client had left; the worker was killed and replaced' },
    });
    expect(pool.snapshot().totals.busyTimeouts).toBe(1);
    await vi.advanceTimersByTimeAsync(50);
    expect(pool.snapshot().counts).toMatchObject({ idle: 1, finishing: 0, total: 1 });
  });

  it('a script that ends within the busy timeout leaves no deadline behind', async () => {
    const { pool, host } = await start({ minWorkers: 1, maxWorkers: 1, busyTimeoutMs: 1_000 });
    const { lease, proc } = running(pool, host);
    clientLeft(pool, lease);
    await vi.advanceTimersByTimeAsync(500);
    proc.endScript();
    await vi.advanceTimersByTimeAsync(0);
    const next = pool.tryAcquire(fakeRequest('/next'), new FakeHolder()) as Lease<FakeConnection>;
    await vi.advanceTimersByTimeAsync(900); // past the first lease's deadline, within the second's
    expect(next.active).toBe(true);
    expect(pool.snapshot().totals.busyTimeouts).toBe(0);
    pool.release(next, 'ok');
  });

  it('is recycled once its script ends when it reached the request limit', async () => {
    const { pool, host, events } = await start({ minWorkers: 1, maxWorkers: 1, maxRequests: 1 });
    const { lease, proc } = running(pool, host);
    clientLeft(pool, lease);
    await vi.advanceTimersByTimeAsync(100);
    expect(proc.signals).toEqual([]);
    proc.endScript();
    await vi.advanceTimersByTimeAsync(0);
    expect(proc.signals).toEqual(['SIGTERM']);
    await vi.advanceTimersByTimeAsync(20);
    expect(eventsOf(events, 'worker-exited')).toMatchObject([{ pid: proc.pid, reason: 'max-requests' }]);
  });

  it('a finishing worker whose process exits is reaped without a finding: cleanly as a recycle, by a signal as a crash', async () => {
    const { pool, host, events } = await start({ minWorkers: 2, maxWorkers: 2 });
    const clean = running(pool, host, '/a');
    const crashed = running(pool, host, '/b');
    clientLeft(pool, clean.lease);
    clientLeft(pool, crashed.lease);
    clean.proc.die({ code: 0, signal: null });
    crashed.proc.die({ code: null, signal: 'SIGSEGV' });
    expect(eventsOf(events, 'worker-exited').map((e) => e.reason)).toEqual(['max-requests', 'crashed']);
    expect(pool.snapshot().findings).toEqual([]);
    expect(pool.snapshot().totals.crashed).toBe(1);
    await vi.advanceTimersByTimeAsync(50);
    expect(pool.snapshot().counts).toMatchObject({ idle: 2, finishing: 0 });
  });

  it('stop() asks a finishing worker to end (SIGTERM: php-cgi finishes the script, then exits)', async () => {
    const { pool, host } = await start({ minWorkers: 1, maxWorkers: 1 });
    const { lease, proc } = running(pool, host);
    clientLeft(pool, lease);
    await settle(pool.stop());
    expect(proc.signals).toEqual(['SIGTERM']);
    expect(pool.snapshot().counts.total).toBe(0);
  });
});
