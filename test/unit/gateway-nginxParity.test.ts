import { realpathSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCgiParams, type ServerInfo } from '../../src/gateway/cgiParams';
import { defaultResolveConfig, resolveRequest, type Resolution } from '../../src/gateway/resolve';
import { isNginxFpmAvailable, startNginxFpm, type NginxFpm } from '../support/nginxFpm';

/**
 * Pins the nginx facts resolve.ts and cgiParams.ts are built on: the same
 * raw request goes through real nginx + PHP-FPM (test/fixtures/docroot,
 * server.php dumps $_SERVER) and through resolveRequest + buildCgiParams,
 * and the CGI values must agree. Deliberate differences are asserted as
 * such, so an nginx upgrade that changes a fact shows up here.
 */

const docroot = realpathSync(join(__dirname, '..', 'fixtures', 'docroot'));
const available = isNginxFpmAvailable();

interface Dump {
  ran: string;
  server: Record<string, string>;
  getenv_http_proxy: string | false;
  body_length: number;
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let nginx: NginxFpm;

beforeAll(async () => {
  if (available) nginx = await startNginxFpm({ documentRoot: docroot, workers: 2 });
});

afterAll(async () => {
  await nginx?.stop();
});

/** rawHeaders-style flat list; Host first like a browser. */
type Headers = string[];

function send(method: string, target: string, headers: Headers, body?: Buffer | string, chunked = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port: nginx.port, method, path: target, headers: [...headers, 'Connection', 'close'], agent: false, setHost: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    if (body !== undefined && chunked) {
      // Two writes without Content-Length: Node frames them as chunks.
      const b = Buffer.from(body);
      req.write(b.subarray(0, 5));
      req.end(b.subarray(5));
    } else {
      req.end(body);
    }
  });
}

const STATUS: Record<Resolution['kind'], number> = {
  static: 200,
  script: 200,
  redirect: 301,
  'not-found': 404,
  forbidden: 403,
  'bad-request': 400,
};

/** Runs the request through both and compares every CGI param we would send. */
async function compare(
  method: string,
  target: string,
  headers: Headers,
  body?: { data: string; chunked?: boolean },
): Promise<{ ours: Map<string, string>; theirs: Dump }> {
  const reply = await send(method, target, headers, body?.data, body?.chunked);
  expect(reply.status, reply.body).toBe(200);
  const theirs = JSON.parse(reply.body) as Dump;
  const resolution = await resolveRequest(target, defaultResolveConfig(docroot));
  expect(resolution.kind).toBe('script');
  if (resolution.kind !== 'script') throw new Error('unreachable');
  expect(theirs.ran).toBe(resolution.scriptFilename);

  const server: ServerInfo = {
    serverName: 'localhost',
    serverAddr: '127.0.0.1',
    serverPort: nginx.port,
    serverSoftware: theirs.server.SERVER_SOFTWARE as string,
    documentRoot: docroot,
    scheme: 'http',
  };
  const hasBody = body !== undefined;
  const ours = new Map(
    buildCgiParams(
      // Node's client adds Transfer-Encoding itself for a chunked body.
      {
        method,
        httpVersion: '1.1',
        rawHeaders: [...headers, ...(body?.chunked ? ['Transfer-Encoding', 'chunked'] : []), 'Connection', 'close'],
        remoteAddress: '127.0.0.1',
        remotePort: Number(theirs.server.REMOTE_PORT),
      },
      resolution,
      server,
      { contentLength: hasBody ? Buffer.byteLength(body.data) : null },
    ),
  );
  // Our params are byte strings (sent as latin1); PHP reads those bytes as
  // UTF-8, so compare what PHP will see.
  for (const [key, value] of ours) {
    expect(theirs.server[key], `${key} for ${method} ${target}`).toBe(Buffer.from(value, 'latin1').toString('utf8'));
  }
  // And nothing request-derived that nginx sent is missing on our side
  // (PHP_SELF is computed by PHP from SCRIPT_NAME + PATH_INFO).
  for (const key of Object.keys(theirs.server)) {
    if (key === 'PHP_SELF') continue;
    expect(ours.has(key), `nginx sent ${key}=${theirs.server[key]} for ${target}`).toBe(true);
  }
  return { ours, theirs };
}

