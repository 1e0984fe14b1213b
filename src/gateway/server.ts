import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Stats } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import type { FastCgiConnection, FastCgiConnectionError, ResponseHandler } from '../fastcgi/connection';
import type { ParamList } from '../fastcgi/params';
import { ParamTooLargeError } from '../fastcgi/params';
import { describeExit } from '../platform/processControl';

export { describeExit };
import { PoolSaturatedError, PoolUnavailableError, type Lease, type Pool } from '../pool/pool';
import type { Disposable, LeaseHolder, LeaseRequestInfo, LeaseRevocation } from '../pool/types';
import { DEFAULTS } from '../shared/defaults';
import { OptionError } from '../shared/options';
import { buildCgiParams, type ServerInfo } from './cgiParams';
import { CgiHeaderParser } from './cgiResponse';
import { errorPage } from './errorPages';
import { isHostAllowed } from './hostAllowList';
import { NodeHttpIo, type HttpIo, type HttpIoClient } from './httpIo';
import { LeanHttpFront } from './leanHttp';
import { BodyAbortedError, BodyTimeoutError, BodyTooLargeError, type RequestBody } from './requestBody';
import { resolveRequestSync, type ResolveConfig, type ResolveScratch, type Resolution } from './resolve';
import { serveStatic } from './staticFiles';

/** Settings of the HTTP front server. */
export interface GatewayOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Absolute, real path of the document root. */
  documentRoot: string;
  indexFiles: readonly string[];
  /** nginx's `try_files $uri $uri/ /index.php?$query_string`; null = plain 404. */
  frontController: string | null;
  /** Host names accepted besides localhost, 127.0.0.1 and [::1]. */
  allowedHosts: readonly string[];
  /** Largest request body (413 beyond). */
  maxBodyBytes: number;
  /** Bodies up to this size stay in memory, larger ones go to a temp file. */
  bodyMemoryThreshold: number;
  tempDir: string;
  /** A client that sends no body bytes for this long gets 408. */
  bodyIdleTimeoutMs: number;
  /** A client that has not sent its headers by then is cut off. */
  headersTimeoutMs: number;
  /** Where the pool's snapshot is served as JSON. */
  statusPath: string;
  /**
   * When a client leaves while its script runs, the worker may finish the
   * script within this time and go back to the idle list (its output is
   * discarded); past it the worker is recycled, as the script may run on for
   * long. 0 recycles at once. nginx + PHP-FPM and mod_fcgid never recycle
   * (the script runs to its end); recycling at once made every burst of
   * disconnects (a closed tab, a stopped load test) respawn workers.
   */
  abortGraceMs: number;
  /**
   * Serve simple requests with the lean HTTP/1.1 front (leanHttp.ts) and
   * hand the rest to Node's HTTP server; false = Node's server for all.
   */
  leanHttp: boolean;
}

/** Defaults: loopback only, nginx-like limits scaled for development (values in src/shared/defaults.ts). */
export const defaultGatewayOptions: Omit<GatewayOptions, 'documentRoot'> = {
  host: DEFAULTS.host,
  port: DEFAULTS.port,
  indexFiles: ['index.php', 'index.html'],
  frontController: DEFAULTS.frontController,
  allowedHosts: [],
  maxBodyBytes: DEFAULTS.maxBodyBytes,
  bodyMemoryThreshold: DEFAULTS.bodyMemoryThreshold,
  tempDir: tmpdir(),
  bodyIdleTimeoutMs: DEFAULTS.bodyIdleTimeoutMs,
  headersTimeoutMs: DEFAULTS.headersTimeoutMs,
  statusPath: DEFAULTS.statusPath,
  leanHttp: true,
  abortGraceMs: DEFAULTS.abortGraceMs,
};

/** What the gateway tells its consumers (the CLI log, the extension). */
export type GatewayEvent =
  | { type: 'request'; method: string; uri: string; status: number; durationMs: number; workerId: string | null; leaseId: string | null; bytes: number }
  | { type: 'php-stderr'; workerId: string; leaseId: string; scriptFilename: string; method: string; uri: string; text: string };

