/**
 * One worker's debug connection through the relay: the socket Xdebug opened
 * to us, and the one we open to the IDE. Bytes go both ways unchanged (the
 * init packet is replayed first); on the way, the framing decoders and a
 * {@link DebugStateTracker} follow the session so the pool can tell
 * "paused at Controller.php:42" from "stuck".
 *
 * The rule for endings: whichever side goes, the other is closed, so that a
 * worker is never left blocked on a debugger that is not there (Xdebug then
 * runs the request on without debugging and the response completes).
 */
import { connect, type Socket } from 'node:net';
import { DebugStateTracker, type DebugSessionInfo, type DebugStatus } from './debugState';
import { formatDebugClient, type DebugClientAddress } from './debugClient';
import { DbgpFramingError, EnginePacketDecoder, IdeCommandDecoder, type DbgpLimits, type EnginePacket, type IdeCommand } from './framing';
import { fileUriToPath, parseEngineMessage } from './packets';
import type { DebugRelayEvent, SessionEndReason } from './relayEvents';

/** Timing and limits of a session (the relay's options, resolved). */
export interface RelaySessionOptions {
  ide: DebugClientAddress;
  /** Give up on the IDE (treat it as unreachable) after this long. */
  connectTimeoutMs: number;
  /** A connection that sends no init packet within this long is dropped. */
  initTimeoutMs: number;
  /** See {@link DebugStateTracker.waitsForIde}; 0 waits for ever. */
  ideSilenceTimeoutMs: number;
  /** After we half-close a side to let its last bytes through, how long before it is destroyed. */
  closeGraceMs: number;
  limits: DbgpLimits;
  now: () => number;
}

/** How a session talks back to its relay. */
export interface RelaySessionHooks {
  /** The init packet named `pid`: may this session go on? (The relay checks the pid is one of ours.) */
  claim(session: RelaySession, pid: number): boolean;
  /** {@link RelaySession.status} changed (it is non-null from the first call on). */
  changed(session: RelaySession): void;
  /** The worker's side closed; the session is over (called once, and only for claimed sessions). */
  ended(session: RelaySession): void;
  /** A session that never got a pid is gone. */
  discarded(session: RelaySession): void;
  event(event: DebugRelayEvent): void;
  /** Bytes forwarded, for the relay's counters. */
  relayed(toIde: number, toEngine: number): void;
}

type Direction = 'to-ide' | 'to-engine';

export class RelaySession {
  private readonly engineDecoder: EnginePacketDecoder;
  private readonly commandDecoder: IdeCommandDecoder;
  private tracker: DebugStateTracker | null = null;
  /** The IDE socket once connected; `connecting` holds it before that. */
  private ide: Socket | null = null;
  private connecting: Socket | null = null;
  /** Worker bytes read before the IDE connected: the init packet and anything after it. */
  private pending: Buffer[] = [];
  private published = false;
  private endReason: SessionEndReason | null = null;
  private workerClosed = false;
  private initTimer: NodeJS.Timeout | null = null;
  private connectTimer: NodeJS.Timeout | null = null;
  private silenceTimer: NodeJS.Timeout | null = null;
  private readonly graceTimers = new Set<NodeJS.Timeout>();
  private readonly waitingForDrain = new Set<Direction>();
  /** Set inside a decoder callback when the session must stop; acted on after the push. */
  private refusal: string | null = null;
  /** The pid an init packet claimed when the relay refused it (for the event). */
  private refusedPid: number | null = null;
  bytesToIde = 0;
  bytesToEngine = 0;

  constructor(
    private readonly worker: Socket,
    private readonly options: RelaySessionOptions,
    private readonly hooks: RelaySessionHooks,
  ) {
    this.engineDecoder = new EnginePacketDecoder((packet) => this.onEnginePacket(packet), options.limits);
    this.commandDecoder = new IdeCommandDecoder((command) => this.onIdeCommand(command), options.limits);
    worker.setNoDelay(true);
    worker.on('data', (chunk: Buffer) => this.onWorkerData(chunk));
    worker.on('error', () => undefined); // 'close' follows and says all we need
    worker.on('close', () => this.onWorkerClose());
    this.initTimer = setTimeout(() => this.refuse(`no DBGp init packet within ${options.initTimeoutMs} ms`), options.initTimeoutMs);
  }

  /** The worker's pid, from the init packet; null before it. */
  get pid(): number | null {
    return this.tracker?.pid ?? null;
  }

  /** The status JSON value; null until the IDE connection has been tried. */
  get status(): DebugStatus | null {
    return this.published && this.tracker !== null ? this.tracker.status : null;
  }

  get info(): DebugSessionInfo | null {
    return this.published && this.tracker !== null ? this.tracker.info : null;
  }

