import { createWriteStream, type WriteStream } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { GatewayEvent } from '../gateway/gateway';
import { startPoolServer, type PoolServer } from '../gateway/poolServer';
import { detectDocumentRoot, DOCUMENT_ROOT_CANDIDATES } from '../platform/documentRoot';
import { watchTree, type TreeWatcher } from '../platform/treeWatcher';
import type { PoolEvent } from '../pool/types';
import { findingLine, findingSeverity } from '../shared/findings';
import { isIgnoredForLiveReload } from '../shared/liveReload';
import { describePlatform, platformLabel } from '../shared/platform';
import { evidenceLines } from '../shared/stackText';
import { explainOptionError, OptionError } from '../shared/options';
import { describeExit, plural } from '../shared/text';
import { debuggerLine, debugEventLine } from './debugLines';
import { parseServeArgs, usage, UsageError, type ServeOptions } from './options';

/** Exit codes: 0 ok, 1 runtime failure, 2 bad usage or configuration. */
async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(usage + '\n');
    return command === undefined ? 2 : 0;
  }
  if (command !== 'serve') {
    process.stderr.write(`fastcgi-pool: unknown command "${command}"\n\n${usage}\n`);
    return 2;
  }
  let options: ServeOptions;
  try {
    const parsed = parseServeArgs(rest, process.cwd());
    if (parsed === 'help') {
      process.stdout.write(usage + '\n');
      return 0;
    }
    options = parsed;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`fastcgi-pool: ${error.message}\nRun "fastcgi-pool serve --help" for the options.\n`);
      return 2;
    }
    throw error;
  }
  return serve(options);
}

