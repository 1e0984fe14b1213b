import { spawn, type ChildProcess } from 'node:child_process';
import { connect as netConnect, createServer } from 'node:net';
import { FastCgiConnection } from '../fastcgi/connection';
import type { LaunchedWorker, WorkerLaunchSpec, WorkerTransport } from './platform';
import { findExecutable, WorkerSpawnError } from './spawnWorker';

/** How long a new worker may take to listen before connects stop waiting for it (php-cgi needs 15–40 ms; a cold disk more). */
const LISTEN_TIMEOUT_MS = 10_000;
/** Between connect attempts while php-cgi loads (measured: 3 attempts at 5 ms). */
const POLL_MS = 5;

/**
 * Workers that bind their own loopback port: `php-cgi -b 127.0.0.1:PORT`,
 * each on its own port, with `FCGI_WEB_SERVER_ADDRS=127.0.0.1` so that
 * php-cgi itself drops any peer that is not loopback. This is how php-cgi
 * runs on Windows, where it cannot take a listening socket as fd 0 (a
 * socket handle there has no fd). Node's TCP connect works the same on
 * every OS, so the same code runs on a Unix host to simulate Windows.
 *
 * The port is picked by binding 127.0.0.1:0 and closing it: a race against
 * anything else on the machine, lost only if another program binds that
 * very port in the few ms before php-cgi does. php-cgi then exits at once
 * ("Address already in use"), which the pool sees as a crash at start and
 * answers with a new worker on a new port.
 *
 * php-cgi has no way to say "ready": until it listens, `connect` waits,
 * polling the port every 5 ms (the pool's readiness probe is the first
 * connect, so requests go only to a worker that listens).
 *
 * `detached`: false on Windows, where libuv puts non-detached children in
 * its kill-on-close Job Object (workers die with the manager even if it
 * crashes); then there is no process group to signal either.
 */
export class LoopbackTransport implements WorkerTransport {
  readonly addressKind = 'loopback-port' as const;
  /** Address → until the worker listens there (or exited, or the wait gave up). */
  private readonly listening = new Map<string, Promise<unknown>>();

  constructor(private readonly detached: boolean) {}

  open(): void {}

  close(): void {
    this.listening.clear();
  }

  async launch(spec: WorkerLaunchSpec): Promise<LaunchedWorker> {
    const resolved = findExecutable(spec.command, spec.env.PATH ?? process.env.PATH ?? '');
    if (!resolved) throw new WorkerSpawnError(`php-cgi not found: ${spec.command}`, 'ENOENT');
    const port = await freeLoopbackPort();
    const address = `127.0.0.1:${port}`;
    const command = [...(spec.wrapper ?? []), resolved, '-b', address, ...spec.args];
    const env: NodeJS.ProcessEnv = { ...spec.env, FCGI_WEB_SERVER_ADDRS: '127.0.0.1', PHP_FCGI_MAX_REQUESTS: '0' };
    delete env.PHP_FCGI_CHILDREN;
    const child = spawn(command[0] as string, command.slice(1), {
      cwd: spec.cwd,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: this.detached,
      windowsHide: true,
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid as number));
      child.once('error', (err: NodeJS.ErrnoException) => reject(new WorkerSpawnError(`cannot start ${spec.command}: ${err.message}`, err.code)));
    });
    this.listening.set(address, waitUntilListening(port, child));
    child.once('exit', () => this.listening.delete(address));
    return { child, pid, address };
  }

  async connect(address: string, timeoutMs: number): Promise<FastCgiConnection> {
    const listening = this.listening.get(address);
    let left = timeoutMs;
    if (listening) {
      const started = Date.now();
      await (timeoutMs > 0 ? Promise.race([listening, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]) : listening);
      if (timeoutMs > 0) left = Math.max(1, timeoutMs - (Date.now() - started));
    }
    const colon = address.lastIndexOf(':');
    return FastCgiConnection.connect({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)) }, { timeoutMs: left });
  }
}

/** A port on 127.0.0.1 that was free a moment ago. */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Polls a connect until php-cgi accepts, the process exits, or the time is
 * up. The probe connection is closed at once: a single php-cgi, having
 * accepted it, would otherwise wait up to 5 s for a request on it.
 */
async function waitUntilListening(port: number, child: ChildProcess): Promise<'listening' | 'exited' | 'timeout'> {
  const deadline = Date.now() + LISTEN_TIMEOUT_MS;
  let exited = child.exitCode !== null || child.signalCode !== null;
  const onExit = (): void => {
    exited = true;
  };
  child.once('exit', onExit);
  try {
    while (!exited && Date.now() < deadline) {
      if (await canConnect(port)) return 'listening';
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    return exited ? 'exited' : 'timeout';
  } finally {
    child.off('exit', onExit);
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
