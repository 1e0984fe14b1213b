import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type ReadStream, type WriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';

/** Bodies up to this size stay in memory by default (nginx's client_body_buffer_size is 8–16 KiB; we can afford more). */
const DEFAULT_MEMORY_THRESHOLD = 1024 * 1024;

/** Limits for {@link receiveBody}. */
export interface BodyLimits {
  /** Largest accepted body; more → {@link BodyTooLargeError} (413). */
  maxBytes: number;
  /** Bodies larger than this spill to a temp file; default {@link DEFAULT_MEMORY_THRESHOLD}. */
  memoryThreshold?: number;
  /** Where temp files go (created 0600, removed on error and on dispose). */
  tempDir: string;
  /** A client that sends nothing for this long → {@link BodyTimeoutError} (408); 0 = no limit. */
  idleTimeoutMs: number;
}

/** A request body received in full. */
export interface RequestBody {
  /** Exact byte count (what CONTENT_LENGTH must say). */
  readonly length: number;
  /** Whether the bytes are in memory (false: in a temp file). */
  readonly inMemory: boolean;
  /**
   * In-memory bodies only: all the bytes as one buffer (a concat on first
   * call, none for a single chunk), so the gateway can send the body in the
   * same socket write as BEGIN_REQUEST and PARAMS. Undefined for a temp file.
   */
  buffer?(): Buffer;
  /** A fresh stream of the bytes; may be called more than once (a retry on another worker). */
  open(): Readable;
  /** Deletes the temp file and ends open streams. Idempotent. */
  dispose(): Promise<void>;
}

/** The body is larger than allowed: answer 413 and close the connection (the rest is unread). */
export class BodyTooLargeError extends Error {
  constructor(
    readonly limit: number,
    /** The declared Content-Length, or the bytes seen when the limit was crossed. */
    readonly size: number,
    readonly declared: boolean,
  ) {
    super(
      declared
        ? `The request body is ${size} bytes (Content-Length); the limit is ${limit} bytes.`
        : `The request body passed the limit of ${limit} bytes (chunked upload, ${size} bytes received so far).`,
    );
    this.name = 'BodyTooLargeError';
  }
}

/** The client stopped sending: answer 408 and close the connection. */
export class BodyTimeoutError extends Error {
  constructor(
    readonly idleTimeoutMs: number,
    readonly received: number,
  ) {
    super(`The client sent no body data for ${idleTimeoutMs} ms (${received} bytes received).`);
    this.name = 'BodyTimeoutError';
  }
}

/** The client went away before the body was complete: nobody to answer. */
export class BodyAbortedError extends Error {
  constructor(readonly received: number) {
    super(`The client closed the connection after ${received} bytes of the request body.`);
    this.name = 'BodyAbortedError';
  }
}

const NO_BYTES = Buffer.alloc(0);

const EMPTY_BODY: RequestBody = Object.freeze({
  length: 0,
  inMemory: true,
  buffer: () => NO_BYTES,
  open: () => Readable.from([]),
  dispose: () => Promise.resolve(),
});

/** The empty body, shared. */
export function emptyBody(): RequestBody {
  return EMPTY_BODY;
}

/**
 * The synchronous fast path of {@link receiveBody} for a request that
 * declares no body (no Transfer-Encoding, no or a zero Content-Length), as
 * nearly every GET: the empty body, with no promise. Null when there may be
 * a body to receive (then call receiveBody).
 */
export function emptyBodyIfNone(req: IncomingMessage): RequestBody | null {
  const headers = req.headers;
  if (headers['transfer-encoding'] !== undefined) return null;
  const declared = headers['content-length'];
  if (declared !== undefined && Number(declared) !== 0) return null;
  if (!req.readableEnded) req.resume();
  return EMPTY_BODY;
}

/**
 * Reads the whole request body before a worker is leased, as nginx buffers
 * it before talking to FastCGI: a slow upload then holds no PHP worker.
 * Small bodies stay in memory; past `memoryThreshold` they go to a 0600
 * temp file in `tempDir` (nginx's client_body_temp_path). Chunked bodies
 * work (Node decodes the framing), and the resulting `length` is exact.
 *
 * Fails with {@link BodyTooLargeError} up front when Content-Length is over
 * `maxBytes` (nothing is read) or as soon as a chunked body crosses it;
 * {@link BodyTimeoutError} after `idleTimeoutMs` without data;
 * {@link BodyAbortedError} if the client disconnects. Any temp file is
 * removed before the promise rejects.
 */
export function receiveBody(req: IncomingMessage, limits: BodyLimits): Promise<RequestBody> {
  const declared = req.headers['content-length'];
  const chunked = req.headers['transfer-encoding'] !== undefined;
  if (declared !== undefined && !chunked) {
    // Node has validated it as a single decimal number.
    const size = Number(declared);
    if (size > limits.maxBytes) return Promise.reject(new BodyTooLargeError(limits.maxBytes, size, true));
    if (size === 0) return drained(req);
  } else if (!chunked) {
    // HTTP/1.1: no Content-Length and no Transfer-Encoding means no body.
    return drained(req);
  }
  return new BodyReceiver(req, limits).promise;
}

/** An empty body; the stream is resumed so Node can finish the message. */
function drained(req: IncomingMessage): Promise<RequestBody> {
  if (!req.readableEnded) req.resume();
  return Promise.resolve(EMPTY_BODY);
}

class BodyReceiver {
  readonly promise: Promise<RequestBody>;
  private resolve!: (body: RequestBody) => void;
  private reject!: (error: Error) => void;
  private readonly threshold: number;
  private chunks: Buffer[] = [];
  private received = 0;
  private file: WriteStream | null = null;
  private filePath: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private settled = false;
  private waitingForDrain = false;

