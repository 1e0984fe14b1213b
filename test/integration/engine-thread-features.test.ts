/**
 * What the extension uses of the engine beyond the lists, through a real
 * engine thread (dist/engineThread.js) with real php-cgi workers: "Debug Next
 * Request" and "Stop Debugging Requests" with real Xdebug and a fake IDE
 * (issue 12), the busy workers' live PHP stacks — the once-a-second reads
 * that come with the updates, and Show Stack's read now (issue 13) — and
 * live reload, fed with changed files from the main thread (issue 15). Each
 * crosses the channel as the table's actions (src/engineThread/actions.ts)
 * and the update's fields.
 */
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createThreadedStartServer, type ThreadedServerHandle } from '../../src/engineThread/threadedServer';
import type { GatewayEvent } from '../../src/gateway/gateway';
import type { PoolServerOptions } from '../../src/gateway/poolServer';
import type { PoolEvent, WorkerSnapshot } from '../../src/pool/types';
import { OptionError } from '../../src/shared/options';
import { FakeIde } from '../support/fakeIde';
import { phpCgi, waitFor, xdebugAvailabilitySync } from '../support/helpers';
import { rawRequest } from '../support/rawHttp';

const ENTRY = resolve(__dirname, '../../dist/engineThread.js');
const APP = resolve(__dirname, '../fixtures/app');
const XDEBUG_ROOT = realpathSync(resolve(__dirname, '../fixtures/xdebug'));
const LIVE_ROOT = resolve(__dirname, '../fixtures/live');

const servers: ThreadedServerHandle[] = [];
const ides: FakeIde[] = [];

