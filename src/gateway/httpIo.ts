import type { IncomingMessage, ServerResponse } from 'node:http';
import { emptyBodyIfNone, receiveBody, type BodyLimits, type RequestBody } from './requestBody';

/**
 * One HTTP request and its response as the gateway's handlers see them,
 * whichever front parsed the request: Node's `http` server (every request
 * it gets, through {@link NodeHttpIo}) or the lean front (`leanHttp.ts`,
 * the common simple requests). The handlers never touch a socket, an
 * IncomingMessage or a ServerResponse, so both fronts share one routing,
 * one PHP exchange and one set of error pages.
 */
export interface HttpIo {
  readonly method: string;
  /** The request target as received (origin-form). */
  readonly url: string;
  /** `1.1`, as IncomingMessage.httpVersion. */
  readonly httpVersion: string;
  /** Name/value pairs in arrival order; values are byte strings (latin1), as Node gives them. */
  readonly rawHeaders: readonly string[];
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The request carried Content-Length or Transfer-Encoding (even `Content-Length: 0`). */
  readonly declaresBody: boolean;
  /** The body at once, when there is none to wait for (or the front already has it all); else null. */
  bodyIfReady(): RequestBody | null;
  /** Receives the whole body (only called when {@link bodyIfReady} gave null). */
  receiveBody(limits: BodyLimits): Promise<RequestBody>;
  /** Makes `client` the one told when the response closes or the client drains. */
  attach(client: HttpIoClient): void;

  /** The status line has been written (or is queued to be). */
  readonly headersSent: boolean;
  /** The status of the response written, for the request log. */
  readonly statusCode: number;
  /** The whole response has been handed to the connection. */
  readonly completed: boolean;
  /** Writes the status line and headers (`[name, value, …]`); the front adds Date and framing. */
  writeHead(status: number, statusText: string | undefined, flatHeaders: readonly string[]): void;
  /** Writes body bytes; false when the client is slow: wait for the exchange's resumeOutput(). */
  write(chunk: Buffer): boolean;
  /** Ends the response, with a last piece of body if given (dropped for HEAD, as HTTP wants). */
  end(last?: Buffer | string): void;
  /** The response cannot be completed: lets out what was written, then cuts the connection. */
  cut(): void;
}

/** What an {@link HttpIo} tells the party that owns its response. */
export interface HttpIoClient {
  /** The response closed: completed, cut, or the client left. */
  onClientClose(): void;
  /** The client drained what was written: output may resume. */
  resumeOutput(): void;
}

/** Where a response's client is kept, for the shared 'close' and 'drain' listeners. */
const CLIENT = Symbol('fastcgi-pool.httpIoClient');
type ResponseWithClient = ServerResponse & { [CLIENT]?: HttpIoClient };

/** Shared listener (no closure per request): the response closed. */
function onResponseClose(this: ResponseWithClient): void {
  this[CLIENT]?.onClientClose();
}

/** Shared listener: the client drained what we wrote. */
function onResponseDrain(this: ResponseWithClient): void {
  this[CLIENT]?.resumeOutput();
}

/** {@link HttpIo} over Node's IncomingMessage and ServerResponse. */
export class NodeHttpIo implements HttpIo {
  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
  ) {}

  get method(): string {
    return this.req.method ?? 'GET';
  }
  get url(): string {
    return this.req.url ?? '/';
  }
  get httpVersion(): string {
    return this.req.httpVersion;
  }
  get rawHeaders(): readonly string[] {
    return this.req.rawHeaders;
  }
  get remoteAddress(): string {
    return this.req.socket.remoteAddress ?? '';
  }
  get remotePort(): number {
    return this.req.socket.remotePort ?? 0;
  }
  get declaresBody(): boolean {
    const headers = this.req.headers;
    return headers['content-length'] !== undefined || headers['transfer-encoding'] !== undefined;
  }
  bodyIfReady(): RequestBody | null {
    return emptyBodyIfNone(this.req);
  }
  receiveBody(limits: BodyLimits): Promise<RequestBody> {
    return receiveBody(this.req, limits);
  }

  attach(client: HttpIoClient): void {
    (this.res as ResponseWithClient)[CLIENT] = client;
    this.res.on('close', onResponseClose);
  }

  get headersSent(): boolean {
    return this.res.headersSent;
  }
  get statusCode(): number {
    return this.res.statusCode;
  }
  get completed(): boolean {
    return this.res.writableFinished;
  }
  writeHead(status: number, statusText: string | undefined, flatHeaders: readonly string[]): void {
    // writeHead with a flat [name, value, ...] list: no per-header setHeader
    // bookkeeping; repeats (Set-Cookie) stay separate lines.
    if (statusText) this.res.writeHead(status, statusText, flatHeaders as string[]);
    else this.res.writeHead(status, flatHeaders as string[]);
  }
  write(chunk: Buffer): boolean {
    if (this.res.write(chunk)) return true;
    this.res.once('drain', onResponseDrain);
    return false;
  }
  end(last?: Buffer | string): void {
    this.res.end(this.req.method === 'HEAD' ? undefined : last);
  }
  cut(): void {
    // Headers (and perhaps body) went out but stay corked until the next
    // tick: let them out, then cut, so the client always sees a broken
    // response rather than, depending on timing, nothing at all.
    const socket = this.res.socket;
    if (socket !== null && socket.writableCorked > 0) socket.uncork();
    this.res.destroy();
  }
}
