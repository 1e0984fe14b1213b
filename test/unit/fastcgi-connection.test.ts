/**
 * FastCgiConnection against a fake worker (a net.Server in this process) for
 * the faults php-cgi cannot be made to show: malformed records, resets at
 * chosen moments, a peer that never answers, exact byte-level checks. The
 * real-php-cgi behaviour is covered by test/integration/fastcgi-phpcgi.test.ts.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { linkSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  FastCgiConnection,
  FastCgiConnectionError,
  FastCgiProtocolError,
  FCGI_KEEP_CONN,
  ParamTooLargeError,
  RecordDecoder,
  RecordType,
  decodeNameValuePairs,
  encodeNameValuePair,
  encodeRecord,
  encodeStreamRecords,
  type EndRequestResult,
  type FastCgiRecord,
  type ParamList,
  type ResponseHandler,
} from '../../src/fastcgi';

// ---- the fake worker

interface PeerRequest {
  requestId: number;
  role: number;
  flags: number;
  params: Array<[string, string]>;
  stdin: Buffer;
  stdinEnded: boolean;
}

/** One accepted connection on the fake worker: decodes what the client sends. */
class PeerConnection {
  readonly records: FastCgiRecord[] = [];
  bytesReceived = 0;
  chunks = 0;
  ended = false;
  protocolError: FastCgiProtocolError | null = null;
  private cursor = 0;
  private readonly changed = new Set<() => void>();

  constructor(readonly socket: Socket) {
    const decoder = new RecordDecoder({
      onRecord: (type, requestId, content) => {
        this.records.push({ type, requestId, content: Buffer.from(content) });
      },
      onProtocolError: (error) => {
        this.protocolError = error;
      },
    });
    socket.on('data', (chunk: Buffer) => {
      this.bytesReceived += chunk.length;
      this.chunks++;
      decoder.push(chunk);
      this.notify();
    });
    socket.on('end', () => {
      this.ended = true;
      this.notify();
    });
    socket.on('error', () => undefined);
  }

  private notify(): void {
    for (const callback of [...this.changed]) callback();
  }

  /** Resolves once `predicate` holds (checked after every chunk). */
  waitFor<T>(predicate: () => T | undefined | false, what: string, timeoutMs = 5_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const value = predicate();
        if (value) {
          this.changed.delete(check);
          clearTimeout(timer);
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        this.changed.delete(check);
        reject(new Error(`fake worker: timed out waiting for ${what}`));
      }, timeoutMs);
      this.changed.add(check);
      check();
    });
  }

  /** Parses the next request: BEGIN_REQUEST, PARAMS to the empty one, and STDIN to its end if `untilStdinEnd`. */
  nextRequest(untilStdinEnd = true): Promise<PeerRequest> {
    return this.waitFor(() => this.parseRequest(untilStdinEnd), 'a request');
  }

  private parseRequest(untilStdinEnd: boolean): PeerRequest | undefined {
    // Management records between requests are not part of one.
    while (this.records[this.cursor]?.type === RecordType.GetValues) this.cursor++;
    const records = this.records.slice(this.cursor);
    if (records.length === 0) return undefined;
    const begin = records[0];
    if (begin.type !== RecordType.BeginRequest) throw new Error(`fake worker: expected BEGIN_REQUEST, got type ${begin.type}`);
    const paramsEnd = records.findIndex((r) => r.type === RecordType.Params && r.content.length === 0);
    if (paramsEnd < 0) return undefined;
    const params = records.slice(1, paramsEnd).flatMap((r) => {
      expect(r.type).toBe(RecordType.Params);
      return decodeNameValuePairs(r.content);
    });
    let used = paramsEnd + 1;
    const stdin: Buffer[] = [];
    let stdinEnded = false;
    for (; used < records.length && records[used].type === RecordType.Stdin; used++) {
      if (records[used].content.length === 0) {
        stdinEnded = true;
        used++;
        break;
      }
      stdin.push(records[used].content);
    }
    if (untilStdinEnd && !stdinEnded) return undefined;
    this.cursor += used;
    return {
      requestId: begin.requestId,
      role: begin.content.readUInt16BE(0),
      flags: begin.content[2],
      params,
      stdin: Buffer.concat(stdin),
      stdinEnded,
    };
  }

  write(...buffers: Buffer[]): boolean {
    return this.socket.write(Buffer.concat(buffers));
  }

  stdout(text: string | Buffer, requestId = 1): boolean {
    return this.write(encodeStreamRecords(RecordType.Stdout, requestId, Buffer.from(text)));
  }

  endRequest(requestId = 1, appStatus = 0, protocolStatus = 0): boolean {
    const body = Buffer.alloc(8);
    body.writeUInt32BE(appStatus, 0);
    body[4] = protocolStatus;
    return this.write(encodeRecord(RecordType.EndRequest, requestId, body));
  }
}

