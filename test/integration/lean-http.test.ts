import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LeanHttpFront } from '../../src/gateway/leanHttp';
import { startPoolServer, type PoolServer } from '../../src/gateway/poolServer';
import { phpCgi, waitFor } from '../support/helpers';

// The gateway's lean HTTP/1.1 front (src/gateway/leanHttp.ts) against real
// php-cgi: what it serves itself, what it hands to Node's HTTP server and
// that a connection survives the hand-over, pipelining, streaming, HEAD,
// and closing. Keep-alive requests take this path; the other suites cover
// routing and faults through both fronts.

let docroot: string;
let server: PoolServer;

beforeAll(async () => {
  docroot = mkdtempSync(join(tmpdir(), 'lean-app-'));
  cpSync(resolve(__dirname, '../fixtures/app'), docroot, { recursive: true });
  writeFileSync(join(docroot, 'stream.php'), '<?php header("Content-Type: text/plain"); echo "first,"; ob_flush(); flush(); usleep(150000); echo "second";');
  writeFileSync(join(docroot, 'hello.txt'), 'hello static\n');
  // Above the in-memory cache's 256 KB limit: its revalidations are answered from the stat all the same.
  writeFileSync(join(docroot, 'bundle.js'), 'x'.repeat(300 * 1024));
  // Types no request of this file has served before the test that reads them.
  for (const name of ['first.css', 'first.json', 'first.svg', 'first.woff2', 'FIRST.PNG', 'NOTES', 'first.unknown-ext'])
    writeFileSync(join(docroot, name), `${name}\n`);
  server = await startPoolServer({ documentRoot: docroot, pool: { phpCgi, minWorkers: 2, maxWorkers: 2 }, gateway: { port: 0 } });
});

afterAll(async () => {
  await server?.stop(1_000);
  rmSync(docroot, { recursive: true, force: true });
});

interface Response {
  status: number;
  head: string;
  headers: Map<string, string>;
  body: string;
}

/**
 * A client connection that reads responses one after another by their
 * framing (Content-Length, chunked, or none for HEAD/204/304).
 */
class Client {
  private readonly socket: Socket;
  private buffer = '';
  private waiting: (() => void) | null = null;
  closed = false;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (d: Buffer) => {
      this.buffer += d.toString('latin1');
      this.waiting?.();
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.waiting?.();
    });
    this.socket.on('error', () => undefined);
  }

  send(text: string | Buffer): void {
    this.socket.write(text);
  }

  async read(noBody = false): Promise<Response> {
    for (;;) {
      const parsed = this.tryParse(noBody);
      if (parsed) return parsed;
      if (this.closed) throw new Error(`connection closed with ${JSON.stringify(this.buffer.slice(0, 200))}`);
      await new Promise<void>((r) => (this.waiting = r));
      this.waiting = null;
    }
  }

  private tryParse(noBody: boolean): Response | null {
    const headEnd = this.buffer.indexOf('\r\n\r\n');
    if (headEnd < 0) return null;
    const head = this.buffer.slice(0, headEnd);
    const [statusLine = '', ...lines] = head.split('\r\n');
    const status = Number(statusLine.split(' ')[1]);
    const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as [string, string]));
    let rest = this.buffer.slice(headEnd + 4);
    let body = '';
    if (noBody || status === 204 || status === 304) {
      // nothing
    } else if (headers.has('content-length')) {
      const length = Number(headers.get('content-length'));
      if (rest.length < length) return null;
      body = rest.slice(0, length);
      rest = rest.slice(length);
    } else if (headers.get('transfer-encoding') === 'chunked') {
      let at = 0;
      for (;;) {
        const lineEnd = rest.indexOf('\r\n', at);
        if (lineEnd < 0) return null;
        const size = parseInt(rest.slice(at, lineEnd), 16);
        if (rest.length < lineEnd + 2 + size + 2) return null;
        body += rest.slice(lineEnd + 2, lineEnd + 2 + size);
        at = lineEnd + 2 + size + 2;
        if (size === 0) break;
      }
      rest = rest.slice(at);
    } else {
      throw new Error(`unframed response: ${head}`);
    }
    this.buffer = rest;
    return { status, head, headers, body };
  }

  destroy(): void {
    this.socket.destroy();
  }
}

