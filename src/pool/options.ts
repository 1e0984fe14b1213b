import type { XdebugSetting } from '../dbgp/xdebugArgs';
import type { WorkerProcessObserver } from '../platform/processHost';
import { DEFAULTS } from '../shared/defaults';
import type { LeakPolicy, PoolLimits } from './types';

/** Everything a pool needs to run php-cgi workers. */
export interface PoolOptions extends PoolLimits {
  /** php-cgi executable (path or name on PATH). */
  phpCgi: string;
  /** Working directory of the workers (the document root). */
  cwd: string;
  /** `-d name=value` overrides for every worker. */
  ini: Readonly<Record<string, string>>;
  /**
   * Variables for the workers on top of a clean environment (PATH, HOME,
   * locale, TZ, PHPRC…: see workerEnvironment), like PHP-FPM's clear_env.
   */
  env: Readonly<Record<string, string | undefined>>;
  /** Grace period between SIGTERM and SIGKILL when stopping a worker. */
  stopGraceMs: number;
  /** Arm the parent-death signal on Linux (setpriv). */
  parentDeathSignal: boolean;
  /** How often idle timeouts are checked. */
  maintenanceIntervalMs: number;
  /** How often the reconciler compares the lists with the OS. */
  scanIntervalMs: number;
  /** `reclaim`: repair a leaked lease; `keep`: leave the worker marked, for inspection. */
  leakPolicy: LeakPolicy;
  /** Where the registry of our workers lives, for cleanup after a crash; null = none. */
  stateDir: string | null;
  /** Finished leases kept for the dashboard and the status endpoint. */
  historySize: number;
  /** How long a new worker may take to answer FCGI_GET_VALUES before it is used anyway; 0 = do not ask. */
  readyProbeTimeoutMs: number;
  /** Step debugging: `auto` when php-cgi loads Xdebug by itself, `on` loads it (and fails without it), `off`. */
  xdebug: XdebugSetting;
  /** Where the IDE listens, `HOST:PORT`; null: the ini's `xdebug.client_host`/`client_port`, else 127.0.0.1:9003. */
  debugClient: string | null;
  /** A lease older than this raises a `slow-request` finding with its PHP stack (PHP-FPM's request_slowlog_timeout); 0 = off. */
  slowlogTimeoutMs: number;
  /** Told of each worker process spawned and reaped (the engine thread reports them to the main thread); none by default. */
  workerProcessObserver?: WorkerProcessObserver | null;
}

/** Defaults (src/shared/defaults.ts holds the values, for every consumer). */
export const defaultPoolOptions: Omit<PoolOptions, 'cwd'> = {
  phpCgi: DEFAULTS.phpCgi,
  ini: {},
  env: {},
  minWorkers: DEFAULTS.minWorkers,
  maxWorkers: DEFAULTS.maxWorkers,
  maxRequests: DEFAULTS.maxRequests,
  idleTimeoutMs: DEFAULTS.idleTimeoutMs,
  busyTimeoutMs: DEFAULTS.busyTimeoutMs,
  queueTimeoutMs: DEFAULTS.queueTimeoutMs,
  maxQueue: DEFAULTS.maxQueue,
  stopGraceMs: DEFAULTS.stopGraceMs,
  parentDeathSignal: true,
  maintenanceIntervalMs: DEFAULTS.maintenanceIntervalMs,
  scanIntervalMs: DEFAULTS.scanIntervalMs,
  leakPolicy: DEFAULTS.leakPolicy,
  stateDir: null,
  historySize: DEFAULTS.historySize,
  readyProbeTimeoutMs: DEFAULTS.readyProbeTimeoutMs,
  xdebug: DEFAULTS.xdebug,
  debugClient: null,
  slowlogTimeoutMs: DEFAULTS.slowlogTimeoutMs,
};

/** Throws when the worker limits contradict each other. */
export function checkLimits(o: PoolLimits): void {
  if (o.minWorkers < 0 || o.maxWorkers < 1 || o.minWorkers > o.maxWorkers) {
    throw new RangeError(`worker limits must satisfy 0 ≤ min (${o.minWorkers}) ≤ max (${o.maxWorkers}), max ≥ 1`);
  }
}
