import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPoolServer, type PoolServer, type PoolServerOptions } from '../../src/gateway/poolServer';
import { Pool } from '../../src/pool/pool';
import type { Finding, LeaseRevocation, PoolEvent } from '../../src/pool/types';
import { isRunning, phpCgi, RecordingHolder, sleep, waitFor } from '../support/helpers';
import { noteLatency } from '../support/latencyLog';

/**
 * The test seam of the lists issue: a lease is acquired through the pool's
 * internal API (never reachable over HTTP) with a holder that never
 * releases, so every leak path runs for real against real php-cgi workers.
 */
class NeverReleasingHolder extends RecordingHolder {
  active = true;
  override revoke(revocation: LeaseRevocation): void {
    super.revoke(revocation); // noted, and ignored: this holder never calls release()
  }
  isActive(): boolean {
    return this.active;
  }
}

const docroot = resolve(__dirname, '../fixtures/app');
let scratch: string;
const servers: PoolServer[] = [];
const pools: Pool[] = [];

async function start(pool: PoolServerOptions['pool'] = {}): Promise<{ server: PoolServer; events: PoolEvent[] }> {
  const events: PoolEvent[] = [];
  const server = await startPoolServer({
    documentRoot: docroot,
    pool: { phpCgi, minWorkers: 1, maxWorkers: 2, ...pool },
    gateway: { port: 0 },
    onPoolEvent: (e) => events.push(e),
  });
  servers.push(server);
  return { server, events };
}

function findingOf(events: PoolEvent[], kind: Finding['kind']): Finding | undefined {
  for (const event of events) if (event.type === 'finding' && event.finding.kind === kind) return event.finding;
  return undefined;
}

const request = (uri: string) => ({ method: 'GET', uri, scriptFilename: join(docroot, 'slow.php'), clientAddress: '127.0.0.1' });

/** What `ps` says about a pid: its STAT letter, or null when there is no such process. */
function psState(pid: number): string | null {
  try {
    return (
      execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' })
        .trim()
        .charAt(0) || null
    );
  } catch {
    return null;
  }
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'reconciler-test-'));
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop(1_000)));
  await Promise.all(pools.splice(0).map((p) => p.stop()));
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the seed: a worker dies while its lease is held', () => {
  it('reclaim: defunct-busy within a second naming pid, signal, request and script; a replacement serves', async () => {
    const { server, events } = await start({ minWorkers: 1, maxWorkers: 1, scanIntervalMs: 1_000 });
    const holder = new NeverReleasingHolder('seed holder');
    const lease = await server.pool.acquire(request('/slow.php?ms=10'), holder);
    const pid = lease.workerPid as number;
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    await waitFor(() => findingOf(events, 'defunct-busy') !== undefined, 'defunct-busy', 2_000);
    const finding = findingOf(events, 'defunct-busy') as Finding;
    noteLatency('defunct-busy, worker SIGKILLed (exit path)', finding.detectedAt - killedAt);
    expect(finding.detectedAt - killedAt).toBeLessThanOrEqual(1_000);
    expect(finding).toMatchObject({
      workerId: lease.workerId,
      pid,
      exit: { signal: 'SIGKILL', code: null },
      lease: { id: lease.id, method: 'GET', uri: '/slow.php?ms=10', scriptFilename: join(docroot, 'slow.php'), holder: 'seed holder' },
    });
    expect(finding.message).toContain(`pid ${pid}`);
    expect(finding.message).toContain('SIGKILL');
    expect(finding.message).toContain('GET /slow.php?ms=10');
    expect(finding.message).toContain('slow.php');

    await waitFor(() => server.pool.snapshot().counts.idle === 1, 'a replacement');
    const snap = server.pool.snapshot();
    expect(snap.counts.busy).toBe(0);
    expect(snap.workers.map((w) => w.pid)).not.toContain(pid);
    const resolved = snap.findings.find((f) => f.id === finding.id);
    expect(resolved?.resolution).toMatchObject({ how: 'reclaimed' });
    expect(snap.history.at(-1)).toMatchObject({ id: lease.id, outcome: 'worker-died' });
    const res = await fetch(new URL('pid.php', server.url));
    expect(res.status).toBe(200);
    expect(Number(await res.text())).toBe(snap.workers[0]?.pid);
  });

  it('keep: the worker stays on the busy list marked defunct, and ps agrees with the snapshot', async () => {
    const { server, events } = await start({ minWorkers: 1, maxWorkers: 2, leakPolicy: 'keep' });
    const lease = await server.pool.acquire(request('/slow.php'), new NeverReleasingHolder());
    const pid = lease.workerPid as number;
    process.kill(pid, 'SIGKILL');
    await waitFor(() => findingOf(events, 'defunct-busy') !== undefined, 'defunct-busy', 2_000);
    await server.pool.scan(); // a scan later, nothing has changed its mind
    const snap = server.pool.snapshot();
    const worker = snap.workers.find((w) => w.pid === pid);
    expect(worker).toMatchObject({ state: 'busy', defunct: true, exit: { signal: 'SIGKILL' }, lease: { id: lease.id } });
    expect(worker?.findingIds).toHaveLength(1);
    expect(snap.findings.find((f) => f.id === worker?.findingIds[0])?.resolution).toBeNull();
    // The snapshot says "dead, kept for inspection"; the process table agrees.
    expect(psState(pid)).toBeNull();
    // The rest of the pool still serves.
    expect((await fetch(new URL('pid.php', server.url))).status).toBe(200);
    // A developer's Release resolves it and frees the slot.
    expect(server.pool.releaseLease(lease.id)).toBe(true);
    expect(server.pool.snapshot().workers.some((w) => w.pid === pid)).toBe(false);
    expect(server.pool.snapshot().findings.find((f) => f.id === worker?.findingIds[0])?.resolution?.how).toBe('released');
  });
});