class FakeWorker {
  readonly connections: PeerConnection[] = [];
  private readonly waiting: Array<(c: PeerConnection) => void> = [];
  private constructor(
    readonly server: Server,
    readonly path: string,
  ) {
    server.on('connection', (socket) => {
      const connection = new PeerConnection(socket);
      this.connections.push(connection);
      const waiter = this.waiting.shift();
      if (waiter) waiter(connection);
    });
  }

  static async start(path: string): Promise<FakeWorker> {
    const server = createServer();
    server.listen(path);
    await once(server, 'listening');
    return new FakeWorker(server, path);
  }

  /** The next accepted connection (or one already accepted but not yet taken). */
  accepted(index: number): Promise<PeerConnection> {
    if (this.connections[index]) return Promise.resolve(this.connections[index]);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async stop(): Promise<void> {
    for (const c of this.connections) c.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// ---- a recording response handler

class Recorder implements ResponseHandler {
  stdout: Buffer[] = [];
  stderr: Buffer[] = [];
  ends: EndRequestResult[] = [];
  errors: FastCgiConnectionError[] = [];
  private settle!: () => void;
  readonly settled = new Promise<void>((resolve) => (this.settle = resolve));

  onStdout(chunk: Buffer): void {
    this.stdout.push(chunk);
  }
  onStderr(chunk: Buffer): void {
    this.stderr.push(chunk);
  }
  onEnd(result: EndRequestResult): void {
    this.ends.push(result);
    this.settle();
  }
  onError(error: FastCgiConnectionError): void {
    this.errors.push(error);
    this.settle();
  }
  get text(): string {
    return Buffer.concat(this.stdout).toString();
  }
  /** Waits for the outcome, then a little longer to catch a second (forbidden) call. */
  async outcome(): Promise<void> {
    await this.settled;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(this.ends.length + this.errors.length).toBe(1);
  }
}

const PARAMS: ParamList = [
  ['SCRIPT_FILENAME', '/srv/index.php'],
  ['REQUEST_METHOD', 'GET'],
];

let dir: string;
let worker: FakeWorker;
const opened: FastCgiConnection[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fcgi-conn-test-'));
  worker = await FakeWorker.start(join(dir, 'worker.sock'));
});

afterEach(async () => {
  for (const c of opened.splice(0)) c.destroy();
  await worker.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function open(): Promise<FastCgiConnection> {
  const connection = await FastCgiConnection.connect(worker.path, { timeoutMs: 2_000 });
  opened.push(connection);
  return connection;
}

/** Connects through the public constructor, so the test can watch the socket itself. */
async function openWithSocket(): Promise<{ connection: FastCgiConnection; socket: Socket }> {
  const socket = connect(worker.path);
  await once(socket, 'connect');
  const connection = new FastCgiConnection(socket);
  opened.push(connection);
  return { connection, socket };
}

function closeEvent(connection: FastCgiConnection): Promise<Error | undefined> {
  return new Promise((resolve) => connection.once('close', (error) => resolve(error)));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('connect', () => {
  it('rejects with ENOENT for a missing socket and ECONNREFUSED for a socket nobody listens on', async () => {
    await expect(FastCgiConnection.connect(join(dir, 'missing.sock'))).rejects.toMatchObject({ code: 'ENOENT' });
    // A socket file whose listener is gone (the hard-link trick keeps the path after libuv unlinks it).
    const server = createServer();
    server.listen(join(dir, 'dead.tmp'));
    await once(server, 'listening');
    linkSync(join(dir, 'dead.tmp'), join(dir, 'dead.sock'));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await expect(FastCgiConnection.connect(join(dir, 'dead.sock'))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('connects over TCP too', async () => {
    const tcp = createServer((socket) => {
      const peer = new PeerConnection(socket);
      void peer.nextRequest().then(() => {
        peer.stdout('over tcp');
        peer.endRequest();
      });
    });
    tcp.listen(0, '127.0.0.1');
    await once(tcp, 'listening');
    const { port } = tcp.address() as { port: number };
    const connection = await FastCgiConnection.connect({ host: '127.0.0.1', port });
    opened.push(connection);
    const recorder = new Recorder();
    connection.beginRequest(PARAMS, recorder, { stdin: Buffer.alloc(0) });
    await recorder.outcome();
    expect(recorder.text).toBe('over tcp');
    connection.destroy();
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
  });
});

describe('requests and keep-alive', () => {
  it('serves three requests on one kept connection, each started with ONE socket write', async () => {
    const { connection, socket } = await openWithSocket();
    const peer = await worker.accepted(0);
    const realWrite = socket.write.bind(socket);
    let writes = 0;
    socket.write = ((...args: Parameters<Socket['write']>) => {
      writes++;
      return realWrite(...args);
    }) as Socket['write'];

    for (let i = 1; i <= 3; i++) {
      const recorder = new Recorder();
      writes = 0;
      const params: ParamList = [...PARAMS, ['HTTP_X_N', String(i)], ['HTTP_X_BIG', 'b'.repeat(50_000)], ['HTTP_X_BIG2', 'c'.repeat(50_000)]];
      connection.beginRequest(params, recorder);
      expect(writes).toBe(1);
      expect(connection.hasActiveRequest).toBe(true);
      connection.endStdin();
      const request = await peer.nextRequest();
      expect(request.requestId).toBe(1);
      expect(request.role).toBe(1);
      expect(request.flags & FCGI_KEEP_CONN).toBe(FCGI_KEEP_CONN);
      expect(request.params).toEqual(params);
      peer.write(
        encodeRecord(RecordType.Stderr, 1, Buffer.from(`note ${i}`)),
        encodeRecord(RecordType.Stdout, 1, Buffer.from(`Content-type: text/plain\r\n\r\nanswer ${i}`)),
        // An empty STDOUT (php-cgi never sends one) must simply be ignored.
        encodeRecord(RecordType.Stdout, 1),
      );
      peer.endRequest(1, i === 2 ? 7 : 0);
      await recorder.outcome();
      expect(recorder.text).toBe(`Content-type: text/plain\r\n\r\nanswer ${i}`);
      expect(recorder.stdout.every((c) => c.length > 0)).toBe(true);
      expect(Buffer.concat(recorder.stderr).toString()).toBe(`note ${i}`);
      expect(recorder.ends).toEqual([{ appStatus: i === 2 ? 7 : 0, protocolStatus: 0 }]);
      expect(connection.hasActiveRequest).toBe(false);
      expect(connection.isOpen).toBe(true);
      expect(connection.requestsServed).toBe(i);
    }
    expect(worker.connections).toHaveLength(1);
  });

  it('sends the body with the head when given as `stdin`, and lets onEnd start the next request', async () => {
    const connection = await open();
    const peer = await worker.accepted(0);
    const body = Buffer.alloc(150_000, 0x61);
    const second = new Recorder();
    const first: ResponseHandler = {
      onStdout: () => undefined,
      onStderr: () => undefined,
      onEnd: () => connection.beginRequest(PARAMS, second, { stdin: Buffer.alloc(0) }),
      onError: (error) => second.onError(error),
    };
    connection.beginRequest(PARAMS, first, { stdin: body });
    const request = await peer.nextRequest();
    expect(request.stdin.equals(body)).toBe(true);
    peer.endRequest();
    const next = await peer.nextRequest();
    expect(next.stdinEnded).toBe(true);
    expect(next.stdin.length).toBe(0);
    peer.stdout('two');
    peer.endRequest();
    await second.outcome();
    expect(second.text).toBe('two');
    expect(connection.requestsServed).toBe(2);
  });

  it('with keepConn false, the worker closing after END_REQUEST is normal', async () => {
    const connection = await open();
    const peer = await worker.accepted(0);
    const closed = closeEvent(connection);
    const recorder = new Recorder();
    connection.beginRequest(PARAMS, recorder, { keepConn: false, stdin: Buffer.alloc(0) });
    const request = await peer.nextRequest();
    expect(request.flags & FCGI_KEEP_CONN).toBe(0);
    peer.stdout('bye');
    peer.endRequest();
    peer.socket.end();
    await recorder.outcome();
    expect(recorder.errors).toEqual([]);
    expect(await closed).toBeUndefined();
    expect(connection.isOpen).toBe(false);
    expect(() => connection.beginRequest(PARAMS, new Recorder())).toThrow(/closed/);
  });

  it('closes a kept connection whose request ended before its STDIN did (leftover body would desync it)', async () => {
    const connection = await open();
    const peer = await worker.accepted(0);
    const recorder = new Recorder();
    connection.beginRequest(PARAMS, recorder);
    connection.writeStdin(Buffer.from('partial body'));
    await peer.nextRequest(false);
    peer.endRequest();
    await recorder.outcome();
    expect(connection.isOpen).toBe(false);
    // Late body data is dropped, not written and not thrown.
    expect(connection.writeStdin(Buffer.from('late'))).toBe(true);
    connection.endStdin();
    await peer.waitFor(() => peer.ended, 'our FIN');
    expect(peer.records.filter((r) => r.type === RecordType.Stdin).map((r) => r.content.toString())).toEqual(['partial body']);
  });

  it('keeps a connection whose GET never touched STDIN', async () => {
    const connection = await open();
    const peer = await worker.accepted(0);
    const recorder = new Recorder();
    connection.beginRequest(PARAMS, recorder);
    await peer.nextRequest(false);
    peer.endRequest();
    await recorder.outcome();
    expect(connection.isOpen).toBe(true);
  });

  it('refuses a second request while one is active, and refuses after close()', async () => {
    const connection = await open();
    connection.beginRequest(PARAMS, new Recorder());
    expect(() => connection.beginRequest(PARAMS, new Recorder())).toThrow(/active request/);
    const recorder = new Recorder();
    const other = await open();
    other.close();
    expect(() => other.beginRequest(PARAMS, recorder)).toThrow(/closed/);
    expect(recorder.ends.length + recorder.errors.length).toBe(0);
  });

  it('throws ParamTooLargeError before writing anything, and the connection stays usable', async () => {
    const connection = await open();
    const peer = await worker.accepted(0);
    const rejected = new Recorder();
    expect(() => connection.beginRequest([...PARAMS, ['HTTP_COOKIE', 'c'.repeat(70_000)]], rejected)).toThrow(ParamTooLargeError);
    expect(connection.hasActiveRequest).toBe(false);
    await sleep(50);
    expect(peer.bytesReceived).toBe(0);
    const recorder = new Recorder();
    connection.beginRequest(PARAMS, recorder, { stdin: Buffer.alloc(0) });
    const request = await peer.nextRequest();
    expect(request.params).toEqual(PARAMS);
    peer.endRequest();
    await recorder.outcome();
    expect(rejected.ends.length + rejected.errors.length).toBe(0);
    expect(recorder.ends).toHaveLength(1);
  });
});

describe('STDIN', () => {
  it('writeStdin splits big chunks at 65535 (zero-copy path) and small ones (copy path) correctly', async () => {
    const connection = await open();
    const peer = await worker.accepted(0);
    const recorder = new Recorder();
    connection.beginRequest(PARAMS, recorder);
    const pieces = [
      Buffer.alloc(0),
      Buffer.from('small'),
      Buffer.alloc(200_000, 0x62),
      Buffer.alloc(65535, 0x63),
      Buffer.alloc(16 * 1024 - 1, 0x64),
      Buffer.from('z'),
    ];
    for (const piece of pieces) connection.writeStdin(piece);
    connection.endStdin();
    expect(() => connection.writeStdin(Buffer.from('after end'))).toThrow(/already ended/);
    const request = await peer.nextRequest();
    expect(request.stdin.equals(Buffer.concat(pieces))).toBe(true);
    const stdinRecords = peer.records.filter((r) => r.type === RecordType.Stdin);
    expect(stdinRecords.every((r) => r.content.length <= 65535)).toBe(true);
    // Exactly one end record; the empty write sent nothing.
    expect(stdinRecords.filter((r) => r.content.length === 0)).toHaveLength(1);
    peer.endRequest();
    await recorder.outcome();
  });

  it('pipeStdin streams a 3 MB source with backpressure while the worker reads slowly', async () => {
    const connection = await open();
    const peer = await worker.accepted(0);
    peer.socket.pause();
    const recorder = new Recorder();
    connection.beginRequest(PARAMS, recorder);
    const hash = createHash('md5');
    let produced = 0;
    let readsWhileNotFlowing = 0;
    const source = new Readable({
      highWaterMark: 64 * 1024,
      read(): void {
        if (produced >= 3 * 1024 * 1024) {
          this.push(null);
          return;
        }
        const chunk = Buffer.alloc(32 * 1024, produced % 251);
        produced += chunk.length;
        hash.update(chunk);
        this.push(chunk);
      },
    });
    source.on('pause', () => readsWhileNotFlowing++);
    const piped = connection.pipeStdin(source);
    await sleep(200);
    // The worker reads nothing yet: the pipe must have stopped far short of 3 MB.
    expect(produced).toBeLessThan(2 * 1024 * 1024);
    expect(readsWhileNotFlowing).toBeGreaterThan(0);
    peer.socket.resume();
    await piped;
    const request = await peer.nextRequest();
    expect(request.stdin.length).toBe(3 * 1024 * 1024);
    expect(createHash('md5').update(request.stdin).digest('hex')).toBe(hash.digest('hex'));
    peer.endRequest();
    await recorder.outcome();
    expect(connection.isOpen).toBe(true);
  });

  it('pipeStdin resolves early and pauses the source when the request ends first', async () => {
    const connection = await open();
    const peer = await worker.accepted(0);
    const recorder = new Recorder();
    connection.beginRequest(PARAMS, recorder);
    const source = new Readable({ read: () => undefined });
    source.push('first part');
    const piped = connection.pipeStdin(source);
    await peer.waitFor(() => peer.records.some((r) => r.type === RecordType.Stdin), 'some STDIN');
    peer.endRequest();
    await piped;
    await recorder.outcome();
    expect(source.isPaused()).toBe(true);
    expect(source.destroyed).toBe(false);
  });

  it('pipeStdin of a source that already ended just ends STDIN', async () => {
    const connection = await open();
    const peer = await worker.accepted(0);
    const recorder = new Recorder();
    connection.beginRequest(PARAMS, recorder);
    const source = Readable.from([Buffer.from('x')]);
    source.resume();
    await once(source, 'end');
    await connection.pipeStdin(source);
    const request = await peer.nextRequest();
    expect(request.stdinEnded).toBe(true);
    expect(request.stdin.length).toBe(0);
    peer.endRequest();
    await recorder.outcome();
  });

  it('pipeStdin rejects with the source error', async () => {
    const connection = await open();
    connection.beginRequest(PARAMS, new Recorder());
    const source = new Readable({ read: () => undefined });
    const piped = connection.pipeStdin(source);
    source.destroy(new Error('client went away'));
    await expect(piped).rejects.toThrow('client went away');
    expect(connection.hasActiveRequest).toBe(true);
  });
});

describe('failures', () => {
  it('worker closes (FIN) mid-response: closed-before-end with receivedStdout', async () => {
    const connection = await open();
    const peer = await worker.accepted(0);
    const closed = closeEvent(connection);
    const recorder = new Recorder();
    connection.beginRequest(PARAMS, recorder, { stdin: Buffer.alloc(0) });
    await peer.nextRequest();
    peer.stdout('Content-type: text/html\r\n\r\nabout to crash');
    peer.socket.end();
    await recorder.outcome();
    expect(recorder.text).toContain('about to crash');
    expect(recorder.errors[0].kind).toBe('closed-before-end');
    expect(recorder.errors[0].receivedStdout).toBe(true);
    await closed;
    expect(connection.isOpen).toBe(false);
  });

  it('worker resets (RST) before any output: closed-before-end, ECONNRESET kept, no stdout', async () => {
    const connection = await open();
    const peer = await worker.accepted(0);
    const closed = closeEvent(connection);
    const recorder = new Recorder();
    connection.beginRequest(PARAMS, recorder);
    await peer.nextRequest(false);
    // Like a crashed php-cgi: closing a unix socket with unread input makes the kernel reset it.
    peer.socket.pause();
    connection.writeStdin(Buffer.alloc(256 * 1024));
    await sleep(50);
    peer.socket.destroy();
    await recorder.outcome();
    expect(recorder.errors[0].kind).toBe('closed-before-end');
    expect(recorder.errors[0].receivedStdout).toBe(false);
    expect(recorder.errors[0].code).toMatch(/^(ECONNRESET|EPIPE)$/);
    expect(((await closed) as NodeJS.ErrnoException).code).toMatch(/^(ECONNRESET|EPIPE)$/);
  });

  it('an idle kept connection closed by the worker emits close (no handler involved)', async () => {
    const connection = await open();
    const peer = await worker.accepted(0);
    const closed = closeEvent(connection);
    peer.socket.end();
    expect(await closed).toBeUndefined();
    expect(connection.isOpen).toBe(false);
    expect(() => connection.beginRequest(PARAMS, new Recorder())).toThrow(/closed/);
  });

  const malformed: Array<[string, (peer: PeerConnection) => void, string]> = [
    ['a bad version', (p) => p.write(Buffer.from('HTTP/1.1 502 Bad Gateway\r\n\r\n')), 'bad-version'],
    ['an unknown record type', (p) => p.write(Buffer.from([1, 42, 0, 1, 0, 0, 0, 0])), 'unknown-type'],
    ['a 4-byte END_REQUEST', (p) => p.write(Buffer.from([1, 3, 0, 1, 0, 4, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0])), 'bad-end-request-length'],
    ['a record for request id 2', (p) => p.stdout('wrong id', 2), 'unexpected-record'],
    ['a STDIN record from the worker', (p) => p.write(encodeRecord(RecordType.Stdin, 1, Buffer.from('?'))), 'unexpected-record'],
    ['an unsolicited GET_VALUES_RESULT', (p) => p.write(encodeRecord(RecordType.GetValuesResult, 0)), 'unexpected-record'],
  ];
  for (const [name, send, reason] of malformed) {
    it(`${name}: onError('protocol') once, connection destroyed, nothing thrown`, async () => {
      const connection = await open();
      const peer = await worker.accepted(0);
      const closed = closeEvent(connection);
      const recorder = new Recorder();
      connection.beginRequest(PARAMS, recorder, { stdin: Buffer.alloc(0) });
      await peer.nextRequest();
      peer.stdout('Status: 200\r\n\r\nok so far');
      send(peer);
      // Anything after the bad bytes must not reach the handler.
      peer.stdout('after');
      peer.endRequest();
      await recorder.outcome();
      const error = recorder.errors[0];
      expect(error.kind).toBe('protocol');
      expect(error.receivedStdout).toBe(true);
      expect(error.cause).toBeInstanceOf(FastCgiProtocolError);
      expect((error.cause as FastCgiProtocolError).reason).toBe(reason);
      expect(recorder.text).toBe('Status: 200\r\n\r\nok so far');
      await closed;
      expect(connection.isOpen).toBe(false);
      await peer.waitFor(() => peer.ended, 'the connection to close');
    });
  }

  it('garbage while idle closes the connection without anyone to tell but the close event', async () => {
    const connection = await open();
    const peer = await worker.accepted(0);
    const closed = closeEvent(connection);
    peer.stdout('nobody asked');
    expect(await closed).toBeUndefined();
    expect(connection.isOpen).toBe(false);
  });

  it('a request timeout fails with kind timeout and destroys the connection', async () => {
    const connection = await open();
    const peer = await worker.accepted(0);
    const recorder = new Recorder();
    const started = Date.now();
    connection.beginRequest(PARAMS, recorder, { stdin: Buffer.alloc(0), timeoutMs: 150 });
    await peer.nextRequest();
    peer.stdout('slow...');
    await recorder.outcome();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(recorder.errors[0].kind).toBe('timeout');
    expect(recorder.errors[0].receivedStdout).toBe(true);
    await peer.waitFor(() => peer.ended, 'the connection to close');
  });

  it('destroy() fails the active request: closed-before-end without an error, socket with one', async () => {
    const first = await open();
    const a = new Recorder();
    first.beginRequest(PARAMS, a);
    first.destroy();
    await a.outcome();
    expect(a.errors[0].kind).toBe('closed-before-end');

    const second = await open();
    const b = new Recorder();
    second.beginRequest(PARAMS, b);
    const closed = closeEvent(second);
    second.destroy(new Error('client aborted'));
    await b.outcome();
    expect(b.errors[0].kind).toBe('socket');
    expect((b.errors[0].cause as Error).message).toBe('client aborted');
    expect((await closed)?.message).toBe('client aborted');

    const third = await open();
    const c = new Recorder();
    third.beginRequest(PARAMS, c);
    const mine = new FastCgiConnectionError('timeout', 'busy timeout');
    third.destroy(mine);
    await c.outcome();
    expect(c.errors[0]).toBe(mine);
  });
});

describe('output backpressure', () => {
  it('pauseOutput stops delivery at once and keeps buffering bounded while the worker sends 8 MB', async () => {
    const { connection } = await openWithSocket();
    const peer = await worker.accepted(0);
    const total = 8 * 1024 * 1024;
    const payload = Buffer.alloc(total);
    for (let i = 0; i < total; i += 4) payload.writeUInt32BE(i, i);
    const recorder = new Recorder();
    const hash = createHash('md5');
    let received = 0;
    let paused = false;
    let deliveredWhilePaused = 0;
    let maxBuffered = 0;
    recorder.onStdout = (chunk) => {
      if (paused) deliveredWhilePaused++;
      received += chunk.length;
      hash.update(chunk);
      maxBuffered = Math.max(maxBuffered, connection.bufferedOutputBytes);
      // Pause after every few records, as a slow HTTP client would make us do.
      if (received % (5 * 65528) < chunk.length) {
        paused = true;
        connection.pauseOutput();
        setTimeout(() => {
          paused = false;
          connection.resumeOutput();
        }, 5);
      }
    };
    connection.beginRequest(PARAMS, recorder, { stdin: Buffer.alloc(0) });
    await peer.nextRequest();

    // First a long pause: the worker must be blocked, not our memory growing.
    const original = recorder.onStdout;
    recorder.onStdout = (chunk) => {
      recorder.onStdout = original;
      original(chunk);
      paused = true;
      connection.pauseOutput();
    };
    peer.write(encodeStreamRecords(RecordType.Stdout, 1, payload));
    peer.endRequest();
    await sleep(400);
    expect(paused).toBe(true);
    expect(received).toBeLessThanOrEqual(65535);
    expect(connection.bufferedOutputBytes).toBeLessThan(512 * 1024);
    expect(peer.socket.writableLength).toBeGreaterThan(total / 2);
    paused = false;
    connection.resumeOutput();

    await recorder.outcome();
    expect(deliveredWhilePaused).toBe(0);
    expect(received).toBe(total);
    expect(hash.digest('hex')).toBe(createHash('md5').update(payload).digest('hex'));
    expect(maxBuffered).toBeLessThan(512 * 1024);
    expect(recorder.ends).toHaveLength(1);
  });

  it('END_REQUEST held while paused is delivered on resume, not before', async () => {
    const connection = await open();
    const peer = await worker.accepted(0);
    const recorder = new Recorder();
    recorder.onStdout = (chunk) => {
      recorder.stdout.push(chunk);
      connection.pauseOutput();
    };
    connection.beginRequest(PARAMS, recorder, { stdin: Buffer.alloc(0) });
    await peer.nextRequest();
    peer.write(
      encodeRecord(RecordType.Stdout, 1, Buffer.from('one')),
      encodeRecord(RecordType.Stdout, 1, Buffer.from('two')),
      encodeRecord(RecordType.EndRequest, 1, Buffer.alloc(8)),
    );
    await sleep(100);
    expect(recorder.text).toBe('one');
    expect(recorder.ends).toHaveLength(0);
    connection.resumeOutput();
    // Delivered on a later tick, not inside resumeOutput().
    expect(recorder.text).toBe('one');
    await sleep(20);
    expect(recorder.text).toBe('onetwo');
    expect(recorder.ends).toHaveLength(0);
    connection.resumeOutput();
    await recorder.outcome();
    expect(recorder.ends).toHaveLength(1);
  });
});

describe('getValues', () => {
  it('asks on request id 0 and returns the reply; a request may follow on the same connection', async () => {
    const connection = await open();
    const peer = await worker.accepted(0);
    const values = connection.getValues(['FCGI_MAX_CONNS', 'FCGI_MAX_REQS', 'FCGI_MPXS_CONNS', 'NOT_KNOWN']);
    const query = await peer.waitFor(() => peer.records.find((r) => r.type === RecordType.GetValues), 'GET_VALUES');
    expect(query.requestId).toBe(0);
    const asked = decodeNameValuePairs(query.content);
    expect(asked).toEqual([
      ['FCGI_MAX_CONNS', ''],
      ['FCGI_MAX_REQS', ''],
      ['FCGI_MPXS_CONNS', ''],
      ['NOT_KNOWN', ''],
    ]);
    expect(() => connection.beginRequest(PARAMS, new Recorder())).toThrow(/GET_VALUES/);
    const known: Record<string, string> = { FCGI_MAX_CONNS: '1', FCGI_MAX_REQS: '1', FCGI_MPXS_CONNS: '0' };
    const reply = Buffer.concat(asked.filter(([n]) => n in known).map(([n]) => encodeNameValuePair(n, known[n])));
    peer.write(encodeRecord(RecordType.GetValuesResult, 0, reply));
    expect(await values).toEqual(known);

    const recorder = new Recorder();
    connection.beginRequest(PARAMS, recorder, { stdin: Buffer.alloc(0) });
    await peer.nextRequest();
    peer.endRequest();
    await recorder.outcome();
    expect(recorder.ends).toHaveLength(1);
  });

  it('rejects with kind timeout when no reply comes, and closes the connection', async () => {
    const connection = await open();
    const peer = await worker.accepted(0);
    await expect(connection.getValues(['FCGI_MAX_CONNS'], 100)).rejects.toMatchObject({ kind: 'timeout' });
    expect(connection.isOpen).toBe(false);
    await peer.waitFor(() => peer.ended, 'the connection to close');
  });

  it('rejects while a request is active, and with closed-before-end when the worker hangs up', async () => {
    const busy = await open();
    busy.beginRequest(PARAMS, new Recorder());
    await expect(busy.getValues(['FCGI_MAX_CONNS'])).rejects.toThrow(/active request/);

    const connection = await open();
    const peer = await worker.accepted(1);
    const values = connection.getValues(['FCGI_MAX_CONNS']);
    await peer.waitFor(() => peer.records.length > 0, 'GET_VALUES');
    peer.socket.end();
    await expect(values).rejects.toMatchObject({ kind: 'closed-before-end' });
  });

  it('a truncated GET_VALUES_RESULT body is a protocol error', async () => {
    const connection = await open();
    const peer = await worker.accepted(0);
    const values = connection.getValues(['FCGI_MAX_CONNS']);
    await peer.waitFor(() => peer.records.length > 0, 'GET_VALUES');
    peer.write(encodeRecord(RecordType.GetValuesResult, 0, encodeNameValuePair('FCGI_MAX_CONNS', '1').subarray(0, 5)));
    await expect(values).rejects.toMatchObject({ kind: 'protocol' });
    expect(connection.isOpen).toBe(false);
  });
});
