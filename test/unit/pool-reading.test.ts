import { describe, expect, it, vi } from 'vitest';
import type { Pool } from '../../src/pool/pool';
import type { Finding } from '../../src/pool/types';
import { fakePoolSuite, FakeHolder, FakeHost, fakeRequest, settle, type FakeConnection, type FakeProcess } from '../support/fakeLauncher';

/**
 * A host that reads the process table once per scan (PoolHost.readProcesses),
 * as the portable Unix and Windows platforms do: the reading takes
 * `readingMs` (a `ps` call on a busy machine) and reflects the table as it
 * was when it was taken.
 */
class ReadingHost extends FakeHost {
  readingMs = 300;
  fail = false;
  readonly readings: Array<readonly number[]> = [];

  readProcesses(pids: readonly number[]): Promise<Pick<FakeHost, 'inspect' | 'descendants'>> {
    this.readings.push([...pids]);
    const taken = new Map(pids.map((pid) => [pid, this.inspect(pid, null)]));
    return new Promise((resolve, reject) =>
      setTimeout(() => {
        if (this.fail) reject(new Error('ps: cannot run'));
        else resolve({ inspect: (pid) => taken.get(pid) ?? { status: 'gone', reused: false }, descendants: () => [] });
      }, this.readingMs),
    );
  }
}

const pools = fakePoolSuite();
const findings = (pool: Pool<FakeConnection>, kind: Finding['kind']): readonly Finding[] => pool.snapshot().findings.filter((f) => f.kind === kind);

async function start(host: ReadingHost, minWorkers = 2) {
  const started = await pools.start({ minWorkers, maxWorkers: 3 }, host);
  return started;
}

describe('one reading of the process table per scan', () => {
  it('asks once for every worker, and finds a dead busy one in it', async () => {
    const host = new ReadingHost();
    const { pool } = await start(host);
    const lease = await settle(pool.acquire(fakeRequest(), new FakeHolder()));
    const pids = host.processes.map((p) => p.pid);
    const dead = host.byPid(lease.workerPid) as FakeProcess;
    dead.gone = true;
    dead.closeSockets(); // a process that is gone has no sockets left
    await settle(pool.scan());
    expect(host.readings).toEqual([pids]);
    expect(findings(pool, 'defunct-busy')).toHaveLength(1);
  });

  it('a reading that failed reports nothing: "could not ask" never reads as "gone"', async () => {
    const host = new ReadingHost();
    const { pool } = await start(host);
    await settle(pool.acquire(fakeRequest(), new FakeHolder()));
    host.fail = true;
    await settle(pool.scan());
    expect(pool.snapshot().findings).toEqual([]);
    expect(pool.snapshot().counts).toMatchObject({ busy: 1, idle: 1, error: 0 });
  });

  it('does not judge a worker that started while the reading was under way', async () => {
    const host = new ReadingHost();
    const { pool } = await start(host, 1);
    const scanning = pool.scan();
    // A second worker starts (on demand) while the reading is taken without it.
    const first = await settle(pool.acquire(fakeRequest('/a'), new FakeHolder()));
    const second = await settle(pool.acquire(fakeRequest('/b'), new FakeHolder()));
    await settle(scanning);
    expect(host.readings[0]).toEqual([first.workerPid]);
    expect(second.workerPid).not.toBe(first.workerPid);
    expect(pool.snapshot().findings).toEqual([]);
    expect(pool.snapshot().counts.busy).toBe(2);
  });

  it('finds an ended holder without waiting for a slow reading', async () => {
    const host = new ReadingHost();
    host.readingMs = 5_000;
    const { pool } = await start(host);
    const holder = new FakeHolder();
    await settle(pool.acquire(fakeRequest(), holder));
    holder.active = false;
    const scanning = pool.scan();
    await vi.advanceTimersByTimeAsync(0);
    expect(findings(pool, 'holder-gone')).toHaveLength(1);
    await settle(scanning, 10_000);
    expect(findings(pool, 'holder-gone')).toHaveLength(1);
  });

  it('looks at ended holders at every scan, even while the last one still waits for its reading', async () => {
    const host = new ReadingHost();
    host.readingMs = 5_000;
    const { pool } = await start(host);
    const holder = new FakeHolder();
    await settle(pool.acquire(fakeRequest(), holder));
    const slow = pool.scan();
    await vi.advanceTimersByTimeAsync(1_000);
    holder.active = false;
    await pool.scan(); // the next tick: the first scan still waits
    expect(findings(pool, 'holder-gone')).toHaveLength(1);
    expect(host.readings).toHaveLength(1);
    await settle(slow, 10_000);
  });
});
