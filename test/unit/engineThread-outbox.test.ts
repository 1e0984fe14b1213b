import { describe, expect, it } from 'vitest';
import { UpdateOutbox, type Update } from '../../src/engineThread/outbox';
import type { EngineEvent } from '../../src/engineThread/protocol';
import { StackReadsTracker } from '../../src/engineThread/stackReads';
import type { PoolSnapshot } from '../../src/pool/types';
import type { LeaseStack } from '../../src/shared/stackTypes';
import { ManualClock } from '../support/manualClock';
import { leaseStack, snapshot } from './extension-fixtures';

/** An outbox over a pool whose version (and busy workers' stack reads) the test moves, with what it posted. */
function setup(intervalMs = 200, perRequestBudget = Number.POSITIVE_INFINITY) {
  const clock = new ManualClock();
  let current: PoolSnapshot | null = snapshot([], { version: 1 });
  /** The engine's last read per busy worker (StackWatch.lastReads): a new read is a new object. */
  const reads = new Map<string, LeaseStack>();
  const posted: Update[] = [];
  const outbox = new UpdateOutbox(
    { snapshot: () => current, stacks: new StackReadsTracker(() => new Map(reads)) },
    (message) => posted.push(message),
    intervalMs,
    perRequestBudget,
    clock,
  );
  const pool = {
    /** A change of the pool, as a request makes one: a new version, and its event. */
    change(event: EngineEvent): void {
      current = snapshot([], { version: (current?.version ?? 0) + 1 });
      outbox.event(event);
    },
    set(next: PoolSnapshot | null): void {
      current = next;
    },
  };
  return { clock, outbox, posted, pool, reads };
}

const request = (n: number, status = 200): Extract<EngineEvent, { type: 'request' }> => ({
  type: 'request',
  method: 'GET',
  uri: `/r${n}`,
  status,
  durationMs: 1,
  workerId: 'w1',
  leaseId: `L${n}`,
  bytes: 12,
});

