/**
 * The debugger-aware pool with REAL php-cgi workers running Xdebug (loaded
 * per worker with `--xdebug on`) and a fake IDE speaking DBGp: the pool's
 * relay between them, requests over real HTTP through the gateway. A worker
 * stopped at a breakpoint is `paused`, never "stuck": no busy timeout, no
 * finding, a spare worker serves meanwhile, and every way a session can end
 * (run, the IDE hangs up, nobody listens, the worker is killed, "Stop
 * Debugging Requests", a client that leaves) ends with the worker's lists
 * telling the truth. Skipped, saying why, when xdebug.so is not installed.
 */
import { realpathSync } from 'node:fs';
import { request } from 'node:http';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startPoolServer, type PoolServer } from '../../src/gateway/poolServer';
import type { PoolEvent, PoolSnapshot, WorkerSnapshot } from '../../src/pool/types';
import { FakeIde, unusedPort, type FakeIdeConnection } from '../support/fakeIde';
import { phpCgi, sleep, waitFor, xdebugAvailabilitySync } from '../support/helpers';

const DOCROOT = realpathSync(resolve(__dirname, '../fixtures/xdebug'));
const SCRIPT = resolve(DOCROOT, 'steps.php');
const SCRIPT_URI = `file://${SCRIPT}`;
const BUSY_TIMEOUT_MS = 600;

const availability = xdebugAvailabilitySync();
const skipReason = availability.kind === 'missing' ? `xdebug.so not found for ${phpCgi} (${availability.detail}); install php-xdebug to run these tests` : null;
if (skipReason) console.warn(`pool-xdebug tests skipped: ${skipReason}`);

const servers: PoolServer[] = [];
const ides: FakeIde[] = [];

afterEach(async () => {
  await Promise.all(ides.splice(0).map((ide) => ide.close()));
  await Promise.all(servers.splice(0).map((server) => server.stop(1_000)));
});

interface Started {
  server: PoolServer;
  url: string;
  events: PoolEvent[];
  snapshot: () => PoolSnapshot;
}

/** A pool of `maxWorkers` (default 1) with Xdebug on, its relay pointed at `idePort`. */
async function startPool(idePort: number, options: { maxWorkers?: number; xdebug?: 'on' | 'auto' } = {}): Promise<Started> {
  const events: PoolEvent[] = [];
  const server = await startPoolServer({
    documentRoot: DOCROOT,
    pool: {
      phpCgi,
      minWorkers: 1,
      maxWorkers: options.maxWorkers ?? 1,
      busyTimeoutMs: BUSY_TIMEOUT_MS,
      xdebug: options.xdebug ?? 'on',
      debugClient: `127.0.0.1:${idePort}`,
      parentDeathSignal: false,
    },
    gateway: { port: 0 },
    onPoolEvent: (event) => events.push(event),
  });
  servers.push(server);
  return { server, url: server.url, events, snapshot: () => server.pool.snapshot() };
}

async function startIde(): Promise<FakeIde> {
  const ide = await FakeIde.listen();
  ides.push(ide);
  return ide;
}

/** GET through the pool: the status and the body. */
async function get(url: string, init?: RequestInit): Promise<{ status: number; body: string }> {
  const response = await fetch(url, init);
  return { status: response.status, body: await response.text() };
}

function workerWithPid(snapshot: PoolSnapshot, pid: number): WorkerSnapshot | undefined {
  return snapshot.workers.find((w) => w.pid === pid);
}

/** The body steps.php answers with when it ran to its end on worker `pid`. */
function fullBody(pid: number): string {
  return `total=6 pid=${pid}\n${'x'.repeat(200_000)}\nend\n`;
}