describe('wrappers and descendants', () => {
  function wrapper(name: string, body: string): string {
    const path = join(scratch, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  }

  it('finds a killed php-cgi behind a wrapper that did not exec it, while the wrapper still lives', async () => {
    // Like the seed's php-fastcgi-wrapper, minus `exec`: sh waits for php-cgi and lives on after it.
    const script = wrapper('php-fastcgi-wrapper', `${phpCgi} "$@"\nsleep 30`);
    const { server, events } = await start({ phpCgi: script, minWorkers: 1, maxWorkers: 1, scanIntervalMs: 200, leakPolicy: 'keep' });
    await waitFor(() => server.pool.snapshot().workers[0]?.servingPid != null, 'the reconciler to find the php-cgi behind the wrapper');
    const worker = server.pool.snapshot().workers[0];
    const wrapperPid = worker?.pid as number;
    const phpPid = worker?.servingPid as number;
    expect(phpPid).not.toBe(wrapperPid);
    const lease = await server.pool.acquire(request('/slow.php'), new NeverReleasingHolder());
    const killedAt = Date.now();
    process.kill(phpPid, 'SIGKILL');
    await waitFor(() => findingOf(events, 'defunct-busy') !== undefined, 'a finding for the php-cgi', 2_000);
    const finding = findingOf(events, 'defunct-busy') as Finding;
    noteLatency('defunct-busy, php-cgi behind a wrapper SIGKILLed (scan, 200 ms)', finding.detectedAt - killedAt);
    expect(finding).toMatchObject({ pid: wrapperPid, descendant: { pid: phpPid }, lease: { id: lease.id } });
    expect(finding.message).toContain(`pid ${phpPid}`);
    // The wrapper is alive, which is why its exit could never tell us.
    expect(isRunning(wrapperPid)).toBe(true);
    expect(server.pool.snapshot().workers.find((w) => w.pid === wrapperPid)).toMatchObject({ state: 'busy', defunct: true });
    // Releasing the kept lease stops the wrapper's whole group and starts a new worker.
    expect(server.pool.releaseLease(lease.id)).toBe(true);
    await waitFor(() => !isRunning(wrapperPid), 'the wrapper to be stopped');
    await waitFor(() => server.pool.snapshot().counts.idle === 1, 'a replacement');
  });

  it('reports a zombie left by a wrapper that execs a process that never reaps it', async () => {
    // php-cgi runs in the background, then sh becomes `sleep`, which never
    // waits: php-cgi, once killed, stays <defunct>, as in the 2013 report.
    // (fd 3 carries the socket: sh gives a background job /dev/null as stdin.)
    const script = wrapper('zombie-wrapper', `exec 3<&0\n${phpCgi} "$@" 0<&3 3<&- &\nexec sleep 30 3<&-`);
    const { server, events } = await start({ phpCgi: script, minWorkers: 1, maxWorkers: 1, scanIntervalMs: 200 });
    await waitFor(() => server.pool.snapshot().workers[0]?.servingPid != null, 'the php-cgi behind the wrapper');
    const phpPid = server.pool.snapshot().workers[0]?.servingPid as number;
    await server.pool.acquire(request('/slow.php'), new NeverReleasingHolder());
    const killedAt = Date.now();
    process.kill(phpPid, 'SIGKILL');
    await waitFor(() => findingOf(events, 'defunct-busy') !== undefined, 'defunct-busy', 2_000);
    noteLatency('defunct-busy, zombie php-cgi behind a wrapper (scan, 200 ms)', (findingOf(events, 'defunct-busy') as Finding).detectedAt - killedAt);
    expect(findingOf(events, 'defunct-busy')).toMatchObject({ processState: 'Z', descendant: { pid: phpPid, state: 'Z' } });
    expect(findingOf(events, 'defunct-busy')?.message).toContain('zombie');
  });

  it('reports a defunct descendant of a healthy worker as zombie-descendant', async () => {
    // A child that exits at once, then exec php-cgi: php-cgi never reaps it.
    const script = wrapper('leaky-wrapper', `true &\nexec ${phpCgi} "$@"`);
    const { server, events } = await start({ phpCgi: script, minWorkers: 1, maxWorkers: 1, scanIntervalMs: 200 });
    await waitFor(() => findingOf(events, 'zombie-descendant') !== undefined, 'zombie-descendant', 3_000);
    const finding = findingOf(events, 'zombie-descendant') as Finding;
    noteLatency('zombie-descendant (scan, 200 ms; from the previous scan)', finding.detectionLatencyMs);
    expect(finding).toMatchObject({ workerId: server.pool.snapshot().workers[0]?.id, descendant: { state: 'Z' } });
    expect(finding.message).toMatch(/pid \d+\), a descendant of worker w\d+/);
    // The worker itself is fine and keeps serving.
    expect((await fetch(new URL('pid.php', server.url))).status).toBe(200);
  });
});

