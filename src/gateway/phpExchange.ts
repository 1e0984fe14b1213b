import type { FastCgiConnection, FastCgiConnectionError, ResponseHandler } from '../fastcgi/connection';
import { ParamTooLargeError, type ParamList } from '../fastcgi/params';
import { withXdebugTrigger } from '../dbgp/trigger';
import { describeExit } from '../platform/processControl';
import type { Lease, Pool } from '../pool/pool';
import type { LeaseHolder, LeaseRequestInfo, LeaseRevocation } from '../pool/types';
import { buildCgiParams, findOversizedParam, mayHaveOversizedParam, type ServerInfo } from './cgiParams';
import { CgiHeaderParser } from './cgiResponse';
import { sendAcquireError, sendBodyError, sendRevoked } from './exchangeErrors';
import type { HttpIo, HttpIoClient } from './httpIo';
import type { HtmlInjector } from './liveInject';
import type { LiveReload } from './liveReload';
import type { GatewayOptions } from './options';
import type { RequestBody } from './requestBody';
import type { RequestLog } from './requestLog';
import type { ScriptResolution } from './resolve';
import { sendError } from './responder';

/** What an exchange needs from the gateway's options. */
export type ExchangeOptions = Pick<GatewayOptions, 'maxBodyBytes' | 'bodyMemoryThreshold' | 'tempDir' | 'bodyIdleTimeoutMs' | 'abortGraceMs' | 'optionSurface'>;

/**
 * Runs PHP scripts for both HTTP fronts: each request becomes one
 * {@link PhpExchange}, which the fronts never see beyond their HttpIo.
 */
export class ScriptRunner {
  /** SERVER_* params; the gateway sets the address it listens on. */
  serverInfo: ServerInfo;
  /** Live reload, when it is on: HTML pages get its tag. */
  live: LiveReload | null = null;
  private nextExchangeId = 1;

  constructor(
    readonly pool: Pool,
    readonly options: ExchangeOptions,
    readonly log: RequestLog,
    serverInfo: ServerInfo,
  ) {
    this.serverInfo = serverInfo;
  }

  /** Runs `script` for the request on a leased worker and answers through `io`. */
  run(io: HttpIo, script: ScriptResolution, startedAt: number): void {
    new PhpExchange(this, io, script, startedAt, this.nextExchangeId++).run();
  }
}

/**
 * Where an exchange is, in the order a request lives through it:
 *
 *     receiving-body → waiting-for-worker → connecting → awaiting-headers → streaming → done
 *
 * `waiting-for-worker` is skipped when a worker is idle (pool.tryAcquire),
 * and any phase may end early in `done` (an error page, a revoked lease, a
 * client gone). `abandoned`: the client left while the script ran; the
 * worker may finish it within abortGraceMs (its output is discarded), then
 * the exchange is `done`. Once `abandoned` or `done`, nothing more goes to
 * the client.
 */
type Phase = 'receiving-body' | 'waiting-for-worker' | 'connecting' | 'awaiting-headers' | 'streaming' | 'abandoned' | 'done';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection']);

/**
 * One PHP request from the HTTP side to a worker and back. It is the lease's
 * holder, the FastCGI response handler and the HttpIo's client at once, so
 * the hot path allocates one object per request instead of a closure per
 * callback.
 *
 * The common case runs synchronously from the HTTP request to the FastCGI
 * write: no body to wait for, an idle worker (pool.tryAcquire) and its kept
 * connection. Promises and closures appear only on the slow paths (a body
 * to receive, a wait in the queue, a new connection).
 */
class PhpExchange implements LeaseHolder, ResponseHandler, HttpIoClient {
  private phase: Phase = 'receiving-body';
  private lease: Lease | null = null;
  private connection: FastCgiConnection | null = null;
  private body: RequestBody | null = null;
  private params: ParamList | null = null;
  private readonly parser = new CgiHeaderParser();
  /** Puts live reload's tag into an HTML page; null for every other response. */
  private injector: HtmlInjector | null = null;
  private bytes = 0;
  /** The grace period of an `abandoned` exchange. */
  private abandonTimer: NodeJS.Timeout | null = null;
  /** When the grace period ends; while the worker is in a debug session, the time it has left instead (see {@link debugging}). */
  private abandonDeadline = 0;
  private abandonLeftMs: number | null = null;
  /** The lease's worker is in a step-debugging session: no timeout of ours runs. */
  private debugged = false;
  /** Connecting failed this many times (the request may try another worker once). */
  private attempt = 0;

  constructor(
    private readonly runner: ScriptRunner,
    private readonly io: HttpIo,
    private readonly script: ScriptResolution,
    private readonly startedAt: number,
    private readonly id: number,
  ) {
    io.attach(this);
  }

