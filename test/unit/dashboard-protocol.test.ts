import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PoolSnapshot } from '../../src/pool/types';
import {
  DASHBOARD_PROTOCOL_VERSION,
  DEFAULT_TIMELINE_WINDOW_MS,
  checkIntent,
  parseDashboardViewState,
  parseHostMessage,
  parseWebviewMessage,
  type DashboardIntent,
  type DashboardIntentRequest,
} from '../../src/shared/dashboardProtocol';

const fixture = JSON.parse(readFileSync(join(__dirname, '../webview/fixtures/snapshot.json'), 'utf8')) as PoolSnapshot;

describe('parseWebviewMessage', () => {
  it('accepts each well-formed message', () => {
    const messages = [
      { type: 'ready', protocol: DASHBOARD_PROTOCOL_VERSION },
      { type: 'kill', requestId: 1, workerId: 'w3' },
      { type: 'recycle', requestId: 2, workerId: 'w10' },
      { type: 'revealWorker', requestId: 3, workerId: 'w1' },
      { type: 'releaseLease', requestId: 4, leaseId: 'L1197' },
      { type: 'openScript', requestId: 5, path: '/srv/app/index.php' },
      { type: 'openScript', requestId: 6, path: 'C:\\www\\index.php', line: 12 },
    ];
    for (const message of messages) expect(parseWebviewMessage(message)).toEqual({ ok: true, value: message });
  });

  it.each([
    ['null', null],
    ['an array', [{ type: 'ready', protocol: 1 }]],
    ['a string', 'kill w3'],
    ['an unknown type', { type: 'exec', requestId: 1, command: 'rm -rf /' }],
    ['a missing requestId', { type: 'kill', workerId: 'w3' }],
    ['a negative requestId', { type: 'kill', requestId: -1, workerId: 'w3' }],
    ['a fractional requestId', { type: 'kill', requestId: 1.5, workerId: 'w3' }],
    ['a worker id with a space', { type: 'kill', requestId: 1, workerId: 'w3 w4' }],
    ['a numeric worker id', { type: 'kill', requestId: 1, workerId: 3 }],
    ['an empty worker id', { type: 'recycle', requestId: 1, workerId: '' }],
    ['an over-long lease id', { type: 'releaseLease', requestId: 1, leaseId: 'L'.repeat(65) }],
    ['an extra field', { type: 'kill', requestId: 1, workerId: 'w3', signal: 'SIGKILL' }],
    ['a relative path', { type: 'openScript', requestId: 1, path: 'index.php' }],
    ['a path with a NUL', { type: 'openScript', requestId: 1, path: '/srv/a.php\0.txt' }],
    ['a command URI', { type: 'openScript', requestId: 1, path: 'command:workbench.action.terminal.new' }],
    ['line 0', { type: 'openScript', requestId: 1, path: '/srv/a.php', line: 0 }],
    ['a string line', { type: 'openScript', requestId: 1, path: '/srv/a.php', line: '3' }],
    ['ready without protocol', { type: 'ready' }],
  ])('refuses %s', (_label, raw) => {
    const result = parseWebviewMessage(raw);
    expect(result.ok).toBe(false);
  });

  it('names the problem', () => {
    expect(parseWebviewMessage({ type: 'kill', requestId: 1, workerId: 'w3', extra: 1 })).toEqual({ ok: false, error: 'kill: unexpected "extra"' });
    expect(parseWebviewMessage({ type: 'releaseLease', requestId: 1 })).toEqual({ ok: false, error: 'releaseLease: missing "leaseId"' });
  });
});

