import * as vscode from 'vscode';
import type { ArmedTrigger } from '../dbgp/requestMatcher';
import type { PoolServerOptions } from '../gateway/poolServer';
import type { DebugStopped } from '../pool/debugging';
import { GatewayListenError, type GatewayEvent } from '../gateway/gateway';
import type { PoolEvent, PoolSnapshot } from '../pool/types';
import type { RegisteredWorker } from '../platform/workerRegistry';
import { DEFAULTS } from '../shared/defaults';
import type { LeaseStack } from '../shared/stackTypes';
import { explainOptionError, OptionError, optionName } from '../shared/options';
import { describeBusyPort, type BusyPortHolder } from './busyPort';
import { DisposableStore } from './disposables';
import { documentRootOf, PORT_FALLBACK_RANGE, servedRootText, toServerOptions, type FolderSettings, type ServedRoot, type SettingsResult } from './settings';

/**
 * The part of the engine's `Pool` the extension uses (so tests can hand in a
 * fake). `snapshot()` and `stacks.lastReads()` are synchronous: with the
 * engine in its thread, what its latest update brought. The actions answer
 * at once in-process and by a reply over the channel when the engine runs
 * in its thread (src/engineThread/actions.ts): callers await them.
 */
export interface PoolHandle {
  snapshot(): PoolSnapshot;
  recycleWorker(workerId: string, mode: 'graceful' | 'kill'): boolean | Promise<boolean>;
  releaseLease(leaseId: string): boolean | Promise<boolean>;
  /** "Debug Next Request" and "Stop Debugging Requests" (`arm` fails when the pool has no debugger). */
  readonly debugger: {
    arm(pattern?: string | null): ArmedTrigger | Promise<ArmedTrigger>;
    stopDebugging(): DebugStopped | Promise<DebugStopped>;
  };
  /** Live PHP stacks (the engine's StackWatch); a fake may have none. */
  readonly stacks?: StackHandle;
}

/** Where the busy workers are: the engine's reads of their PHP stacks and wait reasons. */
export interface StackHandle {
  /** Reads the worker now (Show Stack); null when it serves no lease. */
  readWorker(workerId: string): LeaseStack | null | Promise<LeaseStack | null>;
  /** The last read of each busy worker, by worker id (the once-a-second schedule's); no new read, synchronous. */
  lastReads(): ReadonlyMap<string, LeaseStack>;
}

/** Where the editor reports changed files for live reload (the engine's `LiveReload`). */
export interface LiveReloadSink {
  changed(files: Iterable<string>): void;
}

/** The part of the engine's `PoolServer` the extension uses. */
export interface ServerHandle {
  readonly pool: PoolHandle;
  readonly url: string;
  readonly port: number;
  /** Live reload, when the folder's setting turned it on (absent in tests that do not need it). */
  readonly gateway?: { readonly liveReload: LiveReloadSink | null };
  stop(drainMs?: number): Promise<void>;
  /** Where the engine can die on its own (its thread crashed): called once, with why, after its workers were stopped. */
  onDidFail?(listener: (problem: string) => void): void;
}

/** The configured port was taken: where the pool went instead, and who holds the port. */
export interface PortMove {
  readonly from: number;
  readonly to: number;
  /** `port 8080 on 127.0.0.1 is in use by pid 4242 (python3 -m http.server 8080)`. */
  readonly heldBy?: string;
  /** Set when the holder is one of our own stale workers: the user may stop it and take the port back. */
  readonly staleWorker?: RegisteredWorker;
}

/** `startPoolServer`, the threaded one (src/engineThread/threadedServer.ts), or a fake. */
export type StartServer = (options: PoolServerOptions) => Promise<ServerHandle>;

/** Where a folder's pool is in its life, as the extension manages it. */
export type PoolStatus = 'stopped' | 'starting' | 'running' | 'stopping' | 'failed';

/** The read side of a folder's pool, as the projections see it (`FolderPool` is one; tests build others). */
export interface PoolSource {
  readonly key: string;
  readonly name: string;
  readonly status: PoolStatus;
  readonly problem: string | null;
  readonly portMoved: PortMove | null;
  readonly server: { readonly port: number; readonly url: string } | null;
  /** What the running pool serves, and whether it was detected. */
  readonly servedRoot?: ServedRoot | null;
  snapshot(): PoolSnapshot | null;
  /** The last stack read of each busy worker, by worker id (absent in sources that have none). */
  lastStacks?(): ReadonlyMap<string, LeaseStack>;
}

/** What changed: the set of folders, a pool's lifecycle, or an event from the engine. */
export type PoolChange =
  | { readonly kind: 'folders' }
  | { readonly pool: FolderPool; readonly kind: 'lifecycle' }
  | { readonly pool: FolderPool; readonly kind: 'pool-event'; readonly event: PoolEvent }
  | { readonly pool: FolderPool; readonly kind: 'gateway-event'; readonly event: GatewayEvent };

