import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DashboardController } from '../../src/extension/dashboard/controller';
import type { DashboardSource } from '../../src/extension/dashboard/source';
import type { PoolEvent, PoolSnapshot } from '../../src/pool/types';
import type { HostToWebviewMessage } from '../../src/shared/dashboardProtocol';
import type { LeaseStack } from '../../src/shared/stackTypes';
import { ManualClock } from '../support/manualClock';

const fixture = JSON.parse(readFileSync(join(__dirname, '../webview/fixtures/snapshot.json'), 'utf8')) as PoolSnapshot;

function setup(options: { snapshot?: PoolSnapshot | null; stacks?: Map<string, LeaseStack> } = {}) {
  // A manual clock with timers, so throttling is tested without waiting.
  const clock = new ManualClock();
  let current: PoolSnapshot | null = options.snapshot === undefined ? fixture : options.snapshot;
  const listeners = new Set<(event?: PoolEvent) => void>();
  const calls: string[] = [];
  let outcome: boolean | Error | undefined;
  const act =
    (name: string) =>
    (...args: unknown[]) => {
      calls.push(`${name}(${args.join(', ')})`);
      if (outcome instanceof Error) return Promise.reject(outcome);
      return outcome;
    };
  const source: DashboardSource = {
    key: 'file:///home/dev/shop',
    label: 'shop',
    snapshot: () => current,
    ...(options.stacks ? { stacks: () => options.stacks as Map<string, LeaseStack> } : {}),
    onDidChange: (listener) => {
      listeners.add(listener);
      return { dispose: () => listeners.delete(listener) };
    },
    kill: act('kill'),
    recycle: act('recycle'),
    releaseLease: act('releaseLease'),
    openScript: act('openScript'),
    revealWorker: act('revealWorker'),
  };
  const posted: HostToWebviewMessage[] = [];
  const warnings: string[] = [];
  const controller = new DashboardController({ postMessage: (m) => (posted.push(m), true) }, source, { clock, log: { warn: (m) => warnings.push(m) } });
  return {
    clock,
    controller,
    posted,
    calls,
    warnings,
    listeners,
    setOutcome: (value: boolean | Error | undefined) => (outcome = value),
    change: (next: PoolSnapshot | null, event?: PoolEvent) => {
      current = next;
      for (const l of listeners) l(event);
    },
  };
}

const bump = (version: number): PoolSnapshot => ({ ...fixture, version, takenAt: fixture.takenAt + version });
const snapshots = (posted: HostToWebviewMessage[]) => posted.filter((m) => m.type === 'snapshot');