beforeAll(() => {
  if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run npm run build (npm test does)`);
});

afterEach(async () => {
  await Promise.all(ides.splice(0).map((ide) => ide.close()));
  for (const server of servers.splice(0)) await server.stop(1_000).catch(() => undefined);
});

async function start(documentRoot: string, options: Partial<PoolServerOptions> = {}) {
  const events = { pool: [] as PoolEvent[], gateway: [] as GatewayEvent[] };
  const server = await createThreadedStartServer({ entry: ENTRY, updateIntervalMs: 50 })({
    documentRoot,
    pool: { phpCgi, minWorkers: 1, maxWorkers: 2, stopGraceMs: 500, ...options.pool },
    gateway: { port: 0, ...options.gateway },
    onPoolEvent: (event) => events.pool.push(event),
    onGatewayEvent: (event) => events.gateway.push(event),
  });
  servers.push(server);
  return { server, events };
}

/** `pid state command` of every child process of this test process, zombies included. */
function childrenOfThisProcess(): string[] {
  const found: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === process.pid) found.push(`${name} ${state} ${readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim()}`);
    } catch {
      // gone while we looked
    }
  }
  return found;
}

const availability = xdebugAvailabilitySync();
const noXdebug = availability.kind === 'missing' ? `xdebug.so not found for ${phpCgi} (${availability.detail})` : null;

describe('the step debugger through the engine thread', () => {
  it.skipIf(noXdebug !== null)(
    `Debug Next Request pauses the matching request at the IDE's breakpoint; Stop Debugging lets it run on${noXdebug ? ` (skipped: ${noXdebug})` : ''}`,
    async () => {
      const ide = await FakeIde.listen();
      ides.push(ide);
      const { server, events } = await start(XDEBUG_ROOT, {
        pool: { phpCgi, minWorkers: 1, maxWorkers: 2, xdebug: 'on', debugClient: `127.0.0.1:${ide.port}` },
      });
      const snapshot = () => server.pool.snapshot();
      expect(snapshot().debugger).toMatchObject({ status: 'enabled', ide: `127.0.0.1:${ide.port}` });

      // The engine's own answer: the glob as it keeps it.
      await expect(server.pool.debugger.arm('  /steps*  ')).resolves.toEqual({ pattern: '/steps*', since: expect.any(Number) as number });
      await waitFor(() => snapshot().debugger.armed?.pattern === '/steps*', 'the armed trigger in the snapshot');
      expect(events.pool).toContainEqual({ type: 'debug-armed', armed: { pattern: '/steps*', since: expect.any(Number) as number } });
      // A request that does not match runs as usual.
      expect((await fetch(new URL('other.php', server.url))).status).toBe(200);

      const debugged = fetch(new URL('steps.php', server.url)).then(async (response) => ({ status: response.status, body: await response.text() }));
      const session = await ide.nextConnection();
      const init = await session.nextPacket();
      const pid = Number(/appid="(\d+)"/.exec(init)?.[1]);
      await session.command('breakpoint_set', `-t line -f file://${XDEBUG_ROOT}/steps.php -n 8`);
      expect(await session.command('run')).toContain('status="break"');

      const pausedWorker = (): WorkerSnapshot | undefined => snapshot().workers.find((worker) => worker.pid === pid);
      await waitFor(() => pausedWorker()?.state === 'paused', 'the worker to show paused');
      expect(pausedWorker()?.debug).toMatchObject({ state: 'paused', line: 8, ide: 'connected' });
      expect(snapshot().counts).toMatchObject({ paused: 1, busy: 0 });
      expect(snapshot().debugger.armed).toBeNull();
      expect(events.pool.some((event) => event.type === 'worker-debug' && event.pid === pid && event.debug?.state === 'paused')).toBe(true);
      expect(events.pool.some((event) => event.type === 'debug-relay' && event.event.type === 'session-started' && event.event.pid === pid)).toBe(true);

      await expect(server.pool.debugger.stopDebugging()).resolves.toEqual({ disarmed: false, sessionsEnded: 1 });
      const answer = await debugged;
      expect(answer.status).toBe(200);
      expect(answer.body).toContain(`total=6 pid=${pid}`);
      await waitFor(() => pausedWorker()?.state === 'idle' && snapshot().counts.paused === 0, 'the worker idle again');
      expect(events.pool.some((event) => event.type === 'worker-debug' && event.pid === pid && event.debug === null)).toBe(true);
    },
  );

  it("without a debugger, Debug Next Request fails with the engine's own error: it names the xdebug option", async () => {
    const { server } = await start(APP, { pool: { phpCgi, minWorkers: 1, maxWorkers: 1, xdebug: 'off' } });
    expect(server.pool.snapshot().debugger.status).toBe('off');
    const failure = await server.pool.debugger.arm().then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(OptionError);
    expect(failure).toMatchObject({ name: 'DebuggerUnavailableError', option: 'xdebug' });
    await expect(server.pool.debugger.stopDebugging()).resolves.toEqual({ disarmed: false, sessionsEnded: 0 });
  });

  it('a stop while the Xdebug probe still runs (`auto` asks php-cgi as the first worker serves) leaves no process behind, not even a zombie', async () => {
    for (let run = 0; run < 3; run++) {
      const { server } = await start(APP, { pool: { phpCgi, minWorkers: 1, maxWorkers: 1, xdebug: 'auto' } });
      await server.stop(0);
      servers.splice(servers.indexOf(server), 1);
      // The engine thread's children are this process's: each reaped by the thread before it ended.
      expect(childrenOfThisProcess(), `after run ${run + 1}`).toEqual([]);
    }
  });
});