/** The port is taken, or the address cannot be bound; `option` is the one to change (`host` when the address does not exist here). */
export class GatewayListenError extends OptionError {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message, code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' ? 'host' : 'port');
    this.name = 'GatewayListenError';
  }
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection']);

/**
 * The HTTP front: routes each request to a static file or to a PHP script run
 * by a leased worker, streaming the response with backpressure.
 */
export class Gateway {
  readonly options: GatewayOptions;
  private readonly server: Server;
  /** Null when options.leanHttp is false. */
  private readonly lean: LeanHttpFront | null = null;
  private readonly resolveConfig: ResolveConfig;
  private serverInfo: ServerInfo;
  private readonly listeners = new Set<(event: GatewayEvent) => void>();
  private nextExchangeId = 1;
  /** Filled by each resolve: the static file's stat. */
  private readonly scratch: ResolveScratch = { stats: null };
  /** The last Host header that passed {@link isHostAllowed}. */
  private lastAllowedHost: string | undefined = undefined;

  constructor(
    readonly pool: Pool,
    options: Partial<GatewayOptions> & { documentRoot: string },
  ) {
    this.options = { ...defaultGatewayOptions, ...options };
    this.resolveConfig = {
      documentRoot: this.options.documentRoot,
      indexFiles: this.options.indexFiles,
      frontController: this.options.frontController,
      scriptExtension: '.php',
    };
    this.serverInfo = {
      serverName: 'localhost',
      serverAddr: this.options.host,
      serverPort: this.options.port,
      serverSoftware: 'fastcgi-pool',
      documentRoot: this.options.documentRoot,
      scheme: 'http',
    };
    // 128 KiB of headers: larger than nginx's default so that an oversized
    // single header reaches our FastCGI check and gets an explanatory 431.
    // connectionsCheckingInterval: how often Node enforces headersTimeout (30 s
    // by default, far too lax against a client that trickles its headers).
    this.server = createServer({ maxHeaderSize: 128 * 1024, requestTimeout: 0, headersTimeout: this.options.headersTimeoutMs, connectionsCheckingInterval: 1_000 }, (req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = DEFAULTS.keepAliveTimeoutMs;
    if (this.options.leanHttp) {
      // Every connection goes to the lean front first; Node's own connection
      // listener (its HTTP parser) gets those the lean front hands over.
      const server = this.server;
      const nodeListeners = server.listeners('connection') as Array<(socket: Socket) => void>;
      server.removeAllListeners('connection');
      const lean = new LeanHttpFront(this, (socket) => {
        for (const listener of nodeListeners) listener.call(server, socket);
      }, { keepAliveTimeoutMs: server.keepAliveTimeout });
      server.on('connection', (socket: Socket) => lean.accept(socket));
      this.lean = lean;
    }
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) return socket.destroy();
      const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      const text = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    });
  }

  /** Subscribes to gateway events. */
  onEvent(listener: (event: GatewayEvent) => void): Disposable {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Starts listening; a busy port rejects with {@link GatewayListenError}. */
  listen(): Promise<{ host: string; port: number; url: string }> {
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        const where = `${this.options.host}:${this.options.port}`;
        const message =
          error.code === 'EADDRINUSE'
            ? `port ${this.options.port} on ${this.options.host} is already in use: choose another port, or 0 for any free one`
            : error.code === 'EACCES'
              ? `no permission to listen on ${where}: ports below 1024 need privileges, choose another port`
              : `cannot listen on ${where}: ${error.message}`;
        reject(new GatewayListenError(message, error.code));
      };
      this.server.once('error', onError);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', onError);
        const address = this.server.address() as AddressInfo;
        this.serverInfo = { ...this.serverInfo, serverPort: address.port, serverAddr: address.address };
        const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        resolve({ host: address.address, port: address.port, url: `http://${host}:${address.port}/` });
      });
    });
  }

  /** Stops accepting connections and closes idle ones; in-flight requests finish. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.lean?.closeIdle();
      this.server.closeIdleConnections();
    });
  }

  /** Cuts every connection, in-flight or idle (used after the drain period). */
  closeAllConnections(): void {
    this.lean?.destroyAll();
    this.server.closeAllConnections();
  }

  /** @internal Someone listens for request events. */
  get logsRequests(): boolean {
    return this.listeners.size > 0;
  }

  /** @internal */
  emit(event: GatewayEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A consumer's bug must not break serving.
      }
    }
  }

  /**
   * Host check. Every request of a client carries the same Host and the
   * check is pure, so the last accepted value is remembered.
   * @internal
   */
  hostAllowed(host: string | undefined): boolean {
    if (host === this.lastAllowedHost && host !== undefined) return true;
    if (!isHostAllowed(host, this.options.allowedHosts)) return false;
    this.lastAllowedHost = host;
    return true;
  }

  /** @internal Whether `url` asks for the pool's status JSON. */
  isStatusPath(url: string): boolean {
    const statusPath = this.options.statusPath;
    return url.startsWith(statusPath) && (url.length === statusPath.length || url.charCodeAt(statusPath.length) === 0x3f /* ? */);
  }

  /** @internal Resolves a target; {@link lastStats} then holds a static file's stat until the next call. */
  resolveSync(url: string): Resolution {
    return resolveRequestSync(url, this.resolveConfig, this.scratch);
  }

  /** @internal The stat the last {@link resolveSync} made of a static file. */
  get lastStats(): Stats | null {
    return this.scratch.stats;
  }

  /** Every request Node's HTTP server parsed (the lean front hands it all that it does not serve itself). */
  private handle(req: IncomingMessage, res: ServerResponse): void {
    const startedAt = Date.now();
    const io = new NodeHttpIo(req, res);
    const url = io.url;
    const host = req.headers.host;
    if (hostCount(req.rawHeaders) > 1) {
      // RFC 9112 §3.2: a server MUST answer 400 (nginx: "client sent duplicate host header").
      this.sendError(io, 400, 'Bad Request', 'The request has more than one Host header.');
      return;
    }
    if (!this.hostAllowed(host)) {
      this.sendError(io, 421, 'Misdirected Request', `The Host header "${host ?? ''}" is not allowed here.`, [
        'The pool answers only localhost, 127.0.0.1 and [::1] (and names you add), which protects against DNS rebinding.',
      ]);
      return;
    }
    if (req.method === 'TRACE' || req.method === 'TRACK' || req.method === 'CONNECT') {
      this.sendError(io, 405, 'Method Not Allowed', `${req.method} is not supported.`);
      return;
    }
    if (this.isStatusPath(url)) {
      this.sendStatus(io);
      return;
    }
    let resolution: Resolution;
    try {
      resolution = this.resolveSync(url);
    } catch (error) {
      this.sendError(io, 500, 'Internal Server Error', `Cannot resolve ${url}: ${(error as Error).message}`);
      return;
    }
    switch (resolution.kind) {
      case 'static':
        // The stat resolve just made (scratch is only valid until the next resolve).
        serveStatic(req, res, resolution.filePath, { stats: this.scratch.stats ?? undefined });
        if (this.listeners.size > 0) res.once('finish', () => this.logRequest(io, startedAt, null, null));
        return;
      case 'script':
        this.runScript(io, resolution, startedAt);
        return;
      case 'redirect':
        io.writeHead(301, undefined, ['Location', resolution.location, 'Content-Length', '0']);
        io.end();
        return;
      case 'not-found':
        this.sendError(io, 404, 'Not Found', `Nothing at ${url} in the document root.`);
        return;
      case 'forbidden':
        this.sendError(io, 403, 'Forbidden', resolution.reason);
        return;
      case 'bad-request':
        this.sendError(io, 400, 'Bad Request', resolution.reason);
        return;
    }
  }

  /** @internal Runs a PHP script for the request on a leased worker. */
  runScript(io: HttpIo, script: Extract<Resolution, { kind: 'script' }>, startedAt: number): void {
    new PhpExchange(this, io, script, startedAt, this.nextExchangeId++).run();
  }

  /** @internal */
  get cgiServerInfo(): ServerInfo {
    return this.serverInfo;
  }

  /** @internal An error page, or a cut connection if the response has already begun. */
  sendError(io: HttpIo, status: number, title: string, detail: string, hints?: string[], extraHeaders?: Record<string, string>): void {
    if (io.headersSent) {
      io.cut();
      return;
    }
    const page = errorPage(status, title, detail, hints);
    const headers = ['Content-Type', page.contentType, 'Content-Length', String(Buffer.byteLength(page.body)), 'Cache-Control', 'no-store'];
    if (extraHeaders) for (const name of Object.keys(extraHeaders)) headers.push(name, extraHeaders[name] as string);
    io.writeHead(status, undefined, headers);
    io.end(page.body);
  }

  /** @internal */
  logRequest(io: HttpIo, startedAt: number, workerId: string | null, leaseId: string | null, bytes = 0): void {
    if (this.listeners.size === 0) return;
    this.emit({ type: 'request', method: io.method, uri: io.url, status: io.statusCode, durationMs: Date.now() - startedAt, workerId, leaseId, bytes });
  }

  private sendStatus(io: HttpIo): void {
    const body = JSON.stringify({ ...this.pool.snapshot(), gateway: { documentRoot: this.options.documentRoot, port: this.serverInfo.serverPort } });
    io.writeHead(200, undefined, ['Content-Type', 'application/json', 'Cache-Control', 'no-store', 'Content-Length', String(Buffer.byteLength(body))]);
    io.end(body);
  }
}

