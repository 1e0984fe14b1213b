import { parseArgs } from 'node:util';
import { DebugClientSyntaxError, parseDebugClient } from '../dbgp/debugClient';
import { XDEBUG_SETTINGS, type XdebugSetting } from '../dbgp/xdebugArgs';
import { OPTIONS, type OptionId, type OptionSpec } from '../shared/options';

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
  symlinks: 'follow' | 'within-root';
  scanIntervalMs: number;
  /** 0 = off. */
  slowlogTimeoutMs: number;
  parentDeathSignal: boolean;
  /** Serve every request with Node's HTTP server instead of the lean front first. */
  nodeHttp: boolean;
  /** Reload the browser's pages when a file under the project changes. */
  liveReload: boolean;
  /** The document root was not given: it was detected in the current folder (public/, web/, htdocs/ or the folder itself). */
  documentRootDetected: boolean;
  xdebug: XdebugSetting;
  /** `HOST:PORT` as given; null: the ini's `xdebug.client_host`/`client_port`, else 127.0.0.1:9003. */
  debugClient: string | null;
  quiet: boolean;
}

/** A command line we cannot act on; the message says what to change. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A default as the command line writes it: `60s`, `64M`, `none`. */
function cliDefault(option: OptionId): string {
  const spec: OptionSpec = OPTIONS[option];
  const value = spec.default;
  if (value === null) return 'none';
  if (typeof value === 'number' && spec.kind === 'duration') return value % 1_000 === 0 ? `${value / 1_000}s` : `${value}ms`;
  if (typeof value === 'number' && spec.kind === 'size') return formatSize(value);
  return String(value);
}

function formatSize(bytes: number): string {
  for (const [unit, scale] of [
    ['G', 1024 ** 3],
    ['M', 1024 ** 2],
    ['K', 1024],
  ] as const) {
    if (bytes >= scale && bytes % scale === 0) return `${bytes / scale}${unit}`;
  }
  return String(bytes);
}

/** ` (default)` after the leak policy that is the default. */
const isDefaultPolicy = (policy: string): string => (policy === OPTIONS.leakPolicy.default ? ' (default)' : '');
/** ` (default)` after the symlink mode that is the default. */
const isDefaultSymlinks = (mode: string): string => (mode === OPTIONS.symlinks.default ? ' (default)' : '');

