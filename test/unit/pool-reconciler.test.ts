import { describe, expect, it, vi } from 'vitest';
import type { Lease, Pool } from '../../src/pool/pool';
import {
  findingsOf,
  fakePoolSuite,
  descendantStat,
  eventsOf,
  FakeHolder,
  FakeHost,
  fakeRequest,
  settle,
  type FakeConnection,
  type FakeProcess,
} from '../support/fakeLauncher';

// The reconciler against a fake process table: what the OS says about each
// worker, compared with the lists, scan by scan (no interval, no sleep).

const pools = fakePoolSuite();

const start = pools.start;

async function leased(pool: Pool<FakeConnection>, host: FakeHost, holder = new FakeHolder()): Promise<{ lease: Lease<FakeConnection>; proc: FakeProcess }> {
  const lease = await settle(pool.acquire(fakeRequest(), holder));
  return { lease, proc: host.byPid(lease.workerPid) as FakeProcess };
}

describe('a busy worker the OS says is dead', () => {
  it('reclaim: a zombie is reported as defunct-busy, its lease revoked and its group killed', async () => {
    const { pool, host } = await start({ minWorkers: 1, maxWorkers: 1 });
    const holder = new FakeHolder();
    const { lease, proc } = await leased(pool, host, holder);
    await pool.scan();
    await vi.advanceTimersByTimeAsync(400);
    proc.zombie = true;
    proc.closeSockets();
    await pool.scan();
    const [finding] = findingsOf(pool, 'defunct-busy');
    expect(finding).toMatchObject({
      pid: proc.pid,
      processState: 'Z',
      descendant: null,
      detectionLatencyMs: 400,
      lease: { id: lease.id },
      resolution: { how: 'reclaimed' },
    });
    expect(finding?.message).toBe(
      `worker ${lease.workerId} (pid ${proc.pid}): its process is defunct (zombie) while serving GET /x (/srv/x.php) (lease ${lease.id}, 400 ms)`,
    );
    expect(holder.revocations).toEqual([{ kind: 'worker-retired', reason: 'crashed' }]);
    expect(proc.signals).toEqual(['SIGKILL']);
    expect(pool.snapshot().history.at(-1)).toMatchObject({ id: lease.id, outcome: 'worker-died' });
  });

  it('keep: marks it defunct on the busy list, once, and leaves the lease alone', async () => {
    const { pool, host } = await start({ minWorkers: 1, maxWorkers: 1, leakPolicy: 'keep' });
    const holder = new FakeHolder();
    const { lease, proc } = await leased(pool, host, holder);
    proc.gone = true;
    proc.closeSockets();
    await pool.scan();
    await pool.scan();
    expect(findingsOf(pool, 'defunct-busy')).toHaveLength(1);
    expect(findingsOf(pool, 'defunct-busy')[0]).toMatchObject({ processState: null, resolution: null });
    expect(findingsOf(pool, 'defunct-busy')[0]?.message).toContain(': its process is gone while serving');
    expect(pool.snapshot().workers[0]).toMatchObject({ state: 'busy', defunct: true, lease: { id: lease.id } });
    expect(lease.active).toBe(true);
    expect(holder.revocations).toEqual([]);
    expect(proc.signals).toEqual([]);
  });

  it('never mistakes a reused pid for the worker', async () => {
    const { pool, host } = await start({ minWorkers: 1, maxWorkers: 1 });
    const { proc } = await leased(pool, host);
    proc.reused = true;
    proc.closeSockets();
    await pool.scan();
    expect(findingsOf(pool, 'defunct-busy')[0]?.message).toContain('its process is gone (the pid now belongs to another process)');
  });
});

describe('a busy worker whose process is gone while its connection still holds data', () => {
  it('is not judged by the scan: its exit is, once the connection has delivered what it had', async () => {
    const { pool, host, events } = await start({ minWorkers: 1, maxWorkers: 1 });
    const holder = new FakeHolder();
    const { lease, proc } = await leased(pool, host, holder);
    // php-cgi answered and left after its own request limit: a zombie until
    // Node reaps it, its complete answer still in the socket.
    proc.zombie = true;
    await pool.scan();
    expect(findingsOf(pool, 'defunct-busy')).toEqual([]);
    expect(lease.active).toBe(true);
    // The END_REQUEST is read, the connection closes, and the exit is judged.
    pool.release(lease, 'ok');
    proc.closeSockets();
    proc.die({ code: 0, signal: null });
    expect(eventsOf(events, 'worker-exited')).toMatchObject([{ pid: proc.pid, reason: 'max-requests' }]);
    expect(pool.snapshot().totals.crashed).toBe(0);
    expect(events.some((e) => e.type === 'finding')).toBe(false);
  });
});

