import type { Stats } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { HttpIo, HttpIoClient } from './httpIo';
import { emptyBody, memoryBody, type BodyLimits, type RequestBody } from './requestBody';
import type { Resolution } from './resolve';
import { cachedStaticFile, type CachedStaticResponse } from './staticFiles';

/**
 * What the lean front needs from the gateway: the same checks and routing
 * that Node's HTTP path uses, so the two fronts cannot disagree.
 */
export interface LeanRoutes {
  hostAllowed(host: string | undefined): boolean;
  isStatusPath(url: string): boolean;
  resolveSync(url: string): Resolution;
  readonly lastStats: Stats | null;
  runScript(io: HttpIo, script: Extract<Resolution, { kind: 'script' }>, startedAt: number): void;
  /** Request events are wanted (someone listens). */
  readonly logsRequests: boolean;
  logRequest(io: HttpIo, startedAt: number, workerId: string | null, leaseId: string | null, bytes?: number): void;
  readonly options: { readonly bodyMemoryThreshold: number; readonly maxBodyBytes: number };
}

/** Settings of the lean front. */
export interface LeanHttpOptions {
  /** An idle keep-alive connection is closed after this long (Node's server: 5 s). */
  keepAliveTimeoutMs: number;
}

/** Longest request head the lean front parses itself; longer ones go to Node's parser (which allows 128 KiB). */
const MAX_LEAN_HEAD = 32 * 1024;
/** More header lines than this: Node's parser decides. */
const MAX_LEAN_HEADERS = 100;
/** Bytes a client may pipeline behind a request in progress before we stop reading. */
const MAX_BUFFERED = 256 * 1024;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

