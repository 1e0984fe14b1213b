import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { ArmedTrigger } from '../dbgp/requestMatcher';
import { GatewayListenError, type GatewayEvent } from '../gateway/gateway';
import { ConfigurationError, type PoolServerOptions } from '../gateway/poolServer';
import type { DebugStopped } from '../pool/debugging';
import { PoolUnavailableError } from '../pool/errors';
import type { PoolEvent, PoolSnapshot } from '../pool/types';
import { DEFAULTS } from '../shared/defaults';
import { OptionError } from '../shared/options';
import type { LeaseStack } from '../shared/stackTypes';
import { plural } from '../shared/text';
import {
  checkEngineActionResult,
  ENGINE_ACTIONS,
  MAX_CHANGED_FILES_PER_CALL,
  type EngineActionArgs,
  type EngineActionMethods,
  type EngineActionName,
  type EngineActionResult,
} from './actions';
import { HistoryDecoder } from './historyCodec';
import { LeftoverWorkers, type LeftoverReport } from './leftoverWorkers';
import {
  DEFAULT_PER_REQUEST_EVENTS_PER_UPDATE,
  DEFAULT_UPDATE_INTERVAL_MS,
  ENGINE_PROTOCOL_VERSION,
  isGatewayEvent,
  parseEngineMessage,
  type EngineToMainMessage,
  type MainToEngineMessage,
  type WireError,
  type WireSnapshot,
} from './protocol';

/** How the threaded server is set up (the extension passes the entry; tests and benchmarks the rest). */
export interface ThreadedServerOptions {
  /** The engine thread's entry: dist/engineThread.js next to the extension's bundle. */
  readonly entry: string;
  /** The least time between two updates (snapshot + events) from the thread. */
  readonly updateIntervalMs?: number;
  /** Per-request events forwarded one by one per update; the rest arrive as one `requests-summarized` event. */
  readonly perRequestEventsPerUpdate?: number;
  /** Heap limits of the thread (Node's defaults otherwise); past them the thread dies and is reported like any crash. */
  readonly resourceLimits?: ResourceLimits;
  /** Beyond the drain and the workers' stop grace, how long `stop()` waits for the thread before ending it by force. */
  readonly stopMarginMs?: number;
  /** A message the thread refused or sent malformed: a bug, said somewhere visible. */
  readonly onProtocolError?: (reason: string) => void;
}

/**
 * The pool of a threaded server: the snapshot and the busy workers' stack
 * reads the thread last pushed (synchronously), and the engine's actions as
 * messages — each action of the table as a method of its name, and grouped
 * as the in-process `Pool` offers them (`debugger`, `stacks`), so that the
 * extension holds either through one interface.
 */
export interface ThreadedPoolHandle extends EngineActionMethods {
  snapshot(): PoolSnapshot;
  readonly debugger: {
    /** "Debug Next Request" (armDebugger). */
    arm(pattern?: string | null): Promise<ArmedTrigger>;
    /** "Stop Debugging Requests" (stopDebugging). */
    stopDebugging(): Promise<DebugStopped>;
  };
  readonly stacks: {
    /** Show Stack: a read now (readStack). */
    readWorker(workerId: string): Promise<LeaseStack | null>;
    /** The last read of each busy worker, by worker id, as the last update brought them; no message. */
    lastReads(): ReadonlyMap<string, LeaseStack>;
  };
}

/** Where the main thread reports changed files for live reload; sent to the thread once per event-loop turn. */
export interface ThreadedLiveReload {
  changed(files: Iterable<string>): void;
}

/** A pool server whose engine runs in a worker thread. */
export interface ThreadedServerHandle {
  readonly pool: ThreadedPoolHandle;
  /** Live reload's sink, null when the engine's gateway runs without live reload. */
  readonly gateway: { readonly liveReload: ThreadedLiveReload | null };
  readonly url: string;
  readonly port: number;
  /** Stops accepting requests, drains for up to `drainMs`, stops every worker; resolves when all have been reaped and the thread has ended. */
  stop(drainMs?: number): Promise<void>;
  /** Called once if the engine dies on its own (its thread crashed), with why; by then its workers are stopped. */
  onDidFail(listener: (problem: string) => void): void;
}

/** `startPoolServer`'s counterpart with the engine in a worker thread: one thread per running pool. */
export function createThreadedStartServer(setup: ThreadedServerOptions): (options: PoolServerOptions) => Promise<ThreadedServerHandle> {
  return (options) => new EngineThread(setup, options).started;
}

/** Where the thread is in its life, as the main thread sees it. */
type Phase = 'starting' | 'running' | 'exited';

