import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BeginRequestOptions, ResponseHandler } from '../../src/fastcgi/connection';
import type { ParamList } from '../../src/fastcgi/params';
import { Gateway, type GatewayOptions } from '../../src/gateway/gateway';
import type { Pool } from '../../src/pool/pool';
import type { LeaseHolder } from '../../src/pool/types';

// The gateway's request path against a scripted pool and connection: the
// synchronous fast path, one write per request, the response headers, and
// the races around connecting (a client that leaves, a worker that is gone).

let docroot: string;
beforeAll(() => {
  docroot = realpathSync(mkdtempSync(join(tmpdir(), 'gw-exchange-')));
  writeFileSync(join(docroot, 'x.php'), '<?php');
});
afterAll(() => rmSync(docroot, { recursive: true, force: true }));

interface Sent {
  params: ParamList;
  options: BeginRequestOptions | undefined;
  handler: ResponseHandler;
}

/** A fake worker connection: records beginRequest, answers as told. */
class FakeConnection {
  readonly sent: Sent[] = [];
  isOpen = true;
  answer: ((handler: ResponseHandler) => void) | null = null;
  beginRequest(params: ParamList, handler: ResponseHandler, options?: BeginRequestOptions): void {
    this.sent.push({ params, options, handler });
    const answer = this.answer;
    if (answer) setImmediate(() => answer(handler));
  }
  pipeStdin(): Promise<void> {
    throw new Error('the body should have been sent with beginRequest');
  }
  endStdin(): void {
    throw new Error('STDIN should have been ended by beginRequest');
  }
  pauseOutput(): void {}
  resumeOutput(): void {}
  destroy(): void {
    this.isOpen = false;
  }
}

class FakeLease {
  constructor(
    readonly id: string,
    readonly holder: LeaseHolder,
    readonly connect: () => Promise<FakeConnection>,
  ) {}
  readonly workerId = 'w1';
  readonly workerPid = 4242;
  markFirstByte(): void {}
  holderChanged(): void {}
  /** Not open yet: every test goes through connection(), the path with the races. */
  openConnection(): FakeConnection | null {
    return null;
  }
  connection(): Promise<FakeConnection> {
    return this.connect();
  }
  workerExit(): Promise<null> {
    return Promise.resolve(null);
  }
}

function fakePool(connect: () => Promise<FakeConnection>) {
  const released: Array<[string, string]> = [];
  let n = 0;
  const pool = {
    options: { queueTimeoutMs: 1_000 },
    tryAcquire: (_info: unknown, holder: LeaseHolder) => new FakeLease(`L${++n}`, holder, connect),
    acquire: () => Promise.reject(new Error('the fast path should have leased')),
    withdraw: () => false,
    release: (lease: FakeLease, outcome: string) => {
      released.push([lease.id, outcome]);
      return true;
    },
    snapshot: () => ({}),
    debugger: { trigger: () => null },
  };
  return { pool: pool as unknown as Pool, released };
}

let gateway: Gateway | null = null;
afterEach(async () => {
  await gateway?.close();
  gateway = null;
});

async function start(pool: Pool, options: Partial<GatewayOptions> = {}): Promise<number> {
  gateway = new Gateway(pool, { documentRoot: docroot, port: 0, ...options });
  return (await gateway.listen()).port;
}

