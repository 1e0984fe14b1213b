import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BodyAbortedError, BodyTimeoutError, BodyTooLargeError, receiveBody, type BodyLimits, type RequestBody } from '../../src/gateway/requestBody';

let server: Server;
let port: number;
let tempDir: string;
let limits: BodyLimits;
/** The outcome of receiveBody() for the request the server got last. */
let outcome: Promise<RequestBody>;
let gotRequest: () => void = () => undefined;
const sockets: Socket[] = [];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    outcome = receiveBody(req, limits);
    // Node would answer 400 on a half-sent request if we ignored errors.
    outcome.then(
      () => res.end('ok'),
      () => res.destroy(),
    );
    gotRequest();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  tempDir = mkdtempSync(join(tmpdir(), 'gw-body-'));
  limits = { maxBytes: 1024 * 1024, memoryThreshold: 64 * 1024, tempDir, idleTimeoutMs: 2000 };
});

afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  rmSync(tempDir, { recursive: true, force: true });
});

/** Sends raw bytes and waits until the server's handler has started. */
async function send(head: string, ...body: Array<string | Buffer>): Promise<Socket> {
  const requested = new Promise<void>((resolve) => (gotRequest = resolve));
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.resume();
  sockets.push(socket);
  socket.write(head);
  for (const b of body) socket.write(b);
  await requested;
  return socket;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const tempFiles = (): string[] => readdirSync(tempDir);

function chunked(parts: Array<string | Buffer>): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    const b = typeof p === 'string' ? Buffer.from(p) : p;
    out.push(Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n'));
  }
  out.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(out);
}

describe('receiveBody', () => {
  it('keeps a small Content-Length body in memory; open() can be called again', async () => {
    await send('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\n', 'a=1&b=2');
    const body = await outcome;
    expect(body.length).toBe(7);
    expect(body.inMemory).toBe(true);
    expect((await readAll(body.open())).toString()).toBe('a=1&b=2');
    expect((await readAll(body.open())).toString()).toBe('a=1&b=2');
    await body.dispose();
    expect(tempFiles()).toEqual([]);
  });

  it('decodes a chunked body and reports its real length', async () => {
    await send('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', chunked(['hello', ' world']));
    const body = await outcome;
    expect(body.length).toBe(11);
    expect((await readAll(body.open())).toString()).toBe('hello world');
  });

  it('gives an empty body for a GET, and for Content-Length: 0', async () => {
    await send('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect((await outcome).length).toBe(0);
    expect((await readAll((await outcome).open())).length).toBe(0);
    await send('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
    expect((await outcome).length).toBe(0);
  });

  it('spills a large body to a 0600 temp file with identical bytes, removed on dispose', async () => {
    const data = Buffer.alloc(300 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    await send(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${data.length}\r\n\r\n`, data);
    const body = await outcome;
    expect(body.length).toBe(data.length);
    expect(body.inMemory).toBe(false);
    const files = tempFiles();
    expect(files).toHaveLength(1);
    expect(statSync(join(tempDir, files[0] as string)).mode & 0o777).toBe(0o600);
    const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
    expect(sha(await readAll(body.open()))).toBe(sha(data));
    expect(sha(await readAll(body.open()))).toBe(sha(data));
    await body.dispose();
    await body.dispose(); // idempotent
    expect(tempFiles()).toEqual([]);
    expect(() => body.open()).toThrow(/disposed/);
  });

  it('spills a large chunked upload too', async () => {
    const parts = Array.from({ length: 40 }, (_, i) => Buffer.alloc(4096, i));
    await send('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', chunked(parts));
    const body = await outcome;
    expect(body.length).toBe(40 * 4096);
    expect(body.inMemory).toBe(false);
    expect((await readAll(body.open())).equals(Buffer.concat(parts))).toBe(true);
    await body.dispose();
    expect(tempFiles()).toEqual([]);
  });

  it('dispose() ends a reader that is still open', async () => {
    const data = Buffer.alloc(200 * 1024, 7);
    await send(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${data.length}\r\n\r\n`, data);
    const body = await outcome;
    const reader = body.open();
    await body.dispose();
    expect(reader.destroyed).toBe(true);
    expect(tempFiles()).toEqual([]);
  });

  it('refuses a declared Content-Length over the limit without reading it', async () => {
    limits.maxBytes = 100;
    await send('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n');
    const error = await outcome.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BodyTooLargeError);
    expect(error).toMatchObject({ limit: 100, size: 101, declared: true });
  });

  it('stops a chunked upload as soon as it crosses the limit, and removes the temp file', async () => {
    limits = { ...limits, maxBytes: 20_000, memoryThreshold: 5_000 };
    const socket = await send('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
    for (let i = 0; i < 5; i++) socket.write(`1000\r\n${'x'.repeat(4096)}\r\n`);
    const error = await outcome.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BodyTooLargeError);
    expect(error).toMatchObject({ limit: 20_000, declared: false });
    expect(tempFiles()).toEqual([]);
  });

  it('times out a client that stalls, and removes the temp file', async () => {
    limits = { ...limits, idleTimeoutMs: 200, memoryThreshold: 1000 };
    const started = Date.now();
    await send('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n', 'y'.repeat(3000));
    const error = await outcome.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BodyTimeoutError);
    expect(error).toMatchObject({ idleTimeoutMs: 200, received: 3000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(tempFiles()).toEqual([]);
  });

  it('the idle timer restarts with every chunk (slow but steady is fine)', async () => {
    limits = { ...limits, idleTimeoutMs: 300 };
    const socket = await send('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n');
    for (const ch of 'abcde') {
      await new Promise((r) => setTimeout(r, 120));
      socket.write(ch);
    }
    const body = await outcome;
    expect((await readAll(body.open())).toString()).toBe('abcde');
  });

  it('reports a client that disconnects mid-body, and removes the temp file', async () => {
    limits = { ...limits, memoryThreshold: 1000 };
    const socket = await send('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n', 'z'.repeat(4000));
    await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
    const error = await outcome.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BodyAbortedError);
    expect(tempFiles()).toEqual([]);
  });

  it('reports a temp dir that does not exist as an error, not a hang', async () => {
    limits = { ...limits, memoryThreshold: 10, tempDir: join(tempDir, 'missing') };
    await send('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n', 'q'.repeat(100));
    const error = (await outcome.catch((e: unknown) => e)) as NodeJS.ErrnoException;
    expect(error.code).toBe('ENOENT');
  });
});