/**
 * The lean HTTP/1.1 front. Node's HTTP server costs ~45 µs of CPU per
 * request here, most of it building IncomingMessage and ServerResponse
 * streams; a PHP request through the pool needs only the request line, a
 * few headers and one write back. So every connection starts here, and
 * a request that is complete in the bytes at hand, simple (GET, HEAD or a
 * POST with a Content-Length body up to the in-memory limit; HTTP/1.1; no
 * Transfer-Encoding, Expect, Upgrade or `Connection: close`; strictly
 * well-formed) and routed to a PHP script or a small cached static file is
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
  private sweepTimer: NodeJS.Timeout | null = null;
  /** Set by {@link closeIdle}: responses end their connection. */
  closing = false;
  /** The end of a response head on a kept connection, with the timeout Node's server would name. */
  readonly keepAliveLines: string;

  constructor(
    /** @internal */ readonly routes: LeanRoutes,
    /** Gives a connection, with the bytes not yet parsed, to Node's HTTP server. */
    private readonly handOver: (socket: Socket) => void,
    private readonly options: LeanHttpOptions,
  ) {
    this.keepAliveLines = `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(options.keepAliveTimeoutMs / 1000)}\r\n`;
  }

  /** A new client connection. */
  accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.connections.add(new LeanConnection(this, socket));
    this.sweepTimer ??= setInterval(() => this.sweep(), 1_000).unref();
  }

  /** Stops keeping connections alive: idle ones close now, busy ones after their response. */
  closeIdle(): void {
    this.closing = true;
    for (const connection of this.connections) if (connection.idle) connection.close();
    this.stopSweeping();
  }

  /** Cuts every connection still served here. */
  destroyAll(): void {
    this.closing = true;
    for (const connection of this.connections) connection.destroy();
    this.stopSweeping();
  }

  /** @internal The connection closed or went to Node's server. */
  forget(connection: LeanConnection): void {
    this.connections.delete(connection);
  }

  /** @internal */
  transfer(connection: LeanConnection, socket: Socket, unparsed: Buffer | null): void {
    this.connections.delete(connection);
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
function processLater(connection: LeanConnection): void {
  connection.process();
}

/** One client connection while the lean front serves it. */
class LeanConnection {
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

  close(): void {
    if (this.gone) return;
    this.gone = true;
    this.front.forget(this);
    this.socket.end();
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
    if (length > 0) {
      const { bodyMemoryThreshold, maxBodyBytes } = this.front.routes.options;
      if (head.method !== 'POST' || length > bodyMemoryThreshold || length > maxBodyBytes) return this.handOver(bytes);
      // The body must be here in full; a body still on its way is Node's job (timeouts, temp files).
      if (bytes.length < bodyStart + length) return this.handOver(bytes);
      body = memoryBody([bytes.subarray(bodyStart, bodyStart + length)], length);
    } else {
      body = emptyBody();
    }
    const routes = this.front.routes;
    if (!routes.hostAllowed(head.host) || routes.isStatusPath(head.url)) return this.handOver(bytes);
    let resolution: Resolution;
    try {
      resolution = routes.resolveSync(head.url);
    } catch {
      return this.handOver(bytes);
    }
    const startedAt = Date.now();
    const end = bodyStart + length;
    if (resolution.kind === 'script') {
      this.pending = end < bytes.length ? bytes.subarray(end) : null;
      const request = new LeanRequest(this, head, body);
      this.current = request;
      routes.runScript(request, resolution, startedAt);
      return true;
    }
    if (resolution.kind === 'static' && head.method !== 'POST' && !head.conditional) {
      const file = cachedStaticFile(resolution.filePath, routes.lastStats);
      if (file !== null) {
        this.pending = end < bytes.length ? bytes.subarray(end) : null;
        if (!routes.logsRequests) {
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
        routes.logRequest(request, startedAt, null, null, head.method === 'HEAD' ? 0 : file.body.length);
        return true;
      }
    }
    return this.handOver(bytes);
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

  /** @internal The current request's response is complete. */
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

/** A request head the lean front can serve. */
interface LeanHead {
  method: 'GET' | 'HEAD' | 'POST';
  url: string;
  rawHeaders: string[];
  host: string | undefined;
  /** 0 when absent. */
  contentLength: number;
  declaresBody: boolean;
  /** Range or a conditional header: static files go through send. */
  conditional: boolean;
}

/** Header-name bytes allowed by RFC 9110 (tchar). */
const TOKEN = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TOKEN[c.charCodeAt(0)] = 1;

/**
 * Parses a request head (without its final CRLFCRLF) strictly; null for
 * anything the lean front does not serve or that is not plainly valid, so
 * that Node's parser, with its error answers, decides.
 */
function parseHead(head: string): LeanHead | null {
  let lineEnd = head.indexOf('\r\n');
  if (lineEnd < 0) lineEnd = head.length;
  const sp1 = head.indexOf(' ');
  if (sp1 < 3 || sp1 > 4) return null;
  const method = head.slice(0, sp1);
  if (method !== 'GET' && method !== 'POST' && method !== 'HEAD') return null;
  const sp2 = lineEnd - 9;
  if (sp2 <= sp1 + 1 || head.charCodeAt(sp2) !== 0x20 || !head.startsWith('HTTP/1.1', sp2 + 1)) return null;
  if (head.charCodeAt(sp1 + 1) !== 0x2f /* / */) return null;
  for (let i = sp1 + 1; i < sp2; i++) {
    const c = head.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return null;
  }
  const url = head.slice(sp1 + 1, sp2);

  const rawHeaders: string[] = [];
  let host: string | undefined;
  let contentLength = -1;
  let conditional = false;
  let at = lineEnd + 2;
  while (at < head.length) {
    let end = head.indexOf('\r\n', at);
    if (end < 0) end = head.length;
    const colon = head.indexOf(':', at);
    if (colon <= at || colon > end) return null;
    for (let i = at; i < colon; i++) {
      const c = head.charCodeAt(i);
      if (c >= 128 || TOKEN[c] === 0) return null;
    }
    // The value without surrounding spaces and tabs; no other control bytes (a bare CR or LF, NUL).
    let from = colon + 1;
    let to = end;
    while (from < to && (head.charCodeAt(from) === 0x20 || head.charCodeAt(from) === 0x09)) from++;
    while (to > from && (head.charCodeAt(to - 1) === 0x20 || head.charCodeAt(to - 1) === 0x09)) to--;
    for (let i = from; i < to; i++) {
      const c = head.charCodeAt(i);
      if ((c < 0x20 && c !== 0x09) || c === 0x7f) return null;
    }
    const name = head.slice(at, colon);
    const value = head.slice(from, to);
    rawHeaders.push(name, value);
    if (rawHeaders.length > MAX_LEAN_HEADERS * 2) return null;
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') {
          if (host !== undefined) return null;
          host = value;
        }
        break;
      case 5:
        if (name.toLowerCase() === 'range') conditional = true;
        break;
      case 6:
        if (name.toLowerCase() === 'expect') return null;
        break;
      case 7:
        if (name.toLowerCase() === 'upgrade') return null;
        break;
      case 8:
        if (name.toLowerCase().startsWith('if-')) conditional = true;
        break;
      case 10:
        if (name.toLowerCase() === 'connection') {
          const lower = value.toLowerCase();
          if (lower !== 'keep-alive' && lower !== '') return null;
        }
        break;
      case 13:
      case 17:
      case 19:
        if (name.toLowerCase().startsWith('if-')) conditional = true;
        else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') return null;
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') {
          if (contentLength >= 0 || value.length === 0 || value.length > 15) return null;
          for (let i = 0; i < value.length; i++) {
            const c = value.charCodeAt(i);
            if (c < 0x30 || c > 0x39) return null;
          }
          contentLength = Number(value);
        }
        break;
    }
    at = end + 2;
  }
  return {
    method,
    url,
    rawHeaders,
    host,
    contentLength: contentLength < 0 ? 0 : contentLength,
    declaresBody: contentLength >= 0,
    conditional,
  };
}

/** The Date header, rebuilt once a second (as Node's server caches it). */
let dateSecond = -1;
let dateLine = '';
function dateHeaderLine(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateLine = `Date: ${new Date(now).toUTCString()}\r\n`;
  }
  return dateLine;
}

