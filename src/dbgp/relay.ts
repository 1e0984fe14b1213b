/**
 * The pool's DBGp relay: workers' Xdebug connects here (`xdebug.client_port`
 * points at {@link DebugRelay.port}), the relay connects on to the IDE, and
 * knows meanwhile, per worker pid, whether the worker runs, is paused at a
 * breakpoint (file:line), or is stopping. The pool reads {@link state} and
 * listens to {@link onChange} to suspend its timeouts and show "paused".
 *
 * It never holds a worker: an IDE that cannot be reached, hangs up, or leaves
 * the engine waiting beyond `ideSilenceTimeoutMs` gets the worker's side
 * closed, and Xdebug runs the request on without the debugger.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { DebugSessionInfo, DebugStatus } from './debugState';
import { DEFAULT_DEBUG_CLIENT, type DebugClientAddress } from './debugClient';
import { DEFAULT_DBGP_LIMITS, type DbgpLimits } from './framing';
import { Listeners, type Disposable } from './listeners';
import type { DebugRelayEvent } from './relayEvents';
import { RelaySession, type RelaySessionHooks, type RelaySessionOptions } from './relaySession';

export interface DebugRelayOptions {
  /** Where the IDE listens; default 127.0.0.1:9003. Can be changed later with {@link DebugRelay.setIde}. */
  ide?: DebugClientAddress;
  /** The address the relay listens on; keep it on loopback (default 127.0.0.1). */
  host?: string;
  /** Default 0: any free port (read it from {@link DebugRelay.port}). */
  port?: number;
  /** Default 2 000 ms: an IDE that does not accept within this is unreachable. */
  connectTimeoutMs?: number;
  /** Default 5 000 ms: a connection that sends no init packet within this is dropped. */
  initTimeoutMs?: number;
  /**
   * Default 30 000 ms: how long the IDE may leave the engine waiting when no
   * human is involved (right after init, and at the end of the script);
   * then both sides are closed and the request completes. 0: wait for ever,
   * as Xdebug would. A session paused at a breakpoint is never timed out.
   */
  ideSilenceTimeoutMs?: number;
  /** Default 2 000 ms: how long a half-closed side may linger before it is destroyed. */
  closeGraceMs?: number;
  /**
   * Whether a pid is one of ours. Connections whose init names another pid
   * are closed: any local process can connect to a loopback port. Default:
   * every pid is accepted.
   */
  acceptPid?: (pid: number) => boolean;
  limits?: Partial<DbgpLimits>;
  /** The clock for `since` (epoch ms); tests may pass their own. */
  now?: () => number;
}

/** Running totals, for the bench and the log. */
export interface DebugRelayStats {
  /** Connections accepted from workers. */
  accepted: number;
  /** Sessions that reached the IDE. */
  sessions: number;
  bytesToIde: number;
  bytesToEngine: number;
}

export class DebugRelay implements Disposable {
  private readonly server: Server;
  private readonly byPid = new Map<number, RelaySession>();
  private readonly all = new Set<RelaySession>();
  private readonly changeListeners = new Listeners<[pid: number, status: DebugStatus | null]>();
  private readonly eventListeners = new Listeners<[event: DebugRelayEvent]>();
  private readonly sessionOptions: RelaySessionOptions;
  private readonly acceptPid: (pid: number) => boolean;
  private readonly counters: DebugRelayStats = { accepted: 0, sessions: 0, bytesToIde: 0, bytesToEngine: 0 };
  private readonly hooks: RelaySessionHooks;
  private disposed = false;
  private closedPromise: Promise<void> | null = null;
  /** The port we listen on. */
  readonly port: number;
  readonly host: string;