/** The log lines the manager writes itself (settings problems, a moved port). */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** What the manager needs from the outside world; tests pass fakes. */
export interface PoolManagerDeps {
  readonly startServer: StartServer;
  readonly isPortFree: (host: string, port: number) => Promise<boolean>;
  readonly readSettings: (folder: vscode.WorkspaceFolder) => SettingsResult;
  /** Where the pool keeps its stale-worker registry, or null for none. */
  readonly stateDirFor: (folder: vscode.WorkspaceFolder) => string | null;
  readonly isTrusted: () => boolean;
  readonly log: Logger;
  /** Who holds a port the pool could not take (the real one reads /proc and the registries). */
  readonly explainBusyPort?: (host: string, port: number) => BusyPortHolder;
  /** Stops one of our own stale workers that holds the port; true once it is gone. */
  readonly stopStaleWorker?: (worker: RegisteredWorker) => Promise<boolean>;
  /** The `php` executables the editor's PHP settings name: where php-cgi is looked for when it is not on PATH. */
  readonly phpExecutablesFor?: (folder: vscode.WorkspaceFolder) => string[];
}

/**
 * A start that failed for a reason the user can act on; `setting` is the one
 * to look at (the notification's Open Settings goes there).
 */
export class PoolStartError extends Error {
  constructor(
    message: string,
    readonly setting: string | null,
    /** The message with the setting named, for the log and the pool's tooltip (the notification has the button). */
    readonly explained: string = message,
  ) {
    super(message);
    this.name = 'PoolStartError';
  }
}

/** Start was refused because the workspace is not trusted. */
export class UntrustedWorkspaceError extends Error {
  constructor() {
    super("FastCGI Pool runs php-cgi on this workspace's code, so it cannot start in Restricted Mode. Trust the workspace to start a pool.");
    this.name = 'UntrustedWorkspaceError';
  }
}

/**
 * One run of a folder's pool, from its start to its stop: its server, and a
 * store for what lives exactly as long as the run (the forwarding of the
 * engine's events, for a start). Disposed when the run stops or its start
 * fails: a finished run's late events reach nobody.
 */
class PoolRun implements vscode.Disposable {
  readonly store = new DisposableStore();
  server: ServerHandle | null = null;

  /** Wraps a callback so that it is called only while the run lasts. */
  relay<T>(deliver: (value: T) => void): (value: T) => void {
    return (value) => {
      if (!this.store.isDisposed) deliver(value);
    };
  }

  dispose(): void {
    this.store.dispose();
  }
}

const NO_STACKS: ReadonlyMap<string, LeaseStack> = new Map();

/** One workspace folder's pool: at most one running server, and how it got there. */
export class FolderPool implements PoolSource {
  status: PoolStatus = 'stopped';
  /** The current run, from start to stop (null while stopped or failed). */
  run: PoolRun | null = null;
  /** Why the last start failed, while `status` is `failed`. */
  problem: string | null = null;
  /** Set when the configured port was busy and the pool moved on. */
  portMoved: PortMove | null = null;
  /** What the running pool serves (set at its start). */
  servedRoot: ServedRoot | null = null;
  /** Lifecycle operations run one after the other (a stop waits for a start). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(public folder: vscode.WorkspaceFolder) {}

  /** The running server, or null. */
  get server(): ServerHandle | null {
    return this.run?.server ?? null;
  }

  /** The folder's URI: the pool's identity in the tree, commands and diagnostics. */
  get key(): string {
    return this.folder.uri.toString();
  }

  get name(): string {
    return this.folder.name;
  }

  /** The engine's current snapshot, or null while no server runs. */
  snapshot(): PoolSnapshot | null {
    return this.server ? this.server.pool.snapshot() : null;
  }

  lastStacks(): ReadonlyMap<string, LeaseStack> {
    return this.server?.pool.stacks?.lastReads() ?? NO_STACKS;
  }

  /** @internal */
  enqueue<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.then(operation, operation);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

/**
 * One pool per workspace folder, keyed by the folder's URI. The single
 * source of truth for the projections: they subscribe to `onDidChange` and
 * read `FolderPool.snapshot()`.
 */
export class PoolManager implements vscode.Disposable {
  private readonly disposables = new DisposableStore();
  private readonly byKey = new Map<string, FolderPool>();
  private readonly changes = this.disposables.add(new vscode.EventEmitter<PoolChange>());
  /** Fires for lifecycle changes and for every engine event, synchronously. */
  readonly onDidChange = this.changes.event;
  private disposed = false;

  constructor(private readonly deps: PoolManagerDeps) {}