describe("UpdateOutbox: the engine thread's updates to the main thread", () => {
  it("posts a quiet spell's first change on the next tick, with the snapshot that already shows it", () => {
    const { clock, posted, pool } = setup();
    pool.change({ type: 'worker-ready', workerId: 'w1', pid: 100 });
    pool.change({ type: 'worker-state', workerId: 'w1', pid: 100, from: 'starting', to: 'idle', reason: null });
    expect(posted).toEqual([]);
    clock.advance(0);
    expect(posted).toHaveLength(1);
    expect(posted[0]?.snapshot?.version).toBe(3);
    expect(posted[0]?.events.map((event) => event.type)).toEqual(['worker-ready', 'worker-state']);
  });

  it('at saturation posts at most once per interval, every event in order, and always ends a burst with the latest snapshot', () => {
    const { clock, posted, pool } = setup(200);
    // 2 000 requests over one second, one every half millisecond.
    for (let n = 0; n < 2_000; n++) {
      pool.change(request(n));
      clock.advance(0.5);
    }
    clock.advance(1_000);
    expect(posted.length).toBeLessThanOrEqual(1 + Math.ceil(1_000 / 200) + 1);
    expect(posted.length).toBeGreaterThanOrEqual(5);
    const uris = posted.flatMap((message) => message.events.map((event) => (event.type === 'request' ? event.uri : '?')));
    expect(uris).toEqual(Array.from({ length: 2_000 }, (_, n) => `/r${n}`));
    expect(posted.at(-1)?.snapshot?.version).toBe(2_001);
  });

  it("forwards per-request events up to the budget of each update and counts the rest into one summary; a worker's life always goes through", () => {
    const { clock, posted, pool } = setup(200, 50);
    const lease = {
      id: 'L1',
      workerId: 'w1',
      method: 'GET',
      uri: '/hello.php',
      scriptFilename: '/app/hello.php',
      clientAddress: '127.0.0.1:1',
      holder: 'h',
      queuedAt: 0,
      acquiredAt: 0,
    };
    for (let n = 0; n < 2_000; n++) {
      pool.change({ type: 'lease-acquired', lease, waitedMs: 0 });
      pool.change({ type: 'worker-state', workerId: 'w1', pid: 100, from: 'idle', to: 'busy', reason: null });
      pool.change({ type: 'lease-released', lease, outcome: 'ok', heldMs: 1 });
      pool.change({ type: 'worker-state', workerId: 'w1', pid: 100, from: 'busy', to: 'idle', reason: null });
      pool.change(request(n, n % 10 === 0 ? 404 : 200));
      if (n === 1_000)
        pool.change({ type: 'worker-exited', workerId: 'w2', pid: 101, exit: { code: 0, signal: null }, reason: 'max-requests', uptimeMs: 9, accesses: 500 });
      clock.advance(0.5);
    }
    clock.advance(1_000);
    let requests = 0;
    const byStatus: Record<string, number> = {};
    for (const message of posted) {
      const perRequest = message.events.filter((event) => event.type !== 'requests-summarized' && event.type !== 'worker-exited');
      expect(perRequest.length).toBeLessThanOrEqual(50);
      for (const event of message.events) {
        if (event.type === 'request') byStatus[event.status] = (byStatus[event.status] ?? 0) + 1;
        if (event.type === 'request') requests++;
        if (event.type !== 'requests-summarized') continue;
        requests += event.requests;
        for (const [status, count] of Object.entries(event.byStatus)) byStatus[status] = (byStatus[status] ?? 0) + count;
        expect(event.spanMs).toBeGreaterThan(0);
      }
    }
    expect(requests).toBe(2_000);
    expect(byStatus).toEqual({ '200': 1_800, '404': 200 });
    expect(posted.flatMap((message) => message.events).filter((event) => event.type === 'worker-exited')).toHaveLength(1);
    expect(posted.at(-1)?.snapshot?.version).toBe(10_002);
  });

  it('sends no snapshot when the version has not moved, and nothing at all when nothing happened', () => {
    const { clock, outbox, posted } = setup();
    outbox.sent(1);
    outbox.event({ type: 'spawn-throttled', delayMs: 100, consecutiveCrashes: 2 });
    clock.advance(0);
    expect(posted).toEqual([{ snapshot: null, events: [{ type: 'spawn-throttled', delayMs: 100, consecutiveCrashes: 2 }] }]);
    outbox.flush();
    clock.advance(5_000);
    expect(posted).toHaveLength(1);
  });

  it('finds a change that came without a forwarded event by the version, within an interval or two', () => {
    const { clock, outbox, posted, pool } = setup(200);
    outbox.sent(1);
    pool.set(snapshot([], { version: 9 }));
    clock.advance(399);
    expect(posted.map((message) => message.snapshot?.version)).toEqual([9]);
  });

  it("sends the busy workers' stack reads when they changed (a new read, a lease that ended), found within an interval, and never twice", () => {
    const { clock, outbox, posted, reads } = setup(200);
    outbox.sent(1);
    clock.advance(1_000);
    expect(posted).toEqual([]);
    // The engine's once-a-second read of a long lease: no event, no new snapshot.
    const first = leaseStack({ workerId: 'w2', sampledAt: 1 });
    reads.set('w2', first);
    clock.advance(399);
    expect(posted).toEqual([{ snapshot: null, events: [], stacks: [first] }]);
    clock.advance(1_000);
    expect(posted).toHaveLength(1);
    // The same worker read again, another worker read: the whole set, one read per worker.
    const second = leaseStack({ workerId: 'w2', sampledAt: 2 });
    const other = leaseStack({ workerId: 'w3', leaseId: 'L8', sampledAt: 2 });
    reads.set('w2', second).set('w3', other);
    outbox.event({ type: 'spawn-throttled', delayMs: 100, consecutiveCrashes: 2 });
    clock.advance(0);
    expect(posted[1]).toEqual({ snapshot: null, events: [{ type: 'spawn-throttled', delayMs: 100, consecutiveCrashes: 2 }], stacks: [second, other] });
    // Both leases ended: an empty list says no busy worker has a read any more.
    reads.clear();
    clock.advance(400);
    expect(posted[2]).toEqual({ snapshot: null, events: [], stacks: [] });
    clock.advance(2_000);
    expect(posted).toHaveLength(3);
  });

  it('flushes at once when asked (before `started` and `stopped`), and posts nothing after dispose', () => {
    const { clock, outbox, posted, pool } = setup();
    pool.change(request(1));
    outbox.flush();
    expect(posted).toHaveLength(1);
    outbox.dispose();
    pool.change(request(2));
    outbox.flush();
    clock.advance(1_000);
    expect(posted).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });
});
