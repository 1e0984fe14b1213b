/**
 * The engine in a real worker thread (dist/engineThread.js, as the .vsix
 * ships it) with real php-cgi workers: what the extension's main thread
 * sees of it (snapshots, events, actions, errors), how it stops, and how a
 * crash of the thread is reported and its workers still stopped. Crashes
 * are injected through test/fixtures/engine-thread-faults.cjs, which loads
 * the real entry and listens on a BroadcastChannel.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BroadcastChannel } from 'node:worker_threads';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createThreadedStartServer, type ThreadedServerHandle, type ThreadedServerOptions } from '../../src/engineThread/threadedServer';
import { GatewayListenError, type GatewayEvent } from '../../src/gateway/gateway';
import { ConfigurationError, type PoolServerOptions } from '../../src/gateway/poolServer';
import { readProcessStat } from '../../src/platform/processTable';
import type { PoolEvent } from '../../src/pool/types';
import { isRunning, phpCgi, waitFor } from '../support/helpers';

const ENTRY = resolve(__dirname, '../../dist/engineThread.js');
const FAULTY_ENTRY = resolve(__dirname, '../fixtures/engine-thread-faults.cjs');
const APP = resolve(__dirname, '../fixtures/app');

let scratch: string;
const servers: ThreadedServerHandle[] = [];

beforeAll(() => {
  if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run npm run build (npm test does)`);
  scratch = mkdtempSync(join(tmpdir(), 'engine-thread-test-'));
});

afterEach(async () => {
  for (const server of servers.splice(0)) await server.stop(0).catch(() => undefined);
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Recorded {
  pool: PoolEvent[];
  gateway: GatewayEvent[];
}

async function start(
  setup: Partial<ThreadedServerOptions> = {},
  options: Partial<PoolServerOptions> = {},
): Promise<{ server: ThreadedServerHandle; events: Recorded }> {
  const events: Recorded = { pool: [], gateway: [] };
  const server = await createThreadedStartServer({ entry: ENTRY, updateIntervalMs: 50, ...setup })({
    documentRoot: APP,
    pool: { phpCgi, minWorkers: 2, maxWorkers: 3, stopGraceMs: 500, ...options.pool },
    gateway: { port: 0, ...options.gateway },
    onPoolEvent: (event) => events.pool.push(event),
    onGatewayEvent: (event) => events.gateway.push(event),
    ...options,
  });
  servers.push(server);
  return { server, events };
}

/** Dead: gone, or a zombie (a worker whose thread died has no reaper left in this process). */
function isDead(pid: number): boolean {
  return !isRunning(pid);
}

