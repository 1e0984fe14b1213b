import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LeaseHistoryEntry, PoolSnapshot } from '../../src/pool/types';
import { barAt, compareWorkerIds, findingRows, headline, latency, percentile, requestsPerSecond, timeline, workerRows } from '../../webview/derive';
import { formatDuration, formatRequest } from '../../src/shared/text';
import { basename, formatRate } from '../../webview/format';

const fixture = JSON.parse(readFileSync(join(__dirname, '../webview/fixtures/snapshot.json'), 'utf8')) as PoolSnapshot;
const NOW = fixture.takenAt;

function entry(id: string, fields: Partial<LeaseHistoryEntry>): LeaseHistoryEntry {
  return {
    id,
    workerId: 'w1',
    pid: 100,
    method: 'GET',
    uri: '/',
    scriptFilename: '/srv/index.php',
    clientAddress: '127.0.0.1',
    queuedAt: 0,
    acquiredAt: 0,
    firstByteAt: 0,
    releasedAt: 0,
    outcome: 'ok',
    ...fields,
  };
}

describe('percentile (nearest rank)', () => {
  it('picks values that occurred', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 0.5)).toBe(50);
    expect(percentile(values, 0.99)).toBe(99);
    expect(percentile(values, 1)).toBe(100);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([1, 2], 0.5)).toBe(1);
    expect(percentile([], 0.5)).toBeNull();
  });
});

describe('requestsPerSecond', () => {
  const history = [
    entry('a', { releasedAt: 1_000 }),
    entry('b', { releasedAt: 50_000 }),
    entry('c', { releasedAt: 59_000 }),
    entry('d', { releasedAt: 61_000 }),
  ];

  it('counts releases in the window over its length', () => {
    // now = 70 s: the window (10 s, 70 s] holds b, c, d.
    expect(requestsPerSecond(history, 70_000, 60_000, null)).toBeCloseTo(3 / 60);
  });

  it('divides by the pool age when the pool is younger than the window', () => {
    expect(requestsPerSecond(history, 70_000, 60_000, 40_000)).toBeCloseTo(3 / 30);
    // never by less than a second
    expect(requestsPerSecond([entry('x', { releasedAt: 100 })], 200, 60_000, 150)).toBe(1);
  });

  it('ignores releases after now (a snapshot from a clock ahead of ours)', () => {
    // now = 60 s: a, b, c are in (0 s, 60 s]; d (61 s) is not.
    expect(requestsPerSecond(history, 60_000, 60_000, null)).toBeCloseTo(3 / 60);
  });
});

describe('latency', () => {
  it('is queue + service time of leases that ended in the window, leaked ones left out', () => {
    const history = [
      entry('old', { queuedAt: 0, acquiredAt: 0, releasedAt: 5_000 }),
      entry('a', { queuedAt: 10_000, acquiredAt: 10_010, releasedAt: 10_100 }),
      entry('b', { queuedAt: 20_000, acquiredAt: 20_000, releasedAt: 20_300 }),
      entry('leak', { queuedAt: 30_000, acquiredAt: 30_000, releasedAt: 50_000, outcome: 'leaked' }),
      entry('t', { queuedAt: 40_000, acquiredAt: 40_000, releasedAt: 70_000, outcome: 'timeout' }),
    ];
    expect(latency(history, 70_000, 62_000)).toEqual({ count: 3, p50: 300, p99: 30_000 });
    expect(latency([], 70_000, 60_000)).toEqual({ count: 0, p50: null, p99: null });
  });
});

describe('headline for the fixture', () => {
  it('shows the lists, the queue and the open findings', () => {
    const h = headline(fixture, NOW);
    expect(h).toMatchObject({ idle: 2, busy: 3, error: 1, total: 6, maxWorkers: 6, queueLength: 0, openFindings: 2, findings: 6, defunct: 1 });
    const lastMinute = fixture.history.filter((e) => e.releasedAt > NOW - 60_000 && e.releasedAt <= NOW);
    expect(h.requestsPerSecond).toBeCloseTo(lastMinute.length / 60);
    expect(h.latency.count).toBe(lastMinute.filter((e) => e.outcome !== 'leaked').length);
    expect(h.latency.p50).not.toBeNull();
    expect(h.latency.p99!).toBeGreaterThanOrEqual(h.latency.p50!);
  });
});

