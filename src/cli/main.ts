import { createWriteStream, type WriteStream } from 'node:fs';
import { startPoolServer, type PoolServer } from '../gateway/poolServer';
import type { PoolEvent } from '../pool/types';
import { findingLine, findingSeverity } from '../shared/findings';
import { explainOptionError, OptionError } from '../shared/options';
import { describeExit, plural } from '../shared/text';
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
  let server: PoolServer;
  try {
    server = await startPoolServer({
      documentRoot: options.documentRoot,
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
        parentDeathSignal: options.parentDeathSignal,
      },
      gateway: {
        host: options.host,
        port: options.port,
        frontController: options.frontController,
        allowedHosts: options.allowedHosts,
        maxBodyBytes: options.maxBodyBytes,
        leanHttp: !options.nodeHttp,
      },
      onPoolEvent: (event) => {
        writeEvent(event);
        reportPoolEvent(event);
      },
      // Lease and idle⇄busy events are only written to --events; without it,
      // not building them saves ~15 µs per request.
      poolEventsPerRequest: options.events !== null,
      onGatewayEvent: (event) => {
        writeEvent(event);
        if (event.type === 'php-stderr') {
          process.stderr.write(prefixLines(`[${event.workerId} ${event.uri}] `, event.text));
        } else if (event.type === 'request' && !options.quiet && options.events !== '-') {
          process.stdout.write(`${event.method} ${event.uri} ${event.status} ${event.durationMs} ms${event.workerId ? ' ' + event.workerId : ''}\n`);
        }
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
  process.stderr.write(`document root ${server.gateway.options.documentRoot}; workers ${snapshot.limits.minWorkers}–${snapshot.limits.maxWorkers}; status at ${server.url}${server.gateway.options.statusPath.slice(1)}\n`);

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
  await closeEventLog(events);
  process.stderr.write('stopped; no workers left running\n');
  return 0;
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

/** One readable line on stderr for the pool events a developer must see. */
function reportPoolEvent(event: PoolEvent): void {
  switch (event.type) {
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
    case 'finding':
      // `error:` for a lost request, `warning:` otherwise, as in the editor's Problems.
      process.stderr.write(`${findingSeverity(event.finding.kind)}: ${findingLine(event.finding, { script: true })}\n`);
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
