import type { ProcessExit } from '../../src/platform/processControl';
import type { ProcessTruth } from '../../src/platform/processState';
import type { ProcessStat } from '../../src/platform/processTable';
import type { WorkerSpawnError } from '../../src/platform/spawnWorker';
import { afterEach, beforeEach, vi } from 'vitest';
import type { PoolHost, StackCheck, StaleWorkers, WorkerConnection, WorkerProcess, WorkerStackRead, WorkerStacks } from '../../src/pool/host';
import type { PhpStackFrame, StackReadResult, WaitReason } from '../../src/shared/stackTypes';
import { Pool, type Lease, type PoolOptions } from '../../src/pool/pool';
import type { Finding, LeaseHolder, LeaseRequestInfo, LeaseRevocation, PoolEvent } from '../../src/pool/types';
import { FakeDebuggerHost } from './fakeDebugger';

/**
 * A PoolHost with no processes behind it, for the pool's own logic under
 * fake timers. Its processes behave like php-cgi where the pool can tell:
 * they take `loadMs` to answer the readiness probe, exit cleanly on SIGTERM
 * (unless `hung`), die on SIGKILL, and are reaped a tick later. A test makes
 * them crash, hang, turn into zombies or grow descendants.
 */
export class FakeHost implements PoolHost<FakeConnection> {
  readonly processes: FakeProcess[] = [];
  /** How each new process behaves (changed by tests between launches). */
  next: { loadMs: number; answers: boolean; crashAfterMs: number | null; comm: string; stderr: string } = {
    loadMs: 10,
    answers: true,
    crashAfterMs: null,
    comm: 'php-cgi',
    stderr: '',
  };
  /** The next launches fail with this (e.g. ENOENT: php-cgi not found). */
  launchError: WorkerSpawnError | null = null;
  /** What cleanStale reports; null: no state dir. */
  stale: StaleWorkers | null = null;
  readonly calls = { open: 0, close: 0, launch: 0, connect: 0 };
  /** Live stacks: off unless a test sets them (the canary would otherwise lease a worker in every test). */
  stacks: FakeStacks | null = null;
  /** The fake clock's time of each launch. */
  readonly launchedAt: number[] = [];
  /** The arguments each launch got besides the host's own (the debugger's `-d` settings). */
  readonly launchArgs: (readonly string[])[] = [];
  private nextPid = 41_000;

  open(): void {
    this.calls.open++;
  }

  cleanStale(): Promise<StaleWorkers> | null {
    return this.stale ? Promise.resolve(this.stale) : null;
  }

  close(): void {
    this.calls.close++;
  }

  launch(name: string, extraArgs: readonly string[] = []): Promise<WorkerProcess> {
    this.calls.launch++;
    this.launchedAt.push(Date.now());
    this.launchArgs.push(extraArgs);
    if (this.launchError) return Promise.reject(this.launchError);
    const proc = new FakeProcess(this.nextPid++, `/fake/${name}.sock`, { ...this.next });
    this.processes.push(proc);
    const { crashAfterMs, stderr } = this.next;
    if (crashAfterMs !== null) {
      setTimeout(() => {
        if (stderr) proc.writeStderr(stderr);
        proc.die({ code: 255, signal: null });
      }, crashAfterMs);
    }
    return Promise.resolve(proc);
  }

  connect(address: string): Promise<FakeConnection> {
    this.calls.connect++;
    const proc = this.processes.find((p) => p.address === address);
    if (!proc || proc.exit) return Promise.reject(new Error(`connect ECONNREFUSED ${address}`));
    const connection = new FakeConnection(proc);
    proc.connections.push(connection);
    return Promise.resolve(connection);
  }

  inspect(pid: number, startTime: number | null): ProcessTruth {
    const proc = this.byPid(pid);
    if (!proc) {
      const descendant = this.descendantByPid(pid);
      if (!descendant) return { status: 'gone', reused: false };
      return descendant.state === 'Z' ? { status: 'zombie', stat: descendant } : { status: 'alive', stat: descendant };
    }
    if (proc.gone || proc.exit) return { status: 'gone', reused: false };
    if (proc.reused || (startTime !== null && startTime !== proc.startTime)) return { status: 'gone', reused: true };
    const stat = proc.stat();
    return proc.zombie ? { status: 'zombie', stat } : { status: 'alive', stat };
  }

  descendants(pid: number): ProcessStat[] {
    return this.byPid(pid)?.descendants ?? [];
  }

  /** The process of a worker, by pid. */
  byPid(pid: number | null): FakeProcess | undefined {
    return this.processes.find((p) => p.pid === pid);
  }