  /** Every folder's pool, in folder order. */
  get pools(): readonly FolderPool[] {
    return [...this.byKey.values()].sort((a, b) => a.folder.index - b.folder.index);
  }

  get(key: string): FolderPool | undefined {
    return this.byKey.get(key);
  }

  /** Follows the workspace's folders: a removed folder's pool is stopped. */
  async syncFolders(folders: readonly vscode.WorkspaceFolder[]): Promise<void> {
    const keep = new Set(folders.map((folder) => folder.uri.toString()));
    const removed = [...this.byKey.values()].filter((pool) => !keep.has(pool.key));
    for (const folder of folders) {
      const existing = this.byKey.get(folder.uri.toString());
      if (existing) existing.folder = folder;
      else this.byKey.set(folder.uri.toString(), new FolderPool(folder));
    }
    for (const pool of removed) this.byKey.delete(pool.key);
    this.fire({ kind: 'folders' });
    await Promise.all(removed.map((pool) => pool.enqueue(() => this.doStop(pool, 1_000))));
  }

  /**
   * Starts a folder's pool on the configured port, or on the next free one
   * (up to +20) when it is taken. Rejects with {@link PoolStartError} or
   * {@link UntrustedWorkspaceError}.
   */
  start(key: string): Promise<void> {
    const pool = this.require(key);
    return pool.enqueue(() => this.doStart(pool));
  }

  /**
   * Stops a folder's pool; resolves once every worker has exited. In-flight
   * requests get `drainMs` (the stop grace), then every connection is cut,
   * whatever its client does.
   */
  stop(key: string, drainMs: number = DEFAULTS.stopGraceMs): Promise<void> {
    const pool = this.require(key);
    return pool.enqueue(() => this.doStop(pool, drainMs));
  }

  async restart(key: string): Promise<void> {
    await this.stop(key);
    await this.start(key);
  }

  /** Stops every pool; resolves once all their workers have exited. */
  async stopAll(drainMs: number = DEFAULTS.stopGraceMs): Promise<void> {
    await Promise.all(this.pools.map((pool) => pool.enqueue(() => this.doStop(pool, drainMs))));
  }

  /** Stops every pool without waiting (`deactivate` awaits {@link stopAll} itself). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    void this.stopAll(1_000).finally(() => this.disposables.dispose());
  }

  private require(key: string): FolderPool {
    const pool = this.byKey.get(key);
    if (!pool) throw new Error(`no workspace folder ${key}`);
    return pool;
  }

  private fire(change: PoolChange): void {
    this.changes.fire(change);
  }

  private setStatus(pool: FolderPool, status: PoolStatus): void {
    pool.status = status;
    this.fire({ pool, kind: 'lifecycle' });
  }

  private async doStart(pool: FolderPool): Promise<void> {
    if (pool.server) return;
    if (this.disposed) return;
    if (!this.deps.isTrusted()) throw new UntrustedWorkspaceError();
    const { log } = this.deps;
    const { settings, problems } = this.deps.readSettings(pool.folder);
    for (const problem of problems) log.warn(`[${pool.name}] ${problem}`);
    pool.problem = null;
    pool.portMoved = null;
    this.setStatus(pool, 'starting');
    try {
      const servedRoot = documentRootOf(settings.documentRoot, pool.folder.uri.fsPath);
      const { run, server, heldBy } = await this.startOnFreePort(pool, settings);
      pool.run = run;
      pool.servedRoot = servedRoot;
      if (server.port !== settings.port && settings.port !== 0) {
        const text = heldBy ? describeBusyPort(settings.port, settings.host, heldBy) : `port ${settings.port} on ${settings.host} is in use`;
        pool.portMoved = { from: settings.port, to: server.port, heldBy: text, ...(heldBy?.kind === 'stale-worker' ? { staleWorker: heldBy.worker } : {}) };
        log.warn(`[${pool.name}] ${text}; serving on ${server.port} instead`);
      }
      const snapshot = server.pool.snapshot();
      log.info(
        `[${pool.name}] listening on ${server.url} (workers ${snapshot.limits.minWorkers}–${snapshot.limits.maxWorkers}, leak policy ${snapshot.leakPolicy})`,
      );
      log.info(`[${pool.name}] document root ${servedRootText(servedRoot)}${settings.liveReload ? '; live reload on' : ''}`);
      this.setStatus(pool, 'running');
    } catch (error) {
      const failure = toStartError(error);
      pool.problem = failure.explained;
      log.error(`[${pool.name}] cannot start: ${failure.explained}`);
      this.setStatus(pool, 'failed');
      throw failure;
    }
  }

  /**
   * A run with its server started: on the configured port, or the next free
   * one. When the configured port is taken, who holds it is found out
   * first (`heldBy`), so the log and the notification can say so.
   */
  private async startOnFreePort(pool: FolderPool, settings: FolderSettings): Promise<{ run: PoolRun; server: ServerHandle; heldBy: BusyPortHolder | null }> {
    const first = settings.port;
    const last = first === 0 ? 0 : Math.min(65_535, first + PORT_FALLBACK_RANGE);
    const stateDir = this.deps.stateDirFor(pool.folder);
    let heldBy: BusyPortHolder | null = null;
    const explain = (port: number): void => {
      if (port !== first || heldBy !== null) return;
      const own = this.pools.find((other) => other !== pool && other.server?.port === port);
      heldBy = own ? { kind: 'own-pool', folder: own.name } : (this.deps.explainBusyPort?.(settings.host, port) ?? null);
    };
    for (let port = first; port <= last; port++) {
      // Probing first spares us spawning workers only to stop them again.
      if (port !== 0 && !(await this.deps.isPortFree(settings.host, port))) {
        explain(port);
        continue;
      }
      const run = new PoolRun();
      try {
        const server = await this.deps.startServer({
          ...toServerOptions(settings, pool.folder.uri.fsPath, port, stateDir),
          phpExecutables: this.deps.phpExecutablesFor?.(pool.folder) ?? [],
          onPoolEvent: run.relay((event) => this.fire({ pool, kind: 'pool-event', event })),
          onGatewayEvent: run.relay((event) => this.fire({ pool, kind: 'gateway-event', event })),
        });
        run.server = server;
        server.onDidFail?.(run.relay((problem) => this.failed(pool, run, problem)));
        return { run, server, heldBy };
      } catch (error) {
        run.dispose();
        // Taken between the probe and the listen: move on like for a busy probe.
        if (error instanceof GatewayListenError && error.code === 'EADDRINUSE' && port !== 0) {
          explain(port);
          continue;
        }
        throw error;
      }
    }
    const setting = optionName('port', 'settings');
    const who = heldBy ? ` (${describeBusyPort(first, settings.host, heldBy)})` : '';
    throw new PoolStartError(
      `ports ${first}–${last} on ${settings.host} are all in use${who}. Set ${setting} to a free port, or to 0 for any free one.`,
      setting,
    );
  }

