import { describe, expect, it } from 'vitest';
import { LeftoverWorkers, type LeftoverOs } from '../../src/engineThread/leftoverWorkers';
import type { WorkerProcessRecord } from '../../src/platform/processHost';
import type { ProcessTruth } from '../../src/platform/processState';

type State = 'alive' | 'zombie' | 'gone' | 'reused' | 'unkillable';

/**
 * A process table for the leftovers: each pid's state, what a SIGKILL to its
 * group does (alive → zombie, as for a child of ours whose reaper is gone),
 * and a log of what was done. Real processes are in the integration test.
 */
function fakeOs(states: Record<number, State>, registry: WorkerProcessRecord[] = []) {
  const done: string[] = [];
  const os: LeftoverOs = {
    inspect(pid, startTime): ProcessTruth {
      const state = states[pid] ?? 'gone';
      const stat = { pid, ppid: 1, pgrp: pid, session: pid, state: state === 'zombie' ? 'Z' : 'S', startTime: startTime ?? 0, comm: 'php-cgi' };
      if (state === 'alive' || state === 'unkillable') return { status: 'alive', stat };
      if (state === 'zombie') return { status: 'zombie', stat };
      return { status: 'gone', reused: state === 'reused' };
    },
    async killGroup(worker) {
      done.push(`kill -${worker.pgid}`);
      if (states[worker.pid] === 'alive') states[worker.pid] = 'zombie';
    },
    listRegistry: () => registry,
    removeRegistry: (stateDir) => void done.push(`rm registry ${stateDir}`),
    removeSocket: (path) => void done.push(`rm ${path}`),
  };
  return { os, done };
}

const worker = (pid: number): WorkerProcessRecord => ({ pid, pgid: pid, startTime: 1_000 + pid, socketPath: `/tmp/fcgi-pool-x/w${pid}.sock` });

describe('LeftoverWorkers: what an engine thread left when it died', () => {
  it('kills the group of each reported worker still alive, leaves the dead and the reused pids alone, and says which are zombies', async () => {
    const { os, done } = fakeOs({ 11: 'alive', 12: 'zombie', 13: 'reused', 15: 'alive' });
    const leftovers = new LeftoverWorkers(null, os);
    for (const pid of [11, 12, 13, 14, 15]) leftovers.spawned(worker(pid));
    leftovers.reaped(15); // reaped by the thread: no longer ours to judge, whatever the pid is now
    expect(leftovers.size).toBe(4);
    const report = await leftovers.stopAll(100, 1);
    expect(report).toEqual({ killed: [11], zombies: [11, 12], survivors: [] });
    expect(done.filter((line) => line.startsWith('kill'))).toEqual(['kill -11']);
    expect(done.filter((line) => line.startsWith('rm'))).toEqual([
      'rm /tmp/fcgi-pool-x/w11.sock',
      'rm /tmp/fcgi-pool-x/w12.sock',
      'rm /tmp/fcgi-pool-x/w13.sock',
      'rm /tmp/fcgi-pool-x/w14.sock',
    ]);
    expect(leftovers.size).toBe(0);
  });

  it('also stops the workers only the registry file knows (spawned just before the thread died), then deletes the file', async () => {
    const { os, done } = fakeOs({ 21: 'alive', 22: 'alive' }, [worker(21), worker(22)]);
    const leftovers = new LeftoverWorkers('/state/pool', os);
    leftovers.spawned(worker(21));
    const report = await leftovers.stopAll(100, 1);
    expect(report.killed).toEqual([21, 22]);
    expect(done).toContain('rm registry /state/pool');
  });

  it('reports a worker that outlives its SIGKILL, and keeps the registry that still names it', async () => {
    const { os, done } = fakeOs({ 31: 'unkillable' }, [worker(31)]);
    const leftovers = new LeftoverWorkers('/state/pool', os);
    const report = await leftovers.stopAll(30, 5);
    expect(report).toEqual({ killed: [], zombies: [], survivors: [31] });
    expect(done).not.toContain('rm registry /state/pool');
    expect(done).not.toContain('rm /tmp/fcgi-pool-x/w31.sock');
  });
});