  /** Who holds the lease, for snapshots and findings (built only when asked). */
  get description(): string {
    const who = `http ${this.io.remoteAddress || '?'}:${this.io.remotePort || '?'} #${this.id}`;
    return this.phase === 'abandoned' ? `${who} (client gone; letting the script finish)` : who;
  }

  /** Nothing more goes to the client: it has its answer, or it left. */
  private get over(): boolean {
    return this.phase === 'done' || this.phase === 'abandoned';
  }

  run(): void {
    const io = this.io;
    const ready = io.bodyIfReady();
    if (ready !== null) {
      this.body = ready;
      this.prepare();
      return;
    }
    const options = this.runner.options;
    io.receiveBody({
      maxBytes: options.maxBodyBytes,
      memoryThreshold: options.bodyMemoryThreshold,
      tempDir: options.tempDir,
      idleTimeoutMs: options.bodyIdleTimeoutMs,
    }).then(
      (body) => {
        this.body = body;
        // The client may have left while the body was on its way.
        if (this.over) void body.dispose();
        else this.prepare();
      },
      (error: unknown) => this.failBody(error),
    );
  }

  /** The body is in: build the params and get a worker. */
  private prepare(): void {
    // The params are built once a worker is leased: a request that waits in
    // the queue then holds a few strings, not ~40 pairs that a young-
    // generation collection must copy (at c = 64 with 4 workers most requests
    // wait; the gain measured was within the noise, the cost is nil).
    // Only a request that might carry a param too long for one FastCGI
    // record is checked first, so that it gets its 431 without a worker.
    if (mayHaveOversizedParam(this.io)) {
      const params = this.buildParams();
      const oversized = findOversizedParam(params);
      if (oversized) {
        this.finish();
        sendError(this.io, 431, 'Request Header Fields Too Large', `${oversized} is larger than one FastCGI record can carry (65535 bytes), so PHP could never receive it.`);
        return;
      }
      this.params = params;
    }
    this.acquire();
  }

  private buildParams(): ParamList {
    const body = this.body as RequestBody;
    return buildCgiParams(this.io, this.script, this.runner.serverInfo, { contentLength: body.length > 0 || this.io.declaresBody ? body.length : null });
  }

  private acquire(): void {
    if (this.over) return;
    const { io, runner } = this;
    const info: LeaseRequestInfo = { method: io.method, uri: io.url, scriptFilename: this.script.scriptFilename, clientAddress: io.remoteAddress };
    const lease = runner.pool.tryAcquire(info, this);
    if (lease !== null) {
      this.leased(lease);
      return;
    }
    // No idle worker: queue (or learn why not) the slow way. A client that
    // leaves while queued gives its place up through pool.withdraw(this),
    // which spares an AbortController (~3 µs on Node 20) per queued request.
    this.phase = 'waiting-for-worker';
    runner.pool.acquire(info, this).then(
      (queued) => this.leased(queued),
      (error: unknown) => this.failAcquire(error),
    );
  }

  private leased(lease: Lease): void {
    this.lease = lease;
    if (this.over) {
      // The client left while we waited.
      this.releaseLease('ok');
      return;
    }
    this.phase = 'connecting';
    // The worker's kept connection, when it is open, saves a promise per request.
    const open = lease.openConnection();
    if (open) {
      this.connected(lease, open);
      return;
    }
    lease.connection().then(
      (connection) => this.connected(lease, connection),
      (error: unknown) => this.connectFailed(lease, error),
    );
  }

  private connectFailed(lease: Lease, error: unknown): void {
    // The lease may already have ended: the client left (onClientClose
    // released it, which is why connecting failed) or the pool revoked it.
    if (this.lease !== lease) return;
    this.lease = null;
    // The worker died before we sent anything: nothing was lost, so the
    // request may try another worker once.
    this.runner.pool.release(lease, 'worker-died');
    if (this.over) return;
    if (this.attempt++ < 1) {
      this.acquire();
      return;
    }
    this.finish();
    sendError(this.io, 502, 'Bad Gateway', `Cannot connect to worker ${lease.workerId} (pid ${lease.workerPid ?? '?'}): ${(error as Error).message}`);
  }

