import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, realpathSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clearStaticCache, serveStatic, STATIC_CACHE_MAX_FILE } from '../../src/gateway/staticFiles';

// The in-memory fast path of serveStatic must answer exactly as send does.

let dir: string;
let server: Server;
let port: number;

beforeAll(async () => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'gw-static-cache-')));
  writeFileSync(join(dir, 'a.txt'), 'first version');
  writeFileSync(join(dir, 'b.txt'), 'another text file');
  writeFileSync(join(dir, 'style.css'), 'body{color:red}');
  writeFileSync(join(dir, 'big.bin'), Buffer.alloc(STATIC_CACHE_MAX_FILE + 1, 7));
  writeFileSync(join(dir, 'small.bin'), Buffer.alloc(10, 7));
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    serveStatic(req, res, join(dir, url.pathname), url.searchParams.has('age') ? { maxAgeSeconds: 60 } : {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => clearStaticCache());

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Header names and values in order, without Date (which changes) and Connection. */
function comparable(reply: Reply): string[] {
  const out: string[] = [];
  for (let i = 0; i < reply.rawHeaders.length; i += 2) {
    const name = reply.rawHeaders[i] as string;
    if (/^(date|connection|keep-alive)$/i.test(name)) continue;
    out.push(`${name}: ${reply.rawHeaders[i + 1]}`);
  }
  return out;
}

describe('serveStatic from memory', () => {
  it('answers the second GET of a type send has served exactly as send did', async () => {
    const bySend = await get('/a.txt');
    const fromMemory = await get('/a.txt');
    expect(bySend.status).toBe(200);
    expect(fromMemory.status).toBe(200);
    expect(fromMemory.body.toString()).toBe('first version');
    expect(comparable(fromMemory)).toEqual(comparable(bySend));
    // Another file of the same type, never sent by send: same header set.
    const other = await get('/b.txt');
    expect(other.body.toString()).toBe('another text file');
    expect(other.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(other.headers.etag).toMatch(/^W\/"11-[0-9a-f]+"$/);
  });

  it('HEAD sends the same headers and no body', async () => {
    await get('/style.css');
    const head = await get('/style.css', {}, 'HEAD');
    const full = await get('/style.css');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(comparable(head)).toEqual(comparable(full));
  });

  it('serves an edited file at once, with a new ETag', async () => {
    writeFileSync(join(dir, 'edit.txt'), 'version one');
    await get('/edit.txt');
    const one = await get('/edit.txt');
    expect(one.body.toString()).toBe('version one');
    writeFileSync(join(dir, 'edit.txt'), 'version two');
    // Same size and, on a coarse clock, possibly the same mtime: force a later one.
    const later = new Date(Date.now() + 5_000);
    utimesSync(join(dir, 'edit.txt'), later, later);
    const two = await get('/edit.txt');
    expect(two.body.toString()).toBe('version two');
    expect(two.headers.etag).not.toBe(one.headers.etag);
    const bySend = await get('/edit.txt', { 'If-None-Match': '"x"' });
    expect(two.headers.etag).toBe(bySend.headers.etag);
    expect(two.headers['last-modified']).toBe(bySend.headers['last-modified']);
  });

  it('leaves ranges and conditional requests to send', async () => {
    await get('/a.txt');
    const range = await get('/a.txt', { Range: 'bytes=0-4' });
    expect(range.status).toBe(206);
    expect(range.body.toString()).toBe('first');
    const etag = (await get('/a.txt')).headers.etag as string;
    expect((await get('/a.txt', { 'If-None-Match': etag })).status).toBe(304);
    expect((await get('/a.txt', { 'If-Match': '"nope"' })).status).toBe(412);
  });

  it('applies maxAgeSeconds per call, not per cached file', async () => {
    await get('/a.txt');
    expect((await get('/a.txt')).headers['cache-control']).toBe('public, max-age=0');
    expect((await get('/a.txt?age')).headers['cache-control']).toBe('public, max-age=60');
    expect((await get('/a.txt')).headers['cache-control']).toBe('public, max-age=0');
  });

  it('streams files above the size limit through send, intact', async () => {
    await get('/small.bin');
    const big = await get('/big.bin');
    expect(big.status).toBe(200);
    expect(big.body.length).toBe(STATIC_CACHE_MAX_FILE + 1);
    expect(big.headers['content-type']).toBe('application/octet-stream');
  });

  it('a file that vanished is a 404, not a stale copy', async () => {
    writeFileSync(join(dir, 'gone.txt'), 'soon gone');
    await get('/gone.txt');
    expect((await get('/gone.txt')).status).toBe(200);
    rmSync(join(dir, 'gone.txt'));
    expect((await get('/gone.txt')).status).toBe(404);
  });
});
