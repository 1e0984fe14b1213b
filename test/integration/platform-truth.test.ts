import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPoolServer, type PoolServer } from '../../src/gateway/poolServer';
import { defaultPlatformId, PLATFORM_ENV, selectPlatform } from '../../src/platform/platforms';
import { ProcessHost } from '../../src/platform/processHost';
import { readProcessStat } from '../../src/platform/processTable';
import { findExecutable } from '../../src/platform/spawnWorker';
import { phpCgi, waitFor } from '../support/helpers';

/**
 * Runs in every vitest project (vitest.config.mts): on this OS's own
 * implementation, with the portable Unix one forced, and the Windows way.
 * Whatever the implementation, the snapshot says which one runs, and what
 * it reads about the workers agrees with /proc, the ground truth here.
 */
const forced = process.env[PLATFORM_ENV] || defaultPlatformId();
let docroot: string;
const servers: PoolServer[] = [];

beforeAll(() => {
  docroot = mkdtempSync(join(tmpdir(), 'platform-truth-'));
  writeFileSync(join(docroot, 'pid.php'), '<?php echo getmypid();');
  // Holds a TCP connection open until the other side closes it.
  writeFileSync(join(docroot, 'wait.php'), "<?php $s = fsockopen('127.0.0.1', (int) $_GET['port']); echo fread($s, 1) === '' ? 'closed' : 'data';");
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop(1_000)));
});

afterAll(() => rmSync(docroot, { recursive: true, force: true }));

async function start(): Promise<PoolServer> {
  const server = await startPoolServer({ documentRoot: docroot, pool: { phpCgi, minWorkers: 2, maxWorkers: 2 }, gateway: { port: 0 } });
  servers.push(server);
  return server;
}

describe(`the platform implementation in use (${forced})`, () => {
  it('is the one the snapshot names, with its honest flags', async () => {
    const platform = (await start()).pool.snapshot().platform;
    expect(platform?.implementation).toBe(forced);
    expect(platform?.os).toBe(process.platform);
    const expected = {
      linux: { processTruth: 'proc', orphanGuard: 'pdeathsig', pdeathsig: true, workerAddress: 'unix-socket' },
      'portable-unix': { processTruth: 'ps', orphanGuard: 'watchdog', pdeathsig: false, workerAddress: 'unix-socket' },
      'windows-sim': { processTruth: 'proc', orphanGuard: 'pdeathsig', pdeathsig: true, workerAddress: 'loopback-port' },
    }[forced as 'linux' | 'portable-unix' | 'windows-sim'];
    expect(platform).toMatchObject(expected);
  });

  it('reads every worker in one go, and agrees with /proc on state, parent and identity', async () => {
    const server = await start();
    // The stack canary borrows an idle worker once the pool is quiet: after it, every worker sleeps in accept() and /proc reads the same state twice.
    await server.pool.stacks.whenChecked();
    const pids = server.pool.snapshot().workers.map((w) => w.pid as number);
    const host = new ProcessHost({ phpCgi, cwd: docroot, ini: {}, env: {}, parentDeathSignal: false, stateDir: null, platform: selectPlatform() });
    const startTimes = await Promise.all(pids.map((pid) => host.platform.truth.startTimeOf(pid)));
    const reading = await host.readProcesses([...pids, 4_194_305]);
    for (const [i, pid] of pids.entries()) {
      const truth = reading.inspect(pid, startTimes[i] ?? null);
      const proc = readProcessStat(pid);
      expect(truth.status).toBe('alive');
      if (truth.status !== 'alive') continue;
      expect(truth.stat).toMatchObject({ pid, ppid: proc?.ppid, pgrp: proc?.pgrp, comm: 'php-cgi' });
      expect(truth.stat.state).toBe(proc?.state);
      // Another start time for the same pid: another process.
      expect(reading.inspect(pid, (startTimes[i] ?? 0) + 1)).toEqual({ status: 'gone', reused: true });
    }
    expect(reading.inspect(4_194_305, null)).toEqual({ status: 'gone', reused: false });
  });

  it.skipIf(!findExecutable('lsof', process.env.PATH ?? ''))('names the TCP connection a busy worker waits on', async () => {
    const held: Socket[] = [];
    const upstream: Server = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const port = (upstream.address() as { port: number }).port;
    try {
      const server = await start();
      const answer = fetch(new URL(`wait.php?port=${port}`, server.url)).then((r) => r.text());
      await waitFor(() => held.length === 1, 'the worker to connect');
      const busy = server.pool.snapshot().workers.find((w) => w.state === 'busy');
      const sockets = await selectPlatform().tcpSockets(busy?.pid as number);
      const peer = `127.0.0.1:${port}`;
      expect(sockets).toContainEqual(expect.objectContaining({ peer, tcpState: 'ESTABLISHED' }));
      expect(sockets.find((s) => s.peer === peer)?.description).toMatch(
        new RegExp(`^tcp 127\\.0\\.0\\.1:\\d+ -> ${peer.replaceAll('.', '\\.')} \\(ESTABLISHED\\)$`),
      );
      held[0]?.end();
      expect(await answer).toBe('closed');
    } finally {
      for (const socket of held) socket.destroy();
      upstream.close();
    }
  });
});