describe('DashboardController', () => {
  it('sends nothing before ready, then a snapshot at once', async () => {
    const t = setup();
    t.change(bump(1));
    expect(t.posted).toEqual([]);
    await t.controller.handleMessage({ type: 'ready', protocol: 1 });
    expect(t.posted).toEqual([{ type: 'snapshot', protocol: 1, source: { key: 'file:///home/dev/shop', label: 'shop' }, snapshot: bump(1) }]);
  });

  it('throttles to one snapshot per 250 ms, leading and trailing, always ending with the latest', async () => {
    const t = setup();
    await t.controller.handleMessage({ type: 'ready', protocol: 1 });
    t.posted.length = 0;
    t.clock.advance(300);
    // 40 changes in one second, every 25 ms
    for (let i = 1; i <= 40; i++) {
      t.change(bump(100 + i));
      t.clock.advance(25);
    }
    t.clock.advance(1_000);
    const sent = snapshots(t.posted);
    expect(sent.length).toBeLessThanOrEqual(5);
    expect(sent.length).toBeGreaterThanOrEqual(4);
    expect(sent.at(-1)!.type === 'snapshot' && sent.at(-1)!.snapshot?.version).toBe(140);
    expect(t.clock.pending).toBe(0);
  });

  it('skips a snapshot whose version it already sent', async () => {
    const t = setup();
    await t.controller.handleMessage({ type: 'ready', protocol: 1 });
    t.clock.advance(1_000);
    t.change(fixture);
    t.clock.advance(1_000);
    expect(snapshots(t.posted)).toHaveLength(1);
  });

  it('stops while hidden and sends a fresh snapshot on the next ready', async () => {
    const t = setup();
    await t.controller.handleMessage({ type: 'ready', protocol: 1 });
    t.controller.setVisible(false);
    t.clock.advance(1_000);
    t.change(bump(7));
    t.clock.advance(1_000);
    expect(snapshots(t.posted)).toHaveLength(1);
    t.controller.setVisible(true);
    await t.controller.handleMessage({ type: 'ready', protocol: 1 });
    expect(snapshots(t.posted).at(-1)).toMatchObject({ snapshot: { version: 7 } });
  });

  it("sends the busy workers' last stack reads by lease id, and a newer read within a second though no event came", async () => {
    const leaseId = fixture.workers.find((w) => w.defunct)!.lease!.id;
    const read: LeaseStack = { leaseId, workerId: 'w9', pid: 41398, sampledAt: 1_000, stack: [], truncated: false, stackError: null, wait: null };
    const stacks = new Map([['w9', read]]);
    const t = setup({ stacks });
    await t.controller.handleMessage({ type: 'ready', protocol: 1 });
    expect(snapshots(t.posted)).toEqual([expect.objectContaining({ snapshot: fixture, stacks: { [leaseId]: read } })]);
    // The pool reads again a second later, with no pool event.
    stacks.set('w9', { ...read, sampledAt: 2_000 });
    t.clock.advance(1_100);
    expect(snapshots(t.posted).map((m) => m.type === 'snapshot' && m.stacks?.[leaseId]?.sampledAt)).toEqual([1_000, 2_000]);
    // Nothing newer: nothing sent; no stacks left: no more looking.
    t.clock.advance(1_100);
    expect(snapshots(t.posted)).toHaveLength(2);
    // The lease ended: one more snapshot, without stacks, then no more looking.
    stacks.clear();
    t.clock.advance(3_000);
    expect(snapshots(t.posted)).toHaveLength(3);
    expect(snapshots(t.posted)[2]).not.toHaveProperty('stacks');
    expect(t.clock.pending).toBe(0);
  });

  it('sends null when no pool runs', async () => {
    const t = setup({ snapshot: null });
    await t.controller.handleMessage({ type: 'ready', protocol: 1 });
    expect(t.posted).toEqual([{ type: 'snapshot', protocol: 1, source: { key: 'file:///home/dev/shop', label: 'shop' }, snapshot: null }]);
  });

  it('forwards a finding at once', async () => {
    const t = setup();
    await t.controller.handleMessage({ type: 'ready', protocol: 1 });
    t.posted.length = 0;
    const finding = fixture.findings.at(-1)!;
    t.change(bump(2), { type: 'finding', finding });
    expect(t.posted[0]).toEqual({ type: 'event', event: { kind: 'finding', finding } });
  });

  it('acts on valid intents and reports the result', async () => {
    const t = setup();
    await t.controller.handleMessage({ type: 'ready', protocol: 1 });
    t.posted.length = 0;
    const leaseId = fixture.workers.find((w) => w.defunct)!.lease!.id;
    await t.controller.handleMessage({ type: 'kill', requestId: 1, workerId: 'w9' });
    await t.controller.handleMessage({ type: 'recycle', requestId: 2, workerId: 'w1' });
    await t.controller.handleMessage({ type: 'releaseLease', requestId: 3, leaseId });
    await t.controller.handleMessage({ type: 'openScript', requestId: 4, path: '/home/dev/shop/public/upload.php', line: 3 });
    await t.controller.handleMessage({ type: 'revealWorker', requestId: 5, workerId: 'w11' });
    expect(t.calls).toEqual(['kill(w9)', 'recycle(w1)', `releaseLease(${leaseId})`, 'openScript(/home/dev/shop/public/upload.php, 3)', 'revealWorker(w11)']);
    expect(t.posted.map((m) => m.type === 'event' && m.event.kind === 'intent-result' && [m.event.requestId, m.event.ok])).toEqual([
      [1, true],
      [2, true],
      [3, true],
      [4, true],
      [5, true],
    ]);
  });

  it('refuses intents the snapshot does not support, without calling the source', async () => {
    const t = setup();
    await t.controller.handleMessage({ type: 'ready', protocol: 1 });
    t.posted.length = 0;
    await t.controller.handleMessage({ type: 'kill', requestId: 1, workerId: 'w2' });
    await t.controller.handleMessage({ type: 'openScript', requestId: 2, path: '/etc/shadow' });
    await t.controller.handleMessage({ type: 'releaseLease', requestId: 3, leaseId: fixture.history[0]!.id });
    expect(t.calls).toEqual([]);
    expect(t.posted).toEqual([
      { type: 'event', event: { kind: 'intent-result', requestId: 1, intent: 'kill', ok: false, message: 'worker w2 is no longer in the pool' } },
      {
        type: 'event',
        event: { kind: 'intent-result', requestId: 2, intent: 'openScript', ok: false, message: 'that script is not part of the pool snapshot' },
      },
      {
        type: 'event',
        event: { kind: 'intent-result', requestId: 3, intent: 'releaseLease', ok: false, message: `lease ${fixture.history[0]!.id} is no longer held` },
      },
    ]);
    expect(t.warnings).toHaveLength(3);
  });

  it('ignores malformed messages (logged, no reply)', async () => {
    const t = setup();
    await t.controller.handleMessage({ type: 'ready', protocol: 1 });
    t.posted.length = 0;
    await t.controller.handleMessage({ type: 'kill', requestId: 1, workerId: 'w9', force: true });
    await t.controller.handleMessage('kill w9');
    expect(t.calls).toEqual([]);
    expect(t.posted).toEqual([]);
    expect(t.warnings).toEqual([
      'dashboard: ignored a message from the webview: kill: unexpected "force"',
      'dashboard: ignored a message from the webview: not an object',
    ]);
  });

  it('reports a refusal (false) and a failure (throw) by the source', async () => {
    const t = setup();
    await t.controller.handleMessage({ type: 'ready', protocol: 1 });
    t.posted.length = 0;
    t.setOutcome(false);
    await t.controller.handleMessage({ type: 'recycle', requestId: 1, workerId: 'w1' });
    t.setOutcome(new Error('EPERM'));
    await t.controller.handleMessage({ type: 'kill', requestId: 2, workerId: 'w1' });
    expect(t.posted.map((m) => m.type === 'event' && m.event.kind === 'intent-result' && m.event.message)).toEqual([
      'Recycle worker w1: the pool refused (already gone?)',
      'Kill worker w1 failed: EPERM',
    ]);
  });

  it('unsubscribes and cancels its timer on dispose', async () => {
    const t = setup();
    await t.controller.handleMessage({ type: 'ready', protocol: 1 });
    t.change(bump(3));
    t.change(bump(4));
    expect(t.clock.pending).toBe(1);
    t.controller.dispose();
    expect(t.clock.pending).toBe(0);
    expect(t.listeners.size).toBe(0);
  });
});
