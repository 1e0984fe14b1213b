import { EventEmitter } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { HEADER_LENGTH, MAX_CONTENT_LENGTH, RecordType } from './protocol';
import {
  FastCgiProtocolError,
  RecordDecoder,
  decodeEndRequest,
  encodeRecord,
  encodeStreamRecords,
  paddingBytes,
  paddingFor,
  writeHeader,
  type RecordSink,
} from './records';
import { FastCgiConnectionError, type BeginRequestOptions, type ConnectOptions, type FastCgiConnectionEvents, type ResponseHandler } from './connectionApi';
import { decodeNameValuePairs, encodeGetValues, encodeRequest, type ParamList } from './params';

export {
  FastCgiConnectionError,
  type BeginRequestOptions,
  type ConnectionErrorKind,
  type ConnectOptions,
  type EndRequestResult,
  type FastCgiConnectionEvents,
  type ResponseHandler,
} from './connectionApi';

/** The request id we use: one request at a time per connection (php-cgi says FCGI_MPXS_CONNS=0). */
const REQUEST_ID = 1;
/** Shared, never mutated: the empty STDIN record for request 1. */
const EMPTY_STDIN = encodeRecord(RecordType.Stdin, REQUEST_ID);
/**
 * Below this size a STDIN chunk is copied into one buffer with its record
 * framing (one small write beats a 3-part writev); above it the chunk is sent
 * zero-copy as header / slice / padding pieces in one corked writev.
 */
const STDIN_COPY_THRESHOLD = 16 * 1024;
/** Default for getValues(). */
const DEFAULT_GET_VALUES_TIMEOUT_MS = 5_000;
/** Socket errors that mean the peer went away: with a request active, a crash (notes §2.6). */
const PEER_GONE_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

interface ActiveRequest {
  handler: ResponseHandler;
  keepConn: boolean;
  /** We sent the empty STDIN record. */
  stdinEnded: boolean;
  /** We sent some STDIN content. */
  stdinWritten: boolean;
  receivedStdout: boolean;
  timer: NodeJS.Timeout | null;
}

interface PendingValues {
  resolve: (values: Record<string, string>) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** Human-readable record type for error messages. */
function typeName(type: number): string {
  for (const [name, value] of Object.entries(RecordType)) if (value === type) return name;
  return `type ${type}`;
}

/**
 * A FastCGI client connection to one worker, one request at a time
 * (request id 1), with keep-alive, streaming in both directions and
 * backpressure. Never emits 'error': socket errors reach the active request's
 * handler (or the 'close' event), so they cannot become uncaught exceptions.
 */
export class FastCgiConnection extends EventEmitter<FastCgiConnectionEvents> {
  private readonly socket: Socket;
  private readonly decoder: RecordDecoder;
  private active: ActiveRequest | null = null;
  private pendingValues: PendingValues | null = null;
  /** False once we or the peer started closing; no new request may start. */
  private open = true;
  /** True once the socket emitted 'close'. */
  private closed = false;
  private socketError: Error | undefined;
  private served = 0;
  private outputPaused = false;
  private resumeScheduled = false;
  private drainWaiters: Array<() => void> = [];
  /** Set by pipeStdin: told when the active request settles so the pipe can detach. */
  private pipeSettled: (() => void) | null = null;

  /**
   * Connects to a worker: a unix socket path (Linux abstract names start with
   * `\0`) or TCP host/port. Rejects with the socket's own error (its `code`,
   * e.g. ECONNREFUSED or ENOENT, is kept) or with a 'timeout'
   * FastCgiConnectionError.
   */
  static connect(address: string | { host: string; port: number }, options?: ConnectOptions): Promise<FastCgiConnection> {
    return new Promise((resolve, reject) => {
      const socket = typeof address === 'string' ? netConnect({ path: address }) : netConnect({ host: address.host, port: address.port });
      let timer: NodeJS.Timeout | undefined;
      const onError = (error: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      // Stays attached until 'connect', so a late error after a timeout is absorbed here.
      socket.on('error', onError);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', onError);
        resolve(new FastCgiConnection(socket));
      });
      const timeoutMs = options?.timeoutMs;
      if (timeoutMs !== undefined && timeoutMs > 0) {
        timer = setTimeout(() => {
          socket.destroy();
          const where = typeof address === 'string' ? address : `${address.host}:${address.port}`;
          reject(new FastCgiConnectionError('timeout', `connecting to ${where} timed out after ${timeoutMs} ms`, { code: 'ETIMEDOUT' }));
        }, timeoutMs);
      }
    });
  }