  /** Processes still running (not yet reaped). */
  get running(): FakeProcess[] {
    return this.processes.filter((p) => p.exit === null);
  }

  private descendantByPid(pid: number): ProcessStat | undefined {
    for (const proc of this.processes) {
      const found = proc.descendants.find((d) => d.pid === pid);
      if (found) return found;
    }
    return undefined;
  }
}

/** A frame as the reader returns it. */
export function fakeFrame(fn: string, file: string | null, line: number | null, cls: string | null = null): PhpStackFrame {
  return { function: fn, class: cls, type: cls ? '->' : null, file, line, internal: file === null, address: '0x00007f0000001000' };
}

/**
 * The fake host's live stacks: every read is recorded with the fake clock's
 * time and whether another read already ran in the same event-loop turn; the
 * stacks and wait reasons are the test's to choose; the canary takes
 * `canaryMs` of fake time and concludes `canary`.
 */
export class FakeStacks implements WorkerStacks<FakeConnection> {
  cheapWaits = true;
  /** Why no stack can be read here (a platform without /proc); null: they can. */
  unavailable: string | null = null;
  canary: StackCheck = { ok: true, message: null, requestEnded: true };
  canaryMs = 40;
  readonly canaryRuns: Array<{ pid: number; at: number; connectionOpen: boolean }> = [];
  readonly reads: Array<{ pid: number; at: number; baseline: number | null; sameTurn: boolean }> = [];
  readonly forgotten: number[] = [];
  /** CPU time per pid, ms; and how often it was read. */
  readonly cpu = new Map<number, number>();
  cpuReads = 0;
  /** The stack a pid shows; by default `work()` in `/srv/PID.php` at line 7 under `{main}`, in usleep. */
  stackOf: (pid: number) => StackReadResult = (pid) => ({
    ok: true,
    frames: [fakeFrame('usleep', null, null), fakeFrame('work', `/srv/${pid}.php`, 7), fakeFrame('{main}', `/srv/${pid}.php`, 12)],
    truncated: false,
    stopped: false,
  });
  waitOf: (pid: number) => WaitReason = () => ({ state: 'sleeping', syscall: 'nanosleep', fd: null, target: null, cpuMs: 1, sinceMs: 0 });
  /** Called at each read, with the pid (a test checks what the pool had done by then). */
  onRead: ((pid: number) => void) | null = null;
  private inTurn = false;

  unavailableReason(): string | null {
    return this.unavailable;
  }

  canaryRequest(): LeaseRequestInfo {
    return { method: 'PUT', uri: '/canary.php', scriptFilename: '/private/canary.php', clientAddress: 'stack canary' };
  }

  runCanary(pid: number, connection: FakeConnection): Promise<StackCheck> {
    this.canaryRuns.push({ pid, at: Date.now(), connectionOpen: connection.isOpen });
    return new Promise((resolve) => setTimeout(() => resolve(this.canary), this.canaryMs));
  }

  cpuTimeMs(pid: number): number | null {
    this.cpuReads++;
    return this.cpu.get(pid) ?? 0;
  }

  sample(pid: number, cpuBaselineMs: number | null): WorkerStackRead {
    this.reads.push({ pid, at: Date.now(), baseline: cpuBaselineMs, sameTurn: this.inTurn });
    if (!this.inTurn) {
      this.inTurn = true;
      queueMicrotask(() => (this.inTurn = false));
    }
    this.onRead?.(pid);
    const stack = this.unavailable ? { ok: false as const, reason: this.unavailable, unavailable: true } : this.stackOf(pid);
    return { stack, wait: this.waitOf(pid) };
  }

  forget(pid: number): void {
    this.forgotten.push(pid);
  }
}

/** A process under a worker, as the process table lists it. */
export function descendantStat(pid: number, comm: string, state: string, parent: number): ProcessStat {
  return { pid, state, ppid: parent, pgrp: parent, session: 1, startTime: pid * 10, comm };
}

/** One fake worker process. */
export class FakeProcess implements WorkerProcess {
  readonly startTime: number;
  exit: ProcessExit | null = null;
  /** Signals the pool sent, in order. */
  readonly signals: Array<'SIGTERM' | 'SIGKILL'> = [];
  /** A hung or SIGSTOPped script: SIGTERM does nothing, SIGKILL still works. */
  hung = false;
  /** The process table says zombie (its exit not reaped by us: e.g. the php-cgi behind a wrapper). */
  zombie = false;
  /** The process table no longer lists it, though its exit has not been reaped yet. */
  gone = false;
  /** Its pid now belongs to another process (same pid, another start time). */
  reused = false;
  descendants: ProcessStat[] = [];
  readonly connections: FakeConnection[] = [];
  /**
   * A script runs (one whose client left, say): like a single-process
   * php-cgi, it answers FCGI_GET_VALUES on a new connection only once the
   * script has ended (endScript()).
   */
  runningScript = false;
  private readonly scriptWaiters: Array<() => void> = [];
  private readonly exitListeners: Array<(exit: ProcessExit) => void> = [];
  private readonly stderrListeners: Array<(text: string) => void> = [];