async function serve(options: ServeOptions): Promise<number> {
  // Listen for Ctrl+C / SIGTERM before anything starts: a signal that comes
  // while the workers start (or right after "Listening on") must still stop
  // them gracefully, not kill this process with its default action.
  const stopSignals = catchStopSignals();
  const events = openEventLog(options.events);
  const writeEvent = (event: object): void => {
    events?.write(JSON.stringify({ time: new Date().toISOString(), ...event }) + '\n');
  };
  // No DOCROOT given: public/, web/ or htdocs/ when it has the index.php, else the folder itself.
  const detected = options.documentRootDetected ? detectDocumentRoot(resolve(options.documentRoot)) : null;
  const documentRoot = detected?.path ?? options.documentRoot;
  let server: PoolServer;
  try {
    server = await startPoolServer({
      documentRoot,
      pool: {
        phpCgi: options.phpCgi,
        minWorkers: options.minWorkers,
        maxWorkers: options.maxWorkers,
        maxRequests: options.maxRequests,
        idleTimeoutMs: options.idleTimeoutMs,
        busyTimeoutMs: options.busyTimeoutMs,
        queueTimeoutMs: options.queueTimeoutMs,
        maxQueue: options.maxQueue,
        ini: options.ini,
        env: options.env,
        stateDir: options.stateDir,
        leakPolicy: options.leakPolicy,
        scanIntervalMs: options.scanIntervalMs,
        slowlogTimeoutMs: options.slowlogTimeoutMs,
        parentDeathSignal: options.parentDeathSignal,
        xdebug: options.xdebug,
        debugClient: options.debugClient,
      },
      gateway: {
        host: options.host,
        port: options.port,
        frontController: options.frontController,
        allowedHosts: options.allowedHosts,
        maxBodyBytes: options.maxBodyBytes,
        symlinks: options.symlinks,
        leanHttp: !options.nodeHttp,
        liveReload: options.liveReload,
      },
      onPoolEvent: (event) => {
        writeEvent(event);
        reportPoolEvent(event);
      },
      // Lease and idle⇄busy events are only written to --events; without it,
      // not building them saves ~15 µs per request.
      poolEventsPerRequest: options.events !== null,
      // The access log: request lines on stdout unless --quiet, and --events.
      gatewayRequestEvents: options.events !== null || !options.quiet,
      onGatewayEvent: (event) => {
        writeEvent(event);
        reportGatewayEvent(event, options);
      },
    });
  } catch (error) {
    await closeEventLog(events);
    // Bad configuration, a busy port, php-cgi missing: the message names the flag to change.
    if (error instanceof OptionError) {
      process.stderr.write(`fastcgi-pool: ${explainOptionError(error, 'cli')}\n`);
      return 2;
    }
    throw error;
  }

  process.stdout.write(`Listening on ${server.url}\n`);
  const snapshot = server.pool.snapshot();
  const how = detected ? (detected.indexFile ? ` (detected: ${detected.indexFile})` : ' (no index.php found: the folder itself)') : '';
  process.stderr.write(
    `document root ${server.gateway.options.documentRoot}${how}; workers ${snapshot.limits.minWorkers}–${snapshot.limits.maxWorkers}; status at ${server.url}${server.gateway.options.statusPath.slice(1)}\n`,
  );
  // Live reload watches the project: the folder the document root was found in (or, for a document
  // root named public/, web/ or htdocs/, the folder above it: app code lives next to it), else the document root.
  const root = server.gateway.options.documentRoot;
  const project = detected ? resolve(options.documentRoot) : DOCUMENT_ROOT_CANDIDATES.includes(basename(root)) ? dirname(root) : root;
  const watcher = options.liveReload ? watchForLiveReload(server, project) : null;
  if (snapshot.platform && !options.quiet)
    process.stderr.write(`platform: ${platformLabel(snapshot.platform)}; ${describePlatform(snapshot.platform).join('; ')}\n`);
  statusUrl = `${server.url}${server.gateway.options.statusPath.slice(1)}`;
  // With --xdebug on the decision is made before the pool serves; with auto it follows (a debugger-ready event).
  if (snapshot.debugger.status !== 'detecting') reportPoolEvent({ type: 'debugger-ready', debugger: snapshot.debugger });

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.stderr.write(`${signal}: finishing requests and stopping workers…\n`);
      void server.stop().then(resolve);
    };
    if (stopSignals.first) stop(stopSignals.first);
    else stopSignals.onFirst = stop;
    // A second Ctrl+C: do not wait for in-flight requests any longer.
    stopSignals.onAgain = () => server.gateway.closeAllConnections();
  });
  watcher?.close();
  await closeEventLog(events);
  process.stderr.write('stopped; no workers left running\n');
  return 0;
}

/** Reports every change under `folder` (but vendor/, node_modules/, .git/ and editors' temp files) to the gateway's live reload. */
function watchForLiveReload(server: PoolServer, folder: string): TreeWatcher | null {
  const live = server.gateway.liveReload;
  if (live === null) return null;
  const warned = new Set<string>();
  const watcher = watchTree(folder, (path) => live.changed([path]), {
    ignore: isIgnoredForLiveReload,
    onError: (where, error) => {
      if (warned.has(where)) return;
      warned.add(where);
      process.stderr.write(`live reload cannot watch ${where}: ${error.message}\n`);
    },
  });
  process.stderr.write(`live reload: watching ${folder} (${plural(watcher.folders, 'folder')}; not vendor/, node_modules/, .git/)\n`);
  return watcher;
}

/** The access log on stdout, PHP's stderr and live reload's notes on stderr. */
function reportGatewayEvent(event: GatewayEvent, options: ServeOptions): void {
  switch (event.type) {
    case 'php-stderr':
      process.stderr.write(prefixLines(`[${event.workerId} ${event.uri}] `, event.text));
      return;
    case 'request':
      if (!options.quiet && options.events !== '-') {
        process.stdout.write(`${event.method} ${event.uri} ${event.status} ${event.durationMs} ms${event.workerId ? ' ' + event.workerId : ''}\n`);
      }
      return;
    case 'live-reload':
      if (!options.quiet) {
        const what = event.action === 'css' ? 'stylesheets swapped' : 'reload';
        process.stderr.write(
          `live reload: ${what} (${plural(event.clients, 'page')}) after ${event.files.slice(0, 3).join(', ')}${event.files.length > 3 ? ` and ${event.files.length - 3} more` : ''} changed\n`,
        );
      }
      return;
    case 'live-reload-blocked':
      process.stderr.write(
        `warning: live reload is off for ${event.path}: its Content-Security-Policy (${event.directive}) forbids even a same-origin script\n`,
      );
      return;
  }
}

