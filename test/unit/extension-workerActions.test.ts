import { describe, expect, it } from 'vitest';
import { WorkerActions } from '../../src/extension/workerActions';
import { busyWorker, FakePool, snapshot, worker } from './extension-fixtures';

/** Kill, Recycle and Release Lease: the one implementation behind the commands and the dashboard. */
describe('WorkerActions', () => {
  const setup = (running = true) => {
    const pool = new FakePool();
    pool.current = snapshot([worker({ id: 'w1', pid: 1001 }), busyWorker('w2', 1234)]);
    const acknowledged: string[] = [];
    const lines: string[] = [];
    const actions = new WorkerActions({
      pools: { get: (key) => (key === 'file:///ws/app' ? { name: 'app', server: running ? { pool } : null } : undefined) },
      ledger: { acknowledge: (folderKey, workerId) => acknowledged.push(`${folderKey}#${workerId}`) },
      log: { info: (message) => lines.push(message) },
    });
    return { pool, acknowledged, lines, actions };
  };

  it("asks the pool, acknowledges the worker's findings and says who did it", async () => {
    const { pool, acknowledged, lines, actions } = setup();
    expect(await actions.retire('file:///ws/app', 'w2', 'kill', 'editor')).toBe(true);
    expect(await actions.retire('file:///ws/app', 'w1', 'graceful', 'dashboard')).toBe(true);
    expect(await actions.releaseLease('file:///ws/app', 'L7', 'dashboard')).toBe(true);
    expect(pool.recycled).toEqual([
      { workerId: 'w2', mode: 'kill' },
      { workerId: 'w1', mode: 'graceful' },
    ]);
    expect(pool.released).toEqual(['L7']);
    expect(acknowledged).toEqual(['file:///ws/app#w2', 'file:///ws/app#w1', 'file:///ws/app#w2']);
    expect(lines).toEqual([
      '[app] worker w2 (pid 1234) killed from the editor',
      '[app] worker w1 (pid 1001) recycled from the dashboard',
      '[app] lease L7 of worker w2 released from the dashboard',
    ]);
  });

  it('does nothing, and says false, when the pool refuses or does not run', async () => {
    const refusing = setup();
    expect(await refusing.actions.retire('file:///ws/app', 'w9', 'kill', 'editor')).toBe(false);
    expect(await refusing.actions.releaseLease('file:///ws/app', 'L99', 'editor')).toBe(false);
    expect(refusing.acknowledged).toEqual([]);
    expect(refusing.lines).toEqual([]);
    const stopped = setup(false);
    expect(await stopped.actions.retire('file:///ws/app', 'w1', 'kill', 'dashboard')).toBe(false);
    expect(await stopped.actions.releaseLease('file:///ws/other', 'L7', 'dashboard')).toBe(false);
    expect(stopped.pool.recycled).toEqual([]);
  });
});