function get(port: number, path: string, method = 'GET', body?: Buffer): Promise<{ status: number; rawHeaders: string[]; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, agent: false, headers: body ? { 'Content-Length': String(body.length) } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, rawHeaders: res.rawHeaders, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Records every holder the exchange leases for (the pool's view of it). */
function captureHolders(pool: Pool): LeaseHolder[] {
  const holders: LeaseHolder[] = [];
  const fake = pool as unknown as { tryAcquire: (info: unknown, holder: LeaseHolder) => unknown };
  const tryAcquire = fake.tryAcquire;
  fake.tryAcquire = (info, holder) => {
    holders.push(holder);
    return tryAcquire(info, holder);
  };
  return holders;
}

/** Sends a GET for /x.php on a raw socket (the lean front's path), to be cut by the caller. */
function openRequest(port: number) {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write('GET /x.php HTTP/1.1\r\nHost: localhost\r\n\r\n');
  return socket;
}

const until = async (check: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
};

describe('PhpExchange', () => {
  it('sends a GET as one beginRequest with STDIN ended, and passes the script headers on', async () => {
    const connection = new FakeConnection();
    connection.answer = (handler) => {
      handler.onStdout(Buffer.from('Status: 201 Made\r\nX-A: 1\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nConnection: close\r\nKeep-Alive: x\r\n\r\nhel'));
      handler.onStdout(Buffer.from('lo'));
      handler.onEnd({ appStatus: 0, protocolStatus: 0 });
    };
    const { pool, released } = fakePool(() => Promise.resolve(connection));
    const port = await start(pool);
    const reply = await get(port, '/x.php?q=1');
    expect(reply.status).toBe(201);
    expect(reply.body).toBe('hello');
    const names = reply.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    expect(names.filter((n) => n === 'set-cookie')).toHaveLength(2);
    expect(reply.rawHeaders).toContain('X-A');
    expect(names).not.toContain('keep-alive');
    expect(connection.sent).toHaveLength(1);
    expect(connection.sent[0]?.options?.stdin).toEqual(Buffer.alloc(0));
    expect(connection.sent[0]?.options?.paramEncoding).toBe('latin1');
    expect(new Map(connection.sent[0]?.params).get('QUERY_STRING')).toBe('q=1');
    expect(released).toEqual([['L1', 'ok']]);
  });

  it('sends an in-memory POST body with beginRequest, in the same write', async () => {
    const connection = new FakeConnection();
    connection.answer = (handler) => {
      handler.onStdout(Buffer.from('Content-Type: text/plain\r\n\r\nok'));
      handler.onEnd({ appStatus: 0, protocolStatus: 0 });
    };
    const { pool } = fakePool(() => Promise.resolve(connection));
    const port = await start(pool);
    const body = Buffer.alloc(10_240, 'x');
    const reply = await get(port, '/x.php', 'POST', body);
    expect(reply.body).toBe('ok');
    expect(connection.sent[0]?.options?.stdin).toEqual(body);
    expect(new Map(connection.sent[0]?.params).get('CONTENT_LENGTH')).toBe('10240');
  });

  it('a client that leaves while the worker connection is being made: the lease is released once, nothing throws', async () => {
    let fail!: (error: Error) => void;
    const connecting = new Promise<FakeConnection>((_, reject) => (fail = reject));
    let connects = 0;
    const { pool, released } = fakePool(() => {
      connects++;
      return connecting;
    });
    const port = await start(pool);
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('GET /x.php HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await until(() => connects === 1, 'the exchange to ask for the worker connection');
    expect(released).toEqual([]);
    socket.destroy();
    await until(() => released.length === 1, 'the release');
    expect(released).toEqual([['L1', 'client-abort']]);
    // Connecting now fails (the pool ended the lease): must be a no-op. The
    // exchange's handler was attached to `connecting` before this await's,
    // so it has run when the await resumes.
    fail(new Error('lease L1 ended while connecting to worker w1'));
    await connecting.catch(() => undefined);
    expect(released).toEqual([['L1', 'client-abort']]);
  });

  it('a worker that cannot be reached twice gives 502, each lease released as unreachable (nothing was sent)', async () => {
    const { pool, released } = fakePool(() => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })));
    const port = await start(pool);
    const reply = await get(port, '/x.php');
    expect(reply.status).toBe(502);
    expect(reply.body).toContain('Cannot connect to worker w1 (pid 4242)');
    expect(released).toEqual([
      ['L1', 'unreachable'],
      ['L2', 'unreachable'],
    ]);
  });

  it('a worker that fails in the same read as its headers: the client still gets the status, then a cut', async () => {
    const connection = new FakeConnection();
    connection.answer = (handler) => {
      handler.onStdout(Buffer.from('Content-Type: text/plain\r\n\r\npartial'));
      handler.onError(
        Object.assign(new Error('FastCGI protocol error: bad END_REQUEST'), { kind: 'protocol', receivedStdout: true, code: undefined }) as never,
      );
    };
    const { pool, released } = fakePool(() => Promise.resolve(connection));
    const port = await start(pool);
    const outcome = await new Promise<{ status: number; error: string | null }>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/x.php', agent: false }, (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve({ status: res.statusCode ?? 0, error: null }));
        res.on('error', (e) => resolve({ status: res.statusCode ?? 0, error: e.message }));
        res.on('aborted', () => resolve({ status: res.statusCode ?? 0, error: 'aborted' }));
      });
      req.on('error', (e) => resolve({ status: 0, error: e.message }));
      req.end();
    });
    expect(outcome.status).toBe(200);
    expect(outcome.error).not.toBeNull();
    expect(released).toEqual([['L1', 'error']]);
  });

  it('describes its holder lazily as "http ADDR:PORT #N"', async () => {
    let holder: LeaseHolder | null = null;
    const connection = new FakeConnection();
    connection.answer = (handler) => {
      handler.onStdout(Buffer.from('\r\n'));
      handler.onEnd({ appStatus: 0, protocolStatus: 0 });
    };
    const { pool } = fakePool(() => Promise.resolve(connection));
    const tryAcquire = (pool as unknown as { tryAcquire: (i: unknown, h: LeaseHolder) => unknown }).tryAcquire;
    (pool as unknown as { tryAcquire: unknown }).tryAcquire = (info: unknown, h: LeaseHolder) => {
      holder = h;
      return tryAcquire(info, h);
    };
    const port = await start(pool);
    await get(port, '/x.php');
    expect((holder as LeaseHolder | null)?.description).toMatch(/^http 127\.0\.0\.1:\d+ #1$/);
  });

  it('a client that leaves while its script runs: the lease is released at once as client-abort and the worker connection closed, as nginx does', async () => {
    const connection = new FakeConnection();
    const { pool, released } = fakePool(() => Promise.resolve(connection));
    const holders = captureHolders(pool);
    const port = await start(pool);
    const socket = openRequest(port);
    await until(() => connection.sent.length === 1, 'the request to reach the worker');
    socket.destroy();
    await until(() => released.length === 1, 'the release');
    expect(released).toEqual([['L1', 'client-abort']]);
    // Closing the connection is how PHP learns it (ignore_user_abort decides the rest).
    expect(connection.isOpen).toBe(false);
    expect(holders[0]?.isActive?.()).toBe(false);
    expect(holders[0]?.description).toMatch(/^http 127\.0\.0\.1:\d+ #1$/);
    // Output that still comes is discarded, and nothing is released twice.
    const handler = (connection.sent[0] as Sent).handler;
    handler.onStdout(Buffer.from('Content-Type: text/plain\r\n\r\ndiscarded'));
    handler.onEnd({ appStatus: 0, protocolStatus: 0 });
    expect(released).toEqual([['L1', 'client-abort']]);
  });
});