describe('live PHP stacks through the engine thread', () => {
  it("a long request's stack reads reach the main thread with the updates, Show Stack reads it now, and both go when the lease ends", async () => {
    const { server, events } = await start(APP, { pool: { phpCgi, minWorkers: 2, maxWorkers: 2, xdebug: 'off' } });
    const slow = fetch(new URL('slow.php?ms=3000', server.url)).then((response) => response.status);
    await waitFor(() => server.pool.snapshot().counts.busy === 1, 'the slow request to hold a worker');
    const busy = server.pool.snapshot().workers.find((worker) => worker.state === 'busy') as WorkerSnapshot;
    const idle = server.pool.snapshot().workers.find((worker) => worker.state === 'idle') as WorkerSnapshot;
    expect(server.pool.stacks.lastReads().size).toBe(0);

    // The engine reads a lease older than a second, once a second: no event, only the update's `stacks`.
    await waitFor(() => server.pool.stacks.lastReads().has(busy.id), "the engine's scheduled read on the main thread", 4_000);
    const scheduled = server.pool.stacks.lastReads().get(busy.id);
    expect(scheduled).toMatchObject({ workerId: busy.id, leaseId: busy.lease?.id, pid: busy.pid });
    expect(scheduled?.wait).not.toBeNull();

    // The canary decides while the slow request runs (on the idle worker); then Show Stack's read names usleep.
    await waitFor(() => events.pool.some((event) => event.type === 'stacks-status'), 'the stack canary to decide', 4_000);
    const now = await server.pool.stacks.readWorker(busy.id);
    expect(now).toMatchObject({ workerId: busy.id, leaseId: busy.lease?.id });
    expect(now?.sampledAt).toBeGreaterThanOrEqual(scheduled?.sampledAt ?? 0);
    if (server.pool.snapshot().stacks.state === 'on') expect(now?.stack?.map((frame) => frame.function)).toContain('usleep');
    else expect(now?.stackError).toBeTruthy();
    await expect(server.pool.stacks.readWorker(idle.id)).resolves.toBeNull();

    expect(await slow).toBe(200);
    await waitFor(() => server.pool.stacks.lastReads().size === 0, 'the read to go with its lease');
  });
});

describe('live reload through the engine thread', () => {
  it('changed files from the main thread reload the open pages, once per burst, and the status JSON counts it', async () => {
    const { server, events } = await start(LIVE_ROOT, { gateway: { port: 0, liveReload: true } });
    const live = server.gateway.liveReload;
    if (!live) throw new Error('live reload should be on');

    // A page listening, as the injected script does.
    const stream = await fetch(new URL('.fastcgi-pool/live', server.url));
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    let received = '';
    const readUntil = async (part: string): Promise<void> => {
      while (!received.includes(part)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended before ${part}`);
        received += Buffer.from(value).toString();
      }
    };
    await readUntil('event: hello');

    // A save seen twice (the editor's event and the watcher's), and a burst of many more files in the same turn: one reload.
    live.changed(['page.html']);
    live.changed(['page.html', 'csp.php']);
    live.changed(Array.from({ length: 2_500 }, (_, n) => `vendor-copy/f${n}.php`));
    await readUntil('event: reload');
    await waitFor(() => events.gateway.some((event) => event.type === 'live-reload'), 'the live-reload event');
    const reloads = events.gateway.filter((event) => event.type === 'live-reload');
    expect(reloads).toHaveLength(1);
    expect(reloads[0]).toMatchObject({ action: 'reload', clients: 1 });
    const files = reloads[0]?.type === 'live-reload' ? reloads[0].files : [];
    expect(new Set(files).size).toBe(2_502);

    // Stylesheets alone swap in place.
    live.changed(['style.css']);
    await readUntil('event: css');

    const strict = `/csp.php?policy=${encodeURIComponent("script-src 'nonce-r4nd0m'")}`;
    expect((await rawRequest(server.port, 'GET', strict, [['Sec-Fetch-Dest', 'document']])).status).toBe(200);
    await waitFor(() => events.gateway.some((event) => event.type === 'live-reload-blocked'), 'the live-reload-blocked event');
    expect(events.gateway.find((event) => event.type === 'live-reload-blocked')).toEqual({
      type: 'live-reload-blocked',
      path: '/csp.php',
      directive: 'script-src',
      policy: "script-src 'nonce-r4nd0m'",
    });
    const status = (await (await fetch(new URL('.fastcgi-pool/status', server.url))).json()) as {
      gateway: { liveReload: { enabled: boolean; clients: number; reloads: number; stylesheetSwaps: number; blockedByCsp: unknown[] } };
    };
    expect(status.gateway.liveReload).toMatchObject({ enabled: true, clients: 1, reloads: 1, stylesheetSwaps: 1 });
    expect(status.gateway.liveReload.blockedByCsp).toHaveLength(1);
    await reader.cancel();
  });

  it('a pool without live reload offers no sink: the main thread has nothing to report to', async () => {
    const { server } = await start(APP);
    expect(server.gateway.liveReload).toBeNull();
  });
});
