import { serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { HistoryDecoder, HistoryEncoder, isWireHistory } from '../../src/engineThread/historyCodec';
import { LeaseHistory } from '../../src/pool/history';
import type { LeaseHistoryEntry } from '../../src/pool/types';

/** A finished lease as the pool records it, numbered. */
function entry(n: number, overrides: Partial<LeaseHistoryEntry> = {}): LeaseHistoryEntry {
  return Object.freeze({
    id: `L${n}`,
    workerId: `w${(n % 4) + 1}`,
    pid: 1_000 + (n % 4),
    method: n % 7 === 0 ? 'POST' : 'GET',
    uri: `/page.php?n=${n % 3}`,
    scriptFilename: '/srv/app/page.php',
    clientAddress: `127.0.0.1:${50_000 + n}`,
    queuedAt: 1_700_000_000_000 + n,
    acquiredAt: 1_700_000_000_001 + n,
    firstByteAt: n % 5 === 0 ? 0 : 1_700_000_000_002 + n,
    releasedAt: 1_700_000_000_003 + n,
    outcome: (['ok', 'client-abort', 'worker-died', 'timeout', 'leaked', 'error'] as const)[n % 6],
    ...overrides,
  });
}

/** The thread's encoder and the main thread's decoder, with the wire between them (a structured clone, as postMessage does). */
function channel() {
  const encoder = new HistoryEncoder();
  const decoder = new HistoryDecoder();
  return (history: readonly LeaseHistoryEntry[]) => {
    const wire = structuredClone(encoder.encode(history));
    expect(isWireHistory(wire)).toBe(true);
    return { wire, decoded: decoder.decode(wire) };
  };
}

describe('the lease history across the engine channel', () => {
  it('arrives equal to the ring, field by field, null pids and every outcome included', () => {
    const send = channel();
    const ring = new LeaseHistory(50);
    for (let n = 0; n < 30; n++) ring.add(entry(n, n === 3 ? { pid: null } : {}));
    const { decoded } = send(ring.list());
    expect(decoded).toEqual(ring.list());
  });

  it('carries only what was added since the last update, and nothing when nothing was', () => {
    const send = channel();
    const ring = new LeaseHistory(1_000);
    for (let n = 0; n < 600; n++) ring.add(entry(n));
    expect(send(ring.list()).wire.added.count).toBe(600);
    for (let n = 600; n < 612; n++) ring.add(entry(n));
    const { wire, decoded } = send(ring.list());
    expect(wire).toMatchObject({ reset: false, total: 612 });
    expect(wire.added.count).toBe(12);
    expect(decoded).toEqual(ring.list());
    expect(send(ring.list()).wire.added.count).toBe(0);
  });

  it('follows the ring as it turns (oldest dropped), and starts over when it turned over entirely between two updates', () => {
    const send = channel();
    const ring = new LeaseHistory(100);
    for (let n = 0; n < 100; n++) ring.add(entry(n));
    send(ring.list());
    for (let n = 100; n < 130; n++) ring.add(entry(n));
    const turned = send(ring.list());
    expect(turned.wire.reset).toBe(false);
    expect(turned.decoded.map((e) => e.id)).toEqual(ring.list().map((e) => e.id));
    for (let n = 130; n < 400; n++) ring.add(entry(n));
    const over = send(ring.list());
    expect(over.wire.reset).toBe(true);
    expect(over.wire.added.count).toBe(100);
    expect(over.decoded).toEqual(ring.list());
  });

  it('refuses a wire history that does not add up rather than showing a wrong one', () => {
    const decoder = new HistoryDecoder();
    const encoded = new HistoryEncoder().encode([entry(1), entry(2)]);
    expect(() => decoder.decode({ ...encoded, reset: false, total: 5 })).toThrow('history of 5 entries from 0 kept and 2 added');
    expect(() => decoder.decode({ ...encoded, added: { ...encoded.added, text: encoded.added.text.subarray(1) } })).toThrow('unequal lengths');
    expect(() => decoder.decode({ ...encoded, added: { ...encoded.added, strings: [] } })).toThrow('out of range');
  });

  it("is a fraction of the objects' weight when a load test turns the whole ring over", () => {
    const full = Array.from({ length: 1_000 }, (_, n) => entry(n));
    const columns = serialize(new HistoryEncoder().encode(full)).length;
    const objects = serialize(full).length;
    expect(columns).toBeLessThan(objects / 2);
  });
});
