import { describe, expect, it } from 'vitest';
import { afterRelease } from '../../src/pool/afterRelease';
import { Capacity } from '../../src/pool/capacity';
import type { WorkerConnection } from '../../src/pool/host';
import { defaultPoolOptions, type PoolOptions } from '../../src/pool/options';
import { Worker, type WorkerOwner } from '../../src/pool/worker';
import { stateLists } from '../../src/pool/workerList';

const owner = {} as WorkerOwner<WorkerConnection>;

function setup(limits: Partial<PoolOptions>, idle: number[], busy = 0) {
  const lists = stateLists<Worker<WorkerConnection>>();
  const sources = { sessions: 0, canary: 0, waiting: 0 };
  idle.forEach((lastActiveAt, i) => {
    const worker = new Worker<WorkerConnection>(`i${i}`, owner);
    worker.lastActiveAt = lastActiveAt;
    lists.idle.push(worker);
  });
  for (let i = 0; i < busy; i++) lists.busy.push(new Worker<WorkerConnection>(`b${i}`, owner));
  const capacity = new Capacity(
    lists,
    { ...defaultPoolOptions, cwd: '/', ...limits },
    {
      debugSessions: () => sources.sessions,
      canaryWorkers: () => sources.canary,
      waiting: () => sources.waiting,
    },
  );
  const retireAll = (now: number) => {
    const gone: string[] = [];
    for (const { worker, reason } of capacity.idleToRetire(now)) {
      gone.push(`${worker.id}:${reason}`);
      lists.error.push(worker);
    }
    return gone;
  };
  return { lists, sources, capacity, retireAll };
}

describe('the capacity count', () => {
  it('spawns up to the minimum once running, for the waiters no idle worker takes, never past the maximum (plus one spare while debugging)', () => {
    const { sources, capacity } = setup({ minWorkers: 3, maxWorkers: 4 }, [0], 1);
    expect(capacity.live).toBe(2);
    expect(capacity.toSpawn(true)).toBe(1); // up to the minimum
    expect(capacity.toSpawn(false)).toBe(0); // start() brings a starting pool there itself
    sources.waiting = 5;
    expect(capacity.toSpawn(true)).toBe(2); // the maximum caps the demand
    sources.sessions = 1;
    expect(capacity.max).toBe(5);
    expect(capacity.toSpawn(true)).toBe(3);
    sources.canary = 1; // the canary's worker comes back within milliseconds
    sources.waiting = 1;
    expect(capacity.toSpawn(true)).toBe(1); // only the minimum's
  });

  it('retires idle workers past the idle timeout above the minimum, least recently used first, and the spare once no session is left', () => {
    const { retireAll } = setup({ minWorkers: 1, maxWorkers: 3, idleTimeoutMs: 1_000 }, [100, 200, 5_000]);
    expect(retireAll(1_099)).toEqual([]);
    expect(retireAll(1_250)).toEqual(['i0:idle-timeout', 'i1:idle-timeout']);
    const more = setup({ minWorkers: 1, maxWorkers: 2, idleTimeoutMs: 0 }, [0, 0, 0]);
    more.sources.sessions = 1;
    expect(more.retireAll(10_000)).toEqual([]); // three is the maximum plus the debug spare
    more.sources.sessions = 0;
    expect(more.capacity.surplus).toBe(true);
    expect(more.retireAll(10_000)).toEqual(['i0:spare-not-needed']);
    expect(more.capacity.surplus).toBe(false);
  });
});

describe('what becomes of a worker after its release', () => {
  it('keeps it only for a complete answer or a script left to finish; otherwise it goes, killed unless nothing was sent', () => {
    expect(afterRelease('ok', false)).toEqual({ kind: 'done' });
    expect(afterRelease('client-abort', true)).toEqual({ kind: 'finish' });
    expect(afterRelease('client-abort', false)).toEqual({ kind: 'retire', reason: 'client-abort', mode: 'graceful' });
    expect(afterRelease('timeout', false)).toEqual({ kind: 'retire', reason: 'busy-timeout', mode: 'kill' });
    expect(afterRelease('unreachable', false)).toEqual({ kind: 'retire', reason: 'connection-lost', mode: 'leaving' });
    expect(afterRelease('worker-died', false)).toEqual({ kind: 'retire', reason: 'crashed', mode: 'kill' });
    for (const outcome of ['error', 'leaked', 'pool-stopping'] as const) {
      expect(afterRelease(outcome, false)).toEqual({ kind: 'retire', reason: 'connection-lost', mode: 'kill' });
    }
  });
});