const get = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${extra}\r\n`;

describe('the lean HTTP front', () => {
  it('answers pipelined requests on one connection in order, with keep-alive headers and a Content-Length', async () => {
    const client = new Client(server.port);
    client.send(get('/pid.php') + get('/hello.txt') + get('/hello.txt') + get('/slow.php?ms=1'));
    const first = await client.read();
    expect(first.status).toBe(200);
    expect(first.body).toMatch(/^\d+$/);
    expect(first.headers.get('content-length')).toBe(String(first.body.length));
    expect(first.headers.get('connection')).toBe('keep-alive');
    expect(first.headers.get('keep-alive')).toBe('timeout=5');
    expect(first.headers.get('date')).toMatch(/GMT$/);
    // The first static response reads the file into memory; the second comes from there: same headers.
    const second = await client.read();
    const third = await client.read();
    expect([second.status, second.body, third.status, third.body]).toEqual([200, 'hello static\n', 200, 'hello static\n']);
    expect(third.headers.get('etag')).toBe(second.headers.get('etag'));
    expect(third.headers.get('content-type')).toBe(second.headers.get('content-type'));
    const fourth = await client.read();
    expect(fourth.body).toMatch(/^slept in \d+\n$/);
    client.destroy();
  });

  it('hands a connection to Node’s parser mid-way (a chunked upload) and goes on answering on it', async () => {
    const client = new Client(server.port);
    client.send(get('/pid.php'));
    expect((await client.read()).status).toBe(200);
    client.send('POST /echo.php HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    const echoed = await client.read();
    expect(echoed.status).toBe(200);
    expect(JSON.parse(echoed.body)).toMatchObject({ method: 'POST', inputLength: 5 });
    client.send(get('/pid.php'));
    expect((await client.read()).body).toMatch(/^\d+$/);
    client.destroy();
  });

  it('hands over a request whose head arrives in pieces, without losing a byte', async () => {
    const client = new Client(server.port);
    const request = get('/echo.php?a=1', 'X-Split: yes\r\n');
    client.send(request.slice(0, 17));
    await new Promise((r) => setTimeout(r, 30));
    client.send(request.slice(17));
    const reply = await client.read();
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ method: 'GET', get: { a: '1' } });
    client.destroy();
  });

  it('reads a POST body that came with its head, byte for byte', async () => {
    const client = new Client(server.port);
    const body = Buffer.from('name=Ada+Lovelace&x[]=%C3%A9');
    client.send(
      Buffer.concat([
        Buffer.from(`POST /echo.php HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n`),
        body,
      ]),
    );
    const reply = await client.read();
    expect(JSON.parse(reply.body)).toMatchObject({ method: 'POST', post: { name: 'Ada Lovelace', x: ['é'] }, inputLength: body.length });
    client.destroy();
  });

  it('streams a response that PHP flushes in parts with chunked encoding', async () => {
    const client = new Client(server.port);
    client.send(get('/stream.php'));
    const reply = await client.read();
    expect(reply.headers.get('transfer-encoding')).toBe('chunked');
    expect(reply.headers.has('content-length')).toBe(false);
    expect(reply.body).toBe('first,second');
    client.destroy();
  });

  it('answers HEAD with the headers only, and the connection stays usable', async () => {
    const client = new Client(server.port);
    client.send(`HEAD /pid.php HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    const head = await client.read(true);
    expect(head.status).toBe(200);
    expect(head.headers.has('transfer-encoding')).toBe(false);
    client.send(get('/pid.php'));
    const next = await client.read();
    expect(next.body).toMatch(/^\d+$/);
    client.destroy();
  });

  it('leaves error answers to Node’s server: 404, 421, 400 for a malformed header', async () => {
    for (const [request, status] of [
      [get('/nope.php'), 404],
      [`GET /pid.php HTTP/1.1\r\nHost: evil.example\r\n\r\n`, 421],
      [`GET /pid.php HTTP/1.1\r\nHost: localhost\r\nBad Header: x\r\n\r\n`, 400],
      [`GET /pid.php HTTP/1.1\r\nHost: localhost\r\nX: a\x01b\r\n\r\n`, 400],
    ] as const) {
      const client = new Client(server.port);
      client.send(request);
      expect([JSON.stringify(request), (await client.read()).status]).toEqual([JSON.stringify(request), status]);
      client.destroy();
    }
  });

  describe('beside Node’s path (a front with the lean front off, same document root)', () => {
    let nodeOnly: PoolServer;
    beforeAll(async () => {
      nodeOnly = await startPoolServer({ documentRoot: docroot, pool: { phpCgi, minWorkers: 1, maxWorkers: 1 }, gateway: { port: 0, leanHttp: false } });
    });
    afterAll(async () => {
      await nodeOnly?.stop(1_000);
    });

    /**
     * Sends each request, in order, on one lean connection and on one connection
     * to Node's path. Each pair of answers must be equal but for Date, with the
     * status given, and the lean front must keep its connection throughout.
     * Returns the lean answers.
     */
    async function expectAnswersAsNodePath(cases: readonly (readonly [what: string, request: string, status: number])[]): Promise<Response[]> {
      const transfer = vi.spyOn(LeanHttpFront.prototype, 'transfer');
      const lean = new Client(server.port);
      const node = new Client(nodeOnly.port);
      try {
        const withoutDate = (head: string) => head.replace(/\r\nDate: [^\r]*/, '');
        const answers: Response[] = [];
        for (const [what, request, status] of cases) {
          lean.send(request);
          node.send(request);
          const isHead = request.startsWith('HEAD');
          const [ours, sends] = [await lean.read(isHead), await node.read(isHead)];
          expect([what, ours.status]).toEqual([what, status]);
          expect([what, withoutDate(ours.head), ours.body]).toEqual([what, withoutDate(sends.head), sends.body]);
          answers.push(ours);
        }
        expect(transfer).not.toHaveBeenCalled();
        return answers;
      } finally {
        transfer.mockRestore();
        lean.destroy();
        node.destroy();
      }
    }

    it('serves a type it has never served from memory, with the Content-Type and headers send gives it on Node’s path', async () => {
      const names = ['first.css', 'first.json', 'first.svg', 'first.woff2', 'FIRST.PNG', 'NOTES', 'first.unknown-ext'];
      // The first load of a page after a start keeps the browser's connections on the lean front.
      const answers = await expectAnswersAsNodePath(names.map((name) => [name, get(`/${name}`), 200] as const));
      expect(answers.map((a) => a.body)).toEqual(names.map((name) => `${name}\n`));
    });

    it('answers revalidations itself, exactly as send on Node’s path does, without handing the connection over', async () => {
      const first = async (port: number, path: string) => {
        const client = new Client(port);
        client.send(get(path));
        const reply = await client.read();
        client.destroy();
        return reply;
      };
      // A plain GET first, on connections of their own: the validators both fronts give.
      const [txt, js] = [await first(server.port, '/hello.txt'), await first(server.port, '/bundle.js')];
      expect([(await first(nodeOnly.port, '/hello.txt')).headers.get('etag'), (await first(nodeOnly.port, '/bundle.js')).headers.get('etag')]).toEqual([
        txt.headers.get('etag'),
        js.headers.get('etag'),
      ]);
      const etag = txt.headers.get('etag') as string;
      const lastModified = txt.headers.get('last-modified') as string;
      await expectAnswersAsNodePath([
        ['our tag', get('/hello.txt', `If-None-Match: ${etag}\r\n`), 304],
        ['a browser reload', get('/hello.txt', `If-None-Match: ${etag}\r\nCache-Control: max-age=0\r\n`), 304],
        ['our tag without W/', get('/hello.txt', `If-None-Match: ${etag.slice(2)}\r\n`), 304],
        ['a list holding ours', get('/hello.txt', `If-None-Match: "x", ${etag}\r\n`), 304],
        ['*', get('/hello.txt', 'If-None-Match: *\r\n'), 304],
        ['a stale tag', get('/hello.txt', 'If-None-Match: "stale"\r\n'), 200],
        ['If-Modified-Since at Last-Modified', get('/hello.txt', `If-Modified-Since: ${lastModified}\r\n`), 304],
        ['an older If-Modified-Since', get('/hello.txt', 'If-Modified-Since: Thu, 01 Jan 2015 00:00:00 GMT\r\n'), 200],
        ['a stale tag beside a fresh date', get('/hello.txt', `If-None-Match: "stale"\r\nIf-Modified-Since: ${lastModified}\r\n`), 200],
        ['no-cache', get('/hello.txt', `If-None-Match: ${etag}\r\nCache-Control: no-cache\r\n`), 200],
        ['HEAD with our tag', `HEAD /hello.txt HTTP/1.1\r\nHost: localhost\r\nIf-None-Match: ${etag}\r\n\r\n`, 304],
        ['a 300 KB file', get('/bundle.js', `If-None-Match: ${js.headers.get('etag') as string}\r\n`), 304],
      ]);
    });
  });

  // With a 10 s drain limit, a stop that waited for the idle connection would pass the 5 s test timeout.
  it('stop() closes idle keep-alive connections at once', { timeout: 5_000 }, async () => {
    const own = await startPoolServer({ documentRoot: docroot, pool: { phpCgi, minWorkers: 1, maxWorkers: 1 }, gateway: { port: 0 } });
    const client = new Client(own.port);
    client.send(get('/pid.php'));
    await client.read();
    await own.stop(10_000);
    await waitFor(() => client.closed, 'the idle connection to close');
    expect(client.closed).toBe(true);
  });
});