  constructor(
    readonly pid: number,
    readonly address: string,
    readonly behaviour: { loadMs: number; answers: boolean; comm: string },
  ) {
    this.startTime = pid * 10;
  }

  onExit(listener: (exit: ProcessExit) => void): void {
    if (this.exit) listener(this.exit);
    else this.exitListeners.push(listener);
  }

  onStderr(listener: (text: string) => void): void {
    this.stderrListeners.push(listener);
  }

  stop(graceMs: number): Promise<ProcessExit> {
    this.signals.push('SIGTERM');
    if (!this.hung) return this.reapSoon({ code: 0, signal: null });
    return new Promise((resolve) => {
      setTimeout(() => {
        if (this.exit) return resolve(this.exit);
        this.signals.push('SIGKILL');
        resolve(this.reapSoon({ code: null, signal: 'SIGKILL' }));
      }, graceMs);
    });
  }

  kill(): Promise<ProcessExit> {
    this.signals.push('SIGKILL');
    return this.reapSoon({ code: null, signal: 'SIGKILL' });
  }

  /**
   * The process dies now and Node reaps it at once (a crash, a kill from
   * outside). Its sockets close first, unless `socketsDrained` is false: then
   * Node reaps the exit before it has read what the process wrote last (call
   * closeSockets() when that has been read).
   */
  die(exit: ProcessExit = { code: null, signal: 'SIGKILL' }, socketsDrained = true): void {
    if (this.exit) return;
    this.exit = exit;
    if (socketsDrained) this.closeSockets();
    for (const listener of this.exitListeners.splice(0)) listener(exit);
  }

  /** The running script ends: php-cgi goes back to accept(). */
  endScript(): void {
    this.runningScript = false;
    for (const waiter of this.scriptWaiters.splice(0)) waiter();
  }

  /** Resolves once no script runs. */
  scriptEnded(): Promise<void> {
    if (!this.runningScript) return Promise.resolve();
    return new Promise((resolve) => this.scriptWaiters.push(resolve));
  }

  /**
   * Its sockets close, as the kernel closes a dead process's sockets (its
   * death itself is `zombie`, `gone` or die()); a kept connection that
   * closes tells the pool.
   */
  closeSockets(): void {
    for (const connection of this.connections) connection.destroy();
  }

  writeStderr(text: string): void {
    for (const listener of this.stderrListeners) listener(text);
  }

  stat(): ProcessStat {
    return {
      pid: this.pid,
      state: this.zombie ? 'Z' : this.hung ? 'T' : 'S',
      ppid: 1,
      pgrp: this.pid,
      session: 1,
      startTime: this.startTime,
      comm: this.behaviour.comm,
    };
  }

  /** A signalled process exits and is reaped a tick later, like a real one. */
  private reapSoon(exit: ProcessExit): Promise<ProcessExit> {
    return new Promise((resolve) => {
      setTimeout(() => {
        this.die(exit);
        resolve(this.exit as ProcessExit);
      }, 0);
    });
  }
}

/** A worker's connection: answers the readiness probe once its process has loaded. */
export class FakeConnection implements WorkerConnection {
  isOpen = true;
  private readonly closeListeners: Array<() => void> = [];

  constructor(private readonly proc: FakeProcess) {}

  getValues(names: readonly string[], timeoutMs: number): Promise<Record<string, string>> {
    const { loadMs, answers } = this.proc.behaviour;
    const timedOut = (): Error => Object.assign(new Error(`no FCGI_GET_VALUES_RESULT within ${timeoutMs} ms`), { code: 'ETIMEDOUT' });
    const answer = (): Record<string, string> => Object.fromEntries(names.map((n) => [n, '0']));
    return new Promise((resolve, reject) => {
      if (!answers) {
        setTimeout(() => reject(timedOut()), timeoutMs);
        return;
      }
      if (this.proc.runningScript || this.proc.connections.some((other) => other !== this && other.isOpen)) {
        // Like a single php-cgi: accepted only once the script has ended and
        // it has let go of its other connection, or never within the timeout.
        const timer = setTimeout(() => reject(timedOut()), timeoutMs);
        this.closeListeners.push(() => {
          clearTimeout(timer);
          reject(new Error('the connection closed before GET_VALUES_RESULT'));
        });
        const others = this.proc.connections.filter((other) => other !== this && other.isOpen);
        void Promise.all([this.proc.scriptEnded(), ...others.map((other) => new Promise<void>((done) => other.once('close', () => done())))]).then(() => {
          clearTimeout(timer);
          if (this.isOpen) resolve(answer());
        });
        return;
      }
      setTimeout(() => (this.isOpen ? resolve(answer()) : reject(new Error('closed'))), loadMs);
    });
  }

