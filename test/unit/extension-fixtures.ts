/**
 * Builders for the extension's unit tests: pool snapshots, workers, leases
 * and findings with sensible defaults, and a fake `startPoolServer` whose
 * pools the test drives by hand. Not a test file itself (no `.test.ts`).
 */
import type * as vscode from 'vscode';
import type { PoolServerOptions } from '../../src/gateway/poolServer';
import { GatewayListenError } from '../../src/gateway/gateway';
import type { DebuggerSnapshot, Finding, LeaseSnapshot, PoolEvent, PoolSnapshot, WorkerSnapshot } from '../../src/pool/types';
import type { LeaseStack, PhpStackFrame } from '../../src/shared/stackTypes';
import type { Logger, PoolHandle, PoolManagerDeps, ServerHandle } from '../../src/extension/poolManager';
import { readSettings } from '../../src/extension/settings';

export const T0 = Date.UTC(2026, 10, 28, 5, 0, 0);

export function lease(overrides: Partial<LeaseSnapshot> = {}): LeaseSnapshot {
  return {
    id: 'L7',
    workerId: 'w2',
    method: 'GET',
    uri: '/slow?ms=3000',
    scriptFilename: '/app/index.php',
    clientAddress: '127.0.0.1:50312',
    holder: 'http 127.0.0.1:50312 #42',
    queuedAt: T0,
    acquiredAt: T0,
    ...overrides,
  };
}

export function worker(overrides: Partial<WorkerSnapshot> = {}): WorkerSnapshot {
  return {
    id: 'w1',
    pid: 1001,
    state: 'idle',
    accesses: 5,
    startedAt: T0 - 60_000,
    lastActiveAt: T0 - 12_000,
    lease: null,
    abandoned: null,
    exitReason: null,
    exit: null,
    findingIds: [],
    defunct: false,
    servingPid: null,
    debug: null,
    ...overrides,
  };
}

/** A worker paused at a breakpoint (`line` of `file`) while serving a request acquired `ageMs` before T0. */
export function pausedWorker(id: string, pid: number, file = '/app/src/Controller.php', line = 42, ageMs = 65_000): WorkerSnapshot {
  return { ...busyWorker(id, pid, { uri: '/orders' }, ageMs), state: 'paused', debug: { state: 'paused', file, line, since: T0 - 5_000, ide: 'connected' } };
}

/** The pool's debugger: enabled with Xdebug 3.2.0 unless overridden. */
export function debuggerSnapshot(overrides: Partial<DebuggerSnapshot> = {}): DebuggerSnapshot {
  return {
    status: 'enabled',
    xdebug: 'loadable',
    version: '3.2.0',
    reason: null,
    ide: '127.0.0.1:9003',
    relayPort: 40123,
    armed: null,
    notes: [],
    ...overrides,
  };
}

/** A busy worker with a lease acquired `ageMs` before T0. */
export function busyWorker(id: string, pid: number, request: Partial<LeaseSnapshot> = {}, ageMs = 2_300): WorkerSnapshot {
  return worker({ id, pid, state: 'busy', lease: lease({ workerId: id, acquiredAt: T0 - ageMs, queuedAt: T0 - ageMs, ...request }), lastActiveAt: T0 - ageMs });
}

/** A read of a busy worker's stack: `Repo->query()` in src/Repo.php under index.php, asleep in usleep. */
export function leaseStack(overrides: Partial<LeaseStack> = {}): LeaseStack {
  const frame = (fn: string, file: string | null, line: number | null, cls: string | null = null): PhpStackFrame => ({
    function: fn,
    class: cls,
    file,
    line,
    internal: file === null,
    type: cls ? '->' : null,
    address: '0x00007f0000001000',
  });
  return {
    leaseId: 'L7',
    workerId: 'w2',
    pid: 1234,
    sampledAt: T0 - 200,
    stack: [
      frame('usleep', null, null),
      frame('query', '/app/src/Repo.php', 6, 'Repo'),
      frame('controller', '/app/index.php', 18),
      frame('{main}', '/app/index.php', 21),
    ],
    truncated: false,
    stackError: null,
    wait: { state: 'sleeping', syscall: 'nanosleep', fd: null, target: null, cpuMs: 3, sinceMs: 2_000 },
    ...overrides,
  };
}

