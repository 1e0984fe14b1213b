import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, linkSync, mkdtempSync, rmSync, chmodSync, accessSync, constants as fsConstants } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { FastCgiConnection } from '../fastcgi/connection';
import type { LaunchedWorker, WorkerLaunchSpec, WorkerTransport } from './platform';

/** What is needed to start one FastCGI worker process. */
export interface WorkerSpawnOptions {
  /** The php-cgi executable: a path, or a bare name looked up on PATH. */
  command: string;
  /** Extra arguments, e.g. `['-d', 'output_buffering=0']`. */
  args: readonly string[];
  /** The worker's whole environment (PHP_FCGI_MAX_REQUESTS is forced to 0). */
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** A private 0700 folder from {@link createSocketDir}. */
  socketDir: string;
  /** Names the socket file; unique within socketDir. */
  name: string;
  /** On Linux, start through `setpriv --pdeathsig SIGKILL` so the worker dies with us. */
  parentDeathSignal: boolean;
  /** A command to start the worker through, e.g. the platform's orphan guard's; overrides `parentDeathSignal`. */
  wrapper?: readonly string[] | null;
}

/** A worker process that is running and listening on its own socket. */
export interface SpawnedWorker {
  child: ChildProcess;
  pid: number;
  /** The unix socket path (or `host:port` on Windows) to connect to. */
  address: string;
  /** Whether the parent-death signal is armed for this process. */
  parentDeathSignal: boolean;
}

/** Why a worker could not be started; `code` is the errno name where there is one. */
export class WorkerSpawnError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'WorkerSpawnError';
  }
}

/**
 * Creates the private folder that holds the workers' sockets. 0700 matters:
 * FastCGI lets whoever connects choose which PHP file runs, so no other local
 * user may reach these sockets.
 */
export function createSocketDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fcgi-pool-'));
  chmodSync(dir, 0o700);
  return dir;
}

/** Removes a socket folder made by {@link createSocketDir}. */
export function removeSocketDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

let setprivPath: string | null | undefined;

/** Finds `setpriv` (util-linux) once; null where it does not exist. */
function findSetpriv(): string | null {
  if (setprivPath !== undefined) return setprivPath;
  setprivPath = process.platform === 'linux' ? findExecutable('setpriv', process.env.PATH ?? '') : null;
  return setprivPath;
}

/** Whether `path` is a file this process may execute. */
export function isExecutable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves a command the way execvp would, so that a missing php-cgi is
 * reported before we spawn anything and the message can name the path.
 */
export function findExecutable(command: string, pathEnv: string): string | null {
  if (command.includes('/') || (process.platform === 'win32' && command.includes('\\'))) {
    return isExecutable(command) ? command : null;
  }
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    if (isExecutable(candidate)) return candidate;
    if (process.platform === 'win32' && isExecutable(candidate + '.exe')) return candidate + '.exe';
  }
  return null;
}

/**
 * Starts one php-cgi the mod_fcgid way: with a listening socket that we bind
 * first and hand over as fd 0, so the first request can be sent at once (the
 * kernel queues it until php-cgi accepts) and nobody can take the address in
 * between. The worker gets its own process group, so one signal to the group
 * reaches anything it forks.
 */
export async function spawnWorker(options: WorkerSpawnOptions): Promise<SpawnedWorker> {
  if (process.platform === 'win32') {
    throw new WorkerSpawnError('Windows workers need `php-cgi -b host:port`, which this build does not implement yet', 'ENOSYS');
  }
  const resolved = findExecutable(options.command, options.env.PATH ?? process.env.PATH ?? '');
  if (!resolved) {
    throw new WorkerSpawnError(`php-cgi not found: ${options.command}`, 'ENOENT');
  }

  const address = join(options.socketDir, `${options.name}.sock`);
  const bindPath = `${address}.bind`;
  const server = await listenOnPath(bindPath);
  try {
    // libuv unlinks the path when our copy of the server closes; a second
    // name for the same inode keeps the socket reachable after that.
    if (existsSync(address)) rmSync(address);
    linkSync(bindPath, address);

    const handle = (server as unknown as { _handle: { fd: number } | null })._handle;
    if (!handle || handle.fd < 0) throw new WorkerSpawnError('listening socket has no file descriptor', 'EBADF');

    const wrapper = options.wrapper !== undefined ? options.wrapper : options.parentDeathSignal ? pdeathsigWrapper() : null;
    const [file, args] =
      wrapper && wrapper.length > 0 ? [wrapper[0] as string, [...wrapper.slice(1), resolved, ...options.args]] : [resolved, [...options.args]];
    const env: NodeJS.ProcessEnv = { ...options.env, PHP_FCGI_MAX_REQUESTS: '0' };
    delete env.PHP_FCGI_CHILDREN;

    const child = spawn(file, args, {
      cwd: options.cwd,
      env,
      // fd 0 = the listening socket (FCGI_LISTENSOCK_FILENO); php-cgi in
      // FastCGI mode never writes to stdout; stderr is captured.
      stdio: [handle.fd, 'ignore', 'pipe'],
      detached: true,
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid as number));
      child.once('error', (err: NodeJS.ErrnoException) => reject(new WorkerSpawnError(`cannot start ${options.command}: ${err.message}`, err.code)));
    });
    return { child, pid, address, parentDeathSignal: wrapper !== null && wrapper.length > 0 && wrapper[0] === findSetpriv() };
  } catch (error) {
    rmSync(address, { force: true });
    throw error;
  } finally {
    // Our copy must close right away: while we hold it we would accept
    // connections meant for the worker (measured: 3 of 4 stolen).
    server.close();
  }
}

/**
 * `setpriv --pdeathsig SIGKILL --` (Linux, util-linux), or null where there
 * is none. SIGKILL, not SIGTERM: php-cgi's SIGTERM handler only marks it to
 * exit after the running request, so a worker busy with a script that never
 * ends (a hung lock, a debugger) outlived its manager; with the manager gone
 * nobody would read its answer anyway.
 */
export function pdeathsigWrapper(): string[] | null {
  const setpriv = findSetpriv();
  return setpriv ? [setpriv, '--pdeathsig', 'SIGKILL', '--'] : null;
}

/**
 * Workers reached through a socket that we bind in a private 0700 folder and
 * hand over as fd 0 (Linux, macOS, the BSDs): see {@link spawnWorker}.
 */
export class UnixSocketTransport implements WorkerTransport {
  readonly addressKind = 'unix-socket' as const;
  private socketDir: string | null = null;

  open(): void {
    this.socketDir = createSocketDir();
  }

  close(): void {
    if (this.socketDir) removeSocketDir(this.socketDir);
    this.socketDir = null;
  }

  async launch(spec: WorkerLaunchSpec): Promise<LaunchedWorker> {
    if (!this.socketDir) throw new WorkerSpawnError('the socket folder is not open', 'EBADF');
    const spawned = await spawnWorker({
      command: spec.command,
      args: spec.args,
      env: spec.env,
      cwd: spec.cwd,
      socketDir: this.socketDir,
      name: spec.name,
      parentDeathSignal: false,
      wrapper: spec.wrapper,
    });
    return { child: spawned.child, pid: spawned.pid, address: spawned.address };
  }

  connect(address: string, timeoutMs: number): Promise<FastCgiConnection> {
    return FastCgiConnection.connect(address, { timeoutMs });
  }
}

function listenOnPath(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => reject(new WorkerSpawnError(`cannot bind ${path}: ${err.message}`, err.code)));
    server.listen({ path, backlog: 511 }, () => resolve(server));
  });
}
