import type { DebugClientAddress } from '../dbgp/debugClient';
import { DebugClientSyntaxError, formatDebugClient, parseDebugClient } from '../dbgp/debugClient';
import type { DebugRelayEvent } from '../dbgp/relayEvents';
import { DebugNextRequest, type ArmedTrigger } from '../dbgp/requestMatcher';
import { decideXdebug, resolveDebugClient, XDEBUG_INSTALL_HINT, XdebugUnavailableError, xdebugWorkerArgs, type XdebugSetting } from '../dbgp/xdebugArgs';
import type { XdebugAvailability } from '../dbgp/xdebugDetect';
import { OptionError } from '../shared/options';
import { PoolUnavailableError } from './errors';
import type { DebuggerSnapshot, Disposable, PoolEvent, WorkerDebug } from './types';

/**
 * The pool's step debugger: whether workers run with Xdebug (`--xdebug
 * off|auto|on`), the `-d` arguments that point them at the DBGp relay, the
 * relay's life (it starts and stops with the pool), which workers are in a
 * debug session, and "Debug Next Request". Which list a worker is on, and
 * what its lease's timeouts do meanwhile, is the pool's business: this file
 * tells it, through {@link DebuggingPort}, which worker's session changed.
 */

/** What the pool needs of the OS and the network to debug its workers; the real one is src/dbgp/xdebugHost.ts. */
export interface DebuggerHost {
  /** Whether php-cgi has Xdebug; rejects only when php-cgi cannot run at all. */
  detect(): Promise<XdebugAvailability>;
  /** Starts the relay between the workers' Xdebug and the IDE at `ide`; connections from other pids are refused. */
  listen(ide: DebugClientAddress, acceptPid: (pid: number) => boolean): Promise<DebugRelayPort>;
}

/** The relay as the pool sees it (src/dbgp's DebugRelay is one). */
export interface DebugRelayPort {
  /** The loopback port workers connect to. */
  readonly port: number;
  /** A worker's session changed; null once it is over. */
  onChange(listener: (pid: number, status: WorkerDebug | null) => void): Disposable;
  onEvent(listener: (event: DebugRelayEvent) => void): Disposable;
  /** Closes every session (the requests run on without the debugger). */
  endAll(): void;
  /** Closes every session and stops listening. */
  close(): Promise<void>;
}

/** What debugging tells the pool. */
export interface DebuggingPort {
  /** Whether `pid` is one of our workers' (the relay refuses other processes). */
  acceptPid(pid: number): boolean;
  /** Worker `pid`'s session changed: started, paused, running, stopping, or over (null). */
  sessionChanged(pid: number, status: WorkerDebug | null): void;
  /** Something the snapshot's `debugger` shows changed. */
  changed(): void;
  emit(event: PoolEvent): void;
}

/** The options debugging reads (a subset of the pool's). */
export interface DebugOptions {
  readonly xdebug: XdebugSetting;
  /** `HOST:PORT`; null: the ini's `xdebug.client_host`/`client_port`, else 127.0.0.1:9003. */
  readonly debugClient: string | null;
  readonly phpCgi: string;
  readonly ini: Readonly<Record<string, string>>;
}

/** "Debug Next Request" or the status endpoint asked for a debugger the pool does not have. */
export class DebuggerUnavailableError extends OptionError {
  constructor(message: string) {
    super(message, 'xdebug');
    this.name = 'DebuggerUnavailableError';
  }
}

/** What "Stop Debugging Requests" did: whether "Debug Next Request" was armed, and how many sessions it ended. */
export interface DebugStopped {
  readonly disarmed: boolean;
  readonly sessionsEnded: number;
}

/** The step debugger as others use it: "Debug Next Request" (`arm`; the gateway's `trigger`), "Stop Debugging Requests". */
export type DebuggerControl = Pick<PoolDebugging, 'trigger' | 'arm' | 'stopDebugging' | 'snapshot'>;

/** Whether a worker's debug status means a human may be at the other end: a session with a connected IDE. */
export function inDebugSession(debug: WorkerDebug | null): boolean {
  return debug !== null && debug.ide === 'connected';
}

export class PoolDebugging {
  private status: DebuggerSnapshot['status'];
  private xdebug: DebuggerSnapshot['xdebug'] = null;
  private version: string | null = null;
  private reason: string | null = null;
  private notes: readonly string[] = [];
  private ide: DebugClientAddress;
  private relay: DebugRelayPort | null = null;
  private readonly relaySubscriptions: Disposable[] = [];
  private args: readonly string[] = [];
  private triggerValue = '1';
  private decision: Promise<void> | null = null;
  private readonly next = new DebugNextRequest();
  /** Pids of workers in a session with a connected IDE: they may hold a spare worker (see Pool). */
  private readonly sessions = new Set<number>();

