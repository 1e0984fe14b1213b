import { describe, expect, it, vi } from 'vitest';
import type { Lease } from '../../src/pool/pool';
import {
  findingsOf,
  lendIdle,
  fakePoolSuite,
  eventsOf,
  FakeHolder,
  FakeHost,
  fakeRequest,
  settle,
  type FakeConnection,
  type FakeProcess,
} from '../support/fakeLauncher';

// A lease's life against a fake host and a fake clock: release and recycle,
// the busy timeout, a worker that dies mid-lease, a holder that goes away,
// and what each leak policy does about them.

const pools = fakePoolSuite();

const start = pools.start;

function processOf(host: FakeHost, lease: Lease<FakeConnection>): FakeProcess {
  return host.byPid(lease.workerPid) as FakeProcess;
}

describe('release', () => {
  it('returns the worker to the idle list after ok, most recently used first', async () => {
    const { pool } = await start({ minWorkers: 2, maxWorkers: 2 });
    const a = lendIdle(pool);
    const b = lendIdle(pool);
    expect(pool.snapshot().counts).toMatchObject({ idle: 0, busy: 2 });
    expect(pool.release(a, 'ok')).toBe(true);
    expect(pool.release(b, 'ok')).toBe(true);
    expect(lendIdle(pool).workerId).toBe(b.workerId);
    expect(pool.snapshot().history.map((h) => [h.id, h.outcome])).toEqual([
      [a.id, 'ok'],
      [b.id, 'ok'],
    ]);
  });

  it('recycles a worker after max requests, gracefully, and replaces it', async () => {
    const { pool, host, events } = await start({ minWorkers: 1, maxWorkers: 1, maxRequests: 2 });
    const first = lendIdle(pool);
    const proc = processOf(host, first);
    pool.release(first, 'ok');
    pool.release(lendIdle(pool), 'ok');
    expect(proc.signals).toEqual(['SIGTERM']);
    await settle(new Promise<void>((resolve) => pool.onEvent((e) => e.type === 'worker-ready' && resolve())));
    expect(eventsOf(events, 'worker-exited')).toMatchObject([{ reason: 'max-requests', pid: proc.pid, accesses: 2, exit: { code: 0, signal: null } }]);
    expect(pool.snapshot().counts).toMatchObject({ idle: 1, total: 1 });
    expect(pool.snapshot().workers[0]?.pid).not.toBe(proc.pid);
  });

  it('recycles after an error (at once), and after a client abort only a worker that cannot tell when its script ends', async () => {
    const host = new FakeHost();
    host.next.answers = false; // a wrapper that never answers FCGI_GET_VALUES
    const { pool } = await start({ minWorkers: 2, maxWorkers: 2, readyProbeTimeoutMs: 50 }, host);
    const aborted = lendIdle(pool);
    const failed = lendIdle(pool);
    pool.release(aborted, 'client-abort');
    pool.release(failed, 'error');
    expect(processOf(host, aborted).signals).toEqual(['SIGTERM']);
    expect(processOf(host, failed).signals).toEqual(['SIGKILL']);
    const reasonOf = (lease: Lease<FakeConnection>) => pool.snapshot().workers.find((w) => w.id === lease.workerId)?.exitReason;
    expect([reasonOf(aborted), reasonOf(failed)]).toEqual(['client-abort', 'connection-lost']);
  });

  it('reports a second release as a lease-protocol error, resolved at once, and leaves the counts alone', async () => {
    const { pool, events } = await start({ minWorkers: 2, maxWorkers: 2 });
    const lease = lendIdle(pool, new FakeHolder('twice'));
    expect(pool.release(lease, 'ok')).toBe(true);
    expect(pool.release(lease, 'ok')).toBe(false);
    expect(eventsOf(events, 'lease-protocol-error')).toEqual([
      { type: 'lease-protocol-error', leaseId: lease.id, workerId: lease.workerId, problem: 'double-release', holder: 'twice' },
    ]);
    const [finding] = findingsOf(pool, 'lease-protocol');
    expect(finding).toMatchObject({ workerId: lease.workerId, lease: { id: lease.id }, resolution: { how: 'released' } });
    expect(finding?.message).toBe(`lease ${lease.id} was released a second time by twice; the second release was ignored and the counts are unchanged`);
    expect(pool.snapshot().counts).toMatchObject({ idle: 2, busy: 0 });
    expect(pool.snapshot().workers.reduce((n, w) => n + w.accesses, 0)).toBe(1);
  });

  it('refuses a lease another pool issued', async () => {
    const { pool, events } = await start({ minWorkers: 1, maxWorkers: 1 });
    const { pool: other } = await start({ minWorkers: 1, maxWorkers: 1 });
    const foreign = lendIdle(other, new FakeHolder('foreign'));
    expect(pool.release(foreign, 'ok')).toBe(false);
    expect(eventsOf(events, 'lease-protocol-error')).toMatchObject([{ problem: 'unknown-lease', workerId: null }]);
    expect(findingsOf(pool, 'lease-protocol')[0]?.message).toBe(`foreign released lease ${foreign.id}, which this pool never issued; ignored`);
    expect(foreign.active).toBe(true);
    other.release(foreign, 'ok');
  });
});