/** The fake IDE's side of a new session: init, a breakpoint at `line`, `run` until it breaks there. Returns the worker's pid. */
async function breakAt(ide: FakeIde, line: number): Promise<{ session: FakeIdeConnection; pid: number; brokeAt: number }> {
  const session = await ide.nextConnection();
  const init = await session.nextPacket();
  expect(init).toContain(`fileuri="${SCRIPT_URI}"`);
  const pid = Number(/appid="(\d+)"/.exec(init)?.[1]);
  await session.command('breakpoint_set', `-t line -f ${SCRIPT_URI} -n ${line}`);
  const answer = await session.command('run');
  expect(answer).toContain('status="break"');
  return { session, pid, brokeAt: Date.now() };
}

/** Lets a session end the way PHP Debug's "Continue" does: run to the end, then the last word. */
async function runToEnd(session: FakeIdeConnection): Promise<void> {
  expect(await session.command('run')).toContain('status="stopping"');
  session.send('run');
}

describe.skipIf(skipReason !== null)(`the pool with real Xdebug${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('a request paused for 3× the busy timeout: paused within 1 s of the break, no 504, no finding, a spare serves a parallel request; run → 200 and the worker idle', async () => {
    const ide = await startIde();
    const { url, snapshot, events, server } = await startPool(ide.port);
    expect(snapshot().debugger).toMatchObject({ status: 'enabled', xdebug: 'loadable', ide: `127.0.0.1:${ide.port}` });
    server.pool.debugger.arm();
    const debugged = get(`${url}steps.php`);
    const { session, pid, brokeAt } = await breakAt(ide, 8);

    // The relay reads the break before it forwards it: the snapshot says paused at once; 1 s is the issue's bound.
    await waitFor(() => workerWithPid(snapshot(), pid)?.state === 'paused', 'the worker to show paused', 1_000);
    const pausedSeenAt = Date.now();
    const paused = workerWithPid(snapshot(), pid) as WorkerSnapshot;
    expect(paused.debug).toMatchObject({ state: 'paused', file: SCRIPT, line: 8, ide: 'connected' });
    expect(paused.lease?.uri).toBe('/steps.php');
    expect(snapshot().counts).toMatchObject({ busy: 0, paused: 1 });
    console.log(`      break → paused in the snapshot: within ${pausedSeenAt - brokeAt} ms (polled every 10 ms)`);

    // --max-workers 1, and that one is paused: the spare serves the page's other requests.
    const parallel = await get(`${url}steps.php`);
    expect(parallel.status).toBe(200);
    const spare = Number(/pid=(\d+)/.exec(parallel.body)?.[1]);
    expect(spare).not.toBe(pid);
    expect(snapshot().counts.total).toBe(2);

    await sleep(3 * BUSY_TIMEOUT_MS);
    await server.pool.scan();
    expect(workerWithPid(snapshot(), pid)?.state).toBe('paused');
    expect(snapshot().findings).toEqual([]);
    expect(snapshot().totals.busyTimeouts).toBe(0);

    await runToEnd(session);
    const answer = await debugged;
    expect(answer.status).toBe(200);
    expect(answer.body).toBe(fullBody(pid));
    await waitFor(() => workerWithPid(snapshot(), pid)?.state === 'idle' && workerWithPid(snapshot(), pid)?.debug === null, 'the worker to go back to idle');
    // The session is over: the spare is no longer needed and leaves.
    await waitFor(() => snapshot().counts.total - snapshot().counts.error === 1, 'the spare to be retired');
    expect(
      snapshot().recentExits.some((exit) => exit.pid === spare && exit.reason === 'spare-not-needed') ||
        workerWithPid(snapshot(), spare)?.exitReason === 'spare-not-needed',
    ).toBe(true);
    expect(snapshot().findings).toEqual([]);
    const states = events
      .filter((e): e is Extract<PoolEvent, { type: 'worker-state' }> => e.type === 'worker-state' && e.pid === pid)
      .map((e) => `${e.from}→${e.to}`);
    expect(states).toContain('busy→paused');
    expect(states).toContain('paused→busy');
  });

  it('the IDE hangs up mid-pause: the request completes with its full body and the worker goes idle', async () => {
    const ide = await startIde();
    const { url, snapshot } = await startPool(ide.port);
    const debugged = get(`${url}steps.php?XDEBUG_TRIGGER=1`);
    const { session, pid } = await breakAt(ide, 6);
    await waitFor(() => workerWithPid(snapshot(), pid)?.state === 'paused', 'paused');
    session.hangUp();
    const answer = await debugged;
    expect(answer).toEqual({ status: 200, body: fullBody(pid) });
    await waitFor(() => workerWithPid(snapshot(), pid)?.state === 'idle' && workerWithPid(snapshot(), pid)?.debug === null, 'the worker to go idle');
    expect(snapshot().findings).toEqual([]);
  });

  it('no IDE listening: the triggered request completes normally, and the log hears why it was not debugged', async () => {
    const { url, snapshot, events, server } = await startPool(await unusedPort());
    server.pool.debugger.arm('/steps.php');
    const answer = await get(`${url}steps.php`);
    const pid = Number(/pid=(\d+)/.exec(answer.body)?.[1]);
    expect(answer).toEqual({ status: 200, body: fullBody(pid) });
    await waitFor(() => events.some((e) => e.type === 'debug-relay' && e.event.type === 'session-ended'), 'the session to end');
    expect(events.find((e) => e.type === 'debug-relay' && e.event.type === 'ide-unreachable')).toMatchObject({ event: { pid, error: 'ECONNREFUSED' } });
    expect(workerWithPid(snapshot(), pid)).toMatchObject({ state: 'idle', debug: null });
    expect(snapshot().debugger.armed).toBeNull();
  });

  it('an untriggered request never opens a debug connection, and "Debug Next Request" with a glob triggers only the request it matches, once', async () => {
    const ide = await startIde();
    const { url, snapshot, events } = await startPool(ide.port);
    expect((await get(`${url}steps.php`)).status).toBe(200);
    expect((await get(`${url}other.php`)).status).toBe(200);
    expect(events.filter((e) => e.type === 'debug-relay' || e.type === 'worker-debug')).toEqual([]);
    expect(ide.connections).toHaveLength(0);

    // Through the control beside the status JSON, as the CLI documents it.
    const armed = await fetch(`${url}.fastcgi-pool/debug-next?path=${encodeURIComponent('/steps.*')}`, { method: 'POST' });
    expect(armed.status).toBe(200);
    expect(await armed.json()).toMatchObject({ armed: { pattern: '/steps.*' } });
    expect(snapshot().debugger.armed).toMatchObject({ pattern: '/steps.*' });
    expect((await get(`${url}other.php`)).status).toBe(200); // does not match: not debugged, still armed
    expect(snapshot().debugger.armed).not.toBeNull();
    const debugged = get(`${url}steps.php`);
    const session = await ide.nextConnection();
    expect(await session.nextPacket()).toContain(`fileuri="${SCRIPT_URI}"`);
    expect(snapshot().debugger.armed).toBeNull();
    session.send('detach');
    expect((await debugged).status).toBe(200);
    expect((await get(`${url}steps.php`)).status).toBe(200); // disarmed: the next one is not debugged
    expect(ide.connections).toHaveLength(1);
    expect(events.filter((e) => e.type === 'debug-armed').map((e) => (e as Extract<PoolEvent, { type: 'debug-armed' }>).armed?.pattern ?? null)).toEqual([
      '/steps.*',
      null,
    ]);
  });

  it('a worker killed while paused: defunct-busy as usual, 502 to its client, and a replacement', async () => {
    const ide = await startIde();
    const { url, snapshot } = await startPool(ide.port);
    const debugged = get(`${url}steps.php?XDEBUG_TRIGGER=1`);
    const { session, pid } = await breakAt(ide, 8);
    await waitFor(() => workerWithPid(snapshot(), pid)?.state === 'paused', 'paused');
    process.kill(pid, 'SIGKILL');
    const answer = await debugged;
    expect(answer.status).toBe(502);
    await session.closed;
    await waitFor(() => snapshot().findings.some((f) => f.kind === 'defunct-busy'), 'the defunct-busy finding');
    const finding = snapshot().findings.find((f) => f.kind === 'defunct-busy');
    expect(finding).toMatchObject({ pid, exit: { signal: 'SIGKILL' }, lease: { uri: '/steps.php?XDEBUG_TRIGGER=1' } });
    await waitFor(() => snapshot().counts.idle >= 1 && workerWithPid(snapshot(), pid) === undefined, 'a replacement worker');
    expect(snapshot().counts.paused).toBe(0);
  });

  it('"Stop Debugging Requests" while paused: the request runs on to its end and the worker goes idle', async () => {
    const ide = await startIde();
    const { url, snapshot } = await startPool(ide.port);
    const debugged = get(`${url}steps.php?XDEBUG_TRIGGER=1`);
    const { pid } = await breakAt(ide, 8);
    await waitFor(() => workerWithPid(snapshot(), pid)?.state === 'paused', 'paused');
    const stopped = await fetch(`${url}.fastcgi-pool/debug-stop`, { method: 'POST' });
    expect(await stopped.json()).toEqual({ disarmed: false, sessionsEnded: 1 });
    expect(await debugged).toEqual({ status: 200, body: fullBody(pid) });
    await waitFor(() => workerWithPid(snapshot(), pid)?.state === 'idle', 'idle');
  });

  it('a client that leaves while its request is paused: the worker is not recycled under the developer; it finishes the script once let go, then is idle, same process', async () => {
    const ide = await startIde();
    const { url, snapshot, server } = await startPool(ide.port);
    const client = request(`${url}steps.php?XDEBUG_TRIGGER=1`);
    client.on('error', () => undefined);
    client.end();
    const { session, pid } = await breakAt(ide, 8);
    await waitFor(() => workerWithPid(snapshot(), pid)?.state === 'paused', 'paused');
    const leaseId = workerWithPid(snapshot(), pid)?.lease?.id;
    client.destroy();
    // The lease ends as a client abort (PHP decides how far the script runs), but
    // the script is still at its breakpoint: the worker finishes it, and no
    // timeout runs against it while the developer looks.
    await waitFor(() => workerWithPid(snapshot(), pid)?.state === 'finishing', 'the worker to finish the abandoned request');
    expect(workerWithPid(snapshot(), pid)).toMatchObject({
      state: 'finishing',
      exitReason: null,
      lease: null,
      abandoned: { lease: { id: leaseId } },
      debug: { state: 'paused' },
    });
    await sleep(600);
    await server.pool.scan();
    expect(workerWithPid(snapshot(), pid)).toMatchObject({ state: 'finishing', exitReason: null, debug: { state: 'paused' } });
    expect(snapshot().findings).toEqual([]);
    await runToEnd(session);
    await waitFor(() => workerWithPid(snapshot(), pid)?.state === 'idle', 'the worker to finish the script and go idle');
    expect(snapshot().history.at(-1)).toMatchObject({ id: leaseId, pid, outcome: 'client-abort' });
  });

  it('--xdebug auto without Xdebug loaded by php-cgi: workers serve as usual, a triggered request is not debugged, and the pool says why', async () => {
    const ide = await startIde();
    const { url, snapshot, server } = await startPool(ide.port, { xdebug: 'auto' });
    await waitFor(() => snapshot().debugger.status !== 'detecting', 'the decision');
    expect(snapshot().debugger).toMatchObject({ status: 'unavailable', xdebug: 'loadable', relayPort: null });
    expect(snapshot().debugger.reason).toMatch(/installed but .* does not load it/);
    expect(() => server.pool.debugger.arm()).toThrow(/set xdebug to "on"/);
    expect((await get(`${url}steps.php?XDEBUG_TRIGGER=1`)).status).toBe(200);
    expect(ide.connections).toHaveLength(0);
  });
});