const host = (): Headers => ['Host', `localhost:${nginx.port}`];

describe.skipIf(!available)('parity with nginx + PHP-FPM', () => {
  it('a plain script with a raw query', async () => {
    await compare('GET', '/server.php?a=1&b=%20x&c=%C3%BC', [...host(), 'User-Agent', 'parity', 'Accept', 'text/html']);
  });

  it('PATH_INFO and DOCUMENT_URI for /index.php/a/b%20c', async () => {
    const { theirs } = await compare('GET', '/index.php/a/b%20c?q=1', host());
    expect(theirs.server.DOCUMENT_URI).toBe('/index.php/a/b c');
    expect(theirs.server.PATH_INFO).toBe('/a/b c');
    expect(theirs.server.PHP_SELF).toBe('/index.php/a/b c');
  });

  it('the try_files fallback: DOCUMENT_URI /index.php, original query and REQUEST_URI', async () => {
    const { theirs } = await compare('GET', '/no/such/route?x=y', host());
    expect(theirs.server.DOCUMENT_URI).toBe('/index.php');
    expect(theirs.server.QUERY_STRING).toBe('x=y');
    expect(theirs.server.REQUEST_URI).toBe('/no/such/route?x=y');
    await compare('GET', '/no/such/route', host());
    await compare('GET', '/hello.txt/', host());
    await compare('GET', '/server.PHP', host());
  });

  it('a directory index script', async () => {
    const { theirs } = await compare('GET', '/app/?z=1', host());
    expect(theirs.server.SCRIPT_NAME).toBe('/app/index.php');
    expect(theirs.server.DOCUMENT_URI).toBe('/app/index.php');
    await compare('GET', '/', host());
  });

  it('unicode script names and an encoded slash in PATH_INFO', async () => {
    const { theirs } = await compare('GET', '/%C3%BCn%C3%AF.php/p%2Fq', host());
    expect(theirs.server.SCRIPT_NAME).toBe('/ünï.php');
    expect(theirs.server.PATH_INFO).toBe('/p/q');
  });

  it.each([
    '//server.php',
    '/./server.php',
    '/sub/../server.php',
    '/sub/%2e%2e/server.php',
    '/sub%2F..%2Fserver.php',
    '/%2fserver.php',
    '/server%2Ephp',
    '/server.php/',
    '/server.php?',
    '/server.php?a=b?c=d',
    '/server.php#frag?x=1',
    '/server.php?x#y',
    '/index.php//a//b',
    '/index.php/a/..',
  ])('normalisation: %s', async (target) => {
    await compare('GET', target, host());
  });

  it('header handling: underscores and dots dropped, empty kept, Proxy never visible', async () => {
    const { theirs } = await compare('GET', '/server.php', [
      ...host(),
      'X_Under',
      'u',
      'X.Dot',
      'd',
      'x-lower-CASE',
      'lc',
      'X-Empty',
      '',
      'Proxy',
      'http://evil:1',
      'Content-Type',
      'text/plain',
    ]);
    expect(theirs.server.HTTP_X_LOWER_CASE).toBe('lc');
    expect(theirs.server.HTTP_X_EMPTY).toBe('');
    expect(theirs.server.HTTP_CONTENT_TYPE).toBe('text/plain');
    expect(theirs.server.CONTENT_TYPE).toBe('text/plain');
    expect('HTTP_X_UNDER' in theirs.server).toBe(false);
    expect('HTTP_PROXY' in theirs.server).toBe(false);
    expect(theirs.getenv_http_proxy).toBe(false);
  });

  it('a POST with Content-Length', async () => {
    const { theirs } = await compare('POST', '/server.php', [...host(), 'Content-Type', 'application/x-www-form-urlencoded', 'Content-Length', '7'], {
      data: 'a=1&b=2',
    });
    expect(theirs.server.CONTENT_LENGTH).toBe('7');
    expect(theirs.server.HTTP_CONTENT_LENGTH).toBe('7');
    expect(theirs.body_length).toBe(7);
  });

  it('a chunked POST: CONTENT_LENGTH is the buffered length, HTTP_TRANSFER_ENCODING passes', async () => {
    const { theirs } = await compare('POST', '/server.php', [...host(), 'Content-Type', 'text/plain'], { data: 'hello world', chunked: true });
    expect(theirs.server.CONTENT_LENGTH).toBe('11');
    expect(theirs.server.HTTP_TRANSFER_ENCODING).toBe('chunked');
    expect(theirs.body_length).toBe(11);
  });

  it('repeated headers: we join like nginx >= 1.23; nginx 1.22 lets PHP keep the last copy', async () => {
    const reply = await send('GET', '/server.php', [...host(), 'Cookie', 'a=1', 'Cookie', 'b=2', 'X-Multi', 'one', 'X-Multi', 'two']);
    const theirs = JSON.parse(reply.body) as Dump;
    const [major, minor] = (theirs.server.SERVER_SOFTWARE as string).replace('nginx/', '').split('.').map(Number) as [number, number];
    const joins = major > 1 || minor >= 23;
    expect(theirs.server.HTTP_COOKIE).toBe(joins ? 'a=1; b=2' : 'b=2');
    expect(theirs.server.HTTP_X_MULTI).toBe(joins ? 'one, two' : 'two');
  });

  describe('status codes for what is not a script', () => {
    it.each([
      ['/hello.txt', 200],
      ['/sub/', 200],
      ['/sub/.', 200],
      ['/sub', 301],
      ['/app?z=1', 301],
      ['/nope.php', 404],
      ['/dir-that-is-missing.php/x', 404],
      ['/uploads/x.jpg/y.php', 404],
      ['/a.php.php', 404],
      ['/%252e%252e/server.php', 404],
      ['/sub\\..\\server.php', 404],
      ['/../server.php', 400],
      ['/%2e%2e/server.php', 400],
      ['/index.php/..%2f..%2fetc', 400],
      ['/hello%00.txt', 400],
      ['/hel%zzlo.txt', 400],
      ['/hello%2', 400],
    ])('%s → %i', async (target, status) => {
      const reply = await send('GET', target, host());
      expect(reply.status).toBe(status);
      expect(STATUS[(await resolveRequest(target, defaultResolveConfig(docroot))).kind]).toBe(status);
      if (status === 301) {
        // nginx writes an absolute URL with its listen port; ours is relative.
        const ours = (await resolveRequest(target, defaultResolveConfig(docroot))) as { location: string };
        expect(reply.headers.location).toBe(`http://localhost:${nginx.port}${ours.location}`);
      }
    });
  });

  describe('deliberate differences (ours is stricter)', () => {
    it.each([
      ['/.env', 200, 'forbidden'],
      ['/index.php.bak', 200, 'forbidden'],
      ['/%ff.txt', 200, 'bad-request'], // nginx: the front controller
      ['/index.php/a%0ab', 404, 'bad-request'],
    ])('%s: nginx %i, ours %s', async (target, nginxStatus, kind) => {
      expect((await send('GET', target, host())).status).toBe(nginxStatus);
      expect((await resolveRequest(target, defaultResolveConfig(docroot))).kind).toBe(kind);
    });

    it('uploads/x.jpg is served as a file by both, never run', async () => {
      const reply = await send('GET', '/uploads/x.jpg', host());
      expect(reply.status).toBe(200);
      expect(reply.body).toContain('<?php');
      expect((await resolveRequest('/uploads/x.jpg', defaultResolveConfig(docroot))).kind).toBe('static');
    });
  });
});

describe('startNginxFpm', () => {
  it.each(['relative/root', '/tmp/a$b', '/tmp/a"b', '/tmp/a;b', '/tmp/a\nb'])('refuses a document root nginx cannot take safely: %j', async (documentRoot) => {
    await expect(startNginxFpm({ documentRoot, workers: 1 })).rejects.toThrow();
  });

  it.skipIf(!available)('refuses a worker count below 1', async () => {
    await expect(startNginxFpm({ documentRoot: docroot, workers: 0 })).rejects.toThrow(/workers/);
  });
});