describe('the busy timeout', () => {
  it('reclaim: answers the holder (504), kills the worker, replaces it, and records a resolved finding', async () => {
    const { pool, host } = await start({ minWorkers: 1, maxWorkers: 1, busyTimeoutMs: 1_000 });
    const holder = new FakeHolder();
    const lease = lendIdle(pool, holder, '/slow');
    const proc = processOf(host, lease);
    proc.hung = true; // a stopped or hung script: SIGTERM would not do
    await vi.advanceTimersByTimeAsync(999);
    expect(holder.revocations).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(holder.revocations).toEqual([{ kind: 'busy-timeout', timeoutMs: 1_000 }]);
    expect(proc.signals).toEqual(['SIGKILL']);
    const [finding] = findingsOf(pool, 'busy-timeout');
    expect(finding).toMatchObject({
      workerId: lease.workerId,
      pid: proc.pid,
      detectionLatencyMs: 0,
      lease: { id: lease.id, uri: '/slow' },
      resolution: { how: 'reclaimed' },
    });
    expect(finding?.message).toBe(
      `worker ${lease.workerId} (pid ${proc.pid}) has been busy with GET /slow (/srv/x.php) for 1.0 s, past the busy timeout of 1.0 s`,
    );
    expect(pool.snapshot().totals.busyTimeouts).toBe(1);
    expect(pool.snapshot().history.at(-1)).toMatchObject({ id: lease.id, outcome: 'timeout' });
    // The holder's own release afterwards is expected, not a protocol error.
    expect(pool.release(lease, 'timeout')).toBe(false);
    expect(findingsOf(pool, 'lease-protocol')).toEqual([]);
    await vi.advanceTimersByTimeAsync(20);
    expect(pool.snapshot().counts).toMatchObject({ idle: 1, total: 1 });
  });

  it('runs every deadline off one timer, each exactly on time, and never fires for a released lease', async () => {
    const { pool } = await start({ minWorkers: 3, maxWorkers: 3, busyTimeoutMs: 1_000 });
    const holders = [new FakeHolder('a'), new FakeHolder('b'), new FakeHolder('c')];
    const t0 = Date.now();
    const revokedAt: Record<string, number> = {};
    for (const h of holders) h.revoke = () => void (revokedAt[h.description] = Date.now() - t0);
    lendIdle(pool, holders[0]);
    await vi.advanceTimersByTimeAsync(300);
    const released = lendIdle(pool, holders[1]);
    await vi.advanceTimersByTimeAsync(300);
    lendIdle(pool, holders[2]);
    pool.release(released, 'ok');
    await vi.advanceTimersByTimeAsync(2_000);
    expect(revokedAt).toEqual({ a: 1_000, c: 1_600 });
    expect(vi.getTimerCount()).toBeLessThanOrEqual(2); // the maintenance interval, and no busy timer left behind
  });

  it('keep: answers the holder but leaves the worker as it is, marked, until a developer releases it', async () => {
    const { pool, host } = await start({ minWorkers: 1, maxWorkers: 2, busyTimeoutMs: 1_000, leakPolicy: 'keep', stopGraceMs: 500 });
    const holder = new FakeHolder();
    const lease = lendIdle(pool, holder);
    const proc = processOf(host, lease);
    proc.hung = true;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(holder.revocations).toEqual([{ kind: 'busy-timeout', timeoutMs: 1_000 }]);
    expect(proc.signals).toEqual([]);
    const worker = pool.snapshot().workers.find((w) => w.id === lease.workerId);
    expect(worker).toMatchObject({ state: 'busy', lease: { id: lease.id } });
    const [finding] = findingsOf(pool, 'busy-timeout');
    expect(finding?.resolution).toBeNull();
    expect(worker?.findingIds).toEqual([finding?.id]);

    expect(pool.releaseLease(lease.id)).toBe(true);
    expect(findingsOf(pool, 'busy-timeout')[0]?.resolution).toMatchObject({ how: 'released' });
    await vi.advanceTimersByTimeAsync(500);
    expect(proc.signals).toEqual(['SIGTERM', 'SIGKILL']);
  });
});