describe('timeline', () => {
  it('gives a lane per current worker, in pool order, then departed workers with leases in the window', () => {
    const model = timeline(fixture, NOW, 15 * 60_000);
    const ids = model.lanes.map((l) => l.workerId);
    expect(ids.slice(0, 6)).toEqual(fixture.workers.map((w) => w.id));
    expect(ids.slice(6)).toEqual(['w2', 'w3', 'w4', 'w5', 'w6', 'w8', 'w10', 'w12']);
    expect(model.lanes.slice(6).every((l) => l.state === null)).toBe(true);
    // every finished lease plus the three held ones
    const bars = model.lanes.reduce((n, l) => n + l.bars.length, 0);
    expect(bars).toBe(fixture.history.length + 3);
    for (const lane of model.lanes) {
      for (let i = 1; i < lane.bars.length; i++) expect(lane.bars[i]!.start).toBeGreaterThanOrEqual(lane.bars[i - 1]!.start);
    }
  });

  it('marks the defunct worker and the leaked leases still held', () => {
    const model = timeline(fixture, NOW, 5 * 60_000);
    const defunct = model.lanes.find((l) => l.workerId === 'w9')!;
    expect(defunct.defunct).toBe(true);
    const stuck = model.lanes.flatMap((l) => l.bars).filter((b) => b.kind === 'stuck');
    expect(stuck.map((b) => [b.workerId, b.open, b.end, b.findingIds.length])).toEqual([
      ['w9', true, NOW, 1],
      ['w11', true, NOW, 1],
    ]);
    expect(stuck.find((b) => b.workerId === 'w9')!.defunct).toBe(true);
    const held = model.lanes.flatMap((l) => l.bars).filter((b) => b.kind === 'held');
    expect(held.map((b) => b.workerId)).toEqual(['w7']);
    expect(model.counts.stuck).toBe(2);
    expect(model.counts.held).toBe(1);
  });

  it('leaves out leases that ended before the window, and the lanes of workers with none in it', () => {
    const model = timeline(fixture, NOW, 60_000);
    for (const bar of model.lanes.flatMap((l) => l.bars)) expect(bar.end).toBeGreaterThanOrEqual(NOW - 60_000);
    expect(model.lanes.map((l) => l.workerId)).not.toContain('w2');
  });

  it('draws a lease that timed out but is kept on its worker (policy keep) on to now', () => {
    const kept = entry('L7', { workerId: 'w3', acquiredAt: NOW - 40_000, queuedAt: NOW - 40_000, releasedAt: NOW - 10_000, outcome: 'timeout' });
    const snapshot: PoolSnapshot = {
      ...fixture,
      history: [...fixture.history, kept],
      workers: [
        ...fixture.workers,
        {
          ...fixture.workers[0]!,
          id: 'w3',
          state: 'busy',
          lease: {
            id: 'L7',
            workerId: 'w3',
            method: 'GET',
            uri: '/',
            scriptFilename: '/srv/index.php',
            clientAddress: '127.0.0.1',
            holder: 'http',
            queuedAt: kept.queuedAt,
            acquiredAt: kept.acquiredAt,
          },
        },
      ],
    };
    const bars = timeline(snapshot, NOW, 60_000)
      .lanes.find((l) => l.workerId === 'w3')!
      .bars.filter((b) => b.leaseId === 'L7');
    expect(bars).toHaveLength(1);
    expect(bars[0]).toMatchObject({ kind: 'timeout', keptUntilNow: true, releasedAt: NOW - 10_000, end: NOW, open: false });
  });
});

describe('barAt', () => {
  const model = timeline(fixture, NOW, 5 * 60_000);
  const lane = model.lanes.find((l) => l.workerId === 'w1')!;

  it('finds the bar under a time, and a thin one within the slack', () => {
    const bar = lane.bars[3]!;
    expect(barAt(lane.bars, (bar.start + bar.end) / 2, 0)).toBe(bar);
    expect(barAt(lane.bars, bar.end + 50, 100)).toBe(bar);
    expect(barAt(lane.bars, bar.end + 5_000, 100)).not.toBe(bar);
  });

  it('finds nothing in an empty lane or far from every bar', () => {
    expect(barAt([], NOW, 1000)).toBeNull();
    expect(barAt(lane.bars, NOW + 60_000, 10)).toBeNull();
  });
});

