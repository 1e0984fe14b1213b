import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Pool, PoolSaturatedError, PoolUnavailableError, type Lease, type PoolOptions } from '../../src/pool/pool';
import type { PoolEvent } from '../../src/pool/types';
import { isRunning, phpCgi, RecordingHolder, sleep, waitFor } from '../support/helpers';

const request = { method: 'GET', uri: '/x', scriptFilename: '/srv/x.php', clientAddress: '127.0.0.1' };

let scratch: string;
const pools: Pool[] = [];

function makePool(options: Partial<PoolOptions> = {}): { pool: Pool; events: PoolEvent[] } {
  const pool = new Pool({ phpCgi, cwd: scratch, minWorkers: 1, maxWorkers: 2, ...options });
  const events: PoolEvent[] = [];
  pool.onEvent((event) => events.push(event));
  pools.push(pool);
  return { pool, events };
}

function pidsOf(pool: Pool): number[] {
  return pool
    .snapshot()
    .workers.map((w) => w.pid)
    .filter((pid): pid is number => pid !== null);
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'pool-test-'));
});

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.stop()));
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('Pool with real php-cgi workers', () => {
  it('keeps a new worker on the starting list until php-cgi answers, and starts the minimum one at a time', async () => {
    // A php-cgi that takes 400 ms to load (as a slow extension or a cold disk would).
    const slow = join(scratch, 'slow-start-php-cgi');
    writeFileSync(slow, `#!/bin/sh\nsleep 0.4\nexec ${phpCgi} "$@"\n`);
    chmodSync(slow, 0o755);
    const { pool, events } = makePool({ phpCgi: slow, minWorkers: 2, maxWorkers: 2 });
    const started = pool.start();
    await waitFor(() => pool.snapshot().workers.some((w) => w.pid !== null), 'the first spawn');
    await pool.scan();
    // Spawned and alive, but not yet accepting: not idle.
    const early = pool.snapshot();
    expect(early.counts).toMatchObject({ starting: 1, idle: 0 });
    expect(isRunning(early.workers[0]?.pid as number)).toBe(true);
    await started;
    expect(pool.snapshot().counts).toMatchObject({ idle: 2, starting: 0 });
    const order = events.filter((e) => e.type === 'worker-starting' || e.type === 'worker-ready').map((e) => `${e.type} ${e.workerId}`);
    expect(order).toEqual(['worker-starting w1', 'worker-ready w1', 'worker-starting w2', 'worker-ready w2']);
    // The probe's connection is the worker's kept connection: a request goes straight through.
    const lease = await pool.acquire(request, new RecordingHolder());
    expect(lease.openConnection()).not.toBeNull();
    pool.release(lease, 'ok');
  });

  it('starts the minimum, leases and returns workers, and keeps the lists consistent', async () => {
    const { pool } = makePool({ minWorkers: 2, maxWorkers: 3 });
    await pool.start();
    let snap = pool.snapshot();
    expect(snap.state).toBe('running');
    expect(snap.counts).toMatchObject({ idle: 2, busy: 0, total: 2 });
    for (const pid of pidsOf(pool)) expect(isRunning(pid)).toBe(true);

    const holder = new RecordingHolder();
    const lease = await pool.acquire(request, holder);
    snap = pool.snapshot();
    expect(snap.counts).toMatchObject({ idle: 1, busy: 1 });
    const busy = snap.workers.find((w) => w.state === 'busy');
    expect(busy?.lease).toMatchObject({
      id: lease.id,
      method: 'GET',
      uri: '/x',
      scriptFilename: '/srv/x.php',
      clientAddress: '127.0.0.1',
      holder: 'test holder',
    });
    expect(Object.isFrozen(snap)).toBe(true);
    expect(Object.isFrozen(snap.workers[0])).toBe(true);

    expect(pool.release(lease, 'ok')).toBe(true);
    snap = pool.snapshot();
    expect(snap.counts).toMatchObject({ idle: 2, busy: 0 });
    expect(snap.workers.find((w) => w.id === lease.workerId)?.accesses).toBe(1);
  });

  it('spawns on demand up to the maximum, then queues and hands over in order', async () => {
    const { pool } = makePool({ minWorkers: 0, maxWorkers: 1, queueTimeoutMs: 5_000 });
    await pool.start();
    expect(pool.snapshot().counts.total).toBe(0);
    const first = await pool.acquire(request, new RecordingHolder('a'));
    expect(pool.snapshot().counts.total).toBe(1);
    const order: string[] = [];
    const second = pool.acquire({ ...request, uri: '/second' }, new RecordingHolder('b')).then((l) => (order.push('second'), l));
    const third = pool.acquire({ ...request, uri: '/third' }, new RecordingHolder('c')).then((l) => (order.push('third'), l));
    await pool.scan();
    expect(pool.snapshot().queue.length).toBe(2);
    expect(pool.snapshot().counts.total).toBe(1);
    pool.release(first, 'ok');
    const secondLease = await second;
    expect(secondLease.workerId).toBe(first.workerId);
    pool.release(secondLease, 'ok');
    pool.release(await third, 'ok');
    expect(order).toEqual(['second', 'third']);
    expect(pool.snapshot().queue.length).toBe(0);
  });

  it('does not keep a served waiter (and what its holder references) alive', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const { pool } = makePool({ minWorkers: 1, maxWorkers: 1 });
    await pool.start();
    const first = await pool.acquire(request, new RecordingHolder());
    // The queued holder, its promise and its lease are referenced only inside this function.
    let third: Promise<Lease> | null = null;
    const ref = await (async () => {
      const holder = new RecordingHolder('queued holder');
      const queued = pool.acquire(request, holder);
      // A third waiter keeps the queue non-empty after the second is served.
      third = pool.acquire(request, new RecordingHolder());
      pool.release(first, 'ok');
      pool.release(await queued, 'ok');
      return new WeakRef(holder);
    })();
    for (let i = 0; i < 5 && ref.deref() !== undefined; i++) {
      await sleep(10);
      gc();
    }
    expect(ref.deref()).toBeUndefined();
    pool.release(await (third as unknown as Promise<Lease>), 'ok');
  });

  it('answers a full queue at once and a long wait with PoolSaturatedError', async () => {
    const { pool, events } = makePool({ minWorkers: 1, maxWorkers: 1, maxQueue: 1, queueTimeoutMs: 200 });
    await pool.start();
    const held = await pool.acquire(request, new RecordingHolder());
    const waiting = pool.acquire(request, new RecordingHolder());
    const rejectedAt = Date.now();
    await expect(pool.acquire(request, new RecordingHolder())).rejects.toMatchObject({ reason: 'queue-full' });
    expect(Date.now() - rejectedAt).toBeLessThan(100);
    const error = await waiting.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolSaturatedError);
    expect((error as PoolSaturatedError).reason).toBe('queue-timeout');
    expect(events.filter((e) => e.type === 'queue-rejected').map((e) => (e as { reason: string }).reason)).toEqual(['queue-full', 'queue-timeout']);
    pool.release(held, 'ok');
    expect(pool.snapshot().totals.queueRejected).toBe(2);
  });

  it('reports a double release and keeps the counts right', async () => {
    const { pool, events } = makePool({ minWorkers: 2 });
    await pool.start();
    const lease = await pool.acquire(request, new RecordingHolder());
    expect(pool.release(lease, 'ok')).toBe(true);
    expect(pool.release(lease, 'ok')).toBe(false);
    const protocol = events.filter((e) => e.type === 'lease-protocol-error');
    expect(protocol).toEqual([{ type: 'lease-protocol-error', leaseId: lease.id, workerId: lease.workerId, problem: 'double-release', holder: 'test holder' }]);
    expect(pool.snapshot().counts).toMatchObject({ idle: 2, busy: 0, total: 2 });
    expect(pool.snapshot().workers.find((w) => w.id === lease.workerId)?.accesses).toBe(1);
  });

  it('recycles a worker after max requests, gracefully, and replaces it', async () => {
    const { pool, events } = makePool({ minWorkers: 1, maxWorkers: 1, maxRequests: 2 });
    await pool.start();
    const [firstPid] = pidsOf(pool);
    // Let php-cgi reach its accept loop: only there does SIGTERM mean "exit cleanly".
    await sleep(300);
    for (let i = 0; i < 2; i++) pool.release(await pool.acquire(request, new RecordingHolder()), 'ok');
    await waitFor(() => events.some((e) => e.type === 'worker-exited'), 'the recycled worker to exit');
    const exited = events.find((e) => e.type === 'worker-exited');
    expect(exited).toMatchObject({ reason: 'max-requests', pid: firstPid, accesses: 2, exit: { code: 0, signal: null } });
    await waitFor(() => pool.snapshot().counts.idle === 1, 'a replacement');
    expect(pidsOf(pool)).not.toContain(firstPid);
    expect(isRunning(firstPid as number)).toBe(false);
  });

  it('stops idle workers above the minimum after the idle timeout', async () => {
    const { pool, events } = makePool({ minWorkers: 1, maxWorkers: 3, idleTimeoutMs: 300, maintenanceIntervalMs: 50 });
    await pool.start();
    const leases = await Promise.all([1, 2, 3].map(() => pool.acquire(request, new RecordingHolder())));
    expect(pool.snapshot().counts.busy).toBe(3);
    for (const lease of leases) pool.release(lease, 'ok');
    await waitFor(() => pool.snapshot().counts.total === 1, 'idle workers to be trimmed to the minimum', 3_000);
    expect(events.filter((e) => e.type === 'worker-exited' && e.reason === 'idle-timeout')).toHaveLength(2);
  });

  it('on busy timeout revokes the lease, kills the worker (even a stopped one) and replaces it', async () => {
    const { pool, events } = makePool({ minWorkers: 1, maxWorkers: 1, busyTimeoutMs: 300 });
    await pool.start();
    const holder = new RecordingHolder();
    const lease = await pool.acquire(request, holder);
    const pid = lease.workerPid as number;
    process.kill(pid, 'SIGSTOP');
    await waitFor(() => holder.revocations.length > 0, 'the busy timeout');
    expect(holder.revocations[0]).toEqual({ kind: 'busy-timeout', timeoutMs: 300 });
    await waitFor(() => !isRunning(pid), 'the stopped worker to be killed');
    // The process is gone before Node reaps it and the pool hears of it.
    await waitFor(() => events.some((e) => e.type === 'worker-exited'), 'the exit to be reaped');
    const exited = events.find((e) => e.type === 'worker-exited');
    expect(exited).toMatchObject({ reason: 'busy-timeout', exit: { signal: 'SIGKILL' } });
    await waitFor(() => pool.snapshot().counts.idle === 1, 'a replacement');
    expect(pool.release(lease, 'timeout')).toBe(false);
    expect(events.some((e) => e.type === 'lease-protocol-error')).toBe(false);
  });

  it('notices a worker killed while leased, revokes the lease and replaces the worker', async () => {
    const { pool } = makePool({ minWorkers: 1, maxWorkers: 1 });
    await pool.start();
    const holder = new RecordingHolder();
    const lease = await pool.acquire(request, holder);
    process.kill(lease.workerPid as number, 'SIGKILL');
    await waitFor(() => holder.revocations.length > 0, 'the revocation');
    expect(holder.revocations[0]).toEqual({ kind: 'worker-exited', exit: { code: null, signal: 'SIGKILL' } });
    expect(pool.snapshot().counts.busy).toBe(0);
    await waitFor(() => pool.snapshot().counts.idle === 1, 'a replacement');
    expect(pool.snapshot().recentExits[0]).toMatchObject({ pid: lease.workerPid, reason: 'crashed' });
  });

  it('fails clearly, once, when php-cgi does not exist', async () => {
    const { pool, events } = makePool({ phpCgi: '/nonexistent/php-cgi', minWorkers: 1 });
    const error = await pool.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolUnavailableError);
    expect((error as Error).message).toMatch(/php-cgi not found: \/nonexistent\/php-cgi.*apt-get install php-cgi/);
    // The option at fault is named by id; the CLI and the extension add their own name for it.
    expect((error as PoolUnavailableError).option).toBe('phpCgi');
    await sleep(300);
    expect(events.filter((e) => e.type === 'spawn-failed')).toHaveLength(1);
    expect(pool.snapshot().state).toBe('failed');
    await expect(pool.acquire(request, new RecordingHolder())).rejects.toBeInstanceOf(PoolUnavailableError);
  });

  it('throttles spawning when workers crash at start', async () => {
    const crasher = join(scratch, 'crashing-php-cgi');
    writeFileSync(crasher, '#!/bin/sh\nexit 3\n');
    chmodSync(crasher, 0o755);
    const { pool, events } = makePool({ phpCgi: crasher, minWorkers: 1, maxWorkers: 1 });
    await pool.start();
    await sleep(1_600);
    const spawned = events.filter((e) => e.type === 'worker-starting').length;
    // 100, 200, 400, 800 ms backoff: about five attempts in 1.6 s, not hundreds.
    expect(spawned).toBeGreaterThanOrEqual(3);
    expect(spawned).toBeLessThanOrEqual(7);
    expect(pool.snapshot().spawnBackoff?.consecutiveCrashes).toBeGreaterThanOrEqual(3);
    expect(events.some((e) => e.type === 'spawn-throttled')).toBe(true);
  });

  it('stop() resolves only after every worker has exited and been reaped', async () => {
    const { pool } = makePool({ minWorkers: 3, maxWorkers: 3 });
    await pool.start();
    const lease = await pool.acquire(request, new RecordingHolder());
    const pids = pidsOf(pool);
    expect(pids).toHaveLength(3);
    await pool.stop();
    for (const pid of pids) expect(isRunning(pid)).toBe(false);
    expect(pool.snapshot()).toMatchObject({ state: 'stopped', counts: { total: 0 } });
    expect(lease.active).toBe(false);
  });
});