  /** Wraps an already connected socket (connect() is the usual way in). */
  constructor(socket: Socket) {
    super();
    this.socket = socket;
    // One sink object per connection, not a closure per record.
    const sink: RecordSink = {
      onRecord: (type, requestId, content) => this.handleRecord(type, requestId, content),
      onProtocolError: (error) => this.handleProtocolError(error),
    };
    // Pieces of STDOUT/STDERR go to the handler as they arrive: no 64 KiB concat per straddling record.
    this.decoder = new RecordDecoder(sink, { splitStreamRecords: true });
    // Our requests are small writes that must go out at once (no Nagle delay on TCP; a no-op on unix sockets).
    socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onSocketError);
    socket.on('close', this.onClose);
    socket.on('drain', this.onDrain);
  }

  /** True while new requests may be started: neither side has begun closing. */
  get isOpen(): boolean {
    return this.open;
  }

  /** True between beginRequest() and the request's onEnd/onError. */
  get hasActiveRequest(): boolean {
    return this.active !== null;
  }

  /**
   * Response bytes read from the worker but not yet handed to the handler
   * (socket read buffer + partial or held records): what pauseOutput() keeps
   * bounded.
   */
  get bufferedOutputBytes(): number {
    return this.socket.readableLength + this.decoder.bufferedBytes;
  }

  /** Requests that ended with END_REQUEST on this connection. */
  get requestsServed(): number {
    return this.served;
  }

  /**
   * Starts a request: BEGIN_REQUEST and all PARAMS (plus the body, if
   * `options.stdin` is given) in ONE socket write. Throws, having written
   * nothing, on ParamTooLargeError (answer 431), if a request or getValues()
   * is in progress, or if the connection is closed.
   *
   * For the connection to be reusable afterwards, STDIN must be ended before
   * END_REQUEST (endStdin(), pipeStdin() or `stdin`), or no STDIN content sent
   * at all: leftover body records would otherwise be read by the worker as
   * the start of the next request. If that rule is broken, the connection is
   * closed after the response.
   */
  beginRequest(params: ParamList, handler: ResponseHandler, options?: BeginRequestOptions): void {
    if (!this.open) throw new Error('FastCGI connection is closed');
    if (this.active !== null) throw new Error('FastCGI connection already has an active request');
    if (this.pendingValues !== null) throw new Error('FastCGI connection is waiting for a GET_VALUES reply');
    const keepConn = options?.keepConn ?? true;
    const stdin = options?.stdin;
    // Encode first: a ParamTooLargeError must leave the connection untouched.
    const head = encodeRequest(REQUEST_ID, params, { keepConn, encoding: options?.paramEncoding, stdin });
    const request: ActiveRequest = {
      handler,
      keepConn,
      stdinEnded: stdin !== undefined,
      stdinWritten: stdin !== undefined && stdin.length > 0,
      receivedStdout: false,
      timer: null,
    };
    this.active = request;
    const timeoutMs = options?.timeoutMs;
    if (timeoutMs !== undefined && timeoutMs > 0) {
      request.timer = setTimeout(() => {
        if (this.active !== request) return;
        request.timer = null;
        this.fail(
          new FastCgiConnectionError('timeout', `no END_REQUEST within ${timeoutMs} ms`, { receivedStdout: request.receivedStdout, code: 'ETIMEDOUT' }),
        );
      }, timeoutMs);
    }
    this.socket.write(head);
  }

  /**
   * Sends body data as STDIN records (split at 65535 bytes). Returns
   * socket.write()'s result: false means wait for onceDrain() before writing
   * more. An empty chunk sends nothing (an empty record would end STDIN).
   * Data for a request that is already over (it ended, failed, or the worker
   * answered before reading the whole body) is dropped and true is returned,
   * so a pipe does not wait for a drain that may never come.
   * Throws if STDIN was already ended.
   */
  writeStdin(chunk: Buffer): boolean {
    const request = this.active;
    if (request === null || !this.socket.writable) return true;
    if (request.stdinEnded) throw new Error('FastCGI STDIN was already ended for this request');
    if (chunk.length === 0) return true;
    request.stdinWritten = true;
    if (chunk.length < STDIN_COPY_THRESHOLD) {
      return this.socket.write(encodeStreamRecords(RecordType.Stdin, REQUEST_ID, chunk));
    }
    const socket = this.socket;
    socket.cork();
    let result = true;
    for (let start = 0; start < chunk.length; start += MAX_CONTENT_LENGTH) {
      const length = Math.min(MAX_CONTENT_LENGTH, chunk.length - start);
      const padding = paddingFor(length);
      const header = Buffer.allocUnsafe(HEADER_LENGTH);
      writeHeader(header, 0, RecordType.Stdin, REQUEST_ID, length, padding);
      socket.write(header);
      result = socket.write(chunk.subarray(start, start + length));
      if (padding > 0) result = socket.write(paddingBytes(padding));
    }
    socket.uncork();
    return result;
  }

  /** Sends the empty STDIN record (end of body). Does nothing if already ended or no request is active. */
  endStdin(): void {
    const request = this.active;
    if (request === null || request.stdinEnded) return;
    request.stdinEnded = true;
    if (this.socket.writable) this.socket.write(EMPTY_STDIN);
  }

  /**
   * Calls `callback` once the socket's write buffer has drained, at once (on
   * the next tick) if it does not need to, and also when the connection
   * closes, so a waiting writer never hangs.
   */
  onceDrain(callback: () => void): void {
    if (this.closed || !this.socket.writableNeedDrain) {
      process.nextTick(callback);
      return;
    }
    this.drainWaiters.push(callback);
  }

  /**
   * Streams `source` into STDIN with backpressure, then ends STDIN. Resolves
   * when the source ended and STDIN was ended, or earlier when the request
   * settled first (then the source is paused and left to the caller, like
   * unpipe()). Rejects with the source's error; the request is then left
   * active (call destroy() to abandon it). The source is never destroyed.
   */
  pipeStdin(source: NodeJS.ReadableStream | Readable): Promise<void> {
    const request = this.active;
    if (request === null) return Promise.reject(new Error('FastCGI connection has no active request'));
    if (request.stdinEnded) return Promise.reject(new Error('FastCGI STDIN was already ended for this request'));
    if (this.pipeSettled !== null) return Promise.reject(new Error('FastCGI STDIN is already being piped'));
    if ((source as Readable).readableEnded === true) {
      // 'end' was already emitted and will not come again.
      this.endStdin();
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const detach = (): void => {
        done = true;
        source.removeListener('data', onData);
        source.removeListener('end', onEnd);
        source.removeListener('error', onError);
        if (this.pipeSettled === onSettled) this.pipeSettled = null;
      };
      const onData = (chunk: Buffer | string): void => {
        if (done) return;
        if (!this.writeStdin(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)) {
          source.pause();
          this.onceDrain(onDrain);
        }
      };
      const onDrain = (): void => {
        if (!done) source.resume();
      };
      const onEnd = (): void => {
        detach();
        this.endStdin();
        resolve();
      };
      const onError = (error: Error): void => {
        detach();
        reject(error);
      };
      const onSettled = (): void => {
        detach();
        source.pause();
        resolve();
      };
      this.pipeSettled = onSettled;
      source.on('data', onData);
      source.on('end', onEnd);
      source.on('error', onError);
      source.resume();
    });
  }

  /**
   * Stops delivering STDOUT/STDERR/END_REQUEST and stops reading the socket
   * (HTTP backpressure). Exact: no handler call happens after this returns,
   * even for records already read in the current chunk, until resumeOutput().
   * Memory stays bounded by the socket's highWaterMark plus one read.
   */
  pauseOutput(): void {
    if (this.outputPaused) return;
    this.outputPaused = true;
    this.decoder.pause();
    this.socket.pause();
  }

  /**
   * Undoes pauseOutput(). Held records are delivered on the next tick (not
   * inside this call, so a handler calling it from a 'drain' listener is not
   * re-entered).
   */
  resumeOutput(): void {
    if (!this.outputPaused) return;
    this.outputPaused = false;
    if (!this.resumeScheduled) {
      this.resumeScheduled = true;
      process.nextTick(this.flushResume);
    }
  }

  /**
   * Asks for management values (FCGI_GET_VALUES, request id 0), e.g.
   * `['FCGI_MAX_CONNS', 'FCGI_MAX_REQS', 'FCGI_MPXS_CONNS']`. Names the peer
   * does not know are left out of the reply. Only while no request is active.
   * php-cgi keeps the connection open afterwards, tying up a single worker
   * until it is used or closed (notes §2.3). On timeout the connection is
   * destroyed, since a late reply would desynchronise it.
   */
  getValues(names: readonly string[], timeoutMs: number = DEFAULT_GET_VALUES_TIMEOUT_MS): Promise<Record<string, string>> {
    if (!this.open) return Promise.reject(new Error('FastCGI connection is closed'));
    if (this.active !== null) return Promise.reject(new Error('FastCGI connection has an active request'));
    if (this.pendingValues !== null) return Promise.reject(new Error('FastCGI connection is already waiting for a GET_VALUES reply'));
    let record: Buffer;
    try {
      record = encodeGetValues(names);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      const pending: PendingValues = {
        resolve,
        reject,
        timer: setTimeout(() => {
          if (this.pendingValues !== pending) return;
          this.fail(new FastCgiConnectionError('timeout', `no GET_VALUES_RESULT within ${timeoutMs} ms`, { code: 'ETIMEDOUT' }));
        }, timeoutMs),
      };
      this.pendingValues = pending;
      this.socket.write(record);
    });
  }

  /**
   * Closes gracefully: ends our side after pending writes. A request still
   * active gets its onEnd if END_REQUEST still arrives, else onError
   * ('closed-before-end') when the socket closes.
   */
  close(): void {
    this.open = false;
    if (!this.closed) this.socket.end();
  }

  /**
   * Closes at once. An active request gets onError: `error` itself if it is a
   * FastCgiConnectionError, kind 'socket' wrapping any other error, or kind
   * 'closed-before-end' without one. A pending getValues() is rejected.
   */
  destroy(error?: Error): void {
    if (this.closed) return;
    const failure =
      error instanceof FastCgiConnectionError
        ? error
        : error !== undefined
          ? new FastCgiConnectionError('socket', `FastCGI connection destroyed: ${error.message}`, {
              cause: error,
              receivedStdout: this.active?.receivedStdout ?? false,
            })
          : new FastCgiConnectionError('closed-before-end', 'FastCGI connection destroyed before END_REQUEST', {
              receivedStdout: this.active?.receivedStdout ?? false,
            });
    if (error !== undefined && this.socketError === undefined) this.socketError = error;
    this.fail(failure);
  }

  // ---- internals

  /** Fails whatever is in flight with `error` and destroys the socket. */
  private fail(error: FastCgiConnectionError): void {
    this.open = false;
    this.decoder.stop();
    this.failRequest(error);
    this.rejectValues(error);
    this.socket.destroy();
  }

  private failRequest(error: FastCgiConnectionError): void {
    const request = this.active;
    if (request === null) return;
    this.active = null;
    if (request.timer !== null) clearTimeout(request.timer);
    this.notifyPipe();
    request.handler.onError(error);
  }

  private rejectValues(error: Error): void {
    const pending = this.pendingValues;
    if (pending === null) return;
    this.pendingValues = null;
    clearTimeout(pending.timer);
    pending.reject(error);
  }

  private notifyPipe(): void {
    const settled = this.pipeSettled;
    if (settled !== null) {
      this.pipeSettled = null;
      settled();
    }
  }

  private readonly onData = (chunk: Buffer): void => {
    this.decoder.push(chunk);
  };

  private readonly onEnd = (): void => {
    // The peer sent FIN; Node ends our side too (allowHalfOpen is false) and
    // 'close' follows, which reports an unfinished request.
    this.open = false;
  };

  private readonly onSocketError = (error: Error): void => {
    if (this.socketError === undefined) this.socketError = error;
  };

  private readonly onDrain = (): void => {
    this.flushDrainWaiters();
  };

  private flushDrainWaiters(): void {
    if (this.drainWaiters.length === 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const waiter of waiters) waiter();
  }

  private readonly flushResume = (): void => {
    this.resumeScheduled = false;
    if (this.outputPaused || this.closed) return;
    this.decoder.resume();
    // A handler may have paused again while held records were delivered.
    if (!this.outputPaused && !this.closed) this.socket.resume();
  };

  private readonly onClose = (): void => {
    this.closed = true;
    this.open = false;
    if (this.active !== null && this.decoder.isPaused) {
      // The socket is gone, so backpressure no longer matters: deliver what
      // we hold, so that a response which did complete (END_REQUEST held
      // while paused) is reported as complete, not as a crash.
      this.outputPaused = false;
      this.decoder.resume();
    }
    this.decoder.stop();
    const error = this.socketError;
    if (this.active !== null) {
      const receivedStdout = this.active.receivedStdout;
      const code = (error as NodeJS.ErrnoException | undefined)?.code;
      const failure =
        error === undefined
          ? new FastCgiConnectionError('closed-before-end', 'the worker closed the connection before END_REQUEST', { receivedStdout })
          : new FastCgiConnectionError(
              code !== undefined && PEER_GONE_CODES.has(code) ? 'closed-before-end' : 'socket',
              `the connection failed before END_REQUEST: ${error.message}`,
              { receivedStdout, cause: error },
            );
      this.failRequest(failure);
    }
    this.rejectValues(
      error === undefined
        ? new FastCgiConnectionError('closed-before-end', 'the connection closed before GET_VALUES_RESULT')
        : new FastCgiConnectionError('socket', `the connection failed before GET_VALUES_RESULT: ${error.message}`, { cause: error }),
    );
    this.flushDrainWaiters();
    this.emit('close', error);
  };

  private handleRecord(type: number, requestId: number, content: Buffer): void {
    const request = this.active;
    if (requestId === REQUEST_ID && request !== null) {
      switch (type) {
        case RecordType.Stdout:
          // php-cgi never sends the empty end-of-stream STDOUT (END_REQUEST ends
          // the response), so an empty one carries no meaning: ignore it.
          if (content.length > 0) {
            request.receivedStdout = true;
            request.handler.onStdout(content);
          }
          return;
        case RecordType.Stderr:
          if (content.length > 0) request.handler.onStderr(content);
          return;
        case RecordType.EndRequest:
          this.endRequest(request, content);
          return;
      }
    } else if (requestId === 0 && type === RecordType.GetValuesResult && this.pendingValues !== null) {
      this.valuesResult(this.pendingValues, content);
      return;
    }
    const state = request !== null ? 'during a request' : this.pendingValues !== null ? 'while waiting for GET_VALUES_RESULT' : 'while idle';
    this.handleProtocolError(new FastCgiProtocolError('unexpected-record', `unexpected ${typeName(type)} record for request id ${requestId} ${state}`));
  }

  private endRequest(request: ActiveRequest, content: Buffer): void {
    this.active = null;
    if (request.timer !== null) clearTimeout(request.timer);
    this.served++;
    // Leftover body records would be read by the worker as the next
    // request's first record, so such a connection cannot be reused.
    const reusable = request.keepConn && (request.stdinEnded || !request.stdinWritten);
    if (!reusable) this.close();
    this.notifyPipe();
    request.handler.onEnd(decodeEndRequest(content));
  }

  private valuesResult(pending: PendingValues, content: Buffer): void {
    let pairs: Array<[string, string]>;
    try {
      pairs = decodeNameValuePairs(content);
    } catch (error) {
      this.handleProtocolError(error as FastCgiProtocolError);
      return;
    }
    this.pendingValues = null;
    clearTimeout(pending.timer);
    pending.resolve(Object.fromEntries(pairs));
  }

  private handleProtocolError(error: FastCgiProtocolError): void {
    this.fail(
      new FastCgiConnectionError('protocol', `FastCGI protocol error: ${error.message}`, {
        cause: error,
        receivedStdout: this.active?.receivedStdout ?? false,
      }),
    );
  }
}
