import type { Socket } from 'node:net';
import { parseHead, type LeanHead } from './leanParse';
import { dateHeaderLine, LeanRequest, type LeanChannel } from './leanResponse';
import { isHtmlFile } from './liveStatic';
import type { ScriptRunner } from './phpExchange';
import { emptyBody, memoryBody, type RequestBody } from './requestBody';
import type { RequestLog } from './requestLog';
import type { Router } from './router';
import { isNotModified, isRevalidation } from './notModified';
import { cachedStaticFile, staticRevalidation, type CachedStaticResponse, type StaticRevalidation } from './staticFiles';

/** Settings of the lean front. */
export interface LeanHttpOptions {
  /** An idle keep-alive connection is closed after this long (Node's server: 5 s). */
  keepAliveTimeoutMs: number;
  /** Bodies up to this size stay in memory; a POST with a larger one goes to Node's server. */
  bodyMemoryThreshold: number;
  /** Largest request body: a larger one goes to Node's server (which answers 413). */
  maxBodyBytes: number;
}

/** Longest request head the lean front parses itself; longer ones go to Node's parser (which allows 128 KiB). */
const MAX_LEAN_HEAD = 32 * 1024;
/** Bytes a client may pipeline behind a request in progress before we stop reading. */
const MAX_BUFFERED = 256 * 1024;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
/** A connection we ended is cut if the client has not closed its side by then. */
const HALF_OPEN_GRACE_MS = 1_000;

/**
 * The lean HTTP/1.1 front. Node's HTTP server costs ~45 µs of CPU per
 * request here, most of it building IncomingMessage and ServerResponse
 * streams; a PHP request through the pool needs only the request line, a
 * few headers and one write back. So every connection starts here, and
 * a request that is complete in the bytes at hand, simple (GET, HEAD or a
 * POST with a Content-Length body up to the in-memory limit; HTTP/1.1; no
 * Transfer-Encoding, Expect, Upgrade or `Connection: close`; strictly
 * well-formed) and routed to a PHP script or a small cached static file, or
 * a static file's revalidation (If-None-Match / If-Modified-Since, which a
 * browser sends for every asset on every reload: we send max-age=0), is
 * served directly. Anything else — the first request that is not — hands
 * the connection, with every unparsed byte, to Node's HTTP server for good:
 * errors, redirects, status JSON, uploads, chunked bodies, ranges and every
 * malformed or hostile request keep their one, well-tested path.
 *
 * Responses carry the headers Node's server would write (Date,
 * `Connection: keep-alive`, `Keep-Alive: timeout=5`), with Content-Length
 * when the whole body is known before the first byte leaves (the usual
 * PHP page: headers, body and END_REQUEST arrive in one read) and
 * chunked encoding when it streams.
 */
export class LeanHttpFront {
  private readonly connections = new Set<LeanConnection>();
  /**
   * Every socket this front has and has not handed over, until it closes:
   * one it has ended may still hold a response its client does not read,
   * and only destroying it lets a stop finish.
   */
  private readonly sockets = new Set<Socket>();
  private sweepTimer: NodeJS.Timeout | null = null;
  /** Set by {@link closeIdle}: responses end their connection. */
  closing = false;
  /** The end of a response head on a kept connection, with the timeout Node's server would name. */
  readonly keepAliveLines: string;

  constructor(
    readonly router: Router,
    readonly scripts: ScriptRunner,
    readonly log: RequestLog,
    /** Gives a connection, with the bytes not yet parsed, to Node's HTTP server. */
    private readonly handOver: (socket: Socket) => void,
    readonly options: LeanHttpOptions,
  ) {
    this.keepAliveLines = `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(options.keepAliveTimeoutMs / 1000)}\r\n`;
  }

  /** A new client connection. */
  accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    this.connections.add(new LeanConnection(this, socket));
    this.sweepTimer ??= setInterval(() => this.sweep(), 1_000).unref();
  }

  /**
   * Stops keeping connections alive: idle ones are cut now (as Node's
   * closeIdleConnections does: no response is in flight on them), busy ones
   * close after their response.
   */
  closeIdle(): void {
    this.closing = true;
    for (const connection of this.connections) if (connection.idle) connection.destroy();
    this.stopSweeping();
  }

  /** Cuts every connection still served here, and every one ended but not yet closed (its client does not read). */
  destroyAll(): void {
    this.closing = true;
    for (const connection of this.connections) connection.destroy();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    this.stopSweeping();
  }

  /** The connection closed or went to Node's server. */
  forget(connection: LeanConnection): void {
    this.connections.delete(connection);
  }

  /** Gives the connection, with what it had read but not parsed, to Node's server. */
  transfer(connection: LeanConnection, socket: Socket, unparsed: Buffer | null): void {
    this.connections.delete(connection);
    this.sockets.delete(socket);
    this.handOver(socket);
    // Node's server reads the socket's handle directly from now on; what we
    // had read but not parsed goes to it as if just received.
    if (unparsed !== null && unparsed.length > 0) socket.emit('data', unparsed);
  }

  private sweep(): void {
    const limit = Date.now() - this.options.keepAliveTimeoutMs;
    for (const connection of this.connections) if (connection.idle && connection.idleSince < limit) connection.close();
  }

  private stopSweeping(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
  }
}