describe('lease findings', () => {
  it('busy-timeout at the limit for a SIGSTOPped worker, and 504 for its client', async () => {
    const { server, events } = await start({ minWorkers: 1, maxWorkers: 1, busyTimeoutMs: 800 });
    const sent = Date.now();
    const response = fetch(new URL('slow.php?ms=100', server.url));
    await waitFor(() => server.pool.snapshot().counts.busy === 1, 'the lease');
    process.kill(server.pool.snapshot().workers[0]?.pid as number, 'SIGSTOP');
    const res = await response;
    expect(res.status).toBe(504);
    const finding = findingOf(events, 'busy-timeout') as Finding;
    noteLatency('busy-timeout, beyond the 800 ms limit', finding.detectionLatencyMs);
    expect(finding.detectedAt - sent).toBeGreaterThanOrEqual(800);
    expect(finding.detectionLatencyMs).toBeLessThan(200);
    expect(finding.lease).toMatchObject({ method: 'GET', uri: '/slow.php?ms=100' });
    expect(server.pool.snapshot().history.at(-1)?.outcome).toBe('timeout');
  });

  it('holder-gone when the holder ends without releasing', async () => {
    const { server, events } = await start({ minWorkers: 1, maxWorkers: 1, scanIntervalMs: 200 });
    const holder = new NeverReleasingHolder('ended holder');
    const lease = await server.pool.acquire(request('/slow.php'), holder);
    holder.active = false;
    const endedAt = Date.now();
    await waitFor(() => findingOf(events, 'holder-gone') !== undefined, 'holder-gone', 2_000);
    const finding = findingOf(events, 'holder-gone') as Finding;
    noteLatency('holder-gone (scan, 200 ms)', finding.detectedAt - endedAt);
    expect(finding.detectedAt - endedAt).toBeLessThanOrEqual(400);
    expect(finding).toMatchObject({ workerId: lease.workerId, lease: { id: lease.id, holder: 'ended holder' } });
    expect(lease.active).toBe(false);
    expect(server.pool.snapshot().history.at(-1)).toMatchObject({ id: lease.id, outcome: 'leaked' });
    await waitFor(() => server.pool.snapshot().counts.idle === 1, 'the recycled worker to be replaced');
  });

  it('lease-protocol for a double release and for a lease from another pool; counts stay right', async () => {
    const { server, events } = await start({ minWorkers: 2, maxWorkers: 2 });
    const lease = await server.pool.acquire(request('/x'), new RecordingHolder());
    expect(server.pool.release(lease, 'ok')).toBe(true);
    expect(server.pool.release(lease, 'ok')).toBe(false);
    const other = new Pool({ phpCgi, cwd: docroot, minWorkers: 1, maxWorkers: 1 });
    pools.push(other);
    await other.start();
    const foreign = await other.acquire(request('/y'), new RecordingHolder('foreign'));
    expect(server.pool.release(foreign, 'ok')).toBe(false);
    const kinds = events.filter((e) => e.type === 'finding').map((e) => (e.type === 'finding' ? e.finding : null));
    expect(kinds.map((f) => f?.kind)).toEqual(['lease-protocol', 'lease-protocol']);
    expect(kinds[0]?.message).toContain('released a second time');
    expect(kinds[1]?.message).toContain('never issued');
    const snap = server.pool.snapshot();
    expect(snap.counts).toMatchObject({ idle: 2, busy: 0 });
    expect(snap.workers.reduce((n, w) => n + w.accesses, 0)).toBe(1);
    other.release(foreign, 'ok');
  });

  it('keeps a bounded history of finished leases with their times and outcomes', async () => {
    const { server } = await start({ minWorkers: 1, maxWorkers: 1, historySize: 5 });
    for (let i = 0; i < 8; i++) {
      const res = await fetch(new URL(`pid.php?n=${i}`, server.url));
      await res.text();
    }
    const history = server.pool.snapshot().history;
    expect(history.map((h) => h.uri)).toEqual(['/pid.php?n=3', '/pid.php?n=4', '/pid.php?n=5', '/pid.php?n=6', '/pid.php?n=7']);
    for (const entry of history) {
      expect(entry.outcome).toBe('ok');
      expect(entry.acquiredAt).toBeGreaterThanOrEqual(entry.queuedAt);
      expect(entry.firstByteAt).toBeGreaterThanOrEqual(entry.acquiredAt);
      expect(entry.releasedAt).toBeGreaterThanOrEqual(entry.firstByteAt);
    }
    const status = (await (await fetch(new URL('.fastcgi-pool/status', server.url))).json()) as { history: unknown[]; findings: unknown[] };
    expect(status.history).toHaveLength(5);
    expect(status.findings).toEqual([]);
  });

  it('raises no finding for healthy traffic, client aborts and idle kills', async () => {
    const { server, events } = await start({ minWorkers: 2, maxWorkers: 4, scanIntervalMs: 100 });
    const aborts = Array.from({ length: 5 }, async () => {
      const controller = new AbortController();
      const res = fetch(new URL('slow.php?ms=1000', server.url), { signal: controller.signal });
      await sleep(50);
      controller.abort();
      await res.catch(() => undefined);
    });
    const normal = Array.from({ length: 20 }, async (_, i) => (await fetch(new URL(`pid.php?i=${i}`, server.url))).text());
    await Promise.all([...aborts, ...normal]);
    const idle = server.pool.snapshot().workers.find((w) => w.state === 'idle');
    process.kill(idle?.pid as number, 'SIGKILL');
    await waitFor(() => events.some((e) => e.type === 'worker-exited' && e.pid === idle?.pid), 'the killed idle worker to be reaped');
    await server.pool.scan();
    expect(events.filter((e) => e.type === 'finding')).toEqual([]);
    await waitFor(() => server.pool.snapshot().counts.busy === 0, 'quiet');
  });
});