describe('a worker that dies while leased', () => {
  it('reclaim: revokes the lease, records defunct-busy naming pid, signal, request and script, and replaces the worker', async () => {
    const { pool, host } = await start({ minWorkers: 1, maxWorkers: 1 });
    const holder = new FakeHolder('seed holder');
    const lease = lendIdle(pool, holder, '/api/users');
    const proc = processOf(host, lease);
    await vi.advanceTimersByTimeAsync(1_500);
    proc.die({ code: null, signal: 'SIGKILL' });
    expect(holder.revocations).toEqual([{ kind: 'worker-exited', exit: { code: null, signal: 'SIGKILL' } }]);
    const [finding] = findingsOf(pool, 'defunct-busy');
    expect(finding).toMatchObject({
      workerId: lease.workerId,
      pid: proc.pid,
      exit: { signal: 'SIGKILL' },
      detectionLatencyMs: 0,
      lease: { id: lease.id, holder: 'seed holder' },
      resolution: { how: 'reclaimed' },
    });
    expect(finding?.message).toBe(
      `worker ${lease.workerId} (pid ${proc.pid}) was killed by SIGKILL while serving GET /api/users (/srv/x.php) (lease ${lease.id}, 1.5 s)`,
    );
    expect(pool.snapshot().history.at(-1)).toMatchObject({ id: lease.id, outcome: 'worker-died' });
    expect(pool.snapshot().recentExits).toMatchObject([{ pid: proc.pid, reason: 'crashed' }]);
    await vi.advanceTimersByTimeAsync(10);
    expect(pool.snapshot().counts).toMatchObject({ idle: 1, busy: 0, total: 1 });
  });

  it('keep: leaves the dead worker on the busy list, marked defunct, until its holder releases', async () => {
    const { pool, host } = await start({ minWorkers: 1, maxWorkers: 2, leakPolicy: 'keep' });
    const holder = new FakeHolder();
    const lease = lendIdle(pool, holder);
    const proc = processOf(host, lease);
    proc.die({ code: null, signal: 'SIGSEGV' });
    expect(holder.revocations).toEqual([]);
    expect(lease.active).toBe(true);
    expect(pool.snapshot().workers.find((w) => w.pid === proc.pid)).toMatchObject({
      state: 'busy',
      defunct: true,
      exit: { signal: 'SIGSEGV' },
      lease: { id: lease.id },
    });
    expect(findingsOf(pool, 'defunct-busy')[0]?.resolution).toBeNull();
    // The rest of the pool still serves.
    const other = await settle(pool.acquire(fakeRequest('/other'), new FakeHolder()));
    pool.release(other, 'ok');

    expect(pool.release(lease, 'worker-died')).toBe(true);
    expect(pool.snapshot().workers.some((w) => w.pid === proc.pid)).toBe(false);
    expect(findingsOf(pool, 'defunct-busy')[0]?.resolution).toMatchObject({ how: 'released' });
  });

  it('dates the finding when the holder saw the death, and names the signal once the exit is reaped', async () => {
    const { pool, host } = await start({ minWorkers: 1, maxWorkers: 1 });
    const lease = lendIdle(pool);
    const proc = processOf(host, lease);
    proc.gone = true; // the connection dropped and the process table agrees; Node has not reaped it yet
    const seenAt = Date.now();
    expect(pool.release(lease, 'worker-died')).toBe(true);
    expect(findingsOf(pool, 'defunct-busy')).toEqual([]); // waits for the exit status
    expect(proc.signals).toEqual(['SIGKILL']);
    await vi.advanceTimersByTimeAsync(5);
    const [finding] = findingsOf(pool, 'defunct-busy');
    expect(finding).toMatchObject({
      detectedAt: seenAt,
      detectionLatencyMs: 0,
      exit: { signal: 'SIGKILL' },
      lease: { id: lease.id },
      resolution: { how: 'reclaimed' },
    });
  });
});

