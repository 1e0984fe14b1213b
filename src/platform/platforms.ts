import type { OrphanGuard } from '../shared/platform';
import { LoopbackTransport } from './loopbackWorker';
import { tcpSocketsOf } from './lsof';
import type { OrphanGuardHandle, Platform, PlatformId } from './platform';
import { ProcTruthReader } from './procTruth';
import { hasProcfs, listDescendants } from './processTable';
import { psDescendants, PsTruthReader } from './psTruth';
import { pdeathsigWrapper, UnixSocketTransport } from './spawnWorker';
import { GroupStopper, TreeStopper } from './stoppers';
import { Watchdog } from './watchdog';
import { WinTruthReader } from './winTruth';

/** The environment variable that forces an implementation (tests; a macOS-like run on Linux). */
export const PLATFORM_ENV = 'FASTCGI_POOL_PLATFORM';

const IDS: readonly PlatformId[] = ['linux', 'portable-unix', 'windows', 'windows-sim'];

/**
 * Linux: workers on a pre-bound unix socket as fd 0, each leading its own
 * process group; the truth from /proc; `setpriv --pdeathsig SIGKILL` ties
 * them to the manager's life.
 */
function linux(): Platform {
  return {
    id: 'linux',
    truth: new ProcTruthReader(),
    transport: () => new UnixSocketTransport(),
    stopper: new GroupStopper((pid) => Promise.resolve(listDescendants(pid))),
    guard: (wanted) => wrapperGuard(wanted),
    tcpSockets: (pid) => tcpSocketsOf(pid),
  };
}

/**
 * macOS, the BSDs, any Unix without /proc: the same workers, the truth from
 * one `ps` call per scan, and a watchdog instead of the parent-death signal
 * that these kernels do not have.
 */
function portableUnix(): Platform {
  return {
    id: 'portable-unix',
    truth: new PsTruthReader(),
    transport: () => new UnixSocketTransport(),
    stopper: new GroupStopper((pid) => psDescendants(pid)),
    guard: (wanted) => (wanted ? new Watchdog() : NO_GUARD),
    tcpSockets: (pid) => tcpSocketsOf(pid),
  };
}

/**
 * Windows: `php-cgi -b 127.0.0.1:PORT`, not detached, so that libuv's
 * kill-on-close Job Object ends the workers with the manager, even after a
 * crash (grandchildren can break away: the registry cleans those at the
 * next start); the truth from OpenProcess per scan and the process list
 * (PowerShell CIM; no `wmic`); taskkill /T /F to stop.
 */
function windows(): Platform {
  return {
    id: 'windows',
    truth: new WinTruthReader(),
    transport: () => new LoopbackTransport(false),
    stopper: new TreeStopper(),
    guard: () => JOB_OBJECT,
    // Get-NetTCPConnection -OwningProcess would answer; not built (and not testable here) yet.
    tcpSockets: () => Promise.reject(new Error('the sockets of a worker are not read on Windows yet')),
  };
}

/**
 * Windows's way of starting, reaching and stopping workers, run on a Unix
 * host so that CI can exercise it: `-b` on a loopback port, no process
 * group, a tree kill. The truth is this host's own (it cannot run
 * PowerShell); the parent-death signal, where there is one, stands in for
 * the Job Object.
 */
function windowsSim(): Platform {
  return {
    id: 'windows-sim',
    truth: hasProcfs ? new ProcTruthReader() : new PsTruthReader(),
    transport: () => new LoopbackTransport(false),
    stopper: new TreeStopper(),
    guard: (wanted) => wrapperGuard(wanted),
    tcpSockets: (pid) => tcpSocketsOf(pid),
  };
}

/** Whether `id` can run on `os` at all. */
export function runsOn(id: PlatformId, os: string = process.platform): boolean {
  switch (id) {
    case 'linux':
      return os === 'linux';
    case 'windows':
      return os === 'win32';
    case 'portable-unix':
    case 'windows-sim':
      return os !== 'win32';
  }
}

/** The usual implementation for an OS. */
export function defaultPlatformId(os: string = process.platform): PlatformId {
  return os === 'linux' ? 'linux' : os === 'win32' ? 'windows' : 'portable-unix';
}

/** A new instance of the implementation `id`. */
export function createPlatform(id: PlatformId): Platform {
  switch (id) {
    case 'linux':
      return linux();
    case 'portable-unix':
      return portableUnix();
    case 'windows':
      return windows();
    case 'windows-sim':
      return windowsSim();
  }
}

/**
 * The implementation for this run: the OS's usual one, or the one that
 * FASTCGI_POOL_PLATFORM forces. A value that is not an implementation, or
 * one that cannot run here, is an error, never a silent fallback.
 */
export function selectPlatform(env: NodeJS.ProcessEnv = process.env, os: string = process.platform): Platform {
  const forced = env[PLATFORM_ENV];
  if (forced === undefined || forced === '') return createPlatform(defaultPlatformId(os));
  if (!isPlatformId(forced)) throw new Error(`${PLATFORM_ENV}=${forced} is not a platform; use one of ${IDS.join(', ')}`);
  if (!runsOn(forced, os)) throw new Error(`${PLATFORM_ENV}=${forced} cannot run on ${os}`);
  return createPlatform(forced);
}

export function isPlatformId(value: string): value is PlatformId {
  return (IDS as readonly string[]).includes(value);
}

/** An orphan guard that is only a command to start workers through (setpriv), or none. */
function wrapperGuard(wanted: boolean): OrphanGuardHandle {
  const wrapper = wanted ? pdeathsigWrapper() : null;
  return wrapper ? staticGuard('pdeathsig', wrapper) : NO_GUARD;
}

function staticGuard(kind: OrphanGuard, wrapper: readonly string[] | null): OrphanGuardHandle {
  return { kind, wrapper, adopt: () => undefined, release: () => undefined, close: () => undefined };
}

const NO_GUARD = staticGuard('none', null);
const JOB_OBJECT = staticGuard('job-object', null);