/** The socket listeners are shared functions; the connection hangs off the socket. */
const CONNECTION = Symbol('fastcgi-pool.leanConnection');
type LeanSocket = Socket & { [CONNECTION]?: LeanConnection };

function onSocketData(this: LeanSocket, chunk: Buffer): void {
  this[CONNECTION]?.onData(chunk);
}
function onSocketDrain(this: LeanSocket): void {
  this[CONNECTION]?.current?.drained();
}
function onSocketEnd(this: LeanSocket): void {
  this[CONNECTION]?.onEnd();
}
function onSocketClose(this: LeanSocket): void {
  this[CONNECTION]?.onClose();
}
function onSocketError(this: LeanSocket): void {
  // 'close' follows; a reset client is not our error.
}
function onHalfOpenTimeout(this: Socket): void {
  this.destroy();
}
function processLater(connection: LeanConnection): void {
  connection.process();
}

/** One client connection while the lean front serves it. */
class LeanConnection implements LeanChannel {
  /** Bytes received and not parsed yet. */
  private pending: Buffer | null = null;
  /** The request being answered; the next one waits in `pending`. */
  current: LeanRequest | null = null;
  idleSince = Date.now();
  private paused = false;
  private gone = false;

  constructor(
    private readonly front: LeanHttpFront,
    readonly socket: Socket,
  ) {
    const lean = socket as LeanSocket;
    lean[CONNECTION] = this;
    socket.on('data', onSocketData);
    socket.on('drain', onSocketDrain);
    socket.on('end', onSocketEnd);
    socket.on('close', onSocketClose);
    socket.on('error', onSocketError);
  }

  get idle(): boolean {
    return this.current === null && !this.gone;
  }

  onData(chunk: Buffer): void {
    this.pending = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    if (this.current !== null) {
      if (this.pending.length > MAX_BUFFERED && !this.paused) {
        this.paused = true;
        this.socket.pause();
      }
      return;
    }
    this.process();
  }

  onEnd(): void {
    // The client will send nothing more. Node's server (httpAllowHalfOpen
    // false) takes that as the end of the connection: requests in progress
    // are aborted and the socket is ended. So here.
    this.pending = null;
    const request = this.current;
    this.current = null;
    if (request !== null && !request.completed) request.clientLeft();
    this.close();
  }

  onClose(): void {
    this.gone = true;
    this.front.forget(this);
    const request = this.current;
    this.current = null;
    if (request !== null && !request.completed) request.clientLeft();
  }