  constructor(
    private readonly req: IncomingMessage,
    private readonly limits: BodyLimits,
  ) {
    this.threshold = limits.memoryThreshold ?? DEFAULT_MEMORY_THRESHOLD;
    this.promise = new Promise<RequestBody>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    req.on('data', this.onData);
    req.on('end', this.onEnd);
    req.on('error', this.onAbort);
    req.on('close', this.onClose);
    this.armTimer();
  }

  private armTimer(): void {
    // 0 or Infinity = no idle limit (setTimeout would turn Infinity into 1 ms).
    if (!(this.limits.idleTimeoutMs > 0 && Number.isFinite(this.limits.idleTimeoutMs))) return;
    if (this.timer) this.timer.refresh();
    else this.timer = setTimeout(this.onTimeout, this.limits.idleTimeoutMs);
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.settled) return;
    this.armTimer();
    this.received += chunk.length;
    if (this.received > this.limits.maxBytes) {
      this.fail(new BodyTooLargeError(this.limits.maxBytes, this.received, false));
      return;
    }
    if (this.file) {
      this.write(chunk);
      return;
    }
    this.chunks.push(chunk);
    if (this.received > this.threshold) this.spill();
  };

  /** Moves what we have into a new temp file; later chunks go straight there. */
  private spill(): void {
    this.filePath = join(this.limits.tempDir, `fcgi-pool-body-${process.pid}-${randomBytes(8).toString('hex')}`);
    // 'wx': never reuse or follow an existing file; 0600: uploads can be private.
    this.file = createWriteStream(this.filePath, { flags: 'wx', mode: 0o600 });
    this.file.on('error', (error) => this.fail(error));
    const chunks = this.chunks;
    this.chunks = [];
    for (const c of chunks) this.write(c);
  }

  private write(chunk: Buffer): void {
    const file = this.file as WriteStream;
    if (!file.write(chunk) && !this.waitingForDrain) {
      // Disk slower than the client: stop reading until the file drains.
      // The idle timer must not fire meanwhile, since the stall is ours.
      this.waitingForDrain = true;
      this.req.pause();
      this.clearTimer();
      file.once('drain', () => {
        this.waitingForDrain = false;
        if (this.settled) return;
        this.armTimer();
        this.req.resume();
      });
    }
  }

  private readonly onEnd = (): void => {
    if (this.settled) return;
    this.clearTimer();
    const length = this.received;
    if (!this.file) {
      this.settle();
      const chunks = this.chunks;
      this.chunks = [];
      this.resolve(memoryBody(chunks, length));
      return;
    }
    const file = this.file;
    const path = this.filePath as string;
    // Resolve once the descriptor is closed, so the file is complete and
    // readers never race our writes. Errors go to the 'error' handler.
    file.once('close', () => {
      if (this.settled) return;
      this.settle();
      this.resolve(new FileBody(path, length));
    });
    file.end();
  };

  private readonly onAbort = (): void => {
    this.fail(new BodyAbortedError(this.received));
  };

  private readonly onClose = (): void => {
    // 'close' before 'end' (or without 'error'): the connection went away.
    if (!this.req.complete) this.fail(new BodyAbortedError(this.received));
  };

  private readonly onTimeout = (): void => {
    this.fail(new BodyTimeoutError(this.limits.idleTimeoutMs, this.received));
  };

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private settle(): void {
    this.settled = true;
    this.clearTimer();
    const req = this.req;
    req.off('data', this.onData);
    req.off('end', this.onEnd);
    req.off('error', this.onAbort);
    req.off('close', this.onClose);
    // Without an error listener a late socket error would crash the process.
    req.on('error', ignore);
  }

  private fail(error: Error): void {
    if (this.settled) return;
    this.settle();
    this.chunks = [];
    // Stop pulling data we will not use; the gateway closes the connection.
    this.req.pause();
    const file = this.file;
    const path = this.filePath;
    if (!file || !path) {
      this.reject(error);
      return;
    }
    // Reject only after the file is gone, so callers never see a leftover.
    file.destroy();
    const remove = (): void => {
      unlink(path).then(
        () => this.reject(error),
        () => this.reject(error),
      );
    };
    if (file.closed) remove();
    else file.once('close', remove);
  }
}

function ignore(): void {}

/** A body held in memory in full: the chunks received, or the one piece the lean front read with the head. */
export function memoryBody(chunks: Buffer[], length: number): RequestBody {
  let whole: Buffer | null = null;
  return {
    length,
    inMemory: true,
    buffer: () => (whole ??= chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length)),
    // Readable.from(array) emits each Buffer as one chunk, without copying.
    open: () => Readable.from(chunks),
    dispose: () => Promise.resolve(),
  };
}

class FileBody implements RequestBody {
  readonly inMemory = false;
  private readonly streams = new Set<ReadStream>();
  private disposing: Promise<void> | null = null;

  constructor(
    private readonly path: string,
    readonly length: number,
  ) {}

  open(): Readable {
    if (this.disposing) throw new Error('the request body was already disposed');
    const stream = createReadStream(this.path);
    this.streams.add(stream);
    stream.once('close', () => this.streams.delete(stream));
    return stream;
  }

  dispose(): Promise<void> {
    this.disposing ??= this.remove();
    return this.disposing;
  }

  private async remove(): Promise<void> {
    // Close readers first: Windows cannot delete a file that is open.
    await Promise.all(
      [...this.streams].map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.closed) return resolve();
            s.once('close', () => resolve());
            s.destroy();
          }),
      ),
    );
    try {
      await unlink(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}
