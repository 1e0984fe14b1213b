import * as vscode from 'vscode';
import type { GatewayEvent } from '../gateway/gateway';
import type { PoolEvent } from '../pool/types';
import { findingLine, findingSeverity } from '../shared/findings';
import { evidenceLines } from '../shared/stackText';
import { describeExit, formatRequest, formatWholeDuration, plural } from '../shared/text';
import { WORKER_LOG_SCHEME } from './ids';
import { DisposableStore } from './disposables';
import type { PoolChange, PoolManager } from './poolManager';
import { Throttle } from './throttle';

/** A log level of `LogOutputChannel`. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** One line for the log, and the worker it is about (for that worker's own log). */
export interface LogLine {
  readonly level: LogLevel;
  readonly text: string;
  readonly workerId: string | null;
}

/** The log line for a pool event; lease traffic is `trace`, failures `warn`/`error`. */
export function describePoolEvent(event: PoolEvent): LogLine[] {
  const line = (level: LogLevel, text: string, workerId: string | null): LogLine[] => [{ level, text, workerId }];
  switch (event.type) {
    case 'pool-state':
      return line(event.state === 'failed' ? 'error' : 'info', `pool ${event.state}${event.problem ? `: ${event.problem}` : ''}`, null);
    case 'worker-starting':
      return line('debug', `worker ${event.workerId} starting`, event.workerId);
    case 'worker-ready':
      return line('info', `worker ${event.workerId} ready (pid ${event.pid})`, event.workerId);
    case 'worker-state':
      return line('trace', `worker ${event.workerId} ${event.from} → ${event.to}${event.reason ? ` (${event.reason})` : ''}`, event.workerId);
    case 'worker-exited': {
      const text = `worker ${event.workerId} (pid ${event.pid}) ${describeExit(event.exit)} after ${plural(event.accesses, 'request')}, up ${formatWholeDuration(event.uptimeMs)} (${event.reason})`;
      return line(event.reason === 'crashed' ? 'warn' : 'info', text, event.workerId);
    }
    case 'worker-stderr':
      return stderrLines(`[${event.workerId}] `, event.text, event.workerId);
    case 'spawn-failed':
      return line('error', `cannot start worker ${event.workerId}: ${event.error}`, event.workerId);
    case 'spawn-throttled':
      return line('warn', `workers keep crashing (${event.consecutiveCrashes} in a row): next start in ${event.delayMs} ms`, null);
    case 'lease-acquired':
      return line(
        'trace',
        `lease ${event.lease.id} → ${event.lease.workerId}: ${formatRequest(event.lease)} (waited ${event.waitedMs} ms)`,
        event.lease.workerId,
      );
    case 'lease-released':
      return line('trace', `lease ${event.lease.id} ← ${event.lease.workerId}: ${event.outcome} after ${event.heldMs} ms`, event.lease.workerId);
    case 'lease-revoked': {
      const r = event.revocation;
      const why =
        r.kind === 'busy-timeout'
          ? `busy timeout (${r.timeoutMs} ms)`
          : r.kind === 'worker-exited'
            ? `the worker ${describeExit(r.exit)}`
            : r.kind === 'worker-retired'
              ? `worker retired (${r.reason})`
              : 'the pool is stopping';
      return line(
        r.kind === 'pool-stopping' ? 'info' : 'warn',
        `lease ${event.lease.id} of ${event.lease.workerId} (${formatRequest(event.lease)}) revoked: ${why}`,
        event.lease.workerId,
      );
    }
    case 'lease-protocol-error':
      return line('warn', `lease ${event.leaseId}: ${event.problem} by ${event.holder}`, event.workerId);
    case 'queue-rejected':
      return line('warn', `${event.uri} rejected: ${event.reason === 'queue-full' ? 'the wait queue is full' : `no worker within ${event.waitedMs} ms`}`, null);
    case 'stale-workers-cleaned':
      return event.killed.length > 0
        ? line('info', `stopped ${plural(event.killed.length, 'worker')} left behind by an earlier session (pids ${event.killed.join(', ')})`, null)
        : line('debug', `no workers left behind by an earlier session (${event.stateDir})`, null);
    case 'finding': {
      // Then, where one was read, the wait reason and the PHP stack, one frame a line (as the CLI prints them).
      const level = findingSeverity(event.finding.kind) === 'error' ? 'error' : 'warn';
      const text = [`finding ${event.finding.id}: ${findingLine(event.finding, { script: true })}`, ...evidenceLines(event.finding)].join('\n');
      return line(level, text, event.finding.workerId);
    }
    case 'stacks-status':
      return event.status.state === 'on'
        ? line('info', 'live PHP stacks: on (the canary read back right)', null)
        : line('warn', event.status.reason ?? 'live PHP stacks are off', null);
    case 'finding-resolved': {
      const resolution = event.finding.resolution;
      return line(
        'info',
        `finding ${event.finding.id} (${event.finding.kind}) resolved${resolution ? `: ${resolution.how}${resolution.detail ? ` — ${resolution.detail}` : ''}` : ''}`,
        event.finding.workerId,
      );
    }
    case 'worker-debug':
    case 'debugger-ready':
    case 'debug-armed':
    case 'debug-relay':
      return describeDebugEvent(event);
    default:
      return [];
  }
}