export function finding(overrides: Partial<Finding> = {}): Finding {
  return {
    id: 'F1',
    kind: 'defunct-busy',
    workerId: 'w2',
    pid: 1234,
    exit: { code: null, signal: 'SIGKILL' },
    processState: null,
    lease: lease({ uri: '/die', acquiredAt: T0 - 400 }),
    descendant: null,
    detectedAt: T0,
    detectionLatencyMs: 0,
    message: 'worker w2 (pid 1234) was killed by SIGKILL while serving GET /die (lease L7, 400 ms)',
    resolution: null,
    ...overrides,
  };
}

export function snapshot(workers: WorkerSnapshot[] = [worker()], overrides: Partial<PoolSnapshot> = {}): PoolSnapshot {
  const count = (state: WorkerSnapshot['state']): number => workers.filter((w) => w.state === state).length;
  return {
    version: 1,
    takenAt: T0,
    state: 'running',
    problem: null,
    startedAt: T0 - 120_000,
    limits: { minWorkers: 1, maxWorkers: 4, maxRequests: 0, idleTimeoutMs: 60_000, busyTimeoutMs: 60_000, queueTimeoutMs: 10_000, maxQueue: 256 },
    counts: {
      starting: count('starting'),
      idle: count('idle'),
      busy: count('busy'),
      paused: count('paused'),
      finishing: count('finishing'),
      draining: count('draining'),
      error: count('error'),
      total: workers.length,
    },
    workers,
    queue: { length: 0, oldestWaitMs: 0 },
    spawnBackoff: null,
    totals: { requests: 10, spawned: workers.length, exited: 0, crashed: 0, queueRejected: 0, busyTimeouts: 0 },
    recentExits: [],
    findings: [],
    history: [],
    leakPolicy: 'reclaim',
    platform: null,
    debugger: debuggerSnapshot(),
    stacks: { state: 'on', reason: null },
    ...overrides,
  };
}

/**
 * A pool the test sets the snapshot of, recording what commands asked of it.
 * Its actions answer at once, as the in-process engine does; with
 * `answersByMessage` they answer on a later turn of the event loop, as the
 * engine thread does (src/engineThread/threadedServer.ts).
 */
export class FakePool implements PoolHandle {
  current: PoolSnapshot = snapshot();
  answersByMessage = false;
  /** The engine's stack reads, by worker id: what Show Stack reads and the tree shows. */
  readonly reads = new Map<string, LeaseStack>();
  readonly stacks = {
    readWorker: (workerId: string): LeaseStack | null | Promise<LeaseStack | null> => this.answer(() => this.reads.get(workerId) ?? null),
    lastReads: (): ReadonlyMap<string, LeaseStack> => this.reads,
  };
  readonly recycled: { workerId: string; mode: 'graceful' | 'kill' }[] = [];
  readonly released: string[] = [];
  /** What "Debug Next Request" armed (`undefined` pattern: the next request), and how often debugging was stopped. */
  readonly armed: (string | null | undefined)[] = [];
  stops = 0;
  readonly debugger = {
    arm: (pattern?: string | null) =>
      this.answer(() => {
        if (this.current.debugger.status !== 'enabled') throw new Error('no debugger');
        this.armed.push(pattern);
        return { pattern: pattern?.trim() ? pattern.trim() : null, since: T0 };
      }),
    stopDebugging: () =>
      this.answer(() => {
        this.stops++;
        return { disarmed: this.armed.length > 0, sessionsEnded: this.current.counts.paused };
      }),
  };
  snapshot(): PoolSnapshot {
    return this.current;
  }
  recycleWorker(workerId: string, mode: 'graceful' | 'kill'): boolean | Promise<boolean> {
    return this.answer(() => {
      this.recycled.push({ workerId, mode });
      return this.current.workers.some((w) => w.id === workerId && w.state !== 'error');
    });
  }
  releaseLease(leaseId: string): boolean | Promise<boolean> {
    return this.answer(() => {
      this.released.push(leaseId);
      return this.current.workers.some((w) => w.lease?.id === leaseId);
    });
  }
  /** Runs an action now, or (answering by message) on a later turn, as a reply from the engine thread arrives. */
  private answer<T>(run: () => T): T | Promise<T> {
    if (!this.answersByMessage) return run();
    return new Promise((resolve, reject) =>
      setTimeout(() => {
        try {
          resolve(run());
        } catch (error) {
          reject(error as Error);
        }
      }, 0),
    );
  }
}