  constructor(
    private readonly options: DebugOptions,
    private readonly host: DebuggerHost,
    private readonly port: DebuggingPort,
  ) {
    this.status = options.xdebug === 'off' ? 'off' : 'detecting';
    this.ide = this.parseIde();
    this.next.onDidChange((armed) => {
      this.port.changed();
      this.port.emit({ type: 'debug-armed', armed: armed && { pattern: armed.pattern, since: armed.since } });
    });
  }

  /** The `-d` arguments for every worker started from now on (after the user's own). */
  get workerArgs(): readonly string[] {
    return this.args;
  }

  /** How many workers are in a debug session with a connected IDE. */
  get activeSessions(): number {
    return this.sessions.size;
  }

  /**
   * First step of the pool's start: the relay listens and the workers' args
   * are known. With `on` this also asks php-cgi whether it has Xdebug (the
   * args depend on it) and throws {@link PoolUnavailableError} when it has
   * none. With `auto` the workers get the relay's settings without loading
   * Xdebug (inert unless php-cgi loads Xdebug by itself), and the question
   * is asked by {@link decide}, once the first worker serves: a php-cgi
   * probe beside the first worker's start-up would slow the first page.
   */
  async begin(): Promise<void> {
    this.decision = null;
    this.status = this.options.xdebug === 'off' ? 'off' : 'detecting';
    if (this.options.xdebug === 'off') return;
    const detection = this.options.xdebug === 'on' ? this.detect() : null;
    try {
      this.relay = await this.host.listen(this.ide, (pid) => this.port.acceptPid(pid));
    } catch (error) {
      const why = `the debugger relay cannot listen on 127.0.0.1: ${(error as Error).message}`;
      if (this.options.xdebug === 'on') throw new PoolUnavailableError(why, 'xdebug');
      this.settle({ status: 'unavailable', reason: why });
      return;
    }
    this.relaySubscriptions.push(
      this.relay.onChange((pid, status) => this.onSessionChange(pid, status)),
      this.relay.onEvent((event) => this.port.emit({ type: 'debug-relay', event })),
    );
    if (detection === null) {
      this.useArgs(false);
      return;
    }
    this.decision = Promise.resolve();
    await this.apply(await detection);
  }

  /** Second step (`auto`): asks php-cgi whether it has Xdebug; resolves once decided. Idempotent. */
  decide(): Promise<void> {
    this.decision ??= this.status === 'detecting' ? this.detect().then((availability) => this.apply(availability)) : Promise.resolve();
    return this.decision;
  }

  /**
   * For each PHP request: the Xdebug trigger value when "Debug Next Request"
   * is armed and this request is the one, else null. The common case (not
   * armed) is one comparison.
   */
  trigger(requestTarget: string): string | null {
    if (this.next.armed === null || this.status !== 'enabled') return null;
    return this.next.take(requestTarget) ? this.triggerValue : null;
  }

  /** "Debug Next Request": arms the trigger for the next PHP request, or the next whose path matches `pattern`. */
  arm(pattern?: string | null): ArmedTrigger {
    if (this.status !== 'enabled') throw new DebuggerUnavailableError(this.unavailableMessage());
    try {
      return this.next.arm(pattern);
    } catch (error) {
      throw new RangeError(`"${pattern ?? ''}" is not a path pattern: ${(error as Error).message}`, { cause: error });
    }
  }

  /** "Stop Debugging Requests": disarms, and ends every session (the requests run on without the debugger). */
  stopDebugging(): DebugStopped {
    const disarmed = this.next.disarm();
    const sessionsEnded = this.sessions.size;
    this.relay?.endAll();
    return { disarmed, sessionsEnded };
  }

  snapshot(): DebuggerSnapshot {
    const armed = this.next.armed;
    return {
      status: this.status,
      xdebug: this.xdebug,
      version: this.version,
      reason: this.reason,
      ide: formatDebugClient(this.ide),
      relayPort: this.relay?.port ?? null,
      armed: armed && { pattern: armed.pattern, since: armed.since },
      notes: this.notes,
    };
  }

