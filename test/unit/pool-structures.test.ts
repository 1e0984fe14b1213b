import { describe, expect, it } from 'vitest';
import { FindingLog } from '../../src/pool/findings';
import { LeaseHistory } from '../../src/pool/history';
import { SpawnBackoff } from '../../src/pool/spawnBackoff';
import type { LeaseHistoryEntry } from '../../src/pool/types';
import { WorkerList, type ListNode } from '../../src/pool/workerList';

class Node implements ListNode<Node> {
  prev: Node | null = null;
  next: Node | null = null;
  list: WorkerList<Node> | null = null;
  constructor(readonly name: string) {}
}

const names = (list: WorkerList<Node>): string[] => [...list].map((n) => n.name);

describe('WorkerList', () => {
  it('keeps a node on exactly one list and moves it in O(1)', () => {
    const idle = new WorkerList<Node>('idle');
    const busy = new WorkerList<Node>('busy');
    const [a, b, c] = [new Node('a'), new Node('b'), new Node('c')];
    idle.push(a);
    idle.push(b);
    idle.push(c);
    expect(names(idle)).toEqual(['a', 'b', 'c']);
    busy.push(b); // moving removes it from idle
    expect(names(idle)).toEqual(['a', 'c']);
    expect(names(busy)).toEqual(['b']);
    expect(b.list).toBe(busy);
    expect(idle.size + busy.size).toBe(3);
  });

  it('takes the most recently used from the tail and exposes the least recently used first', () => {
    const list = new WorkerList<Node>('idle');
    const nodes = ['a', 'b', 'c'].map((n) => new Node(n));
    for (const node of nodes) list.push(node);
    expect(list.first()?.name).toBe('a');
    expect(list.popLast()?.name).toBe('c');
    expect(list.popLast()?.name).toBe('b');
    expect(list.popLast()?.name).toBe('a');
    expect(list.popLast()).toBeNull();
    expect(list.size).toBe(0);
  });

  it('ignores removing a node that is not on it and survives removal during iteration', () => {
    const a = new WorkerList<Node>('a');
    const b = new WorkerList<Node>('b');
    const x = new Node('x');
    b.push(x);
    a.remove(x);
    expect(b.size).toBe(1);
    const nodes = ['1', '2', '3', '4'].map((n) => new Node(n));
    for (const node of nodes) a.push(node);
    for (const node of a) if (node.name !== '3') b.push(node);
    expect(names(a)).toEqual(['3']);
    expect(names(b)).toEqual(['x', '1', '2', '4']);
  });
});

describe('SpawnBackoff', () => {
  it('doubles from 100 ms to at most 10 s and resets on success', () => {
    const backoff = new SpawnBackoff();
    expect(backoff.delayMs()).toBe(0);
    const delays: number[] = [];
    for (let i = 0; i < 10; i++) {
      backoff.recordCrash();
      delays.push(backoff.delayMs());
    }
    expect(delays).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000, 10000]);
    backoff.recordSuccess();
    expect(backoff.delayMs()).toBe(0);
  });
});

describe('FindingLog', () => {
  const base = {
    kind: 'holder-gone' as const,
    workerId: 'w1',
    pid: 1,
    exit: null,
    processState: null,
    lease: null,
    descendant: null,
    detectedAt: 1,
    detectionLatencyMs: 0,
    message: 'm',
  };

  it('deduplicates open findings by key, resolves them once, and bounds the resolved ones', () => {
    const log = new FindingLog(2);
    const first = log.add('k1', base);
    expect(first?.id).toBe('F1');
    expect(log.add('k1', base)).toBeNull();
    expect(log.openFor('w1')).toHaveLength(1);
    const resolved = log.resolve('F1', 'reclaimed', 'done');
    expect(resolved?.resolution).toMatchObject({ how: 'reclaimed', detail: 'done' });
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(log.resolve('F1', 'reclaimed', 'again')).toBeNull();
    expect(log.add('k1', base)?.id).toBe('F2'); // the key is free again
    log.resolve('F2', 'released', '');
    log.add('k3', base);
    log.resolve('F3', 'released', '');
    expect(log.all().map((f) => f.id)).toEqual(['F2', 'F3']);
  });
});

describe('LeaseHistory', () => {
  const entry = (n: number): LeaseHistoryEntry => ({
    id: `L${n}`,
    workerId: 'w1',
    pid: 1,
    method: 'GET',
    uri: `/${n}`,
    scriptFilename: '/x.php',
    clientAddress: '',
    queuedAt: n,
    acquiredAt: n,
    firstByteAt: n,
    releasedAt: n,
    outcome: 'ok',
  });

  it('keeps the newest entries, oldest first', () => {
    const history = new LeaseHistory(3);
    expect(history.list()).toEqual([]);
    for (let i = 1; i <= 2; i++) history.add(entry(i));
    expect(history.list().map((e) => e.id)).toEqual(['L1', 'L2']);
    for (let i = 3; i <= 7; i++) history.add(entry(i));
    expect(history.list().map((e) => e.id)).toEqual(['L5', 'L6', 'L7']);
  });
});
