import { describe, expect, it, vi } from 'vitest';
import type { PoolOptions } from '../../src/pool/options';
import type { Lease, Pool } from '../../src/pool/pool';
import { CANARY_QUIET_MS, SAMPLE_AFTER_MS, SAMPLE_EVERY_MS, SAMPLE_TICK_MS } from '../../src/pool/stackWatch';
import {
  lendIdle,
  findingsOf,
  fakePoolSuite,
  eventsOf,
  FakeHolder,
  FakeHost,
  fakeRequest,
  FakeStacks,
  settle,
  type FakeConnection,
} from '../support/fakeLauncher';

// When the pool reads its busy workers' PHP stacks, on a fake host and a
// fake clock: the canary at start, the once-a-second schedule for leases
// older than a second, the slowlog timeout, the read before a busy-timeout
// kill and the last stack a defunct-busy finding carries.

const pools = fakePoolSuite();

async function start(options: Partial<PoolOptions> = {}, configure: (stacks: FakeStacks) => void = () => undefined) {
  const host = new FakeHost();
  const stacks = new FakeStacks();
  configure(stacks);
  host.stacks = stacks;
  const started = await pools.start({ minWorkers: 2, maxWorkers: 4, ...options }, host);
  return { ...started, stacks };
}

/** Starts a pool and lets its canary pass. */
async function startChecked(options: Partial<PoolOptions> = {}, configure?: (stacks: FakeStacks) => void) {
  const started = await start(options, configure);
  await settle(started.pool.stacks.whenChecked());
  return started;
}

function lend(pool: Pool<FakeConnection>, uri = '/x', holder = new FakeHolder()): Lease<FakeConnection> {
  return lendIdle(pool, holder, uri);
}