/** Hop-by-hop header names have these lengths: a cheap test before lower-casing. */
function maybeHopByHop(name: string): boolean {
  const n = name.length;
  return (n === 2 || n === 7 || n === 10 || n === 16 || n === 17) && HOP_BY_HOP.has(name.toLowerCase());
}

/**
 * One PHP request from the HTTP side to a worker and back. It is the lease's
 * holder and the FastCGI response handler at once, so the hot path allocates
 * one object per request instead of a closure per callback.
 *
 * The common case runs synchronously from the HTTP request to the FastCGI
 * write: no body to wait for, an idle worker (pool.tryAcquire) and its kept
 * connection. Promises and closures appear only on the
 * slow paths (a body to receive, a wait in the queue, a new connection).
 */
class PhpExchange implements LeaseHolder, ResponseHandler, HttpIoClient {
  private lease: Lease | null = null;
  private connection: FastCgiConnection | null = null;
  private body: RequestBody | null = null;
  private params: ParamList | null = null;
  private readonly parser = new CgiHeaderParser();
  private headersDone = false;
  private fcgiEnded = false;
  private finished = false;
  private bytes = 0;
  private responseClosed = false;
  /** The client left while the script ran: waiting (up to abortGraceMs) for it to end. */
  private abandonTimer: NodeJS.Timeout | null = null;
  /** Waiting in the pool's queue. */
  private queued = false;
  private attempt = 0;

