/**
 * The FastCGI client against REAL php-cgi workers, started the way the pool
 * starts them (a pre-bound unix socket as fd 0, see src/platform/spawnWorker).
 * Every worker is stopped and awaited in afterEach.
 */
import { createHash, randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  FastCgiConnection,
  ParamTooLargeError,
  type EndRequestResult,
  type FastCgiConnectionError,
  type ParamList,
  type ResponseHandler,
} from '../../src/fastcgi';
import { exitOf, stopProcessGroup } from '../../src/platform/processControl';
import { createSocketDir, removeSocketDir, spawnWorker, type SpawnedWorker } from '../../src/platform/spawnWorker';

const PHP_CGI = process.env.PHP_CGI ?? '/usr/bin/php-cgi';
const FIXTURES = resolve(__dirname, '../fixtures/php');

let socketDir: string;
let workerCount = 0;
const workers: SpawnedWorker[] = [];
const connections: FastCgiConnection[] = [];

beforeAll(async () => {
  socketDir = await createSocketDir();
});

afterEach(async () => {
  for (const connection of connections.splice(0)) connection.destroy();
  await Promise.all(workers.splice(0).map((worker) => stopProcessGroup(worker.child, 2_000)));
});

afterAll(() => {
  removeSocketDir(socketDir);
});

async function startWorker(args: readonly string[] = []): Promise<SpawnedWorker> {
  const worker = await spawnWorker({
    command: PHP_CGI,
    args,
    // Inherit FASTCGI_POOL_TEST_RUN, which the suite's leftover-process check looks for.
    env: process.env,
    cwd: FIXTURES,
    socketDir,
    name: `fcgi-it-${process.pid}-${++workerCount}`,
    parentDeathSignal: false,
  });
  workers.push(worker);
  worker.child.stderr?.resume();
  return worker;
}

async function connectTo(worker: SpawnedWorker): Promise<FastCgiConnection> {
  const connection = await FastCgiConnection.connect(worker.address, { timeoutMs: 5_000 });
  connections.push(connection);
  return connection;
}

function cgiParams(script: string, options: { method?: string; query?: string; contentLength?: number; extra?: ParamList } = {}): ParamList {
  const method = options.method ?? 'GET';
  const query = options.query ?? '';
  const params: Array<readonly [string, string]> = [
    ['GATEWAY_INTERFACE', 'CGI/1.1'],
    ['SERVER_SOFTWARE', 'fastcgi-pool-test'],
    ['SERVER_PROTOCOL', 'HTTP/1.1'],
    ['SERVER_NAME', 'localhost'],
    ['SERVER_PORT', '80'],
    ['REMOTE_ADDR', '127.0.0.1'],
    ['REQUEST_METHOD', method],
    ['DOCUMENT_ROOT', FIXTURES],
    ['SCRIPT_FILENAME', resolve(FIXTURES, script)],
    ['SCRIPT_NAME', `/${script}`],
    ['REQUEST_URI', `/${script}${query ? `?${query}` : ''}`],
    ['QUERY_STRING', query],
    ['REDIRECT_STATUS', '200'],
  ];
  if (options.contentLength !== undefined) {
    params.push(['CONTENT_LENGTH', String(options.contentLength)], ['CONTENT_TYPE', 'application/octet-stream']);
  }
  return [...params, ...(options.extra ?? [])];
}

/** Collects one response; `settled` resolves on onEnd or onError. */
class Response implements ResponseHandler {
  readonly stdoutChunks: Buffer[] = [];
  readonly stderrChunks: Buffer[] = [];
  end: EndRequestResult | null = null;
  error: FastCgiConnectionError | null = null;
  calls = 0;
  private done!: () => void;
  readonly settled = new Promise<void>((resolve) => (this.done = resolve));

  onStdout(chunk: Buffer): void {
    this.stdoutChunks.push(chunk);
  }
  onStderr(chunk: Buffer): void {
    this.stderrChunks.push(chunk);
  }
  onEnd(result: EndRequestResult): void {
    this.calls++;
    this.end = result;
    this.done();
  }
  onError(error: FastCgiConnectionError): void {
    this.calls++;
    this.error = error;
    this.done();
  }
  get stdout(): string {
    return Buffer.concat(this.stdoutChunks).toString('latin1');
  }
  get stderr(): string {
    return Buffer.concat(this.stderrChunks).toString('utf8');
  }
  /** The body after the CGI headers. */
  get body(): string {
    const text = this.stdout;
    const at = text.indexOf('\r\n\r\n');
    return at < 0 ? '' : text.slice(at + 4);
  }
}

/** Sends a request with a known (possibly empty) body and waits for the outcome. */
async function request(connection: FastCgiConnection, params: ParamList, stdin: Buffer = Buffer.alloc(0)): Promise<Response> {
  const response = new Response();
  connection.beginRequest(params, response, { stdin });
  await response.settled;
  return response;
}

function expectOk(response: Response): void {
  expect(response.error, response.stderr).toBeNull();
  expect(response.end).toEqual({ appStatus: 0, protocolStatus: 0 });
  expect(response.calls).toBe(1);
}