describe('checkIntent against the fixture snapshot', () => {
  const intent = (value: DashboardIntentRequest) => ({ requestId: 9, ...value }) as DashboardIntent;

  it('refuses everything when no pool runs', () => {
    expect(checkIntent(intent({ type: 'revealWorker', workerId: 'w1' }), null)).toEqual({ ok: false, error: 'no pool is running' });
  });

  it('acts only on workers in the snapshot', () => {
    expect(checkIntent(intent({ type: 'kill', workerId: 'w9' }), fixture).ok).toBe(true);
    expect(checkIntent(intent({ type: 'recycle', workerId: 'w1' }), fixture).ok).toBe(true);
    expect(checkIntent(intent({ type: 'revealWorker', workerId: 'w14' }), fixture).ok).toBe(true);
    // w2 has left the pool (it is only in the history).
    expect(checkIntent(intent({ type: 'kill', workerId: 'w2' }), fixture)).toEqual({ ok: false, error: 'worker w2 is no longer in the pool' });
    // w14 is already being stopped.
    expect(checkIntent(intent({ type: 'kill', workerId: 'w14' }), fixture)).toEqual({ ok: false, error: 'worker w14 is already stopping' });
  });

  it('releases only leases a worker still holds (including kept ones)', () => {
    const held = fixture.workers.flatMap((w) => (w.lease ? [w.lease.id] : []));
    expect(held.length).toBe(3);
    for (const leaseId of held) expect(checkIntent(intent({ type: 'releaseLease', leaseId }), fixture).ok).toBe(true);
    const finished = fixture.history[0]!.id;
    expect(checkIntent(intent({ type: 'releaseLease', leaseId: finished }), fixture)).toEqual({ ok: false, error: `lease ${finished} is no longer held` });
  });

  it('opens only scripts that a lease in the snapshot ran', () => {
    const script = fixture.history[10]!.scriptFilename;
    expect(checkIntent(intent({ type: 'openScript', path: script }), fixture).ok).toBe(true);
    expect(checkIntent(intent({ type: 'openScript', path: '/etc/passwd' }), fixture)).toEqual({
      ok: false,
      error: 'that script is not part of the pool snapshot',
    });
    expect(checkIntent(intent({ type: 'openScript', path: `${script}/../../../../etc/passwd` }), fixture).ok).toBe(false);
  });

  it("opens a paused worker's breakpoint, which may be in another file than its script", () => {
    const held = fixture.workers.find((w) => w.lease !== null)!;
    const paused = {
      ...held,
      state: 'paused' as const,
      debug: { state: 'paused' as const, file: '/srv/shop/src/Cart.php', line: 42, since: fixture.takenAt, ide: 'connected' as const },
    };
    const withPause = { ...fixture, workers: fixture.workers.map((w) => (w === held ? paused : w)) };
    expect(checkIntent(intent({ type: 'openScript', path: '/srv/shop/src/Cart.php', line: 42 }), withPause).ok).toBe(true);
    expect(checkIntent(intent({ type: 'openScript', path: '/srv/shop/src/Cart.php', line: 42 }), fixture).ok).toBe(false);
  });
});

describe('parseHostMessage', () => {
  it('accepts snapshots (or none) and events', () => {
    const snapshot = { type: 'snapshot', protocol: 1, source: { key: 'file:///shop', label: 'shop' }, snapshot: fixture };
    expect(parseHostMessage(snapshot)).toBe(snapshot);
    expect(parseHostMessage({ ...snapshot, snapshot: null })).not.toBeNull();
    const result = { type: 'event', event: { kind: 'intent-result', requestId: 3, intent: 'kill', ok: false, message: 'no' } };
    expect(parseHostMessage(result)).toBe(result);
    expect(parseHostMessage({ type: 'event', event: { kind: 'finding', finding: fixture.findings[0] } })).not.toBeNull();
  });

  it('drops anything else', () => {
    expect(parseHostMessage({ type: 'snapshot', protocol: 1, source: { key: 'k', label: 'l' }, snapshot: { workers: [] } })).toBeNull();
    expect(parseHostMessage({ type: 'snapshot', protocol: 1, snapshot: null })).toBeNull();
    expect(parseHostMessage({ type: 'event', event: { kind: 'eval', code: '1' } })).toBeNull();
    expect(parseHostMessage('snapshot')).toBeNull();
  });
});

describe('parseDashboardViewState', () => {
  it('keeps a valid state and defaults anything odd', () => {
    expect(parseDashboardViewState({ v: 1, sourceKey: 'file:///shop', windowMs: 60_000 })).toEqual({ v: 1, sourceKey: 'file:///shop', windowMs: 60_000 });
    expect(parseDashboardViewState(undefined)).toEqual({ v: 1, sourceKey: null, windowMs: DEFAULT_TIMELINE_WINDOW_MS });
    expect(parseDashboardViewState({ v: 1, sourceKey: 7, windowMs: 12 })).toEqual({ v: 1, sourceKey: null, windowMs: DEFAULT_TIMELINE_WINDOW_MS });
    expect(parseDashboardViewState({ v: 2, sourceKey: 'x', windowMs: 60_000 }).sourceKey).toBeNull();
  });
});