interface PendingCall {
  readonly action: EngineActionName;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

/**
 * The main thread's side of one engine thread: it starts the thread, keeps
 * the latest snapshot, hands events to the caller's listeners, sends the
 * actions and matches their replies, and watches the thread's end. A clean
 * end follows `stopped`; any other end is a crash: the workers the thread
 * left are killed by their process groups, then the crash is reported to
 * whoever waits (the start, the stop, or `onDidFail`).
 */
class EngineThread {
  readonly started: Promise<ThreadedServerHandle>;
  private resolveStarted!: (handle: ThreadedServerHandle) => void;
  private rejectStarted!: (error: Error) => void;
  private readonly worker: Worker;
  private readonly leftovers: LeftoverWorkers;
  private phase: Phase = 'starting';
  private latest: PoolSnapshot | null = null;
  private stackReads: ReadonlyMap<string, LeaseStack> = new Map();
  private readonly history = new HistoryDecoder();
  private readonly changedFiles = new ChangedFilesBatch((files) => this.sendChangedFiles(files));
  private nextCallId = 1;
  private readonly calls = new Map<number, PendingCall>();
  private readonly failureListeners: Array<(problem: string) => void> = [];
  /** What the thread said or Node reported as it died, for the crash report. */
  private fatalReason: string | null = null;
  private errorReason: string | null = null;
  private forcedReason: string | null = null;
  private startFailure: WireError | null = null;
  private stoppedMessage: { error: WireError | null } | null = null;
  private stopRequested = false;
  private stopping: Promise<void> | null = null;
  /** Resolves once the thread has exited and its leftovers (if any) are dealt with; with the crash report, if it was one. */
  private readonly ended: Promise<string | null>;

  constructor(
    private readonly setup: ThreadedServerOptions,
    private readonly options: PoolServerOptions,
  ) {
    this.started = new Promise((resolve, reject) => {
      this.resolveStarted = resolve;
      this.rejectStarted = reject;
    });
    this.leftovers = new LeftoverWorkers(options.pool.stateDir ?? null);
    this.worker = new Worker(setup.entry, { name: 'fastcgi-pool engine', resourceLimits: setup.resourceLimits });
    this.worker.on('message', (raw: unknown) => this.receive(raw));
    this.worker.on('error', (error: Error) => {
      this.errorReason = `${error.name}: ${error.message}`;
    });
    this.ended = new Promise((resolve) => this.worker.once('exit', (code: number) => resolve(this.onExit(code))));
    const { workerProcessObserver: _own, ...pool } = options.pool;
    try {
      this.sendStart(options, pool);
    } catch (error) {
      // Options that cannot cross (a function, say): the thread would wait for ever.
      this.forcedReason = `could not be given its start options (${error instanceof Error ? error.message : String(error)}) and was ended`;
      void this.worker.terminate();
    }
  }

  private sendStart(options: PoolServerOptions, pool: Omit<PoolServerOptions['pool'], 'workerProcessObserver'>): void {
    this.send({
      type: 'start',
      protocol: ENGINE_PROTOCOL_VERSION,
      options: {
        documentRoot: options.documentRoot,
        pool,
        gateway: options.gateway,
        poolEvents: options.onPoolEvent ? ((options.poolEventsPerRequest ?? true) ? 'all' : 'lifecycle') : 'none',
        gatewayEvents: options.onGatewayEvent !== undefined,
        updateIntervalMs: this.setup.updateIntervalMs ?? DEFAULT_UPDATE_INTERVAL_MS,
        perRequestEventsPerUpdate: this.setup.perRequestEventsPerUpdate ?? DEFAULT_PER_REQUEST_EVENTS_PER_UPDATE,
      },
    });
  }

  private send(message: MainToEngineMessage): void {
    this.worker.postMessage(message);
  }

  private receive(raw: unknown): void {
    const parsed = parseEngineMessage(raw);
    if (!parsed.ok) {
      this.protocolError(`a malformed message from the engine thread: ${parsed.error}`);
      return;
    }
    this.handle(parsed.value);
  }