describe('FastCGI client against real php-cgi', () => {
  it('GET_VALUES: a single-process worker reports MPXS_CONNS 0, MAX_CONNS 1, and serves a request on the same connection', async () => {
    const worker = await startWorker();
    const connection = await connectTo(worker);
    const values = await connection.getValues(['FCGI_MAX_CONNS', 'FCGI_MAX_REQS', 'FCGI_MPXS_CONNS', 'FOO_UNKNOWN']);
    expect(values).toEqual({ FCGI_MAX_CONNS: '1', FCGI_MAX_REQS: '1', FCGI_MPXS_CONNS: '0' });
    const response = await request(connection, cgiParams('fcgi-hello.php'));
    expectOk(response);
    expect(response.body).toBe(`pid=${worker.pid} method=GET n=-\n`);
  });

  it('serves 3 requests (GET, streamed POST, GET) on one kept connection, all by the same worker', async () => {
    const worker = await startWorker();
    const connection = await connectTo(worker);

    const first = await request(connection, cgiParams('fcgi-hello.php', { extra: [['HTTP_X_N', '1']] }));
    expectOk(first);
    expect(first.stdout).toMatch(/^Content-Type: text\/plain/im);
    expect(first.body).toBe(`pid=${worker.pid} method=GET n=1\n`);

    const body = randomBytes(100_000);
    const second = new Response();
    connection.beginRequest(cgiParams('fcgi-md5.php', { method: 'POST', contentLength: body.length }), second);
    await connection.pipeStdin(Readable.from([body.subarray(0, 30_000), body.subarray(30_000)]));
    await second.settled;
    expectOk(second);
    expect(second.body).toBe(`${body.length} ${createHash('md5').update(body).digest('hex')} pid=${worker.pid}`);

    const third = await request(connection, cgiParams('fcgi-hello.php', { extra: [['HTTP_X_N', '3']] }));
    expectOk(third);
    expect(third.body).toBe(`pid=${worker.pid} method=GET n=3\n`);

    expect(connection.requestsServed).toBe(3);
    expect(connection.isOpen).toBe(true);
  });

  it('a kept connection stays usable after a POST whose script never reads the body', async () => {
    const worker = await startWorker();
    const connection = await connectTo(worker);
    for (const size of [10, 100_000, 1024 * 1024]) {
      const body = randomBytes(size);
      const post = new Response();
      connection.beginRequest(cgiParams('fcgi-hello.php', { method: 'POST', contentLength: body.length }), post);
      await connection.pipeStdin(Readable.from([body]));
      await post.settled;
      expectOk(post);
      expect(post.body).toBe(`pid=${worker.pid} method=POST n=-\n`);
      expect(connection.isOpen).toBe(true);
      const get = await request(connection, cgiParams('fcgi-hello.php', { extra: [['HTTP_X_N', String(size)]] }));
      expectOk(get);
      expect(get.body).toBe(`pid=${worker.pid} method=GET n=${size}\n`);
    }
    expect(connection.requestsServed).toBe(6);
  });

  it('a 1 MiB POST body streamed with pipeStdin arrives intact (md5)', async () => {
    const worker = await startWorker();
    const connection = await connectTo(worker);
    const chunks: Buffer[] = [];
    for (let size = 0, i = 0; size < 1024 * 1024; i++) {
      const chunk = randomBytes(Math.min(1 + ((i * 7_777) % 70_000), 1024 * 1024 - size));
      chunks.push(chunk);
      size += chunk.length;
    }
    const body = Buffer.concat(chunks);
    expect(body.length).toBe(1024 * 1024);
    const response = new Response();
    connection.beginRequest(cgiParams('fcgi-md5.php', { method: 'POST', contentLength: body.length }), response);
    await connection.pipeStdin(Readable.from(chunks));
    await response.settled;
    expectOk(response);
    expect(response.body).toBe(`1048576 ${createHash('md5').update(body).digest('hex')} pid=${worker.pid}`);
  });

  it('~104 KB of params in 400 pairs (more than one PARAMS record) are all received', async () => {
    const worker = await startWorker();
    const connection = await connectTo(worker);
    const extra: Array<[string, string]> = [];
    for (let i = 0; i < 400; i++) extra.push([`HTTP_X_P_${String(i).padStart(3, '0')}`, String.fromCharCode(97 + (i % 26)).repeat(243)]);
    const size = extra.reduce((sum, [n, v]) => sum + 1 + 4 + n.length + v.length, 0);
    expect(size).toBe(104_000);
    const joined = [...extra]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([n, v]) => `${n}=${v}\n`)
      .join('');
    const response = await request(connection, cgiParams('fcgi-params.php', { extra }));
    expectOk(response);
    expect(response.body).toBe(`400 ${createHash('md5').update(joined).digest('hex')} big=0 ${createHash('md5').update('').digest('hex')}`);
  });

  it('serves a single 60 KB param; a 70 KB one throws ParamTooLargeError and sends nothing', async () => {
    const worker = await startWorker();
    const connection = await connectTo(worker);
    const big60 = 'q'.repeat(60_000);
    const ok = await request(connection, cgiParams('fcgi-params.php', { extra: [['HTTP_X_BIG', big60]] }));
    expectOk(ok);
    expect(ok.body).toMatch(new RegExp(` big=60000 ${createHash('md5').update(big60).digest('hex')}$`));

    const rejected = new Response();
    let error: unknown;
    try {
      connection.beginRequest(cgiParams('fcgi-params.php', { extra: [['HTTP_X_BIG', 'q'.repeat(70_000)]] }), rejected);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ParamTooLargeError);
    expect((error as ParamTooLargeError).paramName).toBe('HTTP_X_BIG');
    expect(rejected.calls).toBe(0);
    // Nothing reached the worker: the same kept connection still serves requests.
    const after = await request(connection, cgiParams('fcgi-hello.php'));
    expectOk(after);
    expect(after.body).toBe(`pid=${worker.pid} method=GET n=-\n`);
    expect(connection.requestsServed).toBe(2);
  });

  it('a fatal error gives the PHP message on STDERR and a 500 Status header on STDOUT', async () => {
    const worker = await startWorker();
    const connection = await connectTo(worker);
    const response = await request(connection, cgiParams('fcgi-fatal.php'));
    expectOk(response);
    expect(response.stderr).toMatch(/PHP Fatal error: .*fcgi_test_function_that_does_not_exist/);
    expect(response.stdout).toMatch(/^Status: 500 Internal Server Error\r\n/m);
    expect(response.body).toBe('');
    expect(connection.isOpen).toBe(true);
  });

  it('a worker SIGKILLed mid-request shows as closed-before-end after its first output', async () => {
    const worker = await startWorker(['-d', 'output_buffering=0']);
    const connection = await connectTo(worker);
    const closed = new Promise<Error | undefined>((resolve) => connection.once('close', resolve));
    const response = new Response();
    const started = new Promise<void>((resolve) => {
      response.onStdout = (chunk) => {
        response.stdoutChunks.push(chunk);
        if (response.stdout.includes('started')) resolve();
      };
    });
    connection.beginRequest(cgiParams('fcgi-sleep.php'), response, { stdin: Buffer.alloc(0) });
    await started;
    expect(response.body).toBe(`started pid=${worker.pid}\n`);
    process.kill(worker.pid, 'SIGKILL');
    await response.settled;
    expect(response.calls).toBe(1);
    expect(response.end).toBeNull();
    expect(response.error?.kind).toBe('closed-before-end');
    expect(response.error?.receivedStdout).toBe(true);
    await closed;
    expect(connection.isOpen).toBe(false);
    expect(await exitOf(worker.child)).toEqual({ code: null, signal: 'SIGKILL' });
    await expect(FastCgiConnection.connect(worker.address)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('without KEEP_CONN php-cgi closes after END_REQUEST, and that is not an error', async () => {
    const worker = await startWorker();
    const connection = await connectTo(worker);
    const closed = new Promise<Error | undefined>((resolve) => connection.once('close', resolve));
    const response = new Response();
    connection.beginRequest(cgiParams('fcgi-hello.php'), response, { keepConn: false, stdin: Buffer.alloc(0) });
    await response.settled;
    expectOk(response);
    expect(await closed).toBeUndefined();
    expect(connection.isOpen).toBe(false);
    expect(response.calls).toBe(1);
  });

  it('an 8 MiB response read with pauseOutput/resumeOutput arrives intact with bounded buffering', async () => {
    const worker = await startWorker();
    const connection = await connectTo(worker);
    const expected = createHash('md5')
      .update(Buffer.from('0123456789abcde\n'.repeat(4096 * 16 * 8)))
      .digest('hex');
    const response = new Response();
    const hash = createHash('md5');
    let received = 0;
    let pauses = 0;
    let paused = false;
    let deliveredWhilePaused = 0;
    let maxBuffered = 0;
    let headersDone = false;
    response.onStdout = (chunk) => {
      if (paused) deliveredWhilePaused++;
      maxBuffered = Math.max(maxBuffered, connection.bufferedOutputBytes);
      if (!headersDone) {
        const text = chunk.toString('latin1');
        const at = text.indexOf('\r\n\r\n');
        expect(at).toBeGreaterThan(0);
        headersDone = true;
        chunk = chunk.subarray(at + 4);
      }
      received += chunk.length;
      hash.update(chunk);
      // A slow client: stop after every chunk, go on a little later.
      paused = true;
      pauses++;
      connection.pauseOutput();
      setTimeout(() => {
        paused = false;
        connection.resumeOutput();
      }, 1);
    };
    connection.beginRequest(cgiParams('fcgi-big.php', { query: 'mb=8' }), response, { stdin: Buffer.alloc(0) });
    await response.settled;
    expectOk(response);
    expect(received).toBe(8 * 1024 * 1024);
    expect(hash.digest('hex')).toBe(expected);
    expect(deliveredWhilePaused).toBe(0);
    expect(pauses).toBeGreaterThan(100);
    expect(maxBuffered).toBeLessThan(1024 * 1024);
  });
});
