/**
 * What the pool can and cannot check on the operating system it runs on,
 * as the snapshot carries it (`PoolSnapshot.platform`) and the tree's
 * tooltip and the dashboard show it: nothing may look checked that is not.
 *
 * Plain data without Node or `vscode` (the webview imports it too).
 */

/** The platform implementation the pool runs on (src/platform/platforms.ts). */
export type PlatformId = 'linux' | 'portable-unix' | 'windows' | 'windows-sim';

/** Where the process truth comes from: /proc, one `ps` call per scan, or the Windows process list. */
export type ProcessTruthKind = 'proc' | 'ps' | 'win';

/** What keeps a worker from outliving a manager that dies without stopping it (a crash, a SIGKILL). */
export type OrphanGuard = 'pdeathsig' | 'watchdog' | 'job-object' | 'none';

/** How a worker is reached: a socket we bind and hand over as fd 0, or a loopback port php-cgi binds (`-b`). */
export type WorkerAddressKind = 'unix-socket' | 'loopback-port';

/** The honest capability flags of a running pool. */
export interface PlatformCapabilities {
  /** `process.platform` of the machine the pool runs on (linux, darwin, win32…). */
  readonly os: string;
  /** The implementation in use; differs from the OS's usual one only when forced (FASTCGI_POOL_PLATFORM). */
  readonly implementation: PlatformId;
  readonly processTruth: ProcessTruthKind;
  /** Whether live PHP stacks of busy workers can be read here. */
  readonly stacks: boolean;
  /** Whether workers get a parent-death signal (Linux `setpriv --pdeathsig`). */
  readonly pdeathsig: boolean;
  /** What actually stops workers when the manager dies without stopping them; `none` leaves it to the next start. */
  readonly orphanGuard: OrphanGuard;
  readonly workerAddress: WorkerAddressKind;
}

const OS_NAMES: Readonly<Record<string, string>> = {
  linux: 'Linux',
  darwin: 'macOS',
  win32: 'Windows',
  freebsd: 'FreeBSD',
  openbsd: 'OpenBSD',
  sunos: 'illumos',
};

const TRUTH: Readonly<Record<ProcessTruthKind, string>> = {
  proc: 'read from /proc on every scan (state, zombies, descendants)',
  ps: 'one ps call per scan (state, zombies, descendants in the worker’s group)',
  win: 'the Windows process list (alive or gone; no zombies exist there)',
};

const GUARD: Readonly<Record<OrphanGuard, string>> = {
  pdeathsig: 'die with the manager (parent-death signal)',
  watchdog: 'die with the manager (a watchdog that stops them when the manager’s pipe closes)',
  'job-object': 'die with the manager (Windows Job Object); grandchildren are cleaned at the next start',
  none: 'may outlive a crashed manager; the next start stops them (registry)',
};

/** A short label: `Linux`, `macOS (portable Unix)`, `Linux (simulating Windows)`. */
export function platformLabel(p: PlatformCapabilities): string {
  const os = OS_NAMES[p.os] ?? p.os;
  if (p.implementation === 'windows-sim') return `${os} (simulating Windows)`;
  if (p.implementation === 'portable-unix' && p.os === 'linux') return `${os} (portable Unix, forced)`;
  return os;
}

/** One line per capability, the same words in the tooltip and the dashboard. */
export function describePlatform(p: PlatformCapabilities): string[] {
  return [
    `process truth: ${TRUTH[p.processTruth]}`,
    `workers ${GUARD[p.orphanGuard]}`,
    `workers listen on ${p.workerAddress === 'unix-socket' ? 'a private unix socket' : 'a loopback port (php-cgi -b)'}`,
    p.stacks ? 'live PHP stacks: available' : 'live PHP stacks: not available here',
  ];
}