describe('worker rows and finding rows', () => {
  it('has ages, the lease, and whether it is stuck', () => {
    const rows = workerRows(fixture, NOW);
    const w9 = rows.find((r) => r.id === 'w9')!;
    expect(w9).toMatchObject({ defunct: true, leaseStuck: true, state: 'busy', openFindings: 1 });
    expect(w9.leaseAgeMs).toBe(NOW - fixture.workers.find((w) => w.id === 'w9')!.lease!.acquiredAt);
    expect(rows.find((r) => r.id === 'w11')).toMatchObject({ defunct: false, leaseStuck: true });
    expect(rows.find((r) => r.id === 'w7')).toMatchObject({ leaseStuck: false, leaseAgeMs: 820 });
    expect(rows.find((r) => r.id === 'w1')).toMatchObject({ lease: null, abandoned: null, leaseAgeMs: null, debug: null });
  });

  it("shows a finishing worker's abandoned request (no lease), and counts it apart in the headline", () => {
    const w7 = fixture.workers.find((w) => w.id === 'w7')!;
    const finishing = { ...w7, state: 'finishing' as const, lease: null, abandoned: { lease: w7.lease!, abandonedAt: NOW - 300 } };
    const snapshot = {
      ...fixture,
      workers: fixture.workers.map((w) => (w.id === 'w7' ? finishing : w)),
      counts: { ...fixture.counts, busy: fixture.counts.busy - 1, finishing: 1 },
    };
    expect(workerRows(snapshot, NOW).find((r) => r.id === 'w7')).toMatchObject({
      state: 'finishing',
      lease: null,
      abandoned: { id: w7.lease!.id },
      leaseAgeMs: null,
    });
    expect(headline(snapshot, NOW)).toMatchObject({ busy: fixture.counts.busy - 1, finishing: 1 });
  });

  it("carries a paused worker's breakpoint, and the headline counts it apart from busy", () => {
    const held = fixture.workers.find((w) => w.id === 'w7')!;
    const debug = { state: 'paused' as const, file: '/srv/shop/src/Cart.php', line: 42, since: NOW - 1_000, ide: 'connected' as const };
    const paused = {
      ...fixture,
      workers: fixture.workers.map((w) => (w === held ? { ...w, state: 'paused' as const, debug } : w)),
      counts: { ...fixture.counts, busy: fixture.counts.busy - 1, paused: 1 },
    };
    expect(workerRows(paused, NOW).find((r) => r.id === 'w7')).toMatchObject({ state: 'paused', debug, leaseStuck: false });
    expect(headline(paused, NOW)).toMatchObject({ paused: 1, busy: fixture.counts.busy - 1 });
  });

  it('lists open findings first, newest first, and says which actions apply', () => {
    const rows = findingRows(fixture, NOW);
    expect(rows.map((r) => [r.finding.kind, r.open])).toEqual([
      ['defunct-busy', true],
      ['holder-gone', true],
      ['holder-gone', false],
      ['holder-gone', false],
      ['busy-timeout', false],
      ['lease-protocol', false],
    ]);
    expect(rows[0]).toMatchObject({ leaseHeld: true, workerPresent: true });
    expect(rows[2]).toMatchObject({ leaseHeld: false, workerPresent: false });
  });
});

describe('format', () => {
  it('formats durations, rates, paths and long requests', () => {
    expect([0, 840, 1_234, 42_000, 185_000, 3_720_000].map(formatDuration)).toEqual(['0 ms', '840 ms', '1.2 s', '42 s', '3 min 05 s', '1 h 02 min']);
    expect(formatDuration(null)).toBe('–');
    expect([0, 0.42, 12.5, 130.4].map(formatRate)).toEqual(['0', '0.4', '13', '130']);
    expect(basename('/srv/app/public/index.php')).toBe('index.php');
    expect(basename('C:\\www\\a.php')).toBe('a.php');
    const long = formatRequest({ method: 'GET', uri: `/search?q=${'x'.repeat(200)}&page=2` }, 40);
    expect(long.length).toBe(40);
    expect(long).toMatch(/^GET \/search\?q=x+…x+&page=2$/);
  });

  it('orders worker ids by number', () => {
    expect(['w10', 'w2', 'w1'].sort(compareWorkerIds)).toEqual(['w1', 'w2', 'w10']);
  });
});
