import { describe, expect, it, vi } from 'vitest';
import type { PoolOptions } from '../../src/pool/options';
import type { Lease, Pool } from '../../src/pool/pool';
import {
  lendIdle,
  fakePoolSuite,
  eventsOf,
  FakeHolder,
  fakeRequest,
  settle,
  type FakeConnection,
  type FakeHost,
  type FakeProcess,
} from '../support/fakeLauncher';

// A worker's exit, judged once its connection has delivered what it had:
// php-cgi leaving after its last complete answer (its own request limit) is
// a recycle, never a crash; a finding needs a request truly unanswered.
// Against a fake host and a fake clock, in the orders Node can deliver them.

const pools = fakePoolSuite();

async function start(options: Partial<PoolOptions> = {}) {
  const started = await pools.start({ minWorkers: 1, maxWorkers: 1, ...options });
  return started;
}

function lend(pool: Pool<FakeConnection>, host: FakeHost, holder = new FakeHolder()): { lease: Lease<FakeConnection>; proc: FakeProcess } {
  const lease = lendIdle(pool, holder);
  return { lease, proc: host.byPid(lease.workerPid) as FakeProcess };
}

describe('a worker that leaves right after its last answer', () => {
  it('reaped before its END_REQUEST is read: the answer is delivered, then the exit is a recycle (no 502, no finding, no crash)', async () => {
    const { pool, host, events } = await start();
    const holder = new FakeHolder();
    const { lease, proc } = lend(pool, host, holder);
    lease.markFirstByte();
    // php-cgi wrote the whole answer and exited; Node reaps it before reading the socket.
    proc.die({ code: 0, signal: null }, false);
    expect(lease.active).toBe(true);
    expect(holder.revocations).toEqual([]);
    expect(eventsOf(events, 'worker-exited')).toEqual([]);
    // Now the END_REQUEST is read, and then the connection's FIN.
    expect(pool.release(lease, 'ok')).toBe(true);
    proc.closeSockets();
    expect(eventsOf(events, 'worker-exited')).toMatchObject([{ pid: proc.pid, reason: 'max-requests', accesses: 1 }]);
    expect(pool.snapshot()).toMatchObject({ findings: [], totals: { crashed: 0 }, spawnBackoff: null });
    expect(pool.snapshot().history.at(-1)).toMatchObject({ id: lease.id, outcome: 'ok' });
    await vi.advanceTimersByTimeAsync(20);
    expect(pool.snapshot().counts).toMatchObject({ idle: 1, total: 1 });
  });

  it("reaped after it went back to the idle list: a recycle whatever its exit code (php-cgi keeps a script's exit status)", async () => {
    const { pool, host, events } = await start();
    const { lease, proc } = lend(pool, host);
    pool.release(lease, 'ok');
    proc.die({ code: 7, signal: null });
    expect(eventsOf(events, 'worker-exited')).toMatchObject([{ reason: 'max-requests', exit: { code: 7 } }]);
    expect(pool.snapshot().totals.crashed).toBe(0);
  });

  it('a request lent to it in between, never read: the holder is told to try another worker, no finding', async () => {
    const { pool, host, events } = await start({ maxWorkers: 2 });
    const { lease, proc } = lend(pool, host);
    pool.release(lease, 'ok');
    // The same worker is lent again before its FIN is seen; it exits without reading the request.
    const holder = new FakeHolder();
    const again = pool.tryAcquire(fakeRequest('/again'), holder) as Lease<FakeConnection>;
    expect(again.workerPid).toBe(proc.pid);
    proc.die({ code: 0, signal: null });
    proc.closeSockets();
    expect(holder.revocations).toEqual([{ kind: 'worker-left', exit: { code: 0, signal: null } }]);
    expect(again.active).toBe(false);
    expect(pool.snapshot().history.at(-1)).toMatchObject({ id: again.id, outcome: 'error' });
    expect(eventsOf(events, 'worker-exited')).toMatchObject([{ reason: 'max-requests' }]);
    expect(pool.snapshot()).toMatchObject({ findings: [], totals: { crashed: 0 } });
  });

  it('a holder that could not connect to it releases the lease as unreachable: no finding, its exit decides', async () => {
    const { pool, host, events } = await start();
    const first = lend(pool, host);
    pool.release(first.lease, 'ok');
    const { lease, proc } = lend(pool, host);
    pool.release(lease, 'unreachable');
    expect(proc.signals).toEqual([]); // it is leaving on its own
    expect(pool.snapshot().workers[0]).toMatchObject({ state: 'error' });
    proc.die({ code: 0, signal: null });
    expect(eventsOf(events, 'worker-exited')).toMatchObject([{ reason: 'max-requests' }]);
    expect(pool.snapshot()).toMatchObject({ findings: [], totals: { crashed: 0 } });
  });
});

