import type { DebugClientAddress } from '../../src/dbgp/debugClient';
import type { DebugRelayEvent } from '../../src/dbgp/relayEvents';
import type { XdebugAvailability } from '../../src/dbgp/xdebugDetect';
import type { DebuggerHost, DebugRelayPort } from '../../src/pool/debugging';
import type { Disposable, WorkerDebug } from '../../src/pool/types';

/**
 * A DebuggerHost without php-cgi or sockets, for the pool's debugger logic
 * under fake timers: the test says what php-cgi has, and plays the relay's
 * part, telling the pool that worker N's session runs, pauses at file:line,
 * stops, or ends.
 */
export class FakeDebuggerHost implements DebuggerHost {
  /** What `detect()` answers (by default: installed, not loaded, as on the CI machine). */
  availability: XdebugAvailability = { kind: 'loadable', version: '3.2.0' };
  /** Make `detect()` wait until the test calls `answer()`. */
  holdDetection = false;
  detections = 0;
  relay: FakeRelay | null = null;
  readonly relays: FakeRelay[] = [];
  private pending: Array<() => void> = [];

  detect(): Promise<XdebugAvailability> {
    this.detections++;
    if (!this.holdDetection) return Promise.resolve(this.availability);
    return new Promise((resolve) => this.pending.push(() => resolve(this.availability)));
  }

  /** Answers detections held back by `holdDetection`. */
  answer(): void {
    for (const resolve of this.pending.splice(0)) resolve();
  }

  listen(ide: DebugClientAddress, acceptPid: (pid: number) => boolean): Promise<DebugRelayPort> {
    this.relay = new FakeRelay(ide, acceptPid, 40_000 + this.relays.length);
    this.relays.push(this.relay);
    return Promise.resolve(this.relay);
  }
}

export class FakeRelay implements DebugRelayPort {
  closed = false;
  endAllCalls = 0;
  private readonly sessions = new Map<number, WorkerDebug>();
  private readonly changeListeners = new Set<(pid: number, status: WorkerDebug | null) => void>();
  private readonly eventListeners = new Set<(event: DebugRelayEvent) => void>();

  constructor(
    readonly ide: DebugClientAddress,
    private readonly acceptPid: (pid: number) => boolean,
    readonly port: number,
  ) {}

  onChange(listener: (pid: number, status: WorkerDebug | null) => void): Disposable {
    this.changeListeners.add(listener);
    return { dispose: () => this.changeListeners.delete(listener) };
  }

  onEvent(listener: (event: DebugRelayEvent) => void): Disposable {
    this.eventListeners.add(listener);
    return { dispose: () => this.eventListeners.delete(listener) };
  }

  /** Worker `pid`'s Xdebug connects, as the relay would see it: refused (false) unless the pool says it is ours. */
  connect(pid: number, file = '/srv/x.php'): boolean {
    if (!this.acceptPid(pid)) {
      this.emitEvent({ type: 'rejected', pid, reason: `pid ${pid} is not one of the pool's workers` });
      return false;
    }
    this.set(pid, { state: 'running', file, line: null, since: Date.now(), ide: 'connected' });
    return true;
  }

  pause(pid: number, file: string, line: number): void {
    this.set(pid, { state: 'paused', file, line, since: Date.now(), ide: 'connected' });
  }

  run(pid: number): void {
    const current = this.sessions.get(pid);
    this.set(pid, { state: 'running', file: current?.file ?? null, line: null, since: Date.now(), ide: 'connected' });
  }

  /** The IDE hung up or could not be reached: the relay says so, then closes the session. */
  ideGone(pid: number): void {
    const current = this.sessions.get(pid);
    if (current) this.set(pid, { ...current, ide: 'unreachable' });
  }

  end(pid: number): void {
    if (!this.sessions.delete(pid)) return;
    for (const listener of [...this.changeListeners]) listener(pid, null);
  }

  endAll(): void {
    this.endAllCalls++;
    for (const pid of [...this.sessions.keys()]) this.end(pid);
  }

  close(): Promise<void> {
    this.closed = true;
    for (const pid of [...this.sessions.keys()]) this.end(pid);
    this.changeListeners.clear();
    this.eventListeners.clear();
    return Promise.resolve();
  }

  emitEvent(event: DebugRelayEvent): void {
    for (const listener of [...this.eventListeners]) listener(event);
  }

  private set(pid: number, status: WorkerDebug): void {
    this.sessions.set(pid, status);
    for (const listener of [...this.changeListeners]) listener(pid, status);
  }
}