/** `--help`. The defaults come from the option catalogue (src/shared/options.ts), as the parser's do. */
export const usage = `Usage: fastcgi-pool serve [DOCROOT] [options]

Serves DOCROOT through a pool of php-cgi workers, like nginx + PHP-FPM with
try_files $uri $uri/ /index.php?$query_string. Without DOCROOT: public/, web/
or htdocs/ of the current folder, whichever has an index.php, else the folder.

Options:
  --host HOST             address to bind (default ${cliDefault('host')})
  --port PORT             port to bind; 0 picks a free one (default ${cliDefault('port')})
  --php-cgi PATH          php-cgi executable (default: ${cliDefault('phpCgi')} on PATH)
  --min-workers N         workers kept running (default ${cliDefault('minWorkers')})
  --max-workers N         most workers at once (default ${cliDefault('maxWorkers')})
  --max-requests N        recycle a worker after N requests; 0 = never (default ${cliDefault('maxRequests')})
  --idle-timeout T        stop workers above the minimum idle for T (default ${cliDefault('idleTimeout')})
  --busy-timeout T        kill a worker busy for T and answer 504 (default ${cliDefault('busyTimeout')})
  --queue-timeout T       how long a request waits for a worker before 503 (default ${cliDefault('queueTimeout')})
  --max-queue N           requests that may wait at once (default ${cliDefault('maxQueue')})
  --max-body SIZE         largest request body, e.g. 64M (default ${cliDefault('maxBody')})
  --front-controller URI  script for paths that match no file (default ${cliDefault('frontController')}; "none" = 404)
  -d, --ini NAME=VALUE    php.ini override for every worker (repeatable)
  -e, --env NAME=VALUE    environment variable for every worker (repeatable); workers
                          otherwise get a clean environment, like PHP-FPM's clear_env
  --symlinks MODE         follow${isDefaultSymlinks('follow')}: symbolic links lead wherever they lead, as in nginx
                          (Laravel's public/storage); within-root${isDefaultSymlinks('within-root')}: 403 for one that leads
                          out of DOCROOT. Dotfiles and PHP source stay refused where links lead
  --allow-host NAME       accept this Host name too (repeatable)
  --events FILE|-         write every pool event as a JSON line to FILE or stdout
  --state-dir DIR         keep a registry of our workers here; at start, workers
                          left running by a crashed earlier run are stopped
  --leak-policy P         reclaim${isDefaultPolicy('reclaim')}: end a leaked lease, replace the worker;
                          keep${isDefaultPolicy('keep')}: leave the worker marked on the busy list to inspect it
  --scan-interval T       how often the lists are checked against the OS (default ${cliDefault('scanInterval')})
  --xdebug MODE           step debugging: off, auto or on (default ${cliDefault('xdebug')}); auto uses Xdebug
                          when php-cgi loads it by itself, on loads it for the workers
                          (and fails without it). A request paused at a breakpoint is
                          never timed out; POST /.fastcgi-pool/debug-next[?path=GLOB]
                          triggers the debugger for the next request
  --debug-client H:P      where the IDE listens, e.g. PHP Debug in VS Code (default:
                          xdebug.client_host/port of -d, else ${cliDefault('debugClient')})
  --slowlog-timeout T     a request still running after T is reported (slow-request)
                          with its PHP stack, like PHP-FPM's slowlog; 0 = off (default ${cliDefault('slowlogTimeout')})
  --no-pdeathsig          do not tie workers to this process's life (setpriv); the
                          state-dir registry is then the only cleanup after a crash
  --node-http             parse every request with Node's HTTP server (slower); by
                          default simple requests take a lean HTTP/1.1 path
  --live-reload           reload open pages when a file of the project changes (CSS:
                          swap the stylesheets in place); the project is the folder
                          above a public/, web/ or htdocs/ document root; ignores
                          vendor/, node_modules/, .git/
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
        symlinks: { type: 'string' },
        'scan-interval': { type: 'string' },
        'slowlog-timeout': { type: 'string' },
        'no-pdeathsig': { type: 'boolean' },
        'node-http': { type: 'boolean' },
        'live-reload': { type: 'boolean' },
        xdebug: { type: 'string' },
        'debug-client': { type: 'string' },
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

  const o = OPTIONS;
  const minWorkers = integer(values['min-workers'], o.minWorkers.flag, o.minWorkers.default, 0);
  const maxWorkers = integer(values['max-workers'], o.maxWorkers.flag, Math.max(o.maxWorkers.default, minWorkers), 1);
  if (minWorkers > maxWorkers) throw new UsageError(`${o.minWorkers.flag} (${minWorkers}) cannot exceed ${o.maxWorkers.flag} (${maxWorkers})`);
  const ini = pairs(values.ini, o.ini.flag);
  const env = pairs(values.env, o.env.flag);
  const leakPolicy = values['leak-policy'] ?? o.leakPolicy.default;
  if (leakPolicy !== 'reclaim' && leakPolicy !== 'keep') throw new UsageError(`${o.leakPolicy.flag} is reclaim or keep, got "${leakPolicy}"`);
  const xdebug = (values.xdebug ?? o.xdebug.default).trim().toLowerCase();
  if (!(XDEBUG_SETTINGS as readonly string[]).includes(xdebug))
    throw new UsageError(`${o.xdebug.flag} is ${XDEBUG_SETTINGS.join(', ')}, got "${values.xdebug}"`);
  const debugClient = values['debug-client'] ?? null;
  if (debugClient !== null) {
    try {
      parseDebugClient(debugClient);
    } catch (error) {
      if (error instanceof DebugClientSyntaxError) throw new UsageError(`${o.debugClient.flag}: ${error.message}`);
      throw error;
    }
  }
  const symlinks = values.symlinks ?? o.symlinks.default;
  if (symlinks !== 'follow' && symlinks !== 'within-root') throw new UsageError(`${o.symlinks.flag} is follow or within-root, got "${symlinks}"`);
  const frontController = values['front-controller'] ?? cliDefault('frontController');
  if (frontController !== 'none' && !frontController.startsWith('/')) {
    throw new UsageError(`${o.frontController.flag} must be a path starting with /, or "none", got "${frontController}"`);
  }
  return {
    documentRoot: positionals[0] ?? cwd,
    documentRootDetected: positionals[0] === undefined,
    host: values.host ?? o.host.default,
    port: integer(values.port, o.port.flag, o.port.default, 0, 65535),
    phpCgi: values['php-cgi'] ?? o.phpCgi.default,
    minWorkers,
    maxWorkers,
    maxRequests: integer(values['max-requests'], o.maxRequests.flag, o.maxRequests.default, 0),
    idleTimeoutMs: duration(values['idle-timeout'], o.idleTimeout.flag, o.idleTimeout.default),
    busyTimeoutMs: duration(values['busy-timeout'], o.busyTimeout.flag, o.busyTimeout.default),
    queueTimeoutMs: duration(values['queue-timeout'], o.queueTimeout.flag, o.queueTimeout.default),
    maxQueue: integer(values['max-queue'], o.maxQueue.flag, o.maxQueue.default, 0),
    maxBodyBytes: size(values['max-body'], o.maxBody.flag, o.maxBody.default),
    frontController: frontController === 'none' ? null : frontController,
    ini,
    env,
    allowedHosts: values['allow-host'] ?? [],
    events: values.events ?? null,
    stateDir: values['state-dir'] ?? null,
    leakPolicy,
    symlinks,
    scanIntervalMs: duration(values['scan-interval'], o.scanInterval.flag, o.scanInterval.default),
    slowlogTimeoutMs: duration(values['slowlog-timeout'], o.slowlogTimeout.flag, o.slowlogTimeout.default),
    parentDeathSignal: !(values['no-pdeathsig'] ?? false),
    nodeHttp: values['node-http'] ?? false,
    liveReload: values['live-reload'] ?? OPTIONS.liveReload.default,
    xdebug: xdebug as XdebugSetting,
    debugClient,
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