/** The step debugger's events (see README, "Debugging with Xdebug"). */
function describeDebugEvent(event: Extract<PoolEvent, { type: 'worker-debug' | 'debugger-ready' | 'debug-armed' | 'debug-relay' }>): LogLine[] {
  const line = (level: LogLevel, text: string, workerId: string | null = null): LogLine[] => [{ level, text, workerId }];
  switch (event.type) {
    case 'worker-debug': {
      const d = event.debug;
      if (d === null) return line('debug', `worker ${event.workerId}: debug session over`, event.workerId);
      if (d.state === 'paused' && d.ide === 'connected')
        return line('info', `worker ${event.workerId} (pid ${event.pid}) paused at ${d.file ?? '?'}:${d.line ?? '?'}; its timeouts wait`, event.workerId);
      return line('trace', `worker ${event.workerId} debug ${d.state}${d.ide === 'unreachable' ? ' (IDE unreachable)' : ''}`, event.workerId);
    }
    case 'debugger-ready': {
      const d = event.debugger;
      if (d.status === 'enabled')
        return line(
          'info',
          `Xdebug ${d.version ?? ''}: requests can be debugged through the pool's relay (IDE at ${d.ide}): "FastCGI: Debug Next Request"${d.notes.length ? `; ${d.notes.join('; ')}` : ''}`,
        );
      return line('info', `step debugging ${d.status}${d.reason ? `: ${d.reason}` : ''}`);
    }
    case 'debug-armed':
      return event.armed
        ? line('info', `the next request${event.armed.pattern ? ` matching ${event.armed.pattern}` : ''} will be debugged`)
        : line('debug', 'debug next request: disarmed');
    case 'debug-relay': {
      const e = event.event;
      switch (e.type) {
        case 'ide-unreachable':
          return line(
            'warn',
            `no debugger listens at ${e.ide} (${e.error}): pid ${e.pid}'s request ran without it. Start PHP Debug's "Listen for Xdebug", or check fastcgiPool.debugClient`,
          );
        case 'ide-silent':
          return line('warn', `the debugger said nothing for ${e.silentMs} ms: pid ${e.pid}'s request runs on without it`);
        case 'session-started':
          return line('debug', `debug session of pid ${e.pid} started (${e.script ?? '?'})`);
        case 'session-ended':
          return line(
            'debug',
            `debug session of pid ${e.pid} ended after ${e.durationMs} ms (${e.reason}; ${e.bytesToIde} bytes to the IDE, ${e.bytesToEngine} to Xdebug)`,
          );
        case 'rejected':
          return line('warn', `debug connection refused${e.pid !== null ? ` (pid ${e.pid})` : ''}: ${e.reason}`);
        case 'protocol-error':
          return line('warn', `debug session of pid ${e.pid} closed: the ${e.side} sent bytes that are not DBGp (${e.error})`);
      }
    }
  }
}

/** The log line for a gateway event: one per request, PHP's stderr as warnings. */
export function describeGatewayEvent(event: GatewayEvent): LogLine[] {
  switch (event.type) {
    case 'request':
      return [
        {
          level: event.status >= 500 ? 'warn' : 'info',
          text: `${event.method} ${event.uri} ${event.status} ${event.durationMs} ms${event.workerId ? ` ${event.workerId}` : ''}`,
          workerId: event.workerId,
        },
      ];
    case 'php-stderr':
      return stderrLines(`[${event.workerId} ${event.uri}] `, event.text, event.workerId);
    case 'requests-summarized': {
      // The engine thread forwards a few hundred requests a second one by one; a load test gets this line instead of the rest.
      const statuses = Object.entries(event.byStatus)
        .map(([status, count]) => `${count}× ${status}`)
        .join(', ');
      return [
        { level: 'info', text: `… and ${plural(event.requests, 'more request')} in ${event.spanMs} ms (${statuses}), not logged one by one`, workerId: null },
      ];
    }
    default:
      return [];
  }
}