  constructor(
    private readonly gateway: Gateway,
    private readonly io: HttpIo,
    private readonly script: Extract<Resolution, { kind: 'script' }>,
    private readonly startedAt: number,
    private readonly id: number,
  ) {
    io.attach(this);
  }

  /** Who holds the lease, for snapshots and findings (built only when asked). */
  get description(): string {
    const who = `http ${this.io.remoteAddress || '?'}:${this.io.remotePort || '?'} #${this.id}`;
    return this.abandonTimer === null ? who : `${who} (client gone; letting the script finish)`;
  }

  run(): void {
    const { io, gateway } = this;
    const empty = io.bodyIfReady();
    if (empty !== null) {
      this.body = empty;
      this.prepare();
      return;
    }
    io.receiveBody({
      maxBytes: gateway.options.maxBodyBytes,
      memoryThreshold: gateway.options.bodyMemoryThreshold,
      tempDir: gateway.options.tempDir,
      idleTimeoutMs: gateway.options.bodyIdleTimeoutMs,
    }).then(
      (body) => {
        this.body = body;
        // The client may have left while the body was on its way.
        if (this.finished) void body.dispose();
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
        this.gateway.sendError(this.io, 431, 'Request Header Fields Too Large', `${oversized} is larger than one FastCGI record can carry (65535 bytes), so PHP could never receive it.`);
        return;
      }
      this.params = params;
    }
    this.acquire();
  }