  /**
   * Ends the connection gracefully (FIN). It stays in the front's set until
   * the socket closes, so destroyAll() still reaches it: a client that never
   * answers the FIN (Chromium keeps an idle socket half-open) must not keep
   * the port, nor the server's close(), waiting.
   */
  close(): void {
    if (this.gone) return;
    this.gone = true;
    this.socket.end();
    this.socket.setTimeout(HALF_OPEN_GRACE_MS, onHalfOpenTimeout);
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Serves the complete requests in `pending`, one at a time, or hands the connection over. */
  process(): void {
    while (this.current === null && !this.gone) {
      const bytes = this.pending;
      if (bytes === null) return;
      if (!this.serveOne(bytes)) return;
    }
  }

  /** Parses and serves the request at the start of `bytes`; false when the connection left us. */
  private serveOne(bytes: Buffer): boolean {
    const headEnd = bytes.indexOf(CRLFCRLF);
    if (headEnd < 0 || headEnd > MAX_LEAN_HEAD) return this.handOver(bytes);
    const head = parseHead(bytes.toString('latin1', 0, headEnd));
    if (head === null) return this.handOver(bytes);
    const bodyStart = headEnd + 4;
    const length = head.contentLength;
    let body: RequestBody;
    const front = this.front;
    if (length > 0) {
      const { bodyMemoryThreshold, maxBodyBytes } = front.options;
      if (head.method !== 'POST' || length > bodyMemoryThreshold || length > maxBodyBytes) return this.handOver(bytes);
      // The body must be here in full; a body still on its way is Node's job (timeouts, temp files).
      if (bytes.length < bodyStart + length) return this.handOver(bytes);
      body = memoryBody([bytes.subarray(bodyStart, bodyStart + length)], length);
    } else {
      body = emptyBody();
    }
    // A duplicate Host never gets here (parseHead refuses it); refusals, the
    // status JSON, live reload's script and events, redirects and error pages
    // are answered by Node's server.
    const route = front.router.route(head.method, head.url, head.host, false);
    const startedAt = Date.now();
    const end = bodyStart + length;
    if (route.kind === 'script') {
      this.pending = end < bytes.length ? bytes.subarray(end) : null;
      const request = new LeanRequest(this, head, body);
      this.current = request;
      front.scripts.run(request, route, startedAt);
      return true;
    }
    // With live reload on, HTML pages get their tag on Node's path (liveStatic.ts).
    if (route.kind === 'static' && head.method !== 'POST' && !head.conditional && !(front.scripts.live !== null && isHtmlFile(route.filePath))) {
      // A reload revalidates every asset (we send max-age=0): answered here, from the stat resolve made.
      if (isRevalidation(head)) {
        const validators = staticRevalidation(route.filePath, route.stats);
        if (validators !== null && isNotModified(head, validators)) {
          this.pending = end < bytes.length ? bytes.subarray(end) : null;
          this.notModified(head, body, validators, startedAt);
          return true;
        }
      }
      // A stale validator gets the whole file, as a plain GET does.
      const file = cachedStaticFile(route.filePath, route.stats);
      if (file !== null) {
        this.pending = end < bytes.length ? bytes.subarray(end) : null;
        if (!front.log.wanted) {
          // The common case, with nothing to log: the prepared head, the Date, the body, one writev.
          const socket = this.socket;
          socket.cork();
          socket.write(`${staticHead(file)}${dateHeaderLine()}${this.connectionLines()}\r\n`, 'latin1');
          if (head.method !== 'HEAD') socket.write(file.body);
          socket.uncork();
          this.idleSince = Date.now();
          if (this.closing) this.close();
          return true;
        }
        const request = new LeanRequest(this, head, body);
        this.current = request;
        request.writeHead(200, undefined, file.headers);
        request.end(file.body);
        front.log.request(request, startedAt, null, null, head.method === 'HEAD' ? 0 : file.body.length);
        return true;
      }
    }
    return this.handOver(bytes);
  }

  /** Answers 304 Not Modified with the file's validators and no body. */
  private notModified(head: LeanHead, body: RequestBody, validators: StaticRevalidation, startedAt: number): void {
    const front = this.front;
    if (!front.log.wanted) {
      this.socket.write(`${notModifiedHead(validators)}${dateHeaderLine()}${this.connectionLines()}\r\n`, 'latin1');
      this.idleSince = Date.now();
      if (this.closing) this.close();
      return;
    }
    const request = new LeanRequest(this, head, body);
    this.current = request;
    request.writeHead(304, undefined, validators.headers);
    request.end();
    front.log.request(request, startedAt, null, null, 0);
  }

  /** The Connection header(s) of a response: `close` once the gateway is closing. */
  connectionLines(closeAfter = false): string {
    return closeAfter || this.front.closing ? 'Connection: close\r\n' : this.front.keepAliveLines;
  }

  /** Whether the response being written is the connection's last. */
  get closing(): boolean {
    return this.front.closing;
  }

  private handOver(unparsed: Buffer): false {
    const socket = this.socket;
    socket.off('data', onSocketData);
    socket.off('drain', onSocketDrain);
    socket.off('end', onSocketEnd);
    socket.off('close', onSocketClose);
    socket.off('error', onSocketError);
    (socket as LeanSocket)[CONNECTION] = undefined;
    this.gone = true;
    this.pending = null;
    if (this.paused) socket.resume();
    this.front.transfer(this, socket, unparsed);
    return false;
  }

  /** The current request's response is complete. */
  responseDone(request: LeanRequest, closeAfter: boolean): void {
    if (this.current !== request) return;
    this.current = null;
    this.idleSince = Date.now();
    if (closeAfter || this.closing) {
      this.close();
      return;
    }
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
    // The next pipelined request, once the current call stack (the
    // worker's END_REQUEST) has unwound.
    if (this.pending !== null) process.nextTick(processLater, this);
  }
}

/** Status line and headers of a cached static file's 200, built once per cache entry. */
const staticHeads = new WeakMap<CachedStaticResponse, string>();
function staticHead(file: CachedStaticResponse): string {
  let head = staticHeads.get(file);
  if (head === undefined) {
    head = responseHead('HTTP/1.1 200 OK', file.headers);
    staticHeads.set(file, head);
  }
  return head;
}

/** A 304's status line and the file's headers (the Date and Connection lines follow). */
function notModifiedHead(validators: StaticRevalidation): string {
  return responseHead('HTTP/1.1 304 Not Modified', validators.headers);
}

/** A status line and flat `[name, value, …]` headers as the lines of a response head, each ending in CRLF. */
function responseHead(statusLine: string, flatHeaders: readonly string[]): string {
  let head = `${statusLine}\r\n`;
  for (let i = 0; i < flatHeaders.length; i += 2) head += `${flatHeaders[i] as string}: ${flatHeaders[i + 1] as string}\r\n`;
  return head;
}