  /** Starts listening; resolves once the port is bound. */
  static async listen(options: DebugRelayOptions = {}): Promise<DebugRelay> {
    const server = createServer({ noDelay: true });
    const host = options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port: options.port ?? 0 }, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
    return new DebugRelay(server, host, options);
  }

  private constructor(server: Server, host: string, options: DebugRelayOptions) {
    this.server = server;
    this.host = host;
    this.port = (server.address() as AddressInfo).port;
    this.acceptPid = options.acceptPid ?? (() => true);
    this.sessionOptions = {
      ide: { ...(options.ide ?? DEFAULT_DEBUG_CLIENT) },
      connectTimeoutMs: options.connectTimeoutMs ?? 2_000,
      initTimeoutMs: options.initTimeoutMs ?? 5_000,
      ideSilenceTimeoutMs: options.ideSilenceTimeoutMs ?? 30_000,
      closeGraceMs: options.closeGraceMs ?? 2_000,
      limits: { ...DEFAULT_DBGP_LIMITS, ...options.limits },
      now: options.now ?? Date.now,
    };
    this.hooks = {
      claim: (session, pid) => this.claim(session, pid),
      changed: (session) => {
        const pid = session.pid;
        if (pid !== null && this.byPid.get(pid) === session) this.changeListeners.emit(pid, session.status);
      },
      ended: (session) => this.forget(session),
      discarded: (session) => this.all.delete(session),
      event: (event) => {
        if (event.type === 'session-started') this.counters.sessions++;
        this.eventListeners.emit(event);
      },
      relayed: (toIde, toEngine) => {
        this.counters.bytesToIde += toIde;
        this.counters.bytesToEngine += toEngine;
      },
    };
    server.on('connection', (socket: Socket) => this.accept(socket));
    // After listen(), errors can only come from accept(); a failing accept must not crash the host.
    server.on('error', () => undefined);
  }

  /** The debug status of worker `pid`, or null when it has no debug session. */
  state(pid: number): DebugStatus | null {
    return this.byPid.get(pid)?.status ?? null;
  }

  /** Every worker with a debug session, and its status. */
  states(): Map<number, DebugStatus> {
    const result = new Map<number, DebugStatus>();
    for (const [pid, session] of this.byPid) {
      const status = session.status;
      if (status !== null) result.set(pid, status);
    }
    return result;
  }

  /** More than the status JSON: the session's phase, script and IDE key. */
  session(pid: number): DebugSessionInfo | null {
    return this.byPid.get(pid)?.info ?? null;
  }

  /**
   * Called with the new status whenever a worker's debug status changes, and
   * with null when its session is over. Not called after dispose().
   */
  onChange(listener: (pid: number, status: DebugStatus | null) => void): Disposable {
    return this.changeListeners.add(listener);
  }

  /** Log-worthy happenings: sessions started and ended, an unreachable or silent IDE, refused connections. */
  onEvent(listener: (event: DebugRelayEvent) => void): Disposable {
    return this.eventListeners.add(listener);
  }

  /** The IDE address for sessions that start from now on. */
  setIde(address: DebugClientAddress): void {
    this.sessionOptions.ide = { ...address };
  }

  get ide(): DebugClientAddress {
    return { ...this.sessionOptions.ide };
  }

  get stats(): DebugRelayStats {
    return { ...this.counters };
  }

  /**
   * Closes worker `pid`'s debug session (both sides; the request runs on
   * without the debugger). Returns false when it had none.
   */
  endSession(pid: number): boolean {
    const session = this.byPid.get(pid);
    if (session === undefined) return false;
    session.end('ended-by-pool', true);
    return true;
  }

  /** Closes every debug session ("Stop Debugging Requests"); the relay keeps listening. */
  endAll(): void {
    for (const session of [...this.all]) session.end('ended-by-pool', true);
  }

  /**
   * Stops listening and destroys every connection at once, on both sides;
   * paused workers run their requests on. Listeners hear the last `null`s,
   * then nothing more.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.closedPromise = new Promise((resolve) => this.server.close(() => resolve()));
    // The sockets' 'close' events come on a later tick, after the listeners are gone: say the nulls now.
    for (const [pid, session] of [...this.byPid]) {
      this.byPid.delete(pid);
      if (session.status !== null) this.changeListeners.emit(pid, null);
    }
    for (const session of [...this.all]) session.end('relay-closed', false);
    this.changeListeners.clear();
    this.eventListeners.clear();
  }

  /** dispose(), then resolves once the listening socket is closed. */
  close(): Promise<void> {
    this.dispose();
    return this.closedPromise as Promise<void>;
  }

  private accept(socket: Socket): void {
    if (this.disposed) {
      socket.destroy();
      return;
    }
    this.counters.accepted++;
    this.all.add(new RelaySession(socket, this.sessionOptions, this.hooks));
  }

  private claim(session: RelaySession, pid: number): boolean {
    if (!this.acceptPid(pid)) return false;
    const previous = this.byPid.get(pid);
    if (previous !== undefined && previous !== session) {
      // The worker moved on to its next request before we saw the old connection close.
      this.byPid.delete(pid);
      if (previous.status !== null) this.changeListeners.emit(pid, null);
      previous.end('replaced', false);
    }
    this.byPid.set(pid, session);
    return true;
  }

  private forget(session: RelaySession): void {
    this.all.delete(session);
    const pid = session.pid;
    if (pid === null || this.byPid.get(pid) !== session) return;
    this.byPid.delete(pid);
    if (session.status !== null) this.changeListeners.emit(pid, null);
  }
}