/** The first stop signal, remembered until serving can act on it. */
interface StopSignals {
  first: NodeJS.Signals | null;
  onFirst: ((signal: NodeJS.Signals) => void) | null;
  onAgain: (() => void) | null;
}

function catchStopSignals(): StopSignals {
  const state: StopSignals = { first: null, onFirst: null, onAgain: null };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (state.first === null) {
      state.first = signal;
      state.onFirst?.(signal);
    } else {
      state.onAgain?.();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return state;
}

/** The status URL once serving (the debugger's lines name the control beside it). */
let statusUrl: string | null = null;

/** One readable line on stderr for the pool events a developer must see. */
function reportPoolEvent(event: PoolEvent): void {
  switch (event.type) {
    case 'debugger-ready': {
      const line = statusUrl === null ? null : debuggerLine(event.debugger, statusUrl);
      if (line) process.stderr.write(`${line}\n`);
      break;
    }
    case 'worker-debug':
    case 'debug-relay':
    case 'debug-armed': {
      const line = debugEventLine(event);
      if (line) process.stderr.write(`${line}\n`);
      break;
    }
    case 'worker-exited':
      if (event.reason === 'crashed') {
        process.stderr.write(`worker ${event.workerId} (pid ${event.pid}) ${describeExit(event.exit)} after ${plural(event.accesses, 'request')}\n`);
      }
      break;
    case 'worker-stderr':
      process.stderr.write(prefixLines(`[${event.workerId}] `, event.text));
      break;
    case 'spawn-failed':
      process.stderr.write(`cannot start a worker: ${event.error}\n`);
      break;
    case 'spawn-throttled':
      process.stderr.write(`workers keep crashing (${event.consecutiveCrashes} in a row): next start in ${event.delayMs} ms\n`);
      break;
    case 'finding': {
      // `error:` for a lost request, `warning:` otherwise, as in the editor's Problems;
      // then, where one was read, the wait reason and the PHP stack, one frame a line (PHP-FPM's slowlog).
      const lines = [`${findingSeverity(event.finding.kind)}: ${findingLine(event.finding, { script: true })}`, ...evidenceLines(event.finding)];
      process.stderr.write(lines.join('\n') + '\n');
      break;
    }
    case 'stacks-status':
      // Where stacks cannot be read (or the canary read them back wrong): one line, once.
      if (event.status.state === 'off' && event.status.reason) process.stderr.write(`${event.status.reason}\n`);
      break;
    case 'stale-workers-cleaned':
      if (event.killed.length > 0) {
        process.stderr.write(`cleaned ${plural(event.killed.length, 'stale worker')} left by a previous run (pids ${event.killed.join(', ')})\n`);
      }
      break;
    default:
      break;
  }
}

function openEventLog(target: string | null): WriteStream | NodeJS.WriteStream | null {
  if (target === null) return null;
  if (target === '-') return process.stdout;
  return createWriteStream(target, { flags: 'a' });
}

function closeEventLog(stream: WriteStream | NodeJS.WriteStream | null): Promise<void> {
  if (!stream || stream === process.stdout) return Promise.resolve();
  return new Promise((resolve) => stream.end(() => resolve()));
}

function prefixLines(prefix: string, text: string): string {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => prefix + line + '\n')
    .join('');
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`fastcgi-pool: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