  /**
   * Ends the session from outside. `graceful`: both sides are half-closed so
   * bytes in flight get through, then destroyed after the grace period;
   * otherwise both are destroyed at once.
   */
  end(reason: SessionEndReason, graceful: boolean): void {
    this.endReason ??= reason;
    if (graceful) {
      this.closeGracefully(this.worker);
      this.closeIde(true);
    } else {
      for (const timer of this.graceTimers) clearTimeout(timer);
      this.graceTimers.clear();
      this.worker.destroy();
      this.closeIde(false);
    }
  }

  // ---- worker → IDE -------------------------------------------------------

  private onWorkerData(chunk: Buffer): void {
    if (this.endReason !== null) return;
    try {
      this.engineDecoder.push(chunk);
    } catch (error) {
      if (!(error instanceof DbgpFramingError)) throw error;
      if (this.tracker === null) this.refuse(`not DBGp: ${error.message}`);
      else this.failProtocol('engine', error.message);
      return;
    }
    if (this.refusal !== null) {
      this.refuse(this.refusal);
      return;
    }
    if (this.endReason !== null) return;
    if (this.ide !== null) this.forward(this.ide, chunk, this.worker, 'to-ide');
    else this.pending.push(chunk);
  }

  private onEnginePacket(packet: EnginePacket): void {
    if (this.refusal !== null) return;
    const message = parseEngineMessage(packet.head);
    const tracker = this.tracker;
    if (tracker === null) {
      this.onFirstPacket(message);
      return;
    }
    if (tracker.onEngineMessage(message, this.options.now())) this.publish();
    // The engine answered and now waits for the IDE's next command.
    if (tracker.waitsForIde) this.armSilenceTimer();
  }

  private onFirstPacket(message: ReturnType<typeof parseEngineMessage>): void {
    if (message.kind !== 'init') {
      this.refusal = `the first DBGp packet is <${message.kind === 'other' ? (message.element ?? '?') : message.kind}>, not <init>`;
      return;
    }
    if (message.appid === null) {
      this.refusal = 'the init packet has no numeric appid (the worker pid)';
      return;
    }
    this.clearTimer('init');
    if (!this.hooks.claim(this, message.appid)) {
      this.refusal = `pid ${message.appid} is not one of the pool's workers`;
      this.refusedPid = message.appid;
      return;
    }
    const script = message.fileUri === null ? null : fileUriToPath(message.fileUri);
    this.tracker = new DebugStateTracker(message.appid, script, message.idekey, this.options.now());
    this.connectToIde();
  }

  // ---- the IDE connection ----------------------------------------------------

  private connectToIde(): void {
    const socket = connect({ host: this.options.ide.host, port: this.options.ide.port });
    this.connecting = socket;
    socket.setNoDelay(true);
    const onFailure = (message: string): void => {
      this.clearTimer('connect');
      if (this.connecting !== socket) return;
      this.connecting = null;
      socket.destroy();
      this.ideUnreachable(message);
    };
    socket.once('error', (error: NodeJS.ErrnoException) => onFailure(error.code ?? error.message));
    this.connectTimer = setTimeout(() => onFailure(`no connection within ${this.options.connectTimeoutMs} ms`), this.options.connectTimeoutMs);
    socket.once('connect', () => {
      this.clearTimer('connect');
      if (this.connecting !== socket) return;
      this.connecting = null;
      if (this.endReason !== null) {
        socket.destroy();
        return;
      }
      this.ide = socket;
      socket.on('data', (chunk: Buffer) => this.onIdeData(chunk));
      socket.on('error', () => undefined);
      socket.on('close', () => this.onIdeClose());
      // Replay what the worker said so far: the IDE sees the session from its very first byte.
      socket.cork();
      for (const chunk of this.pending) this.forward(socket, chunk, this.worker, 'to-ide');
      this.pending = [];
      socket.uncork();
      const tracker = this.tracker as DebugStateTracker;
      this.hooks.event({ type: 'session-started', pid: tracker.pid, script: tracker.script, idekey: tracker.idekey });
      this.publish();
      this.armSilenceTimer();
    });
  }

  private ideUnreachable(error: string): void {
    const tracker = this.tracker as DebugStateTracker;
    this.endReason ??= 'ide-unreachable';
    tracker.onIdeLost();
    this.hooks.event({ type: 'ide-unreachable', pid: tracker.pid, ide: formatDebugClient(this.options.ide), error });
    this.publish();
    // At once: Xdebug is blocked reading after its init; EOF lets it run the request on.
    this.worker.destroy();
  }

  private onIdeData(chunk: Buffer): void {
    try {
      this.commandDecoder.push(chunk);
    } catch (error) {
      if (!(error instanceof DbgpFramingError)) throw error;
      this.failProtocol('ide', error.message);
      return;
    }
    if (!this.workerClosed) this.forward(this.worker, chunk, this.ide as Socket, 'to-engine');
  }

