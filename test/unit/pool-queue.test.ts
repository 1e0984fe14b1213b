import { describe, expect, it, vi } from 'vitest';
import { PoolSaturatedError, PoolUnavailableError, type Lease } from '../../src/pool/pool';
import { fakePoolSuite, eventsOf, FakeHolder, fakeRequest, settle, type FakeConnection } from '../support/fakeLauncher';

// The wait queue against a fake host and a fake clock: order, limits and
// timeouts to the millisecond, without a process or a real sleep.

const pools = fakePoolSuite();

const start = pools.start;

describe('the wait queue', () => {
  it('hands a freed worker to the waiters first come, first served, and lets nobody jump the queue', async () => {
    const { pool } = await start({ minWorkers: 1, maxWorkers: 1 });
    const first = pool.tryAcquire(fakeRequest('/1'), new FakeHolder('a')) as Lease<FakeConnection>;
    const served: string[] = [];
    const waiting = ['b', 'c', 'd'].map((name) =>
      pool.acquire(fakeRequest(`/${name}`), new FakeHolder(name)).then((lease) => {
        served.push(name);
        return lease;
      }),
    );
    expect(pool.snapshot().queue.length).toBe(3);
    expect(pool.snapshot().counts.total).toBe(1); // at the maximum: nobody spawns
    // While others wait, the synchronous path does not take the worker.
    expect(pool.tryAcquire(fakeRequest('/cheat'), new FakeHolder('e'))).toBeNull();

    pool.release(first, 'ok');
    let previous = first;
    for (const [i, name] of ['b', 'c', 'd'].entries()) {
      const lease = await (waiting[i] as Promise<Lease<FakeConnection>>);
      expect(lease.request.uri).toBe(`/${name}`);
      expect(lease.workerId).toBe(first.workerId);
      pool.release(lease, 'ok');
      previous = lease;
    }
    expect(served).toEqual(['b', 'c', 'd']);
    expect(pool.snapshot().queue).toEqual({ length: 0, oldestWaitMs: 0 });
    expect(pool.snapshot().workers[0]?.accesses).toBe(4);
    expect(previous.active).toBe(false);
  });

  it('answers a full queue at once with queue-full, and counts it', async () => {
    const { pool, events } = await start({ minWorkers: 1, maxWorkers: 1, maxQueue: 2 });
    const held = pool.tryAcquire(fakeRequest(), new FakeHolder()) as Lease<FakeConnection>;
    const waiters = [pool.acquire(fakeRequest('/w1'), new FakeHolder()), pool.acquire(fakeRequest('/w2'), new FakeHolder())];
    const error = await pool.acquire(fakeRequest('/full'), new FakeHolder()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolSaturatedError);
    expect(error).toMatchObject({ reason: 'queue-full', waitedMs: 0 });
    expect((error as Error).message).toBe('all 1 workers are busy and 2 requests are already waiting');
    expect(eventsOf(events, 'queue-rejected')).toEqual([{ type: 'queue-rejected', reason: 'queue-full', waitedMs: 0, uri: '/full' }]);
    expect(pool.snapshot().totals.queueRejected).toBe(1);
    expect(pool.snapshot().queue.length).toBe(2);
    pool.release(held, 'ok');
    pool.release(await (waiters[0] as Promise<Lease<FakeConnection>>), 'ok');
    pool.release(await (waiters[1] as Promise<Lease<FakeConnection>>), 'ok');
  });

  it('rejects each waiter exactly at its queue timeout, with one timer re-armed for the next', async () => {
    const { pool, events } = await start({ minWorkers: 1, maxWorkers: 1, queueTimeoutMs: 500 });
    const held = pool.tryAcquire(fakeRequest(), new FakeHolder()) as Lease<FakeConnection>;
    const outcomes: string[] = [];
    const track = (name: string, promise: Promise<Lease<FakeConnection>>) =>
      promise.then(
        () => outcomes.push(`${name} served`),
        (error: PoolSaturatedError) => outcomes.push(`${name} ${error.reason} after ${error.waitedMs} ms`),
      );
    const early = track('early', pool.acquire(fakeRequest('/early'), new FakeHolder()));
    await vi.advanceTimersByTimeAsync(200);
    const late = track('late', pool.acquire(fakeRequest('/late'), new FakeHolder()));
    expect(pool.snapshot().queue).toEqual({ length: 2, oldestWaitMs: 200 });

    await vi.advanceTimersByTimeAsync(299);
    expect(outcomes).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(outcomes).toEqual(['early queue-timeout after 500 ms']);
    await vi.advanceTimersByTimeAsync(199);
    expect(outcomes).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await Promise.all([early, late]);
    expect(outcomes).toEqual(['early queue-timeout after 500 ms', 'late queue-timeout after 500 ms']);
    expect(eventsOf(events, 'queue-rejected').map((e) => [e.reason, e.uri, e.waitedMs])).toEqual([
      ['queue-timeout', '/early', 500],
      ['queue-timeout', '/late', 500],
    ]);
    expect(pool.snapshot().totals.queueRejected).toBe(2);
    expect(pool.snapshot().queue.length).toBe(0);
    pool.release(held, 'ok');
    expect(pool.snapshot().counts).toMatchObject({ idle: 1, busy: 0 });
  });

  it('withdraws a waiter by its holder or its AbortSignal, and skips it when a worker frees up', async () => {
    const { pool } = await start({ minWorkers: 1, maxWorkers: 1 });
    const held = pool.tryAcquire(fakeRequest(), new FakeHolder()) as Lease<FakeConnection>;
    const leaving = new FakeHolder('leaving');
    const withdrawn = pool.acquire(fakeRequest('/leaving'), leaving).catch((e: Error) => e.message);
    const controller = new AbortController();
    const aborted = pool.acquire(fakeRequest('/aborted'), new FakeHolder(), controller.signal).catch((e: Error) => e.message);
    const staying = pool.acquire(fakeRequest('/staying'), new FakeHolder('staying'));
    expect(pool.snapshot().queue.length).toBe(3);

    expect(pool.withdraw(leaving)).toBe(true);
    expect(pool.withdraw(leaving)).toBe(false);
    controller.abort();
    expect(await withdrawn).toBe('the client went away while waiting for a worker');
    expect(await aborted).toBe('the client went away while waiting for a worker');
    expect(pool.snapshot().queue.length).toBe(1);
    expect(pool.withdraw(new FakeHolder('never queued'))).toBe(false);

    pool.release(held, 'ok');
    const lease = await staying;
    expect(lease.holder.description).toBe('staying');
    pool.release(lease, 'ok');
  });

  it('keeps first come, first served while a long queue keeps moving, grows and loses waiters from its middle', async () => {
    const { pool } = await start({ minWorkers: 1, maxWorkers: 1, maxQueue: 1_000 });
    let held = pool.tryAcquire(fakeRequest('/0'), new FakeHolder('0')) as Lease<FakeConnection>;
    const served: string[] = [];
    const expected: string[] = [];
    const gone: string[] = [];
    const holders = new Map<string, FakeHolder>();
    let next = 1;
    const join = (count: number): void => {
      for (let i = 0; i < count; i++) {
        const name = String(next++);
        const holder = new FakeHolder(name);
        holders.set(name, holder);
        void pool.acquire(fakeRequest(`/${name}`), holder).then(
          (lease) => {
            served.push(lease.holder.description);
            held = lease;
          },
          () => gone.push(name),
        );
      }
    };
    // Rounds of: some join, some in the middle leave, some are served; the
    // queue wraps around its storage and outgrows it several times.
    for (let round = 0; round < 12; round++) {
      const firstNew = next;
      join(5 + round * 3);
      const leaving = String(firstNew + 2);
      expect(pool.withdraw(holders.get(leaving) as FakeHolder)).toBe(true);
      for (let i = 0; i < 4; i++) {
        pool.release(held, 'ok');
        await Promise.resolve();
        await Promise.resolve();
      }
    }
    // Then everyone still waiting is served, in order.
    while (pool.snapshot().queue.length > 0) {
      pool.release(held, 'ok');
      await Promise.resolve();
      await Promise.resolve();
    }
    await Promise.resolve();
    for (let n = 1; n < next; n++) if (!gone.includes(String(n))) expected.push(String(n));
    expect(gone).toHaveLength(12);
    expect(served).toEqual(expected);
    pool.release(held, 'ok');
  });

  it('rejects every waiter when the pool stops, and refuses new ones once stopped', async () => {
    const { pool } = await start({ minWorkers: 1, maxWorkers: 1 });
    pool.tryAcquire(fakeRequest(), new FakeHolder());
    const waiting = pool.acquire(fakeRequest('/w'), new FakeHolder()).catch((e: unknown) => e);
    const stopping = pool.stop();
    expect(await waiting).toBeInstanceOf(PoolUnavailableError);
    await settle(stopping);
    const refused = await pool.acquire(fakeRequest('/late'), new FakeHolder()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PoolUnavailableError);
    expect((refused as Error).message).toBe('the pool is stopped');
  });
});