  /** Closes every session and the relay (the pool is stopping): paused requests run on and finish. */
  async stop(): Promise<void> {
    this.next.disarm();
    const relay = this.relay;
    this.relay = null;
    for (const subscription of this.relaySubscriptions.splice(0)) subscription.dispose();
    // The relay says its last nulls to listeners that are gone now: the pool hears them from here.
    for (const pid of [...this.sessions]) this.onSessionChange(pid, null);
    // A probe still asking php-cgi about Xdebug (`auto` asks once the first worker serves) is a process of
    // ours: the pool has stopped once it has ended too (it takes tens of ms, at most its timeout). With the
    // engine in a thread of its own, a probe still running when the thread exits would be left unreaped.
    await Promise.all([relay?.close(), this.decision?.catch(() => undefined)]);
  }

  // ------------------------------------------------------------------------

  private parseIde(): DebugClientAddress {
    if (this.options.debugClient === null) return resolveDebugClient(null, this.options.ini);
    try {
      return parseDebugClient(this.options.debugClient);
    } catch (error) {
      if (!(error instanceof DebugClientSyntaxError)) throw error;
      throw new PoolUnavailableError(error.message, 'debugClient');
    }
  }

  private detect(): Promise<XdebugAvailability> {
    return this.host.detect().catch((error: unknown) => ({ kind: 'missing' as const, detail: (error as Error).message }));
  }

  private onSessionChange(pid: number, status: WorkerDebug | null): void {
    if (inDebugSession(status)) this.sessions.add(pid);
    else this.sessions.delete(pid);
    this.port.sessionChanged(pid, status);
  }

  /** The relay's settings for the workers: `loadExtension` adds `-d zend_extension=xdebug`. */
  private useArgs(loadExtension: boolean): void {
    const relay = this.relay as DebugRelayPort;
    const worker = xdebugWorkerArgs({ enabled: true, loadExtension, version: this.version ?? '' }, relay.port, this.options.ini);
    this.args = worker.args;
    this.notes = worker.notes;
    this.triggerValue = worker.triggerValue;
  }

  /** Decides from what php-cgi has; `on` throws where `auto` settles for running without a debugger. */
  private async apply(availability: XdebugAvailability): Promise<void> {
    if (this.status !== 'detecting') return; // stopped meanwhile
    this.xdebug = availability.kind;
    this.version = availability.kind === 'missing' ? null : availability.version;
    let decision;
    try {
      decision = decideXdebug(this.options.xdebug, availability, this.options.phpCgi);
    } catch (error) {
      if (!(error instanceof XdebugUnavailableError)) throw error;
      await this.stop();
      this.status = 'unavailable';
      this.reason = this.describe(availability);
      throw new PoolUnavailableError(`${this.reason}. To debug requests, ${XDEBUG_INSTALL_HINT}; or set it to auto to run without it`, 'xdebug');
    }
    if (!decision.enabled) {
      await this.closeRelay();
      this.settle({ status: 'unavailable', reason: this.describe(availability) });
      return;
    }
    if (this.options.xdebug === 'on') this.useArgs(decision.loadExtension);
    this.settle({ status: 'enabled', reason: null });
  }

  private async closeRelay(): Promise<void> {
    const relay = this.relay;
    this.relay = null;
    for (const subscription of this.relaySubscriptions.splice(0)) subscription.dispose();
    await relay?.close();
  }

  private settle(outcome: { status: DebuggerSnapshot['status']; reason: string | null }): void {
    this.status = outcome.status;
    this.reason = outcome.reason;
    this.port.changed();
    this.port.emit({ type: 'debugger-ready', debugger: this.snapshot() });
  }

  /** Why workers do not debug, in words without a flag or a setting (each surface adds its own). */
  private describe(availability: XdebugAvailability): string {
    const php = this.options.phpCgi;
    if (availability.kind === 'missing') return `${php} has no Xdebug (${availability.detail})`;
    if (!/^[3-9]\./.test(availability.version)) return `${php} has Xdebug ${availability.version}; the pool speaks to Xdebug 3 or later`;
    return `Xdebug ${availability.version} is installed but ${php} does not load it`;
  }

  private unavailableMessage(): string {
    switch (this.status) {
      case 'off':
        return 'the step debugger is off (xdebug off)';
      case 'detecting':
        return 'the pool is still finding out whether php-cgi has Xdebug; try again in a moment';
      default:
        return this.xdebug === 'loadable'
          ? `${this.reason ?? 'Xdebug is not loaded'}: set xdebug to "on" to load it for the workers`
          : `${this.reason ?? 'no Xdebug'}. To debug requests, ${XDEBUG_INSTALL_HINT}`;
    }
  }
}