  private handle(message: EngineToMainMessage): void {
    switch (message.type) {
      case 'update':
        // Both before the events: a projection that reads them on an event sees what the event says.
        if (message.snapshot) this.receiveSnapshot(message.snapshot);
        if (message.stacks) this.stackReads = new Map(message.stacks.map((read) => [read.workerId, read]));
        for (const event of message.events) this.deliver(event);
        return;
      case 'started':
        this.receiveSnapshot(message.snapshot);
        this.phase = 'running';
        this.resolveStarted(this.handleFor(message.url, message.port, message.liveReload));
        return;
      case 'start-failed':
        this.startFailure = message.error;
        return;
      case 'reply': {
        const call = this.calls.get(message.id);
        if (!call) return;
        this.calls.delete(message.id);
        if (!message.ok) {
          call.reject(fromWireError(message.error));
          return;
        }
        const checked = checkEngineActionResult(call.action, message.result);
        if (checked.ok) call.resolve(checked.value);
        else call.reject(new TypeError(checked.error));
        return;
      }
      case 'worker-process':
        if (message.change === 'spawned') this.leftovers.spawned(message.worker);
        else this.leftovers.reaped(message.pid);
        return;
      case 'fatal':
        this.fatalReason = message.reason;
        return;
      case 'rejected':
        this.protocolError(`the engine thread refused a message: ${message.reason}`);
        return;
      case 'stopped':
        this.stoppedMessage = { error: message.error };
        return;
    }
  }