describe('an idle worker the OS says is dead', () => {
  it('leaves its list at once, without a finding, and is replaced once its exit says how it ended', async () => {
    const { pool, host, events } = await start({ minWorkers: 1, maxWorkers: 1 });
    const proc = host.processes[0] as FakeProcess;
    proc.gone = true;
    await pool.scan();
    // No signal: it is already gone; its exit decides between a crash and a recycle.
    expect(proc.signals).toEqual([]);
    expect(pool.snapshot().workers.find((w) => w.pid === proc.pid)).toMatchObject({ state: 'error' });
    expect(pool.snapshot().counts).toMatchObject({ idle: 0, total: 1 });
    expect(events.some((e) => e.type === 'finding')).toBe(false);
    proc.die({ code: null, signal: 'SIGSEGV' });
    expect(eventsOf(events, 'worker-exited')).toMatchObject([{ pid: proc.pid, reason: 'crashed' }]);
    expect(pool.snapshot().totals.crashed).toBe(1);
    await vi.advanceTimersByTimeAsync(200);
    expect(pool.snapshot().counts).toMatchObject({ idle: 1, total: 1 });
  });

  it('is killed when its exit does not come within the grace period', async () => {
    const { pool, host } = await start({ minWorkers: 1, maxWorkers: 1, stopGraceMs: 500 });
    const proc = host.processes[0] as FakeProcess;
    proc.gone = true; // the table no longer lists it, but Node never reaps it
    await pool.scan();
    await vi.advanceTimersByTimeAsync(499);
    expect(proc.signals).toEqual([]);
    await vi.advanceTimersByTimeAsync(20);
    expect(proc.signals).toEqual(['SIGKILL']);
    expect(pool.snapshot().counts).toMatchObject({ idle: 1, total: 1 });
  });
});

describe('wrappers and descendants', () => {
  it('finds the php-cgi behind a wrapper that did not exec it, and reports its death while the wrapper lives', async () => {
    const host = new FakeHost();
    host.next.comm = 'php-fastcgi-wra';
    const { pool } = await start({ minWorkers: 1, maxWorkers: 1, leakPolicy: 'keep' }, host);
    const wrapper = host.processes[0] as FakeProcess;
    const php = descendantStat(wrapper.pid + 500, 'php-cgi', 'S', wrapper.pid);
    wrapper.descendants = [php];
    await pool.scan();
    expect(pool.snapshot().workers[0]).toMatchObject({ pid: wrapper.pid, servingPid: php.pid });
    const { lease } = await leased(pool, host);
    wrapper.descendants = [{ ...php, state: 'Z' }];
    wrapper.closeSockets(); // the dead php-cgi's end of the connection
    await pool.scan();
    const [finding] = findingsOf(pool, 'defunct-busy');
    expect(finding).toMatchObject({ pid: wrapper.pid, processState: 'Z', descendant: { pid: php.pid, comm: 'php-cgi', state: 'Z' }, lease: { id: lease.id } });
    expect(finding?.message).toContain(`: its php-cgi (pid ${php.pid}) is defunct (zombie) while serving`);
    expect(pool.snapshot().workers[0]).toMatchObject({ state: 'busy', defunct: true });
  });

  it('reports a defunct descendant of a healthy worker once, and resolves it when it is reaped', async () => {
    const { pool, host } = await start({ minWorkers: 1, maxWorkers: 1 });
    const proc = host.processes[0] as FakeProcess;
    const child = descendantStat(proc.pid + 700, 'sendmail', 'Z', proc.pid);
    proc.descendants = [child];
    await pool.scan();
    await pool.scan();
    expect(findingsOf(pool, 'zombie-descendant')).toHaveLength(1);
    const [finding] = findingsOf(pool, 'zombie-descendant');
    expect(finding).toMatchObject({
      workerId: 'w1',
      processState: 'S',
      descendant: { pid: child.pid, comm: 'sendmail', state: 'Z' },
      lease: null,
      resolution: null,
    });
    expect(finding?.message).toBe(`sendmail (pid ${child.pid}), a descendant of worker w1 (pid ${proc.pid}), is defunct: its parent has not reaped it`);
    proc.descendants = [];
    await pool.scan();
    expect(findingsOf(pool, 'zombie-descendant')[0]?.resolution).toMatchObject({ how: 'descendant-reaped', detail: `pid ${child.pid} was reaped` });
    expect(pool.snapshot().counts.idle).toBe(1);
  });

  it('leaves a worker alone while setpriv is still on its way to exec php-cgi', async () => {
    const host = new FakeHost();
    host.next.comm = 'setpriv';
    const { pool } = await start({ minWorkers: 1, maxWorkers: 1 }, host);
    const proc = host.processes[0] as FakeProcess;
    proc.descendants = [descendantStat(proc.pid + 1, 'php-cgi', 'Z', proc.pid)];
    await pool.scan();
    expect(pool.snapshot().findings).toEqual([]);
    expect(pool.snapshot().workers[0]?.servingPid).toBeNull();
  });

  it('scans hundreds of workers in slices, yielding to the event loop between them', async () => {
    const { pool, host } = await start({ minWorkers: 100, maxWorkers: 100, readyProbeTimeoutMs: 0 });
    expect(pool.snapshot().counts.idle).toBe(100);
    const workers = host.processes.slice();
    for (const proc of workers) proc.gone = true;
    let done = false;
    const scanning = pool.scan().then(() => (done = true));
    await Promise.resolve();
    const retired = (): number => pool.snapshot().workers.filter((w) => w.state === 'error').length;
    // The first slice has been compared, the rest waits for the next turn of the event loop.
    expect(retired()).toBe(32);
    expect(done).toBe(false);
    await settle(scanning);
    expect(retired()).toBe(100);
  });
});
