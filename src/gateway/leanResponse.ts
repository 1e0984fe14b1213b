import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { HttpIo, HttpIoClient } from './httpIo';
import type { LeanHead } from './leanParse';
import type { BodyLimits, RequestBody } from './requestBody';

/** What a lean response needs from the connection it is written to. */
export interface LeanChannel {
  readonly socket: Socket;
  /** The gateway is closing: every response is its connection's last. */
  readonly closing: boolean;
  /** The Connection header(s) of a response. */
  connectionLines(closeAfter: boolean): string;
  /** The response is complete; `closeAfter`: end the connection. */
  responseDone(request: LeanRequest, closeAfter: boolean): void;
  destroy(): void;
}

const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

/** The Date header, rebuilt once a second (as Node's server caches it). */
let dateSecond = -1;
let dateLine = '';
export function dateHeaderLine(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateLine = `Date: ${new Date(now).toUTCString()}\r\n`;
  }
  return dateLine;
}

/** Header values Node refuses to write (it would throw); ours are checked the same way. */
const INVALID_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const INVALID_HEADER_NAME = /[^!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/** Flushes a response's queued output once the current call stack is done. */
function flushLater(request: LeanRequest): void {
  request.flush();
}

/**
 * One request served by the lean front: the {@link HttpIo} that the PHP
 * exchange and the request log see. Output is queued until the end of the current tick: a
 * response that ends within it (headers, body and END_REQUEST arrive in one
 * read) leaves as one write with a Content-Length; one that goes on streams
 * with chunked encoding, with backpressure from the socket.
 */
export class LeanRequest implements HttpIo {
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
    private readonly connection: LeanChannel,
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

  /** The queued head and body go out; the response goes on with chunks. */
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

  /** The socket drained. */
  drained(): void {
    this.client?.resumeOutput();
  }

  /** The client closed the connection before the response was complete. */
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