  private onIdeCommand(command: IdeCommand): void {
    this.clearTimer('silence');
    const tracker = this.tracker;
    if (tracker !== null && tracker.onIdeCommand(command.name, this.options.now())) this.publish();
  }

  private onIdeClose(): void {
    this.ide = null;
    this.clearTimer('silence');
    if (this.workerClosed) return;
    this.endReason ??= 'ide-closed';
    if (this.tracker?.onIdeLost()) this.publish();
    // Half-close: a last command the IDE sent (detach, stop) still reaches Xdebug.
    this.closeGracefully(this.worker);
  }

  private armSilenceTimer(): void {
    const limit = this.options.ideSilenceTimeoutMs;
    this.clearTimer('silence');
    if (limit <= 0 || this.ide === null) return;
    this.silenceTimer = setTimeout(() => {
      this.silenceTimer = null;
      const tracker = this.tracker;
      if (tracker === null || !tracker.waitsForIde || this.endReason !== null) return;
      this.endReason = 'ide-silent';
      this.hooks.event({ type: 'ide-silent', pid: tracker.pid, silentMs: limit });
      if (tracker.onIdeLost()) this.publish();
      this.end('ide-silent', false);
    }, limit);
  }

  // ---- plumbing ---------------------------------------------------------------

  /** Writes with backpressure: a full target pauses the source until it drains. */
  private forward(target: Socket, chunk: Buffer, source: Socket, direction: Direction): void {
    if (direction === 'to-ide') this.bytesToIde += chunk.length;
    else this.bytesToEngine += chunk.length;
    this.hooks.relayed(direction === 'to-ide' ? chunk.length : 0, direction === 'to-engine' ? chunk.length : 0);
    if (target.write(chunk) || this.waitingForDrain.has(direction)) return;
    this.waitingForDrain.add(direction);
    source.pause();
    const resume = (): void => {
      this.waitingForDrain.delete(direction);
      target.removeListener('drain', resume);
      target.removeListener('close', resume);
      source.resume();
    };
    target.on('drain', resume);
    target.on('close', resume);
  }

  private onWorkerClose(): void {
    this.workerClosed = true;
    this.clearTimer('init');
    this.clearTimer('silence');
    this.endReason ??= 'worker-closed';
    if (this.connecting !== null) {
      this.connecting.destroy();
      this.connecting = null;
      this.clearTimer('connect');
    }
    // Let the worker's last packets (the stopping response, a detach answer) reach the IDE.
    this.closeIde(true);
    if (this.tracker === null) {
      this.hooks.discarded(this);
      return;
    }
    this.hooks.ended(this);
    this.hooks.event({
      type: 'session-ended',
      pid: this.tracker.pid,
      reason: this.endReason,
      durationMs: this.options.now() - this.tracker.connectedAt,
      bytesToIde: this.bytesToIde,
      bytesToEngine: this.bytesToEngine,
    });
  }

  /** The end reason, once the session is ending. */
  get reason(): SessionEndReason | null {
    return this.endReason;
  }

  /** True once the worker's side closed (the session is over). */
  get closed(): boolean {
    return this.workerClosed;
  }

  private closeIde(graceful: boolean): void {
    if (this.connecting !== null) {
      this.connecting.destroy();
      this.connecting = null;
      this.clearTimer('connect');
    }
    const ide = this.ide;
    if (ide === null) return;
    if (graceful) this.closeGracefully(ide);
    else ide.destroy();
  }

  /** end() lets queued bytes out; destroy() follows if the peer does not close within the grace period. */
  private closeGracefully(socket: Socket): void {
    if (socket.destroyed) return;
    socket.end();
    const timer = setTimeout(() => {
      this.graceTimers.delete(timer);
      socket.destroy();
    }, this.options.closeGraceMs);
    this.graceTimers.add(timer);
    socket.once('close', () => {
      clearTimeout(timer);
      this.graceTimers.delete(timer);
    });
  }

  private refuse(reason: string): void {
    this.refusal = reason;
    this.endReason ??= 'protocol-error';
    this.hooks.event({ type: 'rejected', pid: this.refusedPid, reason });
    this.worker.destroy();
  }

  private failProtocol(side: 'engine' | 'ide', error: string): void {
    const pid = this.tracker?.pid as number;
    this.endReason ??= 'protocol-error';
    this.hooks.event({ type: 'protocol-error', pid, side, error });
    this.end('protocol-error', false);
  }

  private publish(): void {
    if (this.tracker === null) return;
    this.published = true;
    this.hooks.changed(this);
  }

  private clearTimer(which: 'init' | 'connect' | 'silence'): void {
    const key = `${which}Timer` as const;
    const timer = this[key];
    if (timer !== null) clearTimeout(timer);
    this[key] = null;
  }
}
