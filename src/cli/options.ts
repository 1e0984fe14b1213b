import { parseArgs } from 'node:util';

/** The parsed `fastcgi-pool serve` command line. */
export interface ServeOptions {
  documentRoot: string;
  host: string;
  port: number;
  phpCgi: string;
  minWorkers: number;
  maxWorkers: number;
  maxRequests: number;
  idleTimeoutMs: number;
  busyTimeoutMs: number;
  queueTimeoutMs: number;
  maxQueue: number;
  maxBodyBytes: number;
  frontController: string | null;
  ini: Record<string, string>;
  env: Record<string, string>;
  allowedHosts: string[];
  events: string | null;
  stateDir: string | null;
  leakPolicy: 'reclaim' | 'keep';
  scanIntervalMs: number;
  parentDeathSignal: boolean;
  /** Serve every request with Node's HTTP server instead of the lean front first. */
  nodeHttp: boolean;
  quiet: boolean;
}

/** A command line we cannot act on; the message says what to change. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const usage = `Usage: fastcgi-pool serve [DOCROOT] [options]

Serves DOCROOT (default: the current folder) through a pool of php-cgi
workers, like nginx + PHP-FPM with try_files $uri $uri/ /index.php?$query_string.

Options:
  --host HOST             address to bind (default 127.0.0.1)
  --port PORT             port to bind; 0 picks a free one (default 8080)
  --php-cgi PATH          php-cgi executable (default: php-cgi on PATH)
  --min-workers N         workers kept running (default 1)
  --max-workers N         most workers at once (default 4)
  --max-requests N        recycle a worker after N requests; 0 = never (default 0)
  --idle-timeout T        stop workers above the minimum idle for T (default 60s)
  --busy-timeout T        kill a worker busy for T and answer 504 (default 60s)
  --queue-timeout T       how long a request waits for a worker before 503 (default 10s)
  --max-queue N           requests that may wait at once (default 256)
  --max-body SIZE         largest request body, e.g. 64M (default 64M)
  --front-controller URI  script for paths that match no file (default /index.php; "none" = 404)
  -d, --ini NAME=VALUE    php.ini override for every worker (repeatable)
  -e, --env NAME=VALUE    environment variable for every worker (repeatable); workers
                          otherwise get a clean environment, like PHP-FPM's clear_env
  --allow-host NAME       accept this Host name too (repeatable)
  --events FILE|-         write every pool event as a JSON line to FILE or stdout
  --state-dir DIR         keep a registry of our workers here; at start, workers
                          left running by a crashed earlier run are stopped
  --leak-policy P         reclaim (default): end a leaked lease, replace the worker;
                          keep: leave the worker marked on the busy list to inspect it
  --scan-interval T       how often the lists are checked against the OS (default 1s)
  --no-pdeathsig          do not tie workers to this process's life (setpriv); the
                          state-dir registry is then the only cleanup after a crash
  --node-http             parse every request with Node's HTTP server (slower); by
                          default simple requests take a lean HTTP/1.1 path
  -q, --quiet             no access log
  -h, --help              show this help

Times take ms, s or m (a bare number means seconds). Stop with Ctrl+C: in-flight
requests finish, every worker exits, nothing is left running.`;

/** Parses `serve` arguments (without the leading `serve`). */
export function parseServeArgs(argv: readonly string[], cwd: string): ServeOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        'php-cgi': { type: 'string' },
        'min-workers': { type: 'string' },
        'max-workers': { type: 'string' },
        'max-requests': { type: 'string' },
        'idle-timeout': { type: 'string' },
        'busy-timeout': { type: 'string' },
        'queue-timeout': { type: 'string' },
        'max-queue': { type: 'string' },
        'max-body': { type: 'string' },
        'front-controller': { type: 'string' },
        ini: { type: 'string', short: 'd', multiple: true },
        env: { type: 'string', short: 'e', multiple: true },
        'allow-host': { type: 'string', multiple: true },
        events: { type: 'string' },
        'state-dir': { type: 'string' },
        'leak-policy': { type: 'string' },
        'scan-interval': { type: 'string' },
        'no-pdeathsig': { type: 'boolean' },
        'node-http': { type: 'boolean' },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length > 1) throw new UsageError(`serve takes one document root, got: ${positionals.join(' ')}`);

  const minWorkers = integer(values['min-workers'], '--min-workers', 1, 0);
  const maxWorkers = integer(values['max-workers'], '--max-workers', Math.max(4, minWorkers), 1);
  if (minWorkers > maxWorkers) throw new UsageError(`--min-workers (${minWorkers}) cannot exceed --max-workers (${maxWorkers})`);
  const ini = pairs(values.ini, '--ini');
  const env = pairs(values.env, '--env');
  const leakPolicy = values['leak-policy'] ?? 'reclaim';
  if (leakPolicy !== 'reclaim' && leakPolicy !== 'keep') throw new UsageError(`--leak-policy is reclaim or keep, got "${leakPolicy}"`);
  const frontController = values['front-controller'] ?? '/index.php';
  if (frontController !== 'none' && !frontController.startsWith('/')) {
    throw new UsageError(`--front-controller must be a path starting with /, or "none", got "${frontController}"`);
  }
  return {
    documentRoot: positionals[0] ?? cwd,
    host: values.host ?? '127.0.0.1',
    port: integer(values.port, '--port', 8080, 0, 65535),
    phpCgi: values['php-cgi'] ?? 'php-cgi',
    minWorkers,
    maxWorkers,
    maxRequests: integer(values['max-requests'], '--max-requests', 0, 0),
    idleTimeoutMs: duration(values['idle-timeout'], '--idle-timeout', 60_000),
    busyTimeoutMs: duration(values['busy-timeout'], '--busy-timeout', 60_000),
    queueTimeoutMs: duration(values['queue-timeout'], '--queue-timeout', 10_000),
    maxQueue: integer(values['max-queue'], '--max-queue', 256, 0),
    maxBodyBytes: size(values['max-body'], '--max-body', 64 * 1024 * 1024),
    frontController: frontController === 'none' ? null : frontController,
    ini,
    env,
    allowedHosts: values['allow-host'] ?? [],
    events: values.events ?? null,
    stateDir: values['state-dir'] ?? null,
    leakPolicy,
    scanIntervalMs: duration(values['scan-interval'], '--scan-interval', 1_000),
    parentDeathSignal: !(values['no-pdeathsig'] ?? false),
    nodeHttp: values['node-http'] ?? false,
    quiet: values.quiet ?? false,
  };
}

/** NAME=VALUE entries of a repeatable flag. */
function pairs(entries: string[] | undefined, flag: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const entry of entries ?? []) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag} takes NAME=VALUE, got "${entry}"`);
    result[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return result;
}

function integer(text: string | undefined, flag: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new UsageError(`${flag} takes a whole number, got "${text}"`);
  const value = Number(text);
  if (value < min || value > max) throw new UsageError(`${flag} must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** "500ms", "30s", "2m" or a bare number of seconds → milliseconds. */
export function duration(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text);
  if (!match) throw new UsageError(`${flag} takes a time like 500ms, 30s or 2m, got "${text}"`);
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  return Math.round(unit === 'ms' ? value : unit === 's' ? value * 1000 : value * 60_000);
}

/** "64M", "512K", "1G" or bytes → bytes. */
export function size(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const match = /^(\d+)([KMG])?B?$/i.exec(text);
  if (!match) throw new UsageError(`${flag} takes a size like 512K or 64M, got "${text}"`);
  const scale = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[(match[2] ?? '').toUpperCase() as 'K' | 'M' | 'G'] ?? 1;
  return Number(match[1]) * scale;
}