describe('a holder that goes away without releasing', () => {
  it('reclaim: the next scan ends the lease as leaked and recycles the worker; the holder is not called', async () => {
    const { pool, host } = await start({ minWorkers: 1, maxWorkers: 1 });
    const holder = new FakeHolder('ended holder');
    const lease = lendIdle(pool, holder);
    await pool.scan();
    expect(findingsOf(pool, 'holder-gone')).toEqual([]);
    await vi.advanceTimersByTimeAsync(250);
    holder.active = false;
    await pool.scan();
    const [finding] = findingsOf(pool, 'holder-gone');
    expect(finding).toMatchObject({
      workerId: lease.workerId,
      processState: 'S',
      lease: { id: lease.id, holder: 'ended holder' },
      resolution: { how: 'reclaimed' },
    });
    expect(finding?.message).toBe(
      `ended holder ended without releasing lease ${lease.id} on worker ${lease.workerId} (pid ${lease.workerPid}) for GET /x (/srv/x.php) (held 250 ms)`,
    );
    expect(lease.active).toBe(false);
    expect(holder.revocations).toEqual([]);
    expect(pool.snapshot().history.at(-1)).toMatchObject({ id: lease.id, outcome: 'leaked' });
    expect(processOf(host, lease).signals).toEqual(['SIGTERM']);
    await vi.advanceTimersByTimeAsync(20);
    expect(pool.snapshot().counts).toMatchObject({ idle: 1, total: 1 });
  });

  it('keep: keeps the lease on the worker for inspection, and reports it once', async () => {
    const { pool, host } = await start({ minWorkers: 1, maxWorkers: 1, leakPolicy: 'keep' });
    const holder = new FakeHolder();
    const lease = lendIdle(pool, holder);
    holder.active = false;
    await pool.scan();
    await pool.scan();
    expect(findingsOf(pool, 'holder-gone')).toHaveLength(1);
    expect(findingsOf(pool, 'holder-gone')[0]?.resolution).toBeNull();
    expect(lease.active).toBe(true);
    expect(pool.snapshot().workers[0]).toMatchObject({ state: 'busy', lease: { id: lease.id } });
    expect(processOf(host, lease).signals).toEqual([]);
  });
});