  /**
   * Takes the configured port back from one of our own stale workers: stops
   * it (pid and start time checked first), then restarts the pool, which
   * now finds its port free. False when the pool's port was not held by one.
   */
  async reclaimPort(key: string): Promise<boolean> {
    const pool = this.require(key);
    const worker = pool.portMoved?.staleWorker;
    if (!worker || !this.deps.stopStaleWorker) return false;
    const stopped = await this.deps.stopStaleWorker(worker);
    this.deps.log.info(`[${pool.name}] ${stopped ? 'stopped' : 'could not stop'} the stale worker pid ${worker.pid} that held port ${pool.portMoved?.from}`);
    if (!stopped) return false;
    await this.restart(key);
    return true;
  }

  /** The engine died on its own: said at once, and the pool shows `failed` with why (after any lifecycle operation under way). */
  private failed(pool: FolderPool, run: PoolRun, problem: string): void {
    this.deps.log.error(`[${pool.name}] ${problem}`);
    void pool.enqueue(async () => {
      if (pool.run !== run) return; // stopped or restarted meanwhile
      run.dispose();
      pool.run = null;
      pool.portMoved = null;
      pool.problem = problem;
      this.setStatus(pool, 'failed');
    });
  }

  private async doStop(pool: FolderPool, drainMs: number): Promise<void> {
    const run = pool.run;
    const server = run?.server;
    if (!run || !server) {
      if (pool.status !== 'stopped') {
        pool.problem = null;
        this.setStatus(pool, 'stopped');
      }
      return;
    }
    this.setStatus(pool, 'stopping');
    try {
      await server.stop(drainMs);
      this.deps.log.info(`[${pool.name}] stopped; every worker has exited`);
    } catch (error) {
      this.deps.log.error(`[${pool.name}] error while stopping: ${error instanceof Error ? error.message : String(error)}`);
    }
    // Events after this point belong to no pool we show.
    run.dispose();
    pool.run = null;
    pool.portMoved = null;
    pool.servedRoot = null;
    this.setStatus(pool, 'stopped');
  }
}

/** Turns an engine error into a message and the setting that fixes it (engine errors name the option at fault by id). */
function toStartError(error: unknown): PoolStartError {
  if (error instanceof PoolStartError) return error;
  if (error instanceof OptionError)
    return new PoolStartError(error.message, error.option ? optionName(error.option, 'settings') : null, explainOptionError(error, 'settings'));
  return new PoolStartError(error instanceof Error ? error.message : String(error), null);
}