  private buildParams(): ParamList {
    const body = this.body as RequestBody;
    return buildCgiParams(this.io, this.script, this.gateway.cgiServerInfo, { contentLength: body.length > 0 || this.io.declaresBody ? body.length : null });
  }

  private acquire(): void {
    if (this.finished) return;
    const { io, gateway } = this;
    const info: LeaseRequestInfo = { method: io.method, uri: io.url, scriptFilename: this.script.scriptFilename, clientAddress: io.remoteAddress };
    const lease = gateway.pool.tryAcquire(info, this);
    if (lease !== null) {
      this.leased(lease);
      return;
    }
    // No idle worker: queue (or learn why not) the slow way. A client that
    // leaves while queued gives its place up through pool.withdraw(this),
    // which spares an AbortController (~3 µs on Node 20) per queued request.
    this.queued = true;
    gateway.pool.acquire(info, this).then(
      (queued) => {
        this.queued = false;
        this.leased(queued);
      },
      (error: unknown) => {
        this.queued = false;
        this.failAcquire(error);
      },
    );
  }

  private leased(lease: Lease): void {
    this.lease = lease;
    if (this.finished) {
      // The client left while we waited.
      this.releaseLease('ok');
      return;
    }
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
    this.gateway.pool.release(lease, 'worker-died');
    if (this.finished) return;
    if (this.attempt++ < 1) {
      this.acquire();
      return;
    }
    this.finish();
    this.gateway.sendError(this.io, 502, 'Bad Gateway', `Cannot connect to worker ${lease.workerId} (pid ${lease.workerPid ?? '?'}): ${(error as Error).message}`);
  }

  private connected(lease: Lease, connection: FastCgiConnection): void {
    if (this.lease !== lease) return; // revoked or released meanwhile
    this.connection = connection;
    if (this.finished) {
      // The client left while we connected.
      this.releaseLease('ok');
      return;
    }
    const { io, gateway } = this;
    const body = this.body as RequestBody;
    // The body, when it is in memory (always for a GET), goes out in the same
    // socket write as BEGIN_REQUEST and PARAMS: one syscall per request.
    const stdin = body.buffer?.();
    try {
      // Params are byte strings (see utf8AsLatin1): latin1 sends each as one byte.
      this.params ??= this.buildParams();
      connection.beginRequest(this.params, this, { paramEncoding: 'latin1', stdin });
    } catch (error) {
      this.releaseLease(error instanceof ParamTooLargeError ? 'ok' : 'error');
      this.finish();
      if (error instanceof ParamTooLargeError) {
        gateway.sendError(io, 431, 'Request Header Fields Too Large', error.message);
      } else {
        gateway.sendError(io, 502, 'Bad Gateway', `Cannot send the request to the worker: ${(error as Error).message}`);
      }
      return;
    }
    if (stdin === undefined) connection.pipeStdin(body.open()).catch(() => undefined);
  }

  // ---- ResponseHandler: what the worker sends back