  destroy(): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    for (const listener of this.closeListeners.splice(0)) listener();
  }

  once(_event: 'close', listener: () => void): this {
    this.closeListeners.push(listener);
    return this;
  }
}

/** A lease holder that records what the pool told it; `active = false` makes it a gone holder. */
export class FakeHolder implements LeaseHolder {
  readonly revocations: LeaseRevocation[] = [];
  /** What the pool said about debug sessions on its lease's worker, in order. */
  readonly debugged: boolean[] = [];
  active = true;
  constructor(readonly description = 'fake holder') {}
  revoke(revocation: LeaseRevocation): void {
    this.revocations.push(revocation);
  }
  debugging(active: boolean): void {
    this.debugged.push(active);
  }
  isActive(): boolean {
    return this.active;
  }
}

/** A request as the gateway describes it. */
export function fakeRequest(uri = '/x'): LeaseRequestInfo {
  return { method: 'GET', uri, scriptFilename: '/srv/x.php', clientAddress: '127.0.0.1' };
}

/**
 * Advances the fake clock in 1 ms steps until `promise` settles (at most
 * `limitMs` of fake time), and returns its result. Needs vi.useFakeTimers().
 */
export async function settle<T>(promise: Promise<T>, limitMs = 60_000): Promise<T> {
  let done = false;
  const watched = promise.finally(() => {
    done = true;
  });
  watched.catch(() => undefined);
  await vi.advanceTimersByTimeAsync(0);
  for (let waited = 0; !done && waited < limitMs; waited++) await vi.advanceTimersByTimeAsync(1);
  if (!done) throw new Error(`still pending after ${limitMs} ms of fake time`);
  return watched;
}

/**
 * A pool on a FakeHost, started, with every event recorded. The periodic
 * scan and the step debugger are off unless asked for; the debugger, when
 * on, runs against a {@link FakeDebuggerHost} (no php-cgi, no sockets).
 */
export async function startFakePool(
  options: Partial<PoolOptions> = {},
  host = new FakeHost(),
  debuggerHost = new FakeDebuggerHost(),
): Promise<{ pool: Pool<FakeConnection>; host: FakeHost; events: PoolEvent[]; debuggerHost: FakeDebuggerHost }> {
  const pool = new Pool<FakeConnection>({ cwd: '/srv', minWorkers: 1, maxWorkers: 2, scanIntervalMs: 0, xdebug: 'off', ...options }, host, debuggerHost);
  const events: PoolEvent[] = [];
  pool.onEvent((event) => events.push(event));
  await settle(pool.start());
  return { pool, host, events, debuggerHost };
}

/**
 * The frame every fast pool test file uses: fake timers in each test, and
 * every pool the file started (or tracked) stopped after it, before the
 * real timers come back. Call it once, at the top of the file.
 */
export function fakePoolSuite(): { start: typeof startFakePool; track: (pool: Pool<FakeConnection>) => Pool<FakeConnection> } {
  const pools: Array<Pool<FakeConnection>> = [];
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(async () => {
    for (const pool of pools.splice(0)) await settle(pool.stop());
    vi.useRealTimers();
  });
  const track = (pool: Pool<FakeConnection>) => {
    pools.push(pool);
    return pool;
  };
  return {
    track,
    start: async (...args) => {
      const started = await startFakePool(...args);
      track(started.pool);
      return started;
    },
  };
}

/** An idle worker's lease, now: the test's setup expects one. */
export function lendIdle(pool: Pool<FakeConnection>, holder: LeaseHolder = new FakeHolder(), uri = '/x'): Lease<FakeConnection> {
  const lease = pool.tryAcquire(fakeRequest(uri), holder);
  if (!lease) throw new Error('no idle worker');
  return lease;
}

/** The pool's findings of one kind. */
export function findingsOf(pool: Pool<FakeConnection>, kind: Finding['kind']): readonly Finding[] {
  return pool.snapshot().findings.filter((f) => f.kind === kind);
}

/** The events of one type, typed. */
export function eventsOf<T extends PoolEvent['type']>(events: readonly PoolEvent[], type: T): Array<Extract<PoolEvent, { type: T }>> {
  return events.filter((e): e is Extract<PoolEvent, { type: T }> => e.type === type);
}
