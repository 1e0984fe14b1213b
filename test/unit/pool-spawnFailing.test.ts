import { describe, expect, it, vi } from 'vitest';
import { WorkerSpawnError } from '../../src/platform/spawnWorker';
import { Pool, PoolSpawnFailingError, type Lease } from '../../src/pool/pool';
import type { PoolEvent } from '../../src/pool/types';
import { fakePoolSuite, eventsOf, FakeHolder, FakeHost, fakeRequest, settle, type FakeConnection } from '../support/fakeLauncher';

// A php-cgi that exits as soon as it starts (a broken php.ini, a missing
// extension): the crash backoff holds every spawn back, on demand ones
// included, and while no worker is alive a request is turned away at once
// with what the last worker said.

const pools = fakePoolSuite();
const FATAL = 'PHP Fatal error:  Unable to start session module in Unknown on line 0\n';

function crashLoop(options: { maxWorkers?: number } = {}): { pool: Pool<FakeConnection>; host: FakeHost; events: PoolEvent[] } {
  const host = new FakeHost();
  host.next.crashAfterMs = 5; // dies while loading, before it could answer the probe
  host.next.stderr = `PHP Warning:  PHP Startup: Unable to load dynamic library 'nope.so'\n${FATAL}`;
  const pool = new Pool<FakeConnection>({ cwd: '/srv', minWorkers: 1, maxWorkers: options.maxWorkers ?? 4, scanIntervalMs: 0 }, host);
  pools.track(pool);
  const events: PoolEvent[] = [];
  pool.onEvent((event) => events.push(event));
  return { pool, host, events };
}

