import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveStatic, type StaticFileError } from '../../src/gateway/staticFiles';

let dir: string;
let server: Server;
let base: string;
const seenErrors: StaticFileError[] = [];

beforeAll(async () => {
  // A root below a dot-folder: only the file name may count as a dotfile.
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'gw-static-')));
  mkdirSync(join(dir, '.cache', 'site', 'ünï'), { recursive: true });
  const site = join(dir, '.cache', 'site');
  writeFileSync(join(site, 'hello.txt'), 'hello world');
  writeFileSync(join(site, 'style.css'), 'body{color:red}');
  writeFileSync(join(site, 'page.html'), '<p>x</p>');
  writeFileSync(join(site, 'data.json'), '{"a":1}');
  writeFileSync(join(site, 'app.js'), 'console.log(1)');
  writeFileSync(join(site, 'image.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(site, 'font.woff2'), Buffer.from([0, 1, 2, 3]));
  writeFileSync(join(site, 'blob.unknownext'), Buffer.from([9, 9]));
  writeFileSync(join(site, '.secret'), 'no');
  writeFileSync(join(site, 'ünï', 'a b#c?.txt'), 'odd name');
  mkdirSync(join(site, 'adir'));

  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const file = join(site, decodeURIComponent(url.pathname));
    if (url.searchParams.has('custom')) {
      serveStatic(req, res, file, {
        maxAgeSeconds: 60,
        onError: (error, _req, response) => {
          seenErrors.push(error);
          response.statusCode = error.status;
          response.end(`custom ${error.status}`);
        },
      });
    } else {
      serveStatic(req, res, file);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe('serveStatic', () => {
  it('sends the file with length, type, ETag, Last-Modified and Accept-Ranges', async () => {
    const res = await fetch(`${base}/hello.txt`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('hello world');
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('content-length')).toBe('11');
    expect(res.headers.get('etag')).toMatch(/^W\/"/);
    expect(res.headers.get('last-modified')).toBeTruthy();
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('cache-control')).toBe('public, max-age=0');
  });

  it.each([
    ['style.css', 'text/css; charset=utf-8'],
    ['page.html', 'text/html; charset=utf-8'],
    ['data.json', 'application/json; charset=utf-8'],
    ['app.js', 'text/javascript; charset=utf-8'],
    ['image.svg', 'image/svg+xml'],
    ['font.woff2', 'font/woff2'],
    ['blob.unknownext', 'application/octet-stream'],
  ])('content type of %s', async (name, type) => {
    const res = await fetch(`${base}/${name}`);
    await res.arrayBuffer();
    expect(res.headers.get('content-type')).toBe(type);
  });

  it('answers a conditional GET with 304', async () => {
    // Raw requests: fetch() adds Cache-Control: no-cache to conditional requests.
    const first = await rawRequest('GET', '/hello.txt');
    const etag = first.headers.etag as string;
    const again = await rawRequest('GET', '/hello.txt', { 'If-None-Match': etag });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
    const byDate = await rawRequest('GET', '/hello.txt', { 'If-Modified-Since': first.headers['last-modified'] as string });
    expect(byDate.status).toBe(304);
    const stale = await rawRequest('GET', '/hello.txt', { 'If-None-Match': '"other"' });
    expect(stale.status).toBe(200);
  });

  it('answers a failed If-Match with 412', async () => {
    const res = await fetch(`${base}/hello.txt`, { headers: { 'If-Match': '"nope"' } });
    expect(res.status).toBe(412);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toContain('412 Precondition Failed');
  });

  it('serves a byte range with 206 and Content-Range', async () => {
    const res = await fetch(`${base}/hello.txt`, { headers: { Range: 'bytes=6-' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe('bytes 6-10/11');
    expect(await res.text()).toBe('world');
  });

  it('answers an unsatisfiable range with 416, Content-Range and our error page', async () => {
    const res = await fetch(`${base}/hello.txt`, { headers: { Range: 'bytes=100-200' } });
    expect(res.status).toBe(416);
    expect(res.headers.get('content-range')).toBe('bytes */11');
    expect(res.headers.get('etag')).toBeNull(); // file headers are cleared for the error
    expect(await res.text()).toContain('416 Range Not Satisfiable');
  });

  it('HEAD sends the headers without a body', async () => {
    const res = await rawRequest('HEAD', '/hello.txt');
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe('11');
    expect(res.body).toBe('');
  });

  it('refuses other methods with 405 and Allow', async () => {
    const res = await fetch(`${base}/hello.txt`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    expect(await res.text()).toContain('405 Method Not Allowed');
  });

  it('a file that vanished is a 404 error page', async () => {
    const res = await fetch(`${base}/gone.txt`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toContain('404 Not Found');
  });

  it('a directory is a 404 (resolve.ts redirects, never send)', async () => {
    const res = await fetch(`${base}/adir`);
    expect(res.status).toBe(404);
    await res.text();
  });

  it('still denies a dotfile name as a second line of defence, though the root is under .cache', async () => {
    const res = await fetch(`${base}/.secret`);
    expect(res.status).toBe(403);
    await res.text();
  });

  it('serves names with spaces, # and ? and unicode (they are not URL syntax here)', async () => {
    const res = await fetch(`${base}/${encodeURIComponent('ünï')}/${encodeURIComponent('a b#c?.txt')}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('odd name');
  });

  it('hands errors to onError when given, and applies maxAge', async () => {
    const missing = await fetch(`${base}/gone.txt?custom`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('custom 404');
    expect(seenErrors.at(-1)?.status).toBe(404);
    const ok = await fetch(`${base}/hello.txt?custom`);
    await ok.text();
    expect(ok.headers.get('cache-control')).toBe('public, max-age=60');
  });
});

function rawRequest(
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
