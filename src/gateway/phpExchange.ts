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
export type ExchangeOptions = Pick<GatewayOptions, 'maxBodyBytes' | 'bodyMemoryThreshold' | 'tempDir' | 'bodyIdleTimeoutMs' | 'optionSurface'>;

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
 * client gone). Once `done`, nothing more goes to the client.
 *
 * A client that leaves while its script runs ends the exchange at once, the
 * way nginx does: the lease is released as `client-abort` and the worker
 * connection closed. PHP then decides: a script that called
 * `ignore_user_abort(true)` runs to its end, another stops at its next
 * output write; the pool shows its worker `finishing` until it is ready.
 */
type Phase = 'receiving-body' | 'waiting-for-worker' | 'connecting' | 'awaiting-headers' | 'streaming' | 'done';

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
  /** The last lease, for the access log (which is written after it has ended). */
  private lastLease: Lease | null = null;
  private connection: FastCgiConnection | null = null;
  private body: RequestBody | null = null;
  private params: ParamList | null = null;
  private readonly parser = new CgiHeaderParser();
  /** Puts live reload's tag into an HTML page; null for every other response. */
  private injector: HtmlInjector | null = null;
  private bytes = 0;
  /** Connecting failed this many times (the request may try another worker once). */
  private attempt = 0;
  /** Workers that left before reading this request (their own request limit): it may try others. */
  private workersLeft = 0;
  /** The access log line is written once, when the response closes. */
  private logged = false;

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
    return `http ${this.io.remoteAddress || '?'}:${this.io.remotePort || '?'} #${this.id}`;
  }

  /** Nothing more goes to the client: it has its answer, or it left. */
  private get over(): boolean {
    return this.phase === 'done';
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
        sendError(
          this.io,
          431,
          'Request Header Fields Too Large',
          `${oversized} is larger than one FastCGI record can carry (65535 bytes), so PHP could never receive it.`,
        );
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
    this.lastLease = lease;
    if (this.over) {
      // The client left while we waited (nothing was sent: the pool's probe finds the worker ready at once).
      this.releaseLease('client-abort');
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
    // The worker is gone or going before we sent anything: nothing was
    // lost (its exit says whether it crashed), so the request may try
    // another worker once.
    this.runner.pool.release(lease, 'unreachable');
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
      this.releaseLease('client-abort');
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
      if (this.phase !== 'awaiting-headers') return; // done: the output is discarded
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
    this.runner.log.emit({
      type: 'php-stderr',
      workerId: lease.workerId,
      leaseId: lease.id,
      scriptFilename: this.script.scriptFilename,
      method: this.io.method,
      uri: this.io.url,
      text: chunk.toString('utf8'),
    });
  }

  onEnd(): void {
    if (this.over) {
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
    this.releaseLease('ok');
    this.finish();
    // What the injector held back, and the tag if the page had no </body>.
    const last = this.injector?.finish();
    if (last !== undefined) this.bytes += last.length;
    this.io.end(last);
  }

  onError(error: FastCgiConnectionError): void {
    const lease = this.lease;
    if (!lease || this.over) {
      if (lease) this.releaseLease(error.kind === 'closed-before-end' ? 'worker-died' : 'error');
      return;
    }
    if (error.kind === 'protocol') {
      this.releaseLease('error');
      this.badResponse(`the worker sent malformed FastCGI data: ${error.message}`);
      return;
    }
    // The connection dropped before END_REQUEST: how a crashed worker shows.
    // Wait a moment for the exit status so the page can say how it died. The
    // pool judges the exit first and may have ended the lease meanwhile
    // (revoke: a crash, or a worker that left before it read the request).
    void lease.workerExit(1_000).then((exit) => {
      if (this.lease !== lease) return;
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
    this.connection?.destroy();
    this.connection = null;
    if (this.over) return;
    if (revocation.kind === 'worker-left' && this.phase === 'awaiting-headers' && this.workersLeft++ <= this.runner.pool.options.maxWorkers) {
      // Its worker left after its previous answer (its own request limit)
      // without reading this one: nothing ran, so another worker takes it.
      // The pool learns that limit and stops lending workers that reached
      // it, so this is rare, and bounded.
      this.acquire();
      return;
    }
    this.finish();
    sendRevoked(this.io, revocation, lease, this.script.scriptName, this.runner.options.optionSurface);
  }

  /** The holder is gone once its exchange is done. */
  isActive(): boolean {
    return this.phase !== 'done';
  }

  // ---- HttpIoClient: the response closed (completed, cut, or the client left)

  onClientClose(): void {
    const was = this.phase;
    this.logOnce();
    this.phase = 'done';
    if (this.io.completed) return;
    // The client went away before its response was complete.
    if (was === 'waiting-for-worker') this.runner.pool.withdraw(this);
    if (this.lease === null) {
      if (was !== 'done') void this.body?.dispose();
      return;
    }
    // End it as nginx does: release the worker (the pool shows it finishing
    // until php-cgi is ready again), then close its connection, so that
    // PHP's own rules decide how far the script runs (ignore_user_abort).
    // Released first: the connection error that destroy() raises then finds
    // no lease to end.
    this.releaseLease('client-abort');
    this.connection?.destroy();
  }

  // ---- helpers

  /**
   * One access-log line per request, when its response closes: its status
   * if the response head went out (also when the client closed right after
   * a complete answer while the script ran on), 499 if the client left
   * before (as nginx logs it).
   */
  private logOnce(): void {
    if (this.logged) return;
    this.logged = true;
    const lease = this.lastLease;
    this.runner.log.request(this.io, this.startedAt, lease?.workerId ?? null, lease?.id ?? null, this.bytes);
  }

  private releaseLease(outcome: 'ok' | 'client-abort' | 'worker-died' | 'unreachable' | 'error'): void {
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

/** Hop-by-hop header names have these lengths: a cheap test before lower-casing. */
function maybeHopByHop(name: string): boolean {
  const n = name.length;
  return (n === 2 || n === 7 || n === 10 || n === 16 || n === 17) && HOP_BY_HOP.has(name.toLowerCase());
}