  private connected(lease: Lease, connection: FastCgiConnection): void {
    if (this.lease !== lease) return; // revoked or released meanwhile
    this.connection = connection;
    if (this.over) {
      // The client left while we connected.
      this.releaseLease('ok');
      return;
    }
    const body = this.body as RequestBody;
    // The body, when it is in memory (always for a GET), goes out in the same
    // socket write as BEGIN_REQUEST and PARAMS: one syscall per request.
    const stdin = body.buffer?.();
    this.phase = 'awaiting-headers';
    try {
      // Params are byte strings (see utf8AsLatin1): latin1 sends each as one byte.
      this.params ??= this.buildParams();
      // "Debug Next Request": this one request carries the Xdebug trigger (a cookie: see src/dbgp/trigger.ts).
      const trigger = this.runner.pool.debugger.trigger(this.io.url);
      if (trigger !== null) this.params = withXdebugTrigger(this.params, trigger);
      connection.beginRequest(this.params, this, { paramEncoding: 'latin1', stdin });
    } catch (error) {
      this.releaseLease(error instanceof ParamTooLargeError ? 'ok' : 'error');
      this.finish();
      if (error instanceof ParamTooLargeError) sendError(this.io, 431, 'Request Header Fields Too Large', error.message);
      else sendError(this.io, 502, 'Bad Gateway', `Cannot send the request to the worker: ${(error as Error).message}`);
      return;
    }
    if (stdin === undefined) connection.pipeStdin(body.open()).catch(() => undefined);
  }

  // ---- ResponseHandler: what the worker sends back

  onStdout(chunk: Buffer): void {
    if (this.phase !== 'streaming') {
      if (this.phase !== 'awaiting-headers') return; // abandoned or done: the output is discarded
      this.lease?.markFirstByte();
      let result;
      try {
        result = this.parser.push(chunk);
      } catch (error) {
        this.badResponse((error as Error).message);
        return;
      }
      if (!result.done) return;
      this.phase = 'streaming';
      const headers = result.headers;
      const flat: string[] = [];
      for (let i = 0; i < headers.length; i++) {
        const header = headers[i] as [string, string];
        if (maybeHopByHop(header[0])) continue;
        flat.push(header[0], header[1]);
      }
      const live = this.runner.live;
      if (live !== null) this.injector = live.injectorFor(this.io, result.status, flat, this.runner.serverInfo.serverPort);
      this.io.writeHead(result.status, result.statusText, flat);
      chunk = result.bodyStart;
      if (chunk.length === 0) return;
    }
    if (this.injector !== null) {
      chunk = this.injector.push(chunk);
      if (chunk.length === 0) return;
    }
    this.bytes += chunk.length;
    // HTTP backpressure: stop reading the worker until the client drains.
    if (!this.io.write(chunk)) this.connection?.pauseOutput();
  }

  /** The client drained: read the worker again. */
  resumeOutput(): void {
    this.connection?.resumeOutput();
  }

  onStderr(chunk: Buffer): void {
    const lease = this.lease;
    if (!lease) return;
    this.runner.log.emit({ type: 'php-stderr', workerId: lease.workerId, leaseId: lease.id, scriptFilename: this.script.scriptFilename, method: this.io.method, uri: this.io.url, text: chunk.toString('utf8') });
  }

  onEnd(): void {
    if (this.over) {
      // Also the end of an abandoned script within its grace period: the
      // worker is back in accept() and can serve the next request.
      this.endAbandon();
      this.releaseLease('ok');
      return;
    }
    if (this.phase !== 'streaming') {
      const error = this.parser.finish();
      if (error) {
        this.releaseLease('ok');
        this.badResponse(error.message);
        return;
      }
    }
    const lease = this.lease;
    this.releaseLease('ok');
    this.finish();
    // What the injector held back, and the tag if the page had no </body>.
    const last = this.injector?.finish();
    if (last !== undefined) this.bytes += last.length;
    this.io.end(last);
    this.runner.log.request(this.io, this.startedAt, lease?.workerId ?? null, lease?.id ?? null, this.bytes);
  }

  onError(error: FastCgiConnectionError): void {
    const lease = this.lease;
    if (!lease || this.over) {
      this.endAbandon();
      if (lease) this.releaseLease(error.kind === 'closed-before-end' ? 'worker-died' : 'error');
      return;
    }
    if (error.kind === 'protocol') {
      this.releaseLease('error');
      this.badResponse(`the worker sent malformed FastCGI data: ${error.message}`);
      return;
    }
    // The connection dropped before END_REQUEST: how a crashed worker shows.
    // Wait a moment for the exit status so the page can say how it died.
    void lease.workerExit(1_000).then((exit) => {
      this.releaseLease('worker-died');
      if (this.over) return;
      this.finish();
      const how = exit ? describeExit(exit) : `closed its connection (${error.message})`;
      sendError(this.io, 502, 'Bad Gateway', `Worker ${lease.workerId} (pid ${lease.workerPid ?? '?'}) ${how} while running ${this.script.scriptName}.`, [
        'The pool has replaced the worker. Check the log for PHP errors; a segfault often means a faulty extension.',
      ]);
    });
  }

