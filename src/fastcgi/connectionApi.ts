import type { ParamEncoding } from './params';

/*
 * What a caller of FastCgiConnection deals with: the handler it gives a
 * request, the options it passes, and the error a request fails with.
 * The connection itself (the state machine over the socket) is connection.ts.
 */

/**
 * How a request failed.
 * - `'closed-before-end'`: the connection closed (FIN, or a reset such as
 *   ECONNRESET/EPIPE) before END_REQUEST. This is how a crashed or killed
 *   worker shows (notes §2.6); also used when we destroy() without an error.
 * - `'protocol'`: the peer sent malformed or unexpected records.
 * - `'socket'`: any other socket error (the error is the `cause`).
 * - `'timeout'`: a timeout set through this module ran out.
 */
export type ConnectionErrorKind = 'closed-before-end' | 'protocol' | 'socket' | 'timeout';

/** A request (or connect / getValues) failed; `kind` says how. */
export class FastCgiConnectionError extends Error {
  /** How it failed. */
  readonly kind: ConnectionErrorKind;
  /** Whether any STDOUT reached the handler first (if so, response headers may already be out). */
  readonly receivedStdout: boolean;
  /** The errno name of the underlying socket error, e.g. `'ECONNRESET'`, or `'ETIMEDOUT'` for timeouts. */
  readonly code: string | undefined;

  constructor(kind: ConnectionErrorKind, message: string, options?: { receivedStdout?: boolean; cause?: Error; code?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FastCgiConnectionError';
    this.kind = kind;
    this.receivedStdout = options?.receivedStdout ?? false;
    this.code = options?.code ?? (options?.cause as NodeJS.ErrnoException | undefined)?.code;
  }
}

/** FCGI_END_REQUEST's body. php-cgi always sends appStatus 0 (notes §2.5). */
export interface EndRequestResult {
  appStatus: number;
  protocolStatus: number;
}

/**
 * Receives one request's response. Exactly one of onEnd/onError is called,
 * once, and nothing is called after it. Chunks are zero-copy slices of socket
 * data: keep them if you like, but do not modify them.
 */
export interface ResponseHandler {
  /** A non-empty piece of the CGI response (headers, then body). */
  onStdout(chunk: Buffer): void;
  /** A non-empty piece of the script's error output (PHP notices, fatal errors). */
  onStderr(chunk: Buffer): void;
  /** END_REQUEST arrived; the response is complete. */
  onEnd(result: EndRequestResult): void;
  /** The request failed; see {@link FastCgiConnectionError.kind}. */
  onError(error: FastCgiConnectionError): void;
}

/** Options for {@link FastCgiConnection.connect}. */
export interface ConnectOptions {
  /** Give up (kind 'timeout', code ETIMEDOUT) if not connected within this many ms. */
  timeoutMs?: number;
}

/** Options for {@link FastCgiConnection.beginRequest}. */
export interface BeginRequestOptions {
  /** FCGI_KEEP_CONN; default true. With false the worker closes the connection after END_REQUEST. */
  keepConn?: boolean;
  /**
   * The whole body if it is already in memory (an empty buffer for none): it
   * goes out with BEGIN_REQUEST and PARAMS in the same single write, STDIN
   * ended. Leave undefined to stream it with writeStdin/pipeStdin + endStdin.
   */
  stdin?: Buffer;
  /** How param strings become bytes; default `'utf8'` (see {@link ParamEncoding}). */
  paramEncoding?: ParamEncoding;
  /** Fail with kind 'timeout' (and destroy the connection) if END_REQUEST has not arrived within this many ms. */
  timeoutMs?: number;
}

/** Events of {@link FastCgiConnection}. */
export type FastCgiConnectionEvents = {
  /** The socket closed, idle or not; `error` is the socket error or the error given to destroy(), if any. */
  close: [error: Error | undefined];
};