describe('the engine in a worker thread', () => {
  it('serves through the thread; the main thread gets snapshots, events in order and actions as messages; stop reaps every worker', async () => {
    const stateDir = join(scratch, 'state-serve');
    const { server, events } = await start({}, { pool: { phpCgi, minWorkers: 2, maxWorkers: 3, stopGraceMs: 500, stateDir } });
    const first = server.pool.snapshot();
    expect(first.state).toBe('running');
    expect(first.counts.idle).toBe(2);
    expect(events.pool.filter((event) => event.type === 'worker-ready')).toHaveLength(2);
    const pids = first.workers.map((worker) => worker.pid as number);
    // The registry (for a crash of the whole host) is written from the thread, named after the process.
    expect(readdirSync(stateDir)).toEqual([`workers-${process.pid}.json`]);

    const answer = await fetch(new URL('pid.php', server.url));
    expect(answer.status).toBe(200);
    const servedBy = Number(await answer.text());
    expect(pids).toContain(servedBy);
    await waitFor(() => server.pool.snapshot().totals.requests === 1 && events.gateway.length === 1, 'the request in the snapshot and the events');
    expect(events.gateway[0]).toMatchObject({ type: 'request', method: 'GET', uri: '/pid.php', status: 200 });
    const leaseEvents = events.pool.filter((event) => event.type.startsWith('lease-')).map((event) => event.type);
    expect(leaseEvents).toEqual(['lease-acquired', 'lease-released']);
    expect(server.pool.snapshot().history.map((entry) => entry.pid)).toEqual([servedBy]);

    // Actions: the table's methods, answered by the pool in the thread.
    const victim = pids[0] as number;
    const victimId = first.workers[0]?.id as string;
    await expect(server.pool.recycleWorker(victimId, 'kill')).resolves.toBe(true);
    await expect(server.pool.recycleWorker('w999', 'kill')).resolves.toBe(false);
    await expect(server.pool.releaseLease('L999')).resolves.toBe(false);
    await expect(server.pool.recycleWorker('no such id!', 'kill')).rejects.toThrow('recycleWorker: workerId must be a worker id');
    await waitFor(() => !isRunning(victim) && readProcessStat(victim) === null, `worker ${victim} to be killed and reaped by the thread`);
    await waitFor(
      () => server.pool.snapshot().counts.idle === 2 && !server.pool.snapshot().workers.some((w) => w.pid === victim),
      'a replacement in the snapshot',
    );
    expect(events.pool.some((event) => event.type === 'worker-exited' && event.pid === victim && event.reason === 'killed-by-user')).toBe(true);

    const all = server.pool.snapshot().workers.map((worker) => worker.pid as number);
    await server.stop(1_000);
    // Reaped by the thread, not only dead: no zombie is left behind.
    for (const pid of all) expect(readProcessStat(pid), `pid ${pid}`).toBeNull();
    expect(events.pool.at(-1)).toEqual({ type: 'pool-state', state: 'stopped', problem: null });
    expect(readdirSync(stateDir)).toEqual([]);
    await expect(server.pool.releaseLease('L1')).rejects.toThrow('the pool is not running');
  });

  it("refuses a bad start with the engine's own typed errors: the option at fault, a busy port the extension moves on from", async () => {
    await expect(start({}, { documentRoot: join(scratch, 'nowhere') })).rejects.toSatisfy(
      (error) => error instanceof ConfigurationError && error.option === 'documentRoot' && /document root not found/.test(error.message),
    );
    const blocker: Server = createServer();
    await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', done));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(start({}, { gateway: { port } })).rejects.toSatisfy((error) => error instanceof GatewayListenError && error.code === 'EADDRINUSE');
    } finally {
      blocker.close();
    }
  });

  it('past the per-update budget, counts requests into a summary instead of forwarding each one', async () => {
    const { server, events } = await start({ perRequestEventsPerUpdate: 5, updateIntervalMs: 1_000 });
    const answers = await Promise.all(Array.from({ length: 20 }, () => fetch(new URL('pid.php', server.url)).then((r) => r.status)));
    const listed = () => events.gateway.filter((event) => event.type === 'request').length;
    const summarized = () => events.gateway.reduce((sum, event) => sum + (event.type === 'requests-summarized' ? event.requests : 0), 0);
    await waitFor(() => listed() + summarized() === 20, 'every request, listed or summarized', 10_000);
    expect(summarized()).toBeGreaterThan(0);
    const statuses: Record<string, number> = {};
    for (const event of events.gateway) {
      if (event.type === 'request') statuses[event.status] = (statuses[event.status] ?? 0) + 1;
      if (event.type === 'requests-summarized') for (const [status, n] of Object.entries(event.byStatus)) statuses[status] = (statuses[status] ?? 0) + n;
    }
    const answered: Record<string, number> = {};
    for (const status of answers) answered[status] = (answered[status] ?? 0) + 1;
    expect(statuses).toEqual(answered);
  });

  it('a thread that cannot load (a .vsix without its engine bundle) or be started fails the start with why', async () => {
    await expect(start({ entry: join(scratch, 'engineThread.js') })).rejects.toThrow(
      /^the engine thread crashed: Error: Cannot find module .*engineThread\.js/,
    );
    // Options that cannot cross to the thread end it rather than leave it waiting.
    const notData = { phpCgi, env: { PATH: (() => '/usr/bin') as unknown as string } };
    await expect(start({}, { pool: notData })).rejects.toThrow(
      /^the engine thread could not be given its start options \(.*could not be cloned.*\) and was ended/,
    );
  });

  it('forwards only the events asked for: lifecycle without lease traffic when per-request events are declined', async () => {
    const { server, events } = await start({}, { poolEventsPerRequest: false, onGatewayEvent: undefined });
    for (let i = 0; i < 5; i++) await (await fetch(new URL('pid.php', server.url))).text();
    await waitFor(() => server.pool.snapshot().totals.requests === 5, 'the requests in the snapshot (found by its version, with no event)');
    expect(events.pool.some((event) => event.type.startsWith('lease-'))).toBe(false);
    expect(events.gateway).toEqual([]);
  });
});