  /** The snapshot the thread pushed, with its history rebuilt from what it added. */
  private receiveSnapshot(wire: WireSnapshot): void {
    try {
      this.latest = { ...wire, history: this.history.decode(wire.history) };
    } catch (error) {
      this.protocolError(`a snapshot from the engine thread did not decode: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** One event to the listener it is for; a listener's bug must not stop the others. */
  private deliver(event: PoolEvent | GatewayEvent): void {
    try {
      if (isGatewayEvent(event)) this.options.onGatewayEvent?.(event);
      else this.options.onPoolEvent?.(event);
    } catch {
      // as the engine's own event emitters do
    }
  }

  private protocolError(reason: string): void {
    (this.setup.onProtocolError ?? ((text: string) => console.error(`[fastcgi-pool] ${text}`)))(reason);
  }

  private handleFor(url: string, port: number, liveReload: boolean): ThreadedServerHandle {
    const methods: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
    for (const name of Object.keys(ENGINE_ACTIONS) as EngineActionName[]) {
      methods[name] = (...args: unknown[]) => this.call(name, args as EngineActionArgs<typeof name>);
    }
    const actions = methods as unknown as EngineActionMethods;
    const pool: ThreadedPoolHandle = {
      ...actions,
      snapshot: () => this.latest as PoolSnapshot,
      debugger: {
        arm: (pattern) => actions.armDebugger(pattern ?? null),
        stopDebugging: () => actions.stopDebugging(),
      },
      stacks: {
        readWorker: (workerId) => actions.readStack(workerId),
        lastReads: () => this.stackReads,
      },
    };
    return {
      pool,
      gateway: { liveReload: liveReload ? { changed: (files) => this.changedFiles.add(files) } : null },
      url,
      port,
      stop: (drainMs = 5_000) => this.stop(drainMs),
      onDidFail: (listener) => {
        this.failureListeners.push(listener);
      },
    };
  }

  private call<K extends EngineActionName>(action: K, args: EngineActionArgs<K>): Promise<EngineActionResult<K>> {
    if (this.phase !== 'running') return Promise.reject(new Error('the pool is not running'));
    const id = this.nextCallId++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { action, resolve: resolve as (value: unknown) => void, reject });
      this.send({ type: 'call', id, action, args });
    });
  }

  /** One batch of changed files to the engine's live reload; a failure while the pool runs is a bug, said like one. */
  private sendChangedFiles(files: string[]): void {
    if (this.phase !== 'running' || this.stopRequested) return;
    this.call('liveReloadChanged', [files]).catch((error: unknown) => {
      // A stop under way refuses calls: not a bug.
      if (this.phase === 'running' && !this.stopRequested) this.protocolError(`live reload: ${error instanceof Error ? error.message : String(error)}`);
    });
  }

  private stop(drainMs: number): Promise<void> {
    this.stopping ??= this.doStop(drainMs);
    return this.stopping;
  }

  private async doStop(drainMs: number): Promise<void> {
    if (this.phase !== 'exited') {
      this.stopRequested = true;
      this.send({ type: 'stop', drainMs });
      // The pool's own stop is bounded (drain, then SIGTERM, the grace, SIGKILL): past that and a margin, the thread is stuck.
      const limitMs = drainMs + (this.options.pool.stopGraceMs ?? DEFAULTS.stopGraceMs) + (this.setup.stopMarginMs ?? 5_000);
      const timer = setTimeout(() => {
        this.forcedReason = `did not stop within ${limitMs} ms and was ended`;
        void this.worker.terminate();
      }, limitMs);
      try {
        await this.ended;
      } finally {
        clearTimeout(timer);
      }
    }
    const problem = await this.ended;
    if (problem && this.stopRequested) throw new Error(problem);
    if (this.stoppedMessage?.error) throw fromWireError(this.stoppedMessage.error);
  }

  /** The thread is gone: stop what it left, then tell whoever waits. Resolves with the crash report, or null for a clean end. */
  private async onExit(code: number): Promise<string | null> {
    const was = this.phase;
    this.phase = 'exited';
    for (const call of this.calls.values()) call.reject(new Error('the engine thread has ended'));
    this.calls.clear();
    this.changedFiles.dispose();
    this.stackReads = new Map();
    const report = await this.leftovers.stopAll();
    const clean = (this.stoppedMessage !== null || this.startFailure !== null) && this.fatalReason === null && this.forcedReason === null;
    if (clean && report.killed.length === 0 && report.survivors.length === 0) {
      if (this.startFailure) this.rejectStarted(fromWireError(this.startFailure));
      return null;
    }
    const why =
      this.forcedReason ??
      (this.fatalReason ? `crashed: ${this.fatalReason}` : this.errorReason ? `crashed: ${this.errorReason}` : `exited unexpectedly (code ${code})`);
    const problem = `the engine thread ${why}; ${describeLeftovers(report)}`;
    if (was === 'starting') {
      this.rejectStarted(this.startFailure ? fromWireError(this.startFailure) : new Error(problem));
    } else if (!this.stopRequested) {
      if (this.latest) this.latest = failedSnapshot(this.latest, problem);
      this.deliver({ type: 'pool-state', state: 'failed', problem });
      for (const listener of this.failureListeners.splice(0)) {
        try {
          listener(problem);
        } catch {
          // as for events
        }
      }
    }
    return problem;
  }
}

function describeLeftovers(report: LeftoverReport): string {
  const parts: string[] = [];
  if (report.killed.length > 0) parts.push(`killed ${plural(report.killed.length, 'worker')} it left running (pids ${report.killed.join(', ')})`);
  if (report.survivors.length > 0)
    parts.push(`${plural(report.survivors.length, 'worker')} still running despite SIGKILL (pids ${report.survivors.join(', ')})`);
  if (report.zombies.length > 0)
    parts.push(`${plural(report.zombies.length, 'exited worker')} cannot be reaped until the extension host exits (pids ${report.zombies.join(', ')})`);
  return parts.length > 0 ? parts.join('; ') : 'no worker was left running';
}

/** The last snapshot, as it is now that the engine is gone: failed, with no worker and no queue. */
function failedSnapshot(last: PoolSnapshot, problem: string): PoolSnapshot {
  return {
    ...last,
    version: last.version + 1,
    takenAt: Date.now(),
    state: 'failed',
    problem,
    workers: [],
    counts: { starting: 0, idle: 0, busy: 0, paused: 0, finishing: 0, draining: 0, error: 0, total: 0 },
    queue: { length: 0, oldestWaitMs: 0 },
    // The relay died with the thread: nothing is armed, no IDE can reach a worker.
    debugger: { ...last.debugger, armed: null, relayPort: null },
  };
}

/**
 * Changed files as the editor reports them (one call per file event; a
 * `git checkout` makes thousands in one turn), sent to the engine once per
 * event-loop turn, in calls of at most MAX_CHANGED_FILES_PER_CALL files. The
 * engine coalesces them again into one reload.
 */
class ChangedFilesBatch {
  private readonly pending = new Set<string>();
  private scheduled: ReturnType<typeof setImmediate> | null = null;
  private disposed = false;

  constructor(private readonly send: (files: string[]) => void) {}

  add(files: Iterable<string>): void {
    if (this.disposed) return;
    for (const file of files) if (file !== '') this.pending.add(file);
    if (this.pending.size > 0) this.scheduled ??= setImmediate(() => this.flush());
  }

  dispose(): void {
    this.disposed = true;
    if (this.scheduled !== null) clearImmediate(this.scheduled);
    this.scheduled = null;
    this.pending.clear();
  }

  private flush(): void {
    this.scheduled = null;
    const files = [...this.pending];
    this.pending.clear();
    for (let at = 0; at < files.length; at += MAX_CHANGED_FILES_PER_CALL) this.send(files.slice(at, at + MAX_CHANGED_FILES_PER_CALL));
  }
}

/** Rebuilds the engine's typed errors, so the caller tells a busy port or a setting at fault as it would in-process. */
export function fromWireError(error: WireError): Error {
  let rebuilt: Error;
  if (error.name === 'GatewayListenError') rebuilt = new GatewayListenError(error.message, error.code ?? undefined);
  else if (error.name === 'ConfigurationError') rebuilt = new ConfigurationError(error.message, error.option);
  else if (error.name === 'PoolUnavailableError') rebuilt = new PoolUnavailableError(error.message, error.option);
  else if (error.option) rebuilt = new OptionError(error.message, error.option);
  else rebuilt = new Error(error.message);
  rebuilt.name = error.name;
  return rebuilt;
}