function stderrLines(prefix: string, text: string, workerId: string): LogLine[] {
  return text
    .split(/\r?\n/)
    .filter((line) => line.trim().length > 0)
    .map((line) => ({ level: 'warn' as const, text: prefix + line, workerId }));
}

/** The lines a worker log keeps (the oldest go first). */
const WORKER_LOG_LINES = 2_000;
/** Exited workers whose logs are kept per folder. */
const WORKER_LOGS_PER_FOLDER = 100;

/**
 * Each worker's own log (its events, requests and stderr) as read-only
 * documents: `fastcgi-pool-log:/<folder>/<worker>.log`. Kept in memory,
 * bounded, and emptied when the folder's pool starts again (worker ids
 * restart at w1).
 */
export class WorkerLogStore implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly disposables = new DisposableStore();
  private readonly logs = new Map<string, string[]>();
  private readonly changed = this.disposables.add(new vscode.EventEmitter<vscode.Uri>());
  readonly onDidChange = this.changed.event;
  private readonly dirty = new Map<string, vscode.Uri>();
  /** Open log documents are told of new lines at most four times a second. */
  private readonly flusher = this.disposables.add(new Throttle(() => this.flush()));

  /** The document of one worker's log. */
  uriFor(folderKey: string, folderName: string, workerId: string): vscode.Uri {
    return vscode.Uri.from({
      scheme: WORKER_LOG_SCHEME,
      path: `/${folderName}/${workerId}.log`,
      query: new URLSearchParams({ folder: folderKey, worker: workerId }).toString(),
    });
  }

  append(folderKey: string, folderName: string, workerId: string, level: LogLevel, text: string): void {
    const key = `${folderKey}#${workerId}`;
    let lines = this.logs.get(key);
    if (!lines) {
      lines = [];
      this.logs.set(key, lines);
      this.trimFolder(folderKey);
    }
    lines.push(`${timestamp(Date.now())} [${level}] ${text}`);
    if (lines.length > WORKER_LOG_LINES) lines.splice(0, lines.length - WORKER_LOG_LINES);
    this.dirty.set(key, this.uriFor(folderKey, folderName, workerId));
    this.flusher.request();
  }

  /** Forgets a folder's worker logs (its pool starts anew). */
  clearFolder(folderKey: string): void {
    for (const key of [...this.logs.keys()]) if (key.startsWith(`${folderKey}#`)) this.logs.delete(key);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const params = new URLSearchParams(uri.query);
    const lines = this.logs.get(`${params.get('folder') ?? ''}#${params.get('worker') ?? ''}`);
    return lines ? lines.join('\n') + '\n' : `No log lines for worker ${params.get('worker') ?? '?'} (yet).\n`;
  }

  dispose(): void {
    this.disposables.dispose();
  }

  private trimFolder(folderKey: string): void {
    const keys = [...this.logs.keys()].filter((key) => key.startsWith(`${folderKey}#`));
    for (const key of keys.slice(0, Math.max(0, keys.length - WORKER_LOGS_PER_FOLDER))) this.logs.delete(key);
  }

  private flush(): void {
    const uris = [...this.dirty.values()];
    this.dirty.clear();
    for (const uri of uris) this.changed.fire(uri);
  }
}

function timestamp(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/**
 * Writes every pool and gateway event to the "FastCGI Pool" log channel
 * (prefixed with the folder, for multi-root workspaces) and to the worker's
 * own log.
 */
export class LogProjection implements vscode.Disposable {
  private readonly disposables = new DisposableStore();

  constructor(
    manager: PoolManager,
    private readonly channel: vscode.LogOutputChannel,
    private readonly workerLogs: WorkerLogStore,
  ) {
    this.disposables.add(manager.onDidChange((change) => this.onChange(change)));
  }

  dispose(): void {
    this.disposables.dispose();
  }

  private onChange(change: PoolChange): void {
    if (change.kind === 'folders') return;
    if (change.kind === 'lifecycle') {
      if (change.pool.status === 'starting') this.workerLogs.clearFolder(change.pool.key);
      return;
    }
    const lines = change.kind === 'pool-event' ? describePoolEvent(change.event) : describeGatewayEvent(change.event);
    for (const line of lines) {
      this.channel[line.level](`[${change.pool.name}] ${line.text}`);
      if (line.workerId) this.workerLogs.append(change.pool.key, change.pool.name, line.workerId, line.level, line.text);
    }
  }
}