/** Status line and headers of a cached static file's 200, built once per cache entry. */
const staticHeads = new WeakMap<CachedStaticResponse, string>();
function staticHead(file: CachedStaticResponse): string {
  let head = staticHeads.get(file);
  if (head === undefined) {
    head = 'HTTP/1.1 200 OK\r\n';
    for (let i = 0; i < file.headers.length; i += 2) head += `${file.headers[i] as string}: ${file.headers[i + 1] as string}\r\n`;
    staticHeads.set(file, head);
  }
  return head;
}

/** Header values Node refuses to write (it would throw); ours are checked the same way. */
const INVALID_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const INVALID_HEADER_NAME = /[^!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/** Flushes a response's queued output once the current call stack is done. */
function flushLater(request: LeanRequest): void {
  request.flush();
}

/**
 * One request served by the lean front: the {@link HttpIo} the gateway's
 * handlers use. Output is queued until the end of the current tick: a
 * response that ends within it (headers, body and END_REQUEST arrive in one
 * read) leaves as one write with a Content-Length; one that goes on streams
 * with chunked encoding, with backpressure from the socket.
 */
class LeanRequest implements HttpIo {
  readonly method: string;
  readonly url: string;
  readonly httpVersion = '1.1';
  readonly rawHeaders: readonly string[];
  readonly declaresBody: boolean;
  private client: HttpIoClient | null = null;

  headersSent = false;
  statusCode = 200;
  completed = false;
  private head = '';
  /** Body pieces written before the first flush. */
  private queued: Buffer[] | null = null;
  private queuedBytes = 0;
  private flushScheduled = false;
  /** The head has gone to the socket. */
  private flushed = false;
  private chunked = false;
  private hasBody = true;
  private closeAfter = false;
  private cutOff = false;

  constructor(
    private readonly connection: LeanConnection,
    head: LeanHead,
    private readonly body: RequestBody,
  ) {
    this.method = head.method;
    this.url = head.url;
    this.rawHeaders = head.rawHeaders;
    this.declaresBody = head.declaresBody;
  }

  get remoteAddress(): string {
    return this.connection.socket.remoteAddress ?? '';
  }
  get remotePort(): number {
    return this.connection.socket.remotePort ?? 0;
  }
  bodyIfReady(): RequestBody {
    return this.body;
  }
  receiveBody(_limits: BodyLimits): Promise<RequestBody> {
    return Promise.resolve(this.body);
  }
  attach(client: HttpIoClient): void {
    this.client = client;
  }

  writeHead(status: number, statusText: string | undefined, flatHeaders: readonly string[]): void {
    if (this.headersSent) throw new Error('writeHead called twice');
    this.headersSent = true;
    this.statusCode = status;
    // No body for HEAD, 1xx, 204 and 304 (RFC 9110), and then no framing header either, as Node does.
    this.hasBody = this.method !== 'HEAD' && status >= 200 && status !== 204 && status !== 304;
    let head = `HTTP/1.1 ${status} ${statusText ?? STATUS_CODES[status] ?? 'unknown'}\r\n`;
    let hasDate = false;
    let contentLength = false;
    for (let i = 0; i < flatHeaders.length; i += 2) {
      const name = flatHeaders[i] as string;
      const value = flatHeaders[i + 1] as string;
      if (INVALID_HEADER_NAME.test(name) || INVALID_HEADER_VALUE.test(value)) throw new TypeError(`Invalid character in header "${name}"`);
      switch (name.length) {
        case 4:
          if (name.toLowerCase() === 'date') hasDate = true;
          break;
        case 10:
          // Only the gateway's own error pages send Connection (close).
          if (name.toLowerCase() === 'connection') {
            if (value.toLowerCase() === 'close') this.closeAfter = true;
            continue;
          }
          break;
        case 14:
          if (name.toLowerCase() === 'content-length') contentLength = true;
          break;
      }
      head += `${name}: ${value}\r\n`;
    }
    if (!hasDate) head += dateHeaderLine();
    if (this.connection.closing) this.closeAfter = true;
    head += this.connection.connectionLines(this.closeAfter);
    // Framing is decided at the flush: Content-Length if the body is complete by then, else chunked.
    if (contentLength || !this.hasBody) this.head = head + '\r\n';
    else this.head = head;
    this.chunked = !contentLength && this.hasBody;
    this.scheduleFlush();
  }

  write(chunk: Buffer): boolean {
    if (this.completed || this.cutOff) return true;
    if (!this.hasBody || chunk.length === 0) return true;
    if (!this.flushed) {
      (this.queued ??= []).push(chunk);
      this.queuedBytes += chunk.length;
      return true;
    }
    const socket = this.connection.socket;
    if (!this.chunked) return socket.write(chunk);
    socket.cork();
    socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
    socket.write(chunk);
    const ok = socket.write('\r\n', 'latin1');
    socket.uncork();
    return ok;
  }

  end(last?: Buffer | string): void {
    if (this.completed || this.cutOff) return;
    if (last !== undefined && last.length > 0) this.write(typeof last === 'string' ? Buffer.from(last) : last);
    this.completed = true;
    const socket = this.connection.socket;
    if (!this.flushed) {
      this.flushed = true;
      let head = this.head;
      if (this.chunked) {
        // Everything is here: say how long it is instead of chunking.
        head += `Content-Length: ${this.queuedBytes}\r\n\r\n`;
        this.chunked = false;
      }
      const queued = this.queued;
      if (queued === null) {
        socket.write(head, 'latin1');
      } else {
        socket.cork();
        socket.write(head, 'latin1');
        for (const piece of queued) socket.write(piece);
        socket.uncork();
      }
      this.queued = null;
    } else if (this.chunked) {
      socket.write(LAST_CHUNK);
    }
    this.connection.responseDone(this, this.closeAfter);
    // The exchange learns that its response closed, as 'close' tells it on Node's path.
    this.client?.onClientClose();
  }

  cut(): void {
    if (this.completed || this.cutOff) return;
    // Let out what was queued, so the client sees a broken response rather than nothing.
    if (this.headersSent) this.flush();
    this.cutOff = true;
    this.connection.destroy();
  }

  /** @internal The queued head and body go out; the response goes on with chunks. */
  flush(): void {
    this.flushScheduled = false;
    if (this.flushed || this.completed || this.cutOff) return;
    this.flushed = true;
    const socket = this.connection.socket;
    socket.cork();
    socket.write(this.chunked ? this.head + 'Transfer-Encoding: chunked\r\n\r\n' : this.head, 'latin1');
    const queued = this.queued;
    this.queued = null;
    if (queued !== null) for (const piece of queued) this.write(piece);
    socket.uncork();
  }

  /** @internal The socket drained. */
  drained(): void {
    this.client?.resumeOutput();
  }

  /** @internal The client closed the connection before the response was complete. */
  clientLeft(): void {
    this.cutOff = true;
    this.client?.onClientClose();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(flushLater, this);
  }
}

export type { LeanConnection, LeanRequest };