describe("php-cgi's own request limit, learned", () => {
  it('once two workers in a row left after the same number of answers, a worker that reaches it is not lent again', async () => {
    const { pool, host, events } = await start();
    const serveTwiceAndLeave = async (): Promise<FakeProcess> => {
      const lease = await settle(pool.acquire(fakeRequest(), new FakeHolder()));
      const proc = host.byPid(lease.workerPid) as FakeProcess;
      pool.release(lease, 'ok');
      pool.release(pool.tryAcquire(fakeRequest(), new FakeHolder()) as Lease<FakeConnection>, 'ok');
      return proc;
    };
    for (let i = 0; i < 2; i++) {
      const proc = await serveTwiceAndLeave();
      expect(pool.snapshot().workers.find((w) => w.pid === proc.pid)?.state).toBe('idle'); // not known yet
      proc.die({ code: 0, signal: null });
    }
    const third = await serveTwiceAndLeave();
    // Its second answer was its last: it is leaving, no request is lent to it, and no signal is needed.
    expect(pool.snapshot().workers.find((w) => w.pid === third.pid)).toMatchObject({ state: 'error', exitReason: 'max-requests' });
    expect(pool.tryAcquire(fakeRequest(), new FakeHolder())).toBeNull();
    expect(third.signals).toEqual([]);
    third.die({ code: 0, signal: null });
    expect(eventsOf(events, 'worker-exited').map((e) => e.reason)).toEqual(['max-requests', 'max-requests', 'max-requests']);
    expect(pool.snapshot()).toMatchObject({ findings: [], totals: { crashed: 0 } });
  });
});

describe('a request truly unanswered', () => {
  it('the connection closes without END_REQUEST after the exit was reaped: defunct-busy, with the signal', async () => {
    const { pool, host } = await start();
    const holder = new FakeHolder();
    const { lease, proc } = lend(pool, host, holder);
    lease.markFirstByte();
    proc.die({ code: null, signal: 'SIGSEGV' }, false);
    expect(pool.snapshot().findings).toEqual([]); // judged once the connection has delivered what it had
    proc.closeSockets();
    const [finding] = pool.snapshot().findings;
    expect(finding).toMatchObject({ kind: 'defunct-busy', exit: { signal: 'SIGSEGV' }, lease: { id: lease.id }, resolution: { how: 'reclaimed' } });
    expect(holder.revocations).toEqual([{ kind: 'worker-exited', exit: { code: null, signal: 'SIGSEGV' } }]);
    expect(pool.snapshot().totals.crashed).toBe(1);
  });

  it('an exit without a signal after part of the answer came: still a crash and a finding', async () => {
    const { pool, host } = await start();
    const { lease, proc } = lend(pool, host);
    lease.markFirstByte();
    proc.closeSockets();
    proc.die({ code: 255, signal: null });
    expect(pool.snapshot().findings.map((f) => f.kind)).toEqual(['defunct-busy']);
    expect(pool.snapshot().totals.crashed).toBe(1);
  });
});