describe('a crash of the engine thread', () => {
  let faults: BroadcastChannel;
  beforeAll(() => {
    faults = new BroadcastChannel('fastcgi-pool-engine-faults');
  });
  afterAll(() => faults.close());

  /** Starts a pool in the fault-injecting thread with one request in flight (a busy worker ignores SIGTERM's quick exit). */
  async function startBusy(stateDir: string, parentDeathSignal = true) {
    const { server, events } = await start(
      { entry: FAULTY_ENTRY, resourceLimits: { maxOldGenerationSizeMb: 48 }, stopMarginMs: 1_000 },
      { pool: { phpCgi, minWorkers: 2, maxWorkers: 3, stopGraceMs: 300, stateDir, parentDeathSignal } },
    );
    const inFlight = fetch(new URL('slow.php?ms=20000', server.url)).then(
      (response) => `HTTP ${response.status}`,
      () => 'connection cut',
    );
    await waitFor(() => server.pool.snapshot().counts.busy === 1, 'the slow request to hold a worker');
    const pids = server.pool.snapshot().workers.map((worker) => worker.pid as number);
    const failed = new Promise<string>((resolve) => server.onDidFail(resolve));
    return { server, events, pids, inFlight, failed };
  }

  for (const [fault, says] of [
    ['throw', /^the engine thread crashed: uncaught Error: injected fault \(at .*engine-thread-faults\.cjs/],
    ['reject', /^the engine thread crashed: uncaught Error: injected rejection/],
    ['exit', /^the engine thread exited unexpectedly \(code 7\)/],
    ['oom', /^the engine thread crashed: Error: Worker terminated due to reaching memory limit/],
  ] as const) {
    it(`${fault}: is reported (the pool shows failed, with why) and every worker is stopped`, async () => {
      const stateDir = join(scratch, `state-${fault}`);
      const { server, events, pids, inFlight, failed } = await startBusy(stateDir);
      faults.postMessage(fault);
      const problem = await failed;
      expect(problem).toMatch(says);
      for (const pid of pids) expect(isDead(pid), `worker pid ${pid} after the ${fault}`).toBe(true);
      expect(server.pool.snapshot()).toMatchObject({ state: 'failed', problem, workers: [] });
      expect(events.pool.at(-1)).toEqual({ type: 'pool-state', state: 'failed', problem });
      expect(await inFlight).toMatch(/^HTTP 5\d\d$|^connection cut$/);
      // Nothing left on disk that a later start would mistake for a live run's.
      expect(readdirSync(stateDir)).toEqual([]);
      await server.stop(0); // resolves: there is nothing left to stop
    });
  }

  it('a thread that hangs is ended when its stop runs out of time; its workers die with it (the parent-death signal is SIGKILL)', async () => {
    const { server, pids } = await startBusy(join(scratch, 'state-hang'));
    faults.postMessage('hang');
    // Killed by the kernel as the thread ended; the main thread may still find them dying, and kills them again.
    await expect(server.stop(100)).rejects.toThrow(
      /^the engine thread did not stop within 1400 ms and was ended; (killed 2 workers it left running \(pids \d+, \d+\); )?2 exited workers cannot be reaped until the extension host exits \(pids \d+, \d+\)$/,
    );
    for (const pid of pids) expect(isDead(pid), `worker pid ${pid}`).toBe(true);
  });

  it('a thread that hangs, its workers started without the parent-death signal: the main thread kills them by their process groups', async () => {
    const { server, pids } = await startBusy(join(scratch, 'state-hang-nosignal'), false);
    faults.postMessage('hang');
    await expect(server.stop(100)).rejects.toThrow(/^the engine thread did not stop within 1400 ms and was ended; killed 2 workers it left running/);
    for (const pid of pids) expect(isDead(pid), `worker pid ${pid}`).toBe(true);
  });
});