describe('a crash loop', () => {
  it('requests polling 20 times a second for 5 s: a handful of spawns, every request turned away at once naming the exit and the stderr line', async () => {
    const { pool, host } = crashLoop();
    await settle(pool.start());
    const t0 = Date.now();
    const answers: Array<{ at: number; error: unknown }> = [];
    while (Date.now() - t0 < 5_000) {
      const asked = Date.now();
      const outcome = await settle(
        pool.acquire(fakeRequest('/'), new FakeHolder()).then(
          () => null,
          (error: unknown) => error,
        ),
      );
      answers.push({ at: Date.now() - asked, error: outcome });
      await vi.advanceTimersByTimeAsync(50);
    }
    expect(answers.length).toBeGreaterThanOrEqual(90);
    expect(host.calls.launch).toBeLessThanOrEqual(10);
    for (const { error } of answers) expect(error).toBeInstanceOf(PoolSpawnFailingError);
    // Turned away at once, without waiting for the backoff or a spawn under way.
    expect(Math.max(...answers.map((a) => a.at))).toBe(0);
    const last = answers.at(-1)?.error as PoolSpawnFailingError;
    expect(last.failure).toMatchObject({ exit: { code: 255, signal: null }, error: null });
    expect(last.failure.stderr).toContain('PHP Fatal error:  Unable to start session module');
    expect(last.message).toMatch(
      /^no worker can start: worker w\d+ \(pid \d+\) exited with code 255 before serving a request; its stderr ends: PHP Warning: .* \| PHP Fatal error: {2}Unable to start session module/,
    );
    expect(last.retryAfterMs).toBeGreaterThan(0);
    expect(last.retryAfterMs).toBeLessThanOrEqual(10_000);
  });

  it('says so in the snapshot: a spawn-failing finding, the problem, the backoff; a served request resolves it', async () => {
    const { pool, host, events } = crashLoop();
    await settle(pool.start());
    await vi.advanceTimersByTimeAsync(400); // three more attempts
    const snapshot = pool.snapshot();
    expect(snapshot.state).toBe('running');
    expect(snapshot.counts).toMatchObject({ idle: 0, busy: 0, total: 0 });
    expect(snapshot.totals.crashed).toBe(host.calls.launch);
    expect(snapshot.spawnBackoff?.consecutiveCrashes).toBe(host.calls.launch);
    const open = snapshot.findings.filter((f) => f.kind === 'spawn-failing' && f.resolution === null);
    expect(open).toHaveLength(1); // one finding for the loop, not one per crash
    expect(open[0]).toMatchObject({ workerId: null, exit: { code: 255 } });
    expect(open[0]?.message).toContain('workers exit before serving (1 in a row): worker w1');
    expect(open[0]?.message).toContain('PHP Fatal error:  Unable to start session module');
    expect(snapshot.problem).toMatch(/^workers exit before serving: worker w\d+ .*Unable to start session module/);
    expect(eventsOf(events, 'finding').map((e) => e.finding.kind)).toEqual(['spawn-failing']);

    host.next.crashAfterMs = null; // php.ini fixed
    // Until the next attempt brings a worker up, requests are still turned away.
    await expect(pool.acquire(fakeRequest('/'), new FakeHolder())).rejects.toBeInstanceOf(PoolSpawnFailingError);
    await settle(new Promise<void>((resolve) => pool.onEvent((e) => e.type === 'worker-ready' && resolve())), 20_000);
    expect(pool.snapshot().findings.find((f) => f.kind === 'spawn-failing')?.resolution).toBeNull(); // up, but it has not served yet
    const lease = pool.tryAcquire(fakeRequest('/'), new FakeHolder()) as Lease<FakeConnection>;
    pool.release(lease, 'ok');
    const after = pool.snapshot();
    expect(after.problem).toBeNull();
    expect(after.spawnBackoff).toBeNull();
    expect(after.findings.find((f) => f.kind === 'spawn-failing')?.resolution).toMatchObject({ how: 'recovered', detail: 'a worker served a request again' });
  });

  it('a request while a spawn is under way is turned away at once too (that spawn most likely fails as well)', async () => {
    const { pool, host } = crashLoop();
    await settle(pool.start());
    // The second attempt starts 100 ms after the first.
    await settle(new Promise<void>((resolve) => pool.onEvent((e) => e.type === 'worker-starting' && resolve())));
    expect(pool.snapshot().counts.starting).toBe(1);
    const asked = Date.now();
    const error = await settle(pool.acquire(fakeRequest('/'), new FakeHolder()).catch((e: unknown) => e));
    expect(error).toBeInstanceOf(PoolSpawnFailingError);
    expect(Date.now() - asked).toBe(0);
    expect(host.calls.launch).toBe(2);
  });

  it('counts a worker that is lent before its exit is known, then unreachable, as a failed start', async () => {
    const host = new FakeHost();
    const pool = new Pool<FakeConnection>({ cwd: '/srv', minWorkers: 1, maxWorkers: 1, scanIntervalMs: 0 }, host);
    pools.track(pool);
    await settle(pool.start());
    // The worker looked ready, but nobody can connect to it: it is dying.
    const lease = pool.tryAcquire(fakeRequest('/'), new FakeHolder()) as Lease<FakeConnection>;
    pool.release(lease, 'unreachable');
    host.processes[0]?.die({ code: 1, signal: null });
    expect(pool.snapshot().spawnBackoff).toMatchObject({ consecutiveCrashes: 1 });
    expect(pool.snapshot().findings.map((f) => f.kind)).toEqual(['spawn-failing']);
  });

  it('a launch that fails for a passing reason counts too, with its error', async () => {
    const host = new FakeHost();
    host.launchError = new WorkerSpawnError('cannot start php-cgi: Resource temporarily unavailable', 'EAGAIN');
    const pool = new Pool<FakeConnection>({ cwd: '/srv', minWorkers: 1, maxWorkers: 1, scanIntervalMs: 0 }, host);
    pools.track(pool);
    await settle(pool.start());
    const error = await settle(pool.acquire(fakeRequest('/'), new FakeHolder()).catch((e: unknown) => e));
    expect(error).toBeInstanceOf(PoolSpawnFailingError);
    expect((error as PoolSpawnFailingError).message).toBe(
      'no worker can start: worker w1 could not be started: cannot start php-cgi: Resource temporarily unavailable; it wrote nothing to stderr',
    );
  });
});

describe('a single crash while other workers live', () => {
  it('does not turn requests away: they wait for the live workers', async () => {
    const host = new FakeHost();
    const pool = new Pool<FakeConnection>({ cwd: '/srv', minWorkers: 2, maxWorkers: 2, scanIntervalMs: 0 }, host);
    pools.track(pool);
    await settle(pool.start());
    const busy = pool.tryAcquire(fakeRequest('/a'), new FakeHolder()) as Lease<FakeConnection>;
    host.next.crashAfterMs = 5;
    const idle = host.processes.find((p) => p.pid !== busy.workerPid);
    idle?.die({ code: null, signal: 'SIGKILL' }); // killed from outside, never served
    const waiting = pool.acquire(fakeRequest('/b'), new FakeHolder());
    pool.release(busy, 'ok');
    const lease = await settle(waiting);
    expect(lease.workerPid).toBe(busy.workerPid);
    pool.release(lease, 'ok');
  });
});