  // ---- LeaseHolder: the pool ended the lease on its own

  revoke(revocation: LeaseRevocation): void {
    const lease = this.lease;
    this.lease = null;
    this.endAbandon();
    this.connection?.destroy();
    if (this.over) return;
    this.finish();
    sendRevoked(this.io, revocation, lease, this.script.scriptName, this.runner.options.optionSurface);
  }

  /**
   * The pool: the lease's worker entered or left a step-debugging session.
   * A developer at a breakpoint is not a script that outlived its client:
   * the grace period of an abandoned exchange stands still meanwhile, and
   * goes on with the time it had left when the session ends.
   */
  debugging(active: boolean): void {
    this.debugged = active;
    if (active && this.abandonTimer !== null) {
      clearTimeout(this.abandonTimer);
      this.abandonTimer = null;
      this.abandonLeftMs = Math.max(0, this.abandonDeadline - Date.now());
    } else if (!active && this.phase === 'abandoned' && this.abandonLeftMs !== null) {
      this.startAbandonTimer(this.abandonLeftMs);
    }
  }

  /** The holder is gone once its exchange is done (an abandoned script still counts: its worker is busy). */
  isActive(): boolean {
    return this.phase !== 'done';
  }

  // ---- HttpIoClient: the response closed (completed, cut, or the client left)

  onClientClose(): void {
    const was = this.phase;
    // The script's end, or the grace timer, ends an abandoned exchange.
    if (was === 'abandoned') return;
    this.phase = 'done';
    if (this.io.completed) return;
    // The client went away before its response was complete.
    if (was === 'waiting-for-worker') this.runner.pool.withdraw(this);
    const lease = this.lease;
    if (lease === null) {
      if (was !== 'done') void this.body?.dispose();
      return;
    }
    const grace = this.runner.options.abortGraceMs;
    if (grace > 0 && (was === 'awaiting-headers' || was === 'streaming')) {
      // The script is running. Most end within moments: let it, discard its
      // output, and keep the warm worker. The exchange stays the active
      // holder meanwhile, so the lists show the worker busy, which it is.
      this.phase = 'abandoned';
      if (this.debugged) this.abandonLeftMs = grace;
      else this.startAbandonTimer(grace);
      lease.holderChanged();
      return;
    }
    this.recycleAbandoned();
  }

  /** The grace timer: the script outlived the grace period, so its worker is recycled. */
  abandonExpired(): void {
    this.abandonTimer = null;
    this.phase = 'done';
    if (this.lease) this.recycleAbandoned();
  }

  // ---- helpers

  private recycleAbandoned(): void {
    // Release first: the pool recycles the worker gracefully, and the
    // connection error that destroy() raises then finds no lease to end.
    this.releaseLease('client-abort');
    this.connection?.destroy();
  }

  private startAbandonTimer(ms: number): void {
    this.abandonLeftMs = null;
    this.abandonDeadline = Date.now() + ms;
    this.abandonTimer = setTimeout(abandonExpired, ms, this);
  }

  private endAbandon(): void {
    if (this.phase !== 'abandoned') return;
    if (this.abandonTimer !== null) clearTimeout(this.abandonTimer);
    this.abandonTimer = null;
    this.abandonLeftMs = null;
    this.phase = 'done';
  }

  private releaseLease(outcome: 'ok' | 'client-abort' | 'worker-died' | 'error'): void {
    const lease = this.lease;
    if (!lease) return;
    this.lease = null;
    this.runner.pool.release(lease, outcome);
    void this.body?.dispose();
  }

  private finish(): void {
    this.phase = 'done';
    void this.body?.dispose();
  }

  private badResponse(detail: string): void {
    if (this.lease) {
      this.connection?.destroy();
      this.releaseLease('error');
    }
    if (this.over && this.io.headersSent) return;
    this.finish();
    sendError(this.io, 502, 'Bad Gateway', `Invalid response from the worker: ${detail}`);
  }

  private failBody(error: unknown): void {
    this.finish();
    sendBodyError(this.io, error, this.runner.options.optionSurface);
  }

  private failAcquire(error: unknown): void {
    const wasOver = this.over;
    this.finish();
    if (!wasOver) sendAcquireError(this.io, error, this.runner.pool.options.queueTimeoutMs, this.runner.options.optionSurface);
  }
}

/** Timer callback without a closure per request. */
function abandonExpired(exchange: PhpExchange): void {
  exchange.abandonExpired();
}

/** Hop-by-hop header names have these lengths: a cheap test before lower-casing. */
function maybeHopByHop(name: string): boolean {
  const n = name.length;
  return (n === 2 || n === 7 || n === 10 || n === 16 || n === 17) && HOP_BY_HOP.has(name.toLowerCase());
}
