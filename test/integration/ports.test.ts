import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

vi.mock('vscode', () => vi.importActual('../support/fakeVscode'));

import { describeBusyPort, explainBusyPort } from '../../src/extension/busyPort';
import { PoolManager } from '../../src/extension/poolManager';
import { isPortFree } from '../../src/extension/ports';
import { readSettings } from '../../src/extension/settings';
import { startPoolServer } from '../../src/gateway/poolServer';
import { findPortHolder } from '../../src/platform/portHolder';
import { readStat } from '../../src/platform/processState';
import { stopRegisteredWorker } from '../../src/platform/workerRegistry';
import { fake } from '../support/fakeVscode';
import { isRunning, phpCgi, waitFor } from '../support/helpers';
import { MemoryLogger } from '../unit/extension-fixtures';

/**
 * Ports that explain themselves, with real processes: who holds the
 * configured port (a foreign listener, one of our own stale workers), what
 * the pool does about it, and that stopping a pool frees its port at once.
 */

const children: ChildProcess[] = [];
let storage: string;

beforeAll(() => {
  storage = mkdtempSync(join(tmpdir(), 'ports-'));
});
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGKILL');
      await exited;
    }
  }
});
afterAll(() => rmSync(storage, { recursive: true, force: true }));

/** A free port, a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

/** Another process listening on `port`: a small Node server, as any dev server would be. */
async function foreignListener(port: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['-e', `require('net').createServer().listen(${port}, '127.0.0.1', () => console.log('up'))`, 'dev-server-on', String(port)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  await new Promise((up) => child.stdout?.once('data', up));
  return child;
}

describe('who holds a port', () => {
  it('names a foreign listener by pid and command line', async () => {
    const port = await freePort();
    const child = await foreignListener(port);
    expect(findPortHolder(port)).toEqual({ kind: 'process', pid: child.pid, command: expect.stringContaining(`dev-server-on ${port}`) as string });
    const holder = explainBusyPort(port, storage);
    expect(holder).toMatchObject({ kind: 'process', pid: child.pid });
    expect(describeBusyPort(port, '127.0.0.1', holder)).toMatch(
      new RegExp(`^port ${port} on 127\\.0\\.0\\.1 is in use by pid ${child.pid} \\(.*node.*dev-server-on ${port}\\)$`),
    );
  });

  it('recognises one of our own stale workers from the registry, and stopping it frees the port', async () => {
    const port = await freePort();
    // A php-cgi listening on a TCP port (how workers run where there are no Unix sockets), left by a manager that is gone.
    const worker = spawn(phpCgi, ['-b', `127.0.0.1:${port}`], { detached: true, stdio: 'ignore' });
    children.push(worker);
    await waitFor(() => findPortHolder(port).kind === 'process', `php-cgi -b to listen on ${port}`);
    const gone = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    const ownerPid = Number(gone.stdout.trim());
    const dir = join(storage, 'pools', 'abc123');
    mkdirSync(dir, { recursive: true });
    const entry = {
      pid: worker.pid as number,
      startTime: readStat(worker.pid as number)?.startTime ?? 0,
      pgid: worker.pid as number,
      socketPath: join(dir, 'w1.sock'),
    };
    writeFileSync(join(dir, `workers-${ownerPid}.json`), JSON.stringify({ ownerPid, ownerStartTime: 1, workers: [entry] }));

    const holder = explainBusyPort(port, storage);
    expect(holder).toMatchObject({ kind: 'stale-worker', pid: worker.pid, worker: entry });
    expect(describeBusyPort(port, '127.0.0.1', holder)).toBe(
      `port ${port} on 127.0.0.1 is held by one of our own stale workers (pid ${worker.pid}, ${phpCgi} -b 127.0.0.1:${port}), left behind by an earlier session`,
    );
    expect(await stopRegisteredWorker(entry)).toBe(true);
    expect(isRunning(worker.pid as number)).toBe(false);
    expect(await isPortFree('127.0.0.1', port)).toBe(true);
  });
});

describe('a pool whose configured port is taken', () => {
  it('says who holds it, serves on the next free port, and frees its own port the moment it stops', async () => {
    fake.reset();
    const port = await freePort();
    const child = await foreignListener(port);
    const app = fake.folder(resolve(__dirname, '../../examples/hello-php'), 0, 'hello-php');
    const log = new MemoryLogger();
    const manager = new PoolManager({
      startServer: startPoolServer,
      isPortFree,
      readSettings: () => readSettings({ get: <T>(key: string) => ({ port, phpCgiPath: phpCgi, minWorkers: 1, maxWorkers: 1 })[key] as T }),
      stateDirFor: () => null,
      isTrusted: () => true,
      log,
      explainBusyPort: (_host, busy) => explainBusyPort(busy, storage),
    });
    await manager.syncFolders([app]);
    await manager.start(app.uri.toString());
    const pool = manager.get(app.uri.toString());
    const moved = pool?.portMoved;
    expect(moved?.from).toBe(port);
    expect(moved?.heldBy).toContain(`is in use by pid ${child.pid} (`);
    expect(log.lines.find((line) => line.includes('serving on'))).toMatch(
      new RegExp(`^warn \\[hello-php\\] port ${port} on 127\\.0\\.0\\.1 is in use by pid ${child.pid} \\(.*\\); serving on ${moved?.to} instead$`),
    );
    // Live reload is on by default in the editor: a page holds an event stream open, and stop must still free the port at once.
    const served = pool?.server?.port as number;
    const page = await fetch(`http://127.0.0.1:${served}/`);
    expect(await page.text()).toContain('/.fastcgi-pool/live.js');
    const events = await fetch(`http://127.0.0.1:${served}/.fastcgi-pool/live`);
    const reader = events.body?.getReader();
    await reader?.read();
    await manager.stop(app.uri.toString(), 30_000);
    const again = createServer();
    await new Promise<void>((ready, fail) => {
      again.once('error', fail);
      again.listen(served, '127.0.0.1', () => ready());
    });
    await new Promise<void>((done) => again.close(() => done()));
    await reader?.cancel().catch(() => undefined);
  });
});