/** A started fake server: its pool, and the event callbacks the manager passed. */
export class FakeServer implements ServerHandle {
  readonly pool = new FakePool();
  stopped = false;
  readonly url: string;
  constructor(
    readonly port: number,
    readonly options: PoolServerOptions,
  ) {
    this.url = `http://127.0.0.1:${port}/`;
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
  private readonly failureListeners: Array<(problem: string) => void> = [];
  onDidFail(listener: (problem: string) => void): void {
    this.failureListeners.push(listener);
  }
  /** The engine dies on its own, as a crashed engine thread does. */
  fail(problem: string): void {
    for (const listener of this.failureListeners) listener(problem);
  }
  /** Sends a pool event as the engine would, with the snapshot it leads to. */
  emit(event: PoolEvent, next?: PoolSnapshot): void {
    if (next) this.pool.current = next;
    this.options.onPoolEvent?.(event);
  }
}

/** `startPoolServer` as a fake: `busyPorts` fail with EADDRINUSE, `failWith` fails every start. */
export class FakeServers {
  readonly started: FakeServer[] = [];
  readonly attempts: PoolServerOptions[] = [];
  busyPorts = new Set<number>();
  failWith: Error | null = null;

  readonly start = async (options: PoolServerOptions): Promise<FakeServer> => {
    this.attempts.push(options);
    if (this.failWith) throw this.failWith;
    const port = options.gateway.port ?? 8080;
    if (this.busyPorts.has(port))
      throw new GatewayListenError(`port ${port} on 127.0.0.1 is already in use: choose another port, or 0 for any free one`, 'EADDRINUSE');
    const server = new FakeServer(port === 0 ? 49_152 : port, options);
    this.started.push(server);
    return server;
  };

  get last(): FakeServer {
    const server = this.started[this.started.length - 1];
    if (!server) throw new Error('no server started');
    return server;
  }
}

/** A logger that keeps its lines. */
export class MemoryLogger implements Logger {
  readonly lines: string[] = [];
  info(message: string): void {
    this.lines.push(`info ${message}`);
  }
  warn(message: string): void {
    this.lines.push(`warn ${message}`);
  }
  error(message: string): void {
    this.lines.push(`error ${message}`);
  }
}

/** Manager dependencies around fake servers; settings come from the fake `vscode` configuration. */
export function managerDeps(
  servers: FakeServers,
  overrides: Partial<PoolManagerDeps> = {},
  configuration?: (folder: vscode.WorkspaceFolder) => { get<T>(key: string): T | undefined },
): PoolManagerDeps {
  return {
    startServer: servers.start,
    isPortFree: async () => true,
    readSettings: (folder) => readSettings(configuration ? configuration(folder) : { get: () => undefined }),
    stateDirFor: () => '/tmp/fastcgi-pool-test-state',
    isTrusted: () => true,
    log: new MemoryLogger(),
    ...overrides,
  };
}