  onStdout(chunk: Buffer): void {
    if (this.finished) return;
    if (!this.headersDone) {
      this.lease?.markFirstByte();
      let result;
      try {
        result = this.parser.push(chunk);
      } catch (error) {
        this.badResponse((error as Error).message);
        return;
      }
      if (!result.done) return;
      this.headersDone = true;
      const headers = result.headers;
      const flat: string[] = [];
      for (let i = 0; i < headers.length; i++) {
        const header = headers[i] as [string, string];
        if (maybeHopByHop(header[0])) continue;
        flat.push(header[0], header[1]);
      }
      this.io.writeHead(result.status, result.statusText, flat);
      chunk = result.bodyStart;
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
    this.gateway.emit({ type: 'php-stderr', workerId: lease.workerId, leaseId: lease.id, scriptFilename: this.script.scriptFilename, method: this.io.method, uri: this.io.url, text: chunk.toString('utf8') });
  }

  onEnd(): void {
    this.fcgiEnded = true;
    if (this.finished) {
      // Also the end of an abandoned script within its grace period: the
      // worker is back in accept() and can serve the next request.
      this.endAbandon();
      this.releaseLease('ok');
      return;
    }
    if (!this.headersDone) {
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
    this.io.end();
    this.gateway.logRequest(this.io, this.startedAt, lease?.workerId ?? null, lease?.id ?? null, this.bytes);
  }

  onError(error: FastCgiConnectionError): void {
    const lease = this.lease;
    if (!lease || this.finished) {
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
      if (this.finished) return;
      this.finish();
      const how = exit ? describeExit(exit) : `closed its connection (${error.message})`;
      this.gateway.sendError(this.io, 502, 'Bad Gateway', `Worker ${lease.workerId} (pid ${lease.workerPid ?? '?'}) ${how} while running ${this.script.scriptName}.`, [
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
    if (this.finished) return;
    this.finish();
    const { io, gateway } = this;
    const who = lease ? `Worker ${lease.workerId} (pid ${lease.workerPid ?? '?'})` : 'The worker';
    switch (revocation.kind) {
      case 'busy-timeout':
        gateway.sendError(io, 504, 'Gateway Timeout', `${who} did not finish ${this.script.scriptName} within the busy timeout of ${revocation.timeoutMs / 1000} s; it was killed and replaced.`, [
          'Raise the busy timeout (--busy-timeout) for long requests, or look for an endless loop or a blocking call.',
        ]);
        return;
      case 'worker-exited':
        gateway.sendError(io, 502, 'Bad Gateway', `${who} ${describeExit(revocation.exit)} while running ${this.script.scriptName}.`);
        return;
      case 'worker-retired':
        gateway.sendError(io, 502, 'Bad Gateway', `${who} was stopped (${revocation.reason}) while running ${this.script.scriptName}.`);
        return;
      case 'pool-stopping':
        gateway.sendError(io, 503, 'Service Unavailable', 'The pool is stopping.', undefined, { 'Retry-After': '1' });
        return;
    }
  }

  /** The exchange is over once its response has closed, completed or cut. */
  isActive(): boolean {
    return !this.responseClosed;
  }

  // ---- helpers

  /** The response closed: completed, cut, or the client left. */
  onClientClose(): void {
    if (this.io.completed || this.abandonTimer !== null) {
      this.responseClosed = true;
      return;
    }
    // The client went away before its response was complete.
    const wasFinished = this.finished;
    this.finished = true;
    if (this.queued) this.gateway.pool.withdraw(this);
    if (this.lease && !this.fcgiEnded) {
      const grace = this.gateway.options.abortGraceMs;
      if (this.connection !== null && grace > 0) {
        // The script is running. Most end within moments: let it, discard
        // its output (finished is set), and keep the warm worker. The
        // exchange stays the active holder meanwhile, so the lists show the
        // worker busy, which it is.
        this.abandonTimer = setTimeout(abandonExpired, grace, this);
        this.lease.holderChanged();
        return;
      }
      this.responseClosed = true;
      this.recycleAbandoned();
      return;
    }
    this.responseClosed = true;
    if (!wasFinished) void this.body?.dispose();
  }

  /** @internal The script outlived the grace period: recycle its worker. */
  abandonExpired(): void {
    this.abandonTimer = null;
    this.responseClosed = true;
    if (this.lease && !this.fcgiEnded) this.recycleAbandoned();
  }

  private recycleAbandoned(): void {
    // Release first: the pool recycles the worker gracefully, and the
    // connection error that destroy() raises then finds no lease to end.
    this.releaseLease('client-abort');
    this.connection?.destroy();
  }

  private endAbandon(): void {
    if (this.abandonTimer === null) return;
    clearTimeout(this.abandonTimer);
    this.abandonTimer = null;
    this.responseClosed = true;
  }

  private releaseLease(outcome: 'ok' | 'client-abort' | 'worker-died' | 'error'): void {
    const lease = this.lease;
    if (!lease) return;
    this.lease = null;
    this.gateway.pool.release(lease, outcome);
    void this.body?.dispose();
  }

  private finish(): void {
    this.finished = true;
    void this.body?.dispose();
  }

  private badResponse(detail: string): void {
    const lease = this.lease;
    if (lease) {
      this.connection?.destroy();
      this.releaseLease('error');
    }
    if (this.finished && this.io.headersSent) return;
    this.finish();
    this.gateway.sendError(this.io, 502, 'Bad Gateway', `Invalid response from the worker: ${detail}`);
  }

  private failBody(error: unknown): void {
    this.finish();
    const { io, gateway } = this;
    if (error instanceof BodyTooLargeError) {
      gateway.sendError(io, 413, 'Content Too Large', error.message, ['Raise the limit with --max-body if this upload is expected.'], { Connection: 'close' });
    } else if (error instanceof BodyTimeoutError) {
      gateway.sendError(io, 408, 'Request Timeout', error.message, undefined, { Connection: 'close' });
    } else if (error instanceof BodyAbortedError) {
      io.cut();
    } else {
      gateway.sendError(io, 500, 'Internal Server Error', `Cannot read the request body: ${(error as Error).message}`);
    }
  }

  private failAcquire(error: unknown): void {
    const wasFinished = this.finished;
    this.finish();
    if (wasFinished) return;
    const { io, gateway } = this;
    if (error instanceof PoolSaturatedError) {
      const retryAfter = String(Math.max(1, Math.ceil(gateway.pool.options.queueTimeoutMs / 10_000)));
      gateway.sendError(io, 503, 'Service Unavailable', `The pool is saturated: ${error.message}.`, [
        'Raise --max-workers, or find what keeps the workers busy in the status page.',
      ], { 'Retry-After': retryAfter });
    } else if (error instanceof PoolUnavailableError) {
      gateway.sendError(io, 503, 'Service Unavailable', error.message, undefined, { 'Retry-After': '5' });
    } else {
      gateway.sendError(io, 500, 'Internal Server Error', (error as Error).message);
    }
  }
}

/** Timer callback without a closure per request. */
function abandonExpired(exchange: PhpExchange): void {
  exchange.abandonExpired();
}

/** How many Host headers the request carried. */
function hostCount(rawHeaders: readonly string[]): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length === 4 && name.toLowerCase() === 'host') count++;
  }
  return count;
}

/**
 * Whether any param could be too long for one FastCGI record: a header or
 * the target (REQUEST_URI, QUERY_STRING and the paths derive from it) of
 * more than ~21 800 characters (UTF-8 needs at most 3 bytes per character).
 */
function mayHaveOversizedParam(io: HttpIo): boolean {
  const limit = (65535 - 8) / 3 - 64;
  if (io.url.length > limit) return true;
  const raw = io.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).length + (raw[i + 1] as string).length > limit) return true;
  }
  return false;
}

/** Names the first param whose pair cannot fit one FastCGI record, if any. */
function findOversizedParam(params: ReadonlyArray<readonly [string, string]>): string | null {
  for (const [name, value] of params) {
    // Cheap test first: UTF-8 needs at most 3 bytes per UTF-16 unit.
    if ((name.length + value.length) * 3 + 8 <= 65535) continue;
    if (Buffer.byteLength(name) + Buffer.byteLength(value) + 8 > 65535) return name;
  }
  return null;
}
