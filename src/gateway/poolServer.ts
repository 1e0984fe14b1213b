import { realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { discoverPhpCgi } from '../platform/phpCgiDiscovery';
import { Pool, type PoolOptions } from '../pool/pool';
import type { PoolEvent } from '../pool/types';
import { DEFAULTS } from '../shared/defaults';
import { OptionError, type OptionId } from '../shared/options';
import { Gateway, type GatewayEvent, type GatewayOptions } from './gateway';

/** Everything needed to serve one document root. */
export interface PoolServerOptions {
  pool: Partial<Omit<PoolOptions, 'cwd'>>;
  gateway: Partial<Omit<GatewayOptions, 'documentRoot'>>;
  documentRoot: string;
  /** Subscribed before anything starts, so that no start-up event is missed. */
  onPoolEvent?: (event: PoolEvent) => void;
  /** Whether onPoolEvent also gets the per-request events (see Pool.onEvent); default true. */
  poolEventsPerRequest?: boolean;
  onGatewayEvent?: (event: GatewayEvent) => void;
  /** Whether onGatewayEvent also gets the per-request `request` events (the access log); default true. */
  gatewayRequestEvents?: boolean;
  /** `php` executables the editor knows of (its PHP settings): php-cgi is looked for beside them when it is not on PATH. */
  phpExecutables?: readonly string[];
}

/** A running pool with its HTTP front. */
export interface PoolServer {
  readonly pool: Pool;
  readonly gateway: Gateway;
  readonly url: string;
  readonly port: number;
  /**
   * Stops accepting requests and closes idle keep-alive connections at once,
   * lets in-flight ones finish for up to `graceMs` (the stop grace by
   * default), then cuts every connection left (a client that does not read
   * its response included) and stops every worker; resolves when all have
   * been reaped and the port is free.
   */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Bad input that the user can fix; the message says how, and `option` names
 * the option to change (the CLI adds its flag, the extension its setting).
 */
export class ConfigurationError extends OptionError {
  constructor(message: string, option: OptionId | null) {
    super(message, option);
    this.name = 'ConfigurationError';
  }
}

/**
 * Checks the configuration, then binds the HTTP port while the workers start.
 * Fails before spawning anything when the document root or php-cgi is
 * wrong; stops the workers when the port is busy, and closes the port again
 * when the workers cannot start.
 */
export async function startPoolServer(options: PoolServerOptions): Promise<PoolServer> {
  const documentRoot = checkDocumentRoot(options.documentRoot);
  checkWorkerLimits(options.pool.minWorkers ?? DEFAULTS.minWorkers, options.pool.maxWorkers ?? DEFAULTS.maxWorkers);
  const phpCgi = findPhpCgi(options);
  const pool = new Pool({ ...options.pool, phpCgi, cwd: documentRoot });
  const gateway = new Gateway(pool, { ...options.gateway, documentRoot });
  if (options.onPoolEvent) pool.onEvent(options.onPoolEvent, { perRequest: options.poolEventsPerRequest ?? true });
  if (options.onGatewayEvent) gateway.onEvent(options.onGatewayEvent, { requests: options.gatewayRequestEvents ?? true });
  // The first worker loads (~15 ms of php-cgi start-up) while the port is
  // bound (Node's first listen() costs ~5 ms): the cold start is the longer
  // of the two, not their sum. A busy port, the commonest start failure,
  // stops the workers already started. Requests that arrive while the
  // workers start wait in the pool's queue.
  const started = pool.start();
  started.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
  let address: Awaited<ReturnType<Gateway['listen']>>;
  try {
    address = await gateway.listen();
  } catch (error) {
    await pool.stop();
    await started.catch(() => undefined);
    throw error;
  }
  try {
    await started;
  } catch (error) {
    await gateway.close();
    await pool.stop();
    throw error;
  }
  let stopping: Promise<void> | null = null;
  return {
    pool,
    gateway,
    url: address.url,
    port: address.port,
    stop(graceMs = options.pool.stopGraceMs ?? DEFAULTS.stopGraceMs) {
      stopping ??= (async () => {
        // A request paused at a breakpoint would hold the drain for its whole length: it runs on without the debugger.
        pool.debugger.stopDebugging();
        const closed = gateway.close();
        const drained = await Promise.race([closed.then(() => true), delay(graceMs).then(() => false)]);
        if (!drained) gateway.closeAllConnections();
        await pool.stop();
        await closed;
      })();
      return stopping;
    },
  };
}

/** The configured php-cgi, or the one found on PATH, beside the editor's php, or where installers put it. */
function findPhpCgi(options: PoolServerOptions): string {
  try {
    return discoverPhpCgi({
      configured: options.pool.phpCgi ?? DEFAULTS.phpCgi,
      pathEnv: options.pool.env?.PATH ?? process.env.PATH ?? '',
      phpExecutables: options.phpExecutables,
    }).path;
  } catch (error) {
    if (error instanceof OptionError) throw new ConfigurationError(error.message, error.option);
    throw error;
  }
}

function checkDocumentRoot(path: string): string {
  const absolute = resolve(path);
  let stat;
  try {
    stat = statSync(absolute);
  } catch {
    throw new ConfigurationError(`document root not found: ${absolute}`, 'documentRoot');
  }
  if (!stat.isDirectory()) throw new ConfigurationError(`document root is not a folder: ${absolute}`, 'documentRoot');
  return realpathSync(absolute);
}

/** The pool would refuse these limits with a RangeError; said here in terms of the options instead. */
function checkWorkerLimits(min: number, max: number): void {
  if (!Number.isInteger(max) || max < 1)
    throw new ConfigurationError(`the most workers at once must be a whole number of at least 1, got ${max}`, 'maxWorkers');
  if (!Number.isInteger(min) || min < 0 || min > max) {
    throw new ConfigurationError(`the workers kept running must be a whole number from 0 to the most workers at once (${max}), got ${min}`, 'minWorkers');
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