describe('the canary', () => {
  it('runs as a request on a leased worker once the pool is quiet, counting in nothing, and turns stacks on', async () => {
    const { pool, stacks, events } = await start();
    expect(pool.snapshot().stacks).toEqual({ state: 'checking', reason: null });
    const startedAt = Date.now();
    const status = await settle(pool.stacks.whenChecked());
    expect(status).toEqual({ state: 'on', reason: null });
    expect(stacks.canaryRuns).toHaveLength(1);
    const run = stacks.canaryRuns[0]!;
    expect(run.at - startedAt).toBeGreaterThanOrEqual(CANARY_QUIET_MS);
    expect(run.connectionOpen).toBe(true);
    // It was a lease like any other while it ran: its worker was busy …
    expect(
      eventsOf(events, 'worker-state')
        .filter((e) => e.pid === run.pid)
        .map((e) => `${e.from}→${e.to}`),
    ).toEqual(['starting→idle', 'idle→busy', 'busy→idle']);
    // … but it counts in no total, no history and no worker's accesses.
    const snapshot = pool.snapshot();
    expect(snapshot.totals.requests).toBe(0);
    expect(snapshot.history).toEqual([]);
    expect(snapshot.workers.map((w) => w.accesses)).toEqual([0, 0]);
    expect(snapshot.counts).toMatchObject({ idle: 2, busy: 0 });
    expect(eventsOf(events, 'lease-acquired')).toEqual([]);
    expect(eventsOf(events, 'stacks-status')).toEqual([{ type: 'stacks-status', status: { state: 'on', reason: null } }]);
    expect(snapshot.stacks).toEqual({ state: 'on', reason: null });
  });

  it('waits while requests keep coming, and while no worker is idle', async () => {
    const { pool, stacks } = await start({ minWorkers: 1, maxWorkers: 1 });
    // A request every 100 ms for a second: never quiet for long enough.
    for (let i = 0; i < 10; i++) {
      pool.release(lend(pool), 'ok');
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(stacks.canaryRuns).toEqual([]);
    // Then the only worker is busy for 2 s: quiet, but nothing idle to lease.
    const long = lend(pool);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(stacks.canaryRuns).toEqual([]);
    expect(pool.snapshot().stacks.state).toBe('checking');
    pool.release(long, 'ok');
    expect(await settle(pool.stacks.whenChecked())).toMatchObject({ state: 'on' });
    expect(stacks.canaryRuns).toHaveLength(1);
    expect(pool.snapshot().totals.requests).toBe(11);
  });

  it('makes a request that comes while it runs wait the few milliseconds, rather than start a worker', async () => {
    const { pool, stacks, host } = await start({ minWorkers: 1, maxWorkers: 2 }, (s) => (s.canaryMs = 30));
    await vi.advanceTimersByTimeAsync(CANARY_QUIET_MS + 5);
    expect(stacks.canaryRuns).toHaveLength(1);
    const waiting = pool.acquire(fakeRequest('/during-canary'), new FakeHolder());
    const lease = await settle(waiting);
    expect(lease.workerPid).toBe(stacks.canaryRuns[0]!.pid);
    expect(Date.now() - stacks.canaryRuns[0]!.at).toBeGreaterThanOrEqual(30);
    expect(host.calls.launch).toBe(1);
  });

  it('turns stacks off with one event when the stack read back wrong; nothing else changes', async () => {
    const message = "live PHP stacks are off: the canary's stack read back wrong (frame 1: expected FastCgiPoolCanary::hold(), read x())";
    const { pool, stacks, events, host } = await start({}, (s) => (s.canary = { ok: false, message, requestEnded: true }));
    expect(await settle(pool.stacks.whenChecked())).toEqual({ state: 'off', reason: message });
    expect(eventsOf(events, 'stacks-status')).toEqual([{ type: 'stacks-status', status: { state: 'off', reason: message } }]);
    // The canary's worker went back to the idle list; no finding, no exit, no spawn.
    expect(pool.snapshot().counts).toMatchObject({ idle: 2, busy: 0, total: 2 });
    expect(pool.snapshot().findings).toEqual([]);
    expect(host.calls.launch).toBe(2);
    // Requests are served as before; a read shows the wait reason and says why there is no stack.
    const lease = lend(pool);
    const read = pool.stacks.readWorker(lease.workerId);
    expect(read).toMatchObject({ leaseId: lease.id, stack: null, stackError: message, wait: { state: 'sleeping', syscall: 'nanosleep' } });
    expect(stacks.canaryRuns).toHaveLength(1);
  });

  it('retires the worker when the canary request did not end cleanly', async () => {
    const { pool, stacks, host } = await start({}, (s) => (s.canary = { ok: false, message: 'live PHP stacks are off: x', requestEnded: false }));
    await settle(pool.stacks.whenChecked());
    const canaryPid = stacks.canaryRuns[0]!.pid;
    expect(host.byPid(canaryPid)?.signals).toEqual(['SIGKILL']);
    await vi.advanceTimersByTimeAsync(100);
    expect(pool.snapshot().counts).toMatchObject({ idle: 2, total: 2 });
    expect(pool.snapshot().workers.map((w) => w.pid)).not.toContain(canaryPid);
  });

  it('is skipped where stacks cannot be read at all; the reason is the status and reads still give the wait', async () => {
    const reason = "live PHP stacks need Linux's /proc (this system is darwin)";
    const { pool, stacks, events } = await start({}, (s) => {
      s.unavailable = reason;
      s.cheapWaits = false;
    });
    expect(pool.snapshot().stacks).toEqual({ state: 'off', reason });
    expect(eventsOf(events, 'stacks-status')).toEqual([{ type: 'stacks-status', status: { state: 'off', reason } }]);
    const lease = lend(pool);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(stacks.canaryRuns).toEqual([]);
    // `ps` is too slow for the schedule: no read until one is asked for.
    expect(stacks.reads).toEqual([]);
    expect(pool.stacks.readWorker(lease.workerId)).toMatchObject({ stack: null, stackError: reason, wait: { state: 'sleeping' } });
  });
});

describe('the once-a-second schedule', () => {
  it('reads a lease only once it is a second old, then at most once a second, at most a tick late', async () => {
    const { pool, stacks } = await startChecked();
    stacks.reads.length = 0;
    const lease = lend(pool);
    await vi.advanceTimersByTimeAsync(SAMPLE_AFTER_MS - 10);
    expect(stacks.reads).toEqual([]);
    await vi.advanceTimersByTimeAsync(4_010);
    const ages = stacks.reads.map((r) => r.at - lease.acquiredAt);
    expect(ages.length).toBeGreaterThanOrEqual(3);
    expect(ages[0]).toBeGreaterThanOrEqual(SAMPLE_AFTER_MS);
    expect(ages[0]).toBeLessThanOrEqual(SAMPLE_AFTER_MS + SAMPLE_TICK_MS);
    for (let i = 1; i < ages.length; i++) {
      expect(ages[i]! - ages[i - 1]!).toBeGreaterThanOrEqual(SAMPLE_EVERY_MS);
      expect(ages[i]! - ages[i - 1]!).toBeLessThanOrEqual(SAMPLE_EVERY_MS + SAMPLE_TICK_MS);
    }
    // The worker's CPU time read while it was idle is the lease's baseline: the reads count from it.
    expect(new Set(stacks.reads.map((r) => r.baseline))).toEqual(new Set([0]));
    expect(pool.stacks.lastReads().get(lease.workerId)).toMatchObject({
      leaseId: lease.id,
      stack: [{ function: 'usleep' }, { function: 'work' }, { function: '{main}' }],
    });
  });

  it("takes a lease's CPU baseline off the request's path: exact from an idle reading, else at the next tick", async () => {
    const { pool, stacks } = await startChecked({ minWorkers: 1, maxWorkers: 1 });
    const pid = pool.snapshot().workers[0]!.pid!;
    // Idle since the canary: the tick after it read the worker's CPU time (40), the baseline of its next lease.
    stacks.cpu.set(pid, 40);
    await vi.advanceTimersByTimeAsync(SAMPLE_TICK_MS);
    const first = lend(pool);
    stacks.cpu.set(pid, 700);
    expect(pool.stacks.readWorker(first.workerId)).toMatchObject({ leaseId: first.id });
    expect(stacks.reads.at(-1)?.baseline).toBe(40);
    // Released and lent again in the same turn: no idle reading in between, so the next tick takes it.
    pool.release(first, 'ok');
    const second = lend(pool);
    stacks.cpu.set(pid, 710);
    await vi.advanceTimersByTimeAsync(SAMPLE_TICK_MS);
    stacks.cpu.set(pid, 900);
    pool.stacks.readWorker(second.workerId);
    expect(stacks.reads.at(-1)?.baseline).toBe(710);
    // A tick after the last lease ended reads the freed worker, and then the ticking stops.
    pool.release(second, 'ok');
    stacks.cpu.set(pid, 950);
    await vi.advanceTimersByTimeAsync(SAMPLE_TICK_MS * 4);
    const third = lend(pool);
    stacks.cpu.set(pid, 1_000);
    pool.stacks.readWorker(third.workerId);
    expect(stacks.reads.at(-1)?.baseline).toBe(950);
    pool.release(third, 'ok');
    await vi.advanceTimersByTimeAsync(SAMPLE_TICK_MS * 2);
    const cpuReads = stacks.cpuReads;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(stacks.cpuReads).toBe(cpuReads);
  });

  it('never reads a short request, and stops reading when the lease ends', async () => {
    const { pool, stacks } = await startChecked();
    stacks.reads.length = 0;
    for (let i = 0; i < 20; i++) {
      const lease = lend(pool);
      await vi.advanceTimersByTimeAsync(900);
      pool.release(lease, 'ok');
      await vi.advanceTimersByTimeAsync(50);
    }
    expect(stacks.reads).toEqual([]);
    const long = lend(pool);
    await vi.advanceTimersByTimeAsync(2_500);
    const count = stacks.reads.length;
    expect(count).toBeGreaterThan(0);
    pool.release(long, 'ok');
    await vi.advanceTimersByTimeAsync(5_000);
    expect(stacks.reads).toHaveLength(count);
  });

  it('reads sixteen busy workers once a second each, one read per event-loop turn', async () => {
    const { pool, stacks } = await startChecked({ minWorkers: 16, maxWorkers: 16 });
    stacks.reads.length = 0;
    const leases = Array.from({ length: 16 }, (_, i) => lend(pool, `/busy/${i}`));
    await vi.advanceTimersByTimeAsync(5_000);
    const byPid = new Map<number, number[]>();
    for (const read of stacks.reads) byPid.set(read.pid, [...(byPid.get(read.pid) ?? []), read.at]);
    expect([...byPid.keys()].sort()).toEqual(leases.map((l) => l.workerPid).sort());
    for (const times of byPid.values()) {
      expect(times.length).toBeGreaterThanOrEqual(3);
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(SAMPLE_EVERY_MS);
    }
    expect(stacks.reads.filter((r) => r.sameTurn)).toEqual([]);
  });

  it('takes no read while the canary has not decided, and reads wait reasons alone once stacks are off', async () => {
    const { pool, stacks } = await start(
      { minWorkers: 1, maxWorkers: 2 },
      (s) => (s.canary = { ok: false, message: 'live PHP stacks are off: wrong', requestEnded: true }),
    );
    // Busy from the start: the canary cannot run while nothing is idle and quiet.
    const lease = lend(pool);
    const other = await settle(pool.acquire(fakeRequest('/y'), new FakeHolder()));
    await vi.advanceTimersByTimeAsync(3_000);
    expect(stacks.reads).toEqual([]);
    pool.release(other, 'ok');
    await settle(pool.stacks.whenChecked());
    await vi.advanceTimersByTimeAsync(2_500);
    expect(stacks.reads.length).toBeGreaterThan(0);
    expect(pool.stacks.lastReads().get(lease.workerId)).toMatchObject({
      stack: null,
      stackError: 'live PHP stacks are off: wrong',
      wait: { syscall: 'nanosleep' },
    });
  });
});

describe('findings that carry a stack', () => {
  it('raises slow-request once per lease past the slowlog timeout, with the stack read then; it resolves when the request ends', async () => {
    const { pool, stacks } = await startChecked({ slowlogTimeoutMs: 2_000 });
    const quick = lend(pool, '/quick');
    await vi.advanceTimersByTimeAsync(1_500);
    pool.release(quick, 'ok');
    const slow = lend(pool, '/slow');
    await vi.advanceTimersByTimeAsync(6_000);
    const [finding, ...more] = findingsOf(pool, 'slow-request');
    expect(more).toEqual([]);
    expect(finding).toMatchObject({
      kind: 'slow-request',
      lease: { id: slow.id, uri: '/slow' },
      stackAgeMs: 0,
      stack: [{ function: 'usleep', internal: true }, { function: 'work', file: `/srv/${slow.workerPid}.php`, line: 7 }, { function: '{main}' }],
      wait: { state: 'sleeping', syscall: 'nanosleep' },
      resolution: null,
    });
    expect(finding!.detectedAt - slow.acquiredAt).toBe(2_000);
    expect(finding!.message).toBe(
      `worker ${slow.workerId} (pid ${slow.workerPid}) has been busy with GET /slow (/srv/x.php) for 2.0 s, past the slowlog timeout of 2.0 s`,
    );
    expect(stacks.reads.some((r) => r.at === finding!.detectedAt)).toBe(true);
    pool.release(slow, 'ok');
    expect(findingsOf(pool, 'slow-request')[0]?.resolution?.how).toBe('released');
  });

  it('raises no slow-request when the slowlog timeout is off (0)', async () => {
    const { pool } = await startChecked({ slowlogTimeoutMs: 0 });
    lend(pool);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(findingsOf(pool, 'slow-request')).toEqual([]);
  });

  it('reads the stack just before a busy-timeout kill and puts it on the finding', async () => {
    const { pool, stacks, host } = await startChecked({ busyTimeoutMs: 3_000 });
    const lease = lend(pool, '/hang');
    const proc = host.byPid(lease.workerPid)!;
    const signalsAtRead: string[][] = [];
    stacks.onRead = (pid) => {
      if (pid === proc.pid) signalsAtRead.push([...proc.signals]);
    };
    stacks.stackOf = () => ({
      ok: true,
      frames: [{ function: 'spin', class: 'Hasher', type: '->', file: '/srv/hang.php', line: 9, internal: false, address: '0x1' }],
      truncated: false,
      stopped: true,
    });
    await vi.advanceTimersByTimeAsync(3_100);
    const [finding] = findingsOf(pool, 'busy-timeout');
    expect(finding).toMatchObject({
      stack: [{ function: 'spin', class: 'Hasher', file: '/srv/hang.php', line: 9 }],
      stackAgeMs: 0,
      wait: { state: 'sleeping' },
    });
    expect(Object.keys(finding!.stack![0]!)).toEqual(['function', 'class', 'file', 'line', 'internal', 'type', 'address']);
    // Read while the worker still ran; killed after.
    expect(signalsAtRead.at(-1)).toEqual([]);
    expect(proc.signals).toEqual(['SIGKILL']);
    expect(finding!.resolution?.how).toBe('reclaimed');
  });

  it('gives a defunct-busy finding the last stack seen of that lease, with its age', async () => {
    const { pool, host, stacks } = await startChecked();
    const lease = lend(pool, '/die');
    await vi.advanceTimersByTimeAsync(3_600);
    const lastRead = stacks.reads.filter((r) => r.pid === lease.workerPid).at(-1)!;
    host.byPid(lease.workerPid)!.die({ code: null, signal: 'SIGSEGV' });
    const [finding] = findingsOf(pool, 'defunct-busy');
    expect(finding).toMatchObject({ lease: { id: lease.id }, stack: [{ function: 'usleep' }, { function: 'work' }, { function: '{main}' }] });
    expect(finding!.stackAgeMs).toBe(finding!.detectedAt - lastRead.at);
    expect(finding!.stackAgeMs).toBeLessThanOrEqual(SAMPLE_EVERY_MS + SAMPLE_TICK_MS);
    expect(stacks.forgotten).toContain(lease.workerPid);
  });

  it('never gives a finding the stack of an earlier lease on the same worker', async () => {
    const { pool, host } = await startChecked({ minWorkers: 1, maxWorkers: 1 });
    const first = lend(pool);
    await vi.advanceTimersByTimeAsync(2_000);
    pool.release(first, 'ok');
    const second = lend(pool);
    expect(second.workerId).toBe(first.workerId);
    await vi.advanceTimersByTimeAsync(300);
    // A crash (a clean exit before the first byte would be php-cgi leaving on its own: no finding at all).
    host.byPid(second.workerPid)!.die({ code: null, signal: 'SIGSEGV' });
    const [finding] = findingsOf(pool, 'defunct-busy');
    expect(finding?.lease?.id).toBe(second.id);
    expect(finding).not.toHaveProperty('stack');
    expect(finding).not.toHaveProperty('stackAgeMs');
  });
});

describe('reads on demand', () => {
  it('reads every leased worker, one per turn, and nothing after the pool stopped', async () => {
    const { pool, stacks } = await startChecked({ minWorkers: 3, maxWorkers: 3 });
    const leases = [lend(pool, '/a'), lend(pool, '/b')];
    stacks.reads.length = 0;
    const reads = await settle(pool.stacks.readAll());
    expect([...reads.keys()].sort()).toEqual(leases.map((l) => l.workerId).sort());
    expect([...reads.values()].map((r) => r.leaseId).sort()).toEqual(leases.map((l) => l.id).sort());
    expect(stacks.reads.filter((r) => r.sameTurn)).toEqual([]);
    await settle(pool.stop());
    const count = stacks.reads.length;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(stacks.reads).toHaveLength(count);
  });
});