describe('the idle timeout', () => {
  it('stops idle workers above the minimum once idle long enough, least recently used first', async () => {
    const { pool, host, events } = await start({ minWorkers: 1, maxWorkers: 3, idleTimeoutMs: 5_000, maintenanceIntervalMs: 1_000 });
    const leases = await settle(Promise.all([1, 2, 3].map(() => pool.acquire(fakeRequest(), new FakeHolder()))));
    for (const lease of leases) {
      pool.release(lease, 'ok');
      await vi.advanceTimersByTimeAsync(100);
    }
    const releasedAt = Date.now();
    while (Date.now() - releasedAt < 4_700) await vi.advanceTimersByTimeAsync(100);
    expect(pool.snapshot().counts.idle).toBe(3);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(pool.snapshot().counts).toMatchObject({ idle: 1, total: 1 });
    expect(pool.snapshot().workers[0]?.id).toBe(leases[2]?.workerId);
    expect(eventsOf(events, 'worker-exited').map((e) => [e.workerId, e.reason])).toEqual([
      [leases[0]?.workerId, 'idle-timeout'],
      [leases[1]?.workerId, 'idle-timeout'],
    ]);
    expect(host.running).toHaveLength(1);
  });
});

describe("a developer's actions", () => {
  it('recycles an idle worker gracefully or kills it, and refuses unknown or finished ones', async () => {
    const { pool, host } = await start({ minWorkers: 2, maxWorkers: 2 });
    const [w1, w2] = pool.snapshot().workers;
    expect(pool.recycleWorker(w1?.id as string, 'graceful')).toBe(true);
    expect(pool.recycleWorker(w2?.id as string, 'kill')).toBe(true);
    expect(host.byPid(w1?.pid as number)?.signals).toEqual(['SIGTERM']);
    expect(host.byPid(w2?.pid as number)?.signals).toEqual(['SIGKILL']);
    expect(
      pool
        .snapshot()
        .workers.filter((w) => w.state === 'error')
        .map((w) => w.exitReason),
    ).toEqual(['recycled-by-user', 'killed-by-user']);
    expect(pool.recycleWorker(w1?.id as string, 'kill')).toBe(false);
    expect(pool.recycleWorker('w99', 'kill')).toBe(false);
  });

  it('lets a busy worker recycled gracefully finish its request, then retires it', async () => {
    const { pool, host, events } = await start({ minWorkers: 1, maxWorkers: 1 });
    const holder = new FakeHolder();
    const lease = lendIdle(pool, holder);
    const proc = processOf(host, lease);
    expect(pool.recycleWorker(lease.workerId, 'graceful')).toBe(true);
    expect(pool.snapshot().workers[0]).toMatchObject({ state: 'draining', exitReason: 'recycled-by-user', lease: { id: lease.id } });
    expect(lease.active).toBe(true);
    expect(proc.signals).toEqual([]);
    expect(pool.release(lease, 'ok')).toBe(true);
    expect(proc.signals).toEqual(['SIGTERM']);
    await vi.advanceTimersByTimeAsync(20);
    expect(eventsOf(events, 'worker-exited')).toMatchObject([{ pid: proc.pid, reason: 'recycled-by-user', exit: { code: 0 } }]);
    expect(pool.snapshot().counts).toMatchObject({ idle: 1, draining: 0, total: 1 });
    expect(holder.revocations).toEqual([]);
  });

  it('releases a lease from outside: the holder is told and the worker recycled', async () => {
    const { pool, host } = await start({ minWorkers: 1, maxWorkers: 1 });
    const holder = new FakeHolder();
    const lease = lendIdle(pool, holder);
    expect(pool.releaseLease(lease.id)).toBe(true);
    expect(holder.revocations).toEqual([{ kind: 'worker-retired', reason: 'recycled-by-user' }]);
    expect(processOf(host, lease).signals).toEqual(['SIGTERM']);
    expect(pool.snapshot().history.at(-1)).toMatchObject({ id: lease.id, outcome: 'error' });
    expect(pool.releaseLease(lease.id)).toBe(false);
    expect(pool.releaseLease('L999')).toBe(false);
    expect(pool.release(lease, 'error')).toBe(false);
  });
});
