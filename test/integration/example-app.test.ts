import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPoolServer, type PoolServer } from '../../src/gateway/poolServer';
import type { GatewayEvent } from '../../src/gateway/gateway';
import type { PoolEvent } from '../../src/pool/types';
import { isRunning, phpCgi, waitFor } from '../support/helpers';

/**
 * The bundled example app (examples/hello-php) through startPoolServer and
 * real php-cgi workers, page by page, the way a browser uses it: follow the
 * links, submit the form, upload a file, revalidate the stylesheet. Then the
 * same app through the built CLI, as `npm start` runs it.
 */

const repoRoot = resolve(__dirname, '..', '..');
const appRoot = resolve(repoRoot, 'examples', 'hello-php');
const cli = resolve(repoRoot, 'dist', 'cli.js');

let server: PoolServer;
const gatewayEvents: GatewayEvent[] = [];
const poolEvents: PoolEvent[] = [];

beforeAll(async () => {
  server = await startPoolServer({
    documentRoot: appRoot,
    pool: { phpCgi, minWorkers: 1, maxWorkers: 2 },
    gateway: { port: 0 },
    onGatewayEvent: (event) => gatewayEvents.push(event),
    onPoolEvent: (event) => poolEvents.push(event),
  });
});

afterAll(async () => {
  await server?.stop(1_000);
}, 60_000);

const url = (path: string): string => new URL(path, server.url).href;

async function get(path: string, init?: RequestInit): Promise<{ res: Response; text: string }> {
  const res = await fetch(url(path), init);
  return { res, text: await res.text() };
}

function hrefs(html: string): string[] {
  return [...html.matchAll(/href="([^"]*)"/g)].map((m) => decodeEntities(m[1] as string));
}

function decodeEntities(text: string): string {
  return text.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"').replaceAll('&#039;', "'").replaceAll('&amp;', '&');
}

const md5 = (data: Buffer): string => createHash('md5').update(data).digest('hex');

/** One raw HTTP/1.1 exchange, read until the server closes: shows a truncated response as it is. */
function rawGet(port: number, path: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('close', () => resolvePromise(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', (error) => (chunks.length > 0 ? undefined : reject(error)));
    socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost:${port}\r\nConnection: close\r\n\r\n`);
  });
}

describe('examples/hello-php through the pool', () => {
  it('/ links to every route and every asset, and each link works', async () => {
    const { res, text } = await get('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=UTF-8');
    const links = hrefs(text);
    for (const route of [
      '/hello/world',
      '/api/users',
      '/api/users/1',
      '/form',
      '/upload',
      '/slow?ms=2000',
      '/warning',
      '/die',
      '/cookie',
      '/redirect',
      '/info',
      '/no-such-page',
      '/assets/style.css',
      '/assets/logo.svg',
      '/assets/notes.txt',
      '/.env',
    ]) {
      expect(links).toContain(route);
    }
    // Follow them like a crawler (the slow and the dying page have their own tests).
    const expected: Record<string, number> = { '/no-such-page': 404, '/.env': 403 };
    for (const link of new Set(links)) {
      if (link === '/die' || link.startsWith('/slow')) continue;
      const followed = await fetch(url(link));
      await followed.arrayBuffer();
      expect([link, followed.status]).toEqual([link, expected[link] ?? 200]);
    }
  });

  it('HEAD / answers the headers without a body', async () => {
    const { res, text } = await get('/', { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=UTF-8');
    expect(text).toBe('');
  });

  it('/hello/{name} greets the name, escaped', async () => {
    const plain = await get('/hello/World');
    expect(plain.res.status).toBe(200);
    expect(plain.text).toContain('<h1>Hello, World!</h1>');
    const hostile = await get('/hello/%3Cscript%3Ealert(1)%3C%2Fscript%3E');
    expect(hostile.res.status).toBe(200);
    expect(hostile.text).toContain('<h1>Hello, &lt;script&gt;alert(1)&lt;/script&gt;!</h1>');
    expect(hostile.text).not.toContain('<script>alert(1)');
    const unicode = await get('/hello/Zo%C3%AB');
    expect(unicode.text).toContain('<h1>Hello, Zoë!</h1>');
  });

  it('/api/users is a JSON list; /api/users/3 one user; unknown ids and API routes are 404 JSON', async () => {
    const list = await fetch(url('/api/users'));
    expect(list.status).toBe(200);
    expect(list.headers.get('content-type')).toBe('application/json');
    const users = (await list.json()) as Array<{ id: number; name: string }>;
    expect(users).toHaveLength(5);
    expect(users.map((u) => u.id)).toEqual([1, 2, 3, 4, 5]);

    const one = await fetch(url('/api/users/3'));
    expect(one.status).toBe(200);
    expect(one.headers.get('content-type')).toBe('application/json');
    expect(await one.json()).toEqual({ id: 3, name: 'Grace Hopper', email: 'grace@example.com', role: 'editor' });

    const missing = await fetch(url('/api/users/99'));
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/json');
    expect(await missing.json()).toEqual({ error: 'User 99 not found' });

    const noRoute = await fetch(url('/api/nope'));
    expect(noRoute.status).toBe(404);
    expect(await noRoute.json()).toEqual({ error: 'Not found', path: '/api/nope' });

    const wrongMethod = await fetch(url('/api/users'), { method: 'POST', body: '' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET, HEAD');
  });

  it('/form: GET shows the form; POSTing its fields urlencoded echoes them escaped', async () => {
    const { res, text } = await get('/form');
    expect(res.status).toBe(200);
    expect(text).toContain('<form method="post" action="/form">');
    // Fill it in the way a browser would: every named input with its value,
    // checkboxes only when checked, the textarea's text; the user edits the name.
    const fields = new URLSearchParams();
    for (const m of text.matchAll(/<input ([^>]*)>/g)) {
      const attrs = m[1] as string;
      const name = /name="([^"]*)"/.exec(attrs)?.[1];
      const value = /value="([^"]*)"/.exec(attrs)?.[1] ?? '';
      if (!name || (/type="checkbox"/.test(attrs) && !/\bchecked\b/.test(attrs))) continue;
      fields.append(decodeEntities(name), decodeEntities(value));
    }
    const textarea = /<textarea name="([^"]*)"[^>]*>([^<]*)<\/textarea>/.exec(text);
    expect(textarea).not.toBeNull();
    fields.append(textarea?.[1] as string, decodeEntities(textarea?.[2] as string));
    fields.set('name', 'Ada <b>Lovelace</b> & co');
    expect(fields.toString()).toBe(
      'name=Ada+%3Cb%3ELovelace%3C%2Fb%3E+%26+co&email=ada%40example.com&colours%5B%5D=red&colours%5B%5D=blue&message=Hello+%26+%3Cwelcome%3E',
    );

    const posted = await fetch(url('/form'), { method: 'POST', body: fields }); // application/x-www-form-urlencoded
    const page = await posted.text();
    expect(posted.status).toBe(200);
    expect(page).toContain('<h1>Form submitted</h1>');
    expect(page).toContain('<tr><td><code>name</code></td><td>Ada &lt;b&gt;Lovelace&lt;/b&gt; &amp; co</td></tr>');
    expect(page).toContain('<tr><td><code>email</code></td><td>ada@example.com</td></tr>');
    expect(page).toContain('<tr><td><code>colours[0]</code></td><td>red</td></tr>');
    expect(page).toContain('<tr><td><code>colours[1]</code></td><td>blue</td></tr>');
    expect(page).toContain('<tr><td><code>message</code></td><td>Hello &amp; &lt;welcome&gt;</td></tr>');
    expect(page).not.toContain('<b>Lovelace</b>');
  });

  it('/upload: GET shows the form and limits; a multipart POST reports the exact size and MD5', async () => {
    const { res, text } = await get('/upload');
    expect(res.status).toBe(200);
    expect(text).toContain('enctype="multipart/form-data"');
    const limit = /<code>upload_max_filesize<\/code> = ([^,]+),/.exec(text)?.[1];
    expect(limit).toMatch(/^\d+[KMG]?$/);

    const data = randomBytes(150_000);
    const form = new FormData();
    form.append('file', new Blob([data], { type: 'application/octet-stream' }), 'random <1>.bin');
    const posted = await fetch(url('/upload'), { method: 'POST', body: form });
    const page = await posted.text();
    expect(posted.status).toBe(200);
    expect(page).toContain('<h1>Upload received</h1>');
    expect(page).toContain('<tr><th>Name</th><td>random &lt;1&gt;.bin</td></tr>');
    expect(page).toContain(`<tr><th>Size</th><td>${data.length} bytes</td></tr>`);
    expect(page).toContain(`<tr><th>MD5</th><td><code>${md5(data)}</code></td></tr>`);
    expect(page).toContain('<tr><th>Type (sent by the browser)</th><td>application/octet-stream</td></tr>');
  });

  it('/upload: a file over upload_max_filesize is a 413 naming UPLOAD_ERR_INI_SIZE', async () => {
    const { text } = await get('/upload');
    const bytes = (size: string): number => Number.parseInt(size, 10) * ({ K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[size.slice(-1)] ?? 1);
    const uploadMax = bytes(/<code>upload_max_filesize<\/code> = ([^,]+),/.exec(text)?.[1] as string);
    const postMax = bytes(/<code>post_max_size<\/code> = ([^)]+)\)/.exec(text)?.[1] as string);
    const size = uploadMax + 1024;
    expect(size, 'the php.ini limits leave room for this check').toBeLessThan(postMax);
    const form = new FormData();
    form.append('file', new Blob([Buffer.alloc(size, 0x78)]), 'too-big.txt');
    const posted = await fetch(url('/upload'), { method: 'POST', body: form });
    expect(posted.status).toBe(413);
    expect(await posted.text()).toContain('Upload failed: UPLOAD_ERR_INI_SIZE');
  });

  it('/slow?ms=200 takes at least 200 ms', async () => {
    const started = performance.now();
    const { res, text } = await get('/slow?ms=200');
    const elapsed = performance.now() - started;
    expect(res.status).toBe(200);
    expect(text).toContain('Slept <strong>200 ms</strong>');
    expect(elapsed).toBeGreaterThanOrEqual(200);
  });

  it('/warning renders (200) and the PHP warning arrives as a php-stderr gateway event', async () => {
    const before = gatewayEvents.length;
    const { res, text } = await get('/warning');
    expect(res.status).toBe(200);
    expect(text).toContain('<h1>Warning</h1>');
    expect(text).not.toContain('PHP Warning'); // display_errors=Off: not in the page
    const stderrOf = (): Array<Extract<GatewayEvent, { type: 'php-stderr' }>> =>
      gatewayEvents.slice(before).filter((e): e is Extract<GatewayEvent, { type: 'php-stderr' }> => e.type === 'php-stderr');
    await waitFor(() => stderrOf().some((e) => e.text.includes('PHP Warning')), 'the php-stderr event', 15_000);
    const event = stderrOf().find((e) => e.text.includes('PHP Warning'));
    expect(event?.text).toContain('Undefined array key "colour"');
    expect(event).toMatchObject({ uri: '/warning', scriptFilename: resolve(appRoot, 'index.php') });
  });

  it('/die: the worker dies mid-response; the client sees a broken response; the pool replaces the worker', async () => {
    const raw = await rawGet(server.port, '/die');
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1]);
    let pid: number;
    if (status === 502) {
      // The worker died before its headers reached us.
      expect(raw).toContain('was killed by SIGKILL');
      pid = Number(/\(pid (\d+)\)/.exec(raw)?.[1]);
    } else {
      // Headers and part of the page had gone out: the chunked body just stops.
      expect(status).toBe(200);
      expect(raw).toContain('This worker is about to die');
      expect(raw).not.toContain('</html>');
      expect(raw.endsWith('0\r\n\r\n')).toBe(false);
      pid = Number(/Worker pid (\d+)/.exec(raw)?.[1]);
    }
    expect(pid).toBeGreaterThan(0);
    await waitFor(() => poolEvents.some((e) => e.type === 'worker-exited' && e.pid === pid), 'the worker-exited event', 15_000);
    const exited = poolEvents.find((e) => e.type === 'worker-exited' && e.pid === pid);
    expect(exited).toMatchObject({ exit: { signal: 'SIGKILL' }, reason: 'crashed' });
    const workerId = (exited as { workerId: string }).workerId;
    // The pool took the lease back itself (it saw the exit), once: no double release.
    const leaseEvents = poolEvents.filter((e) => 'lease' in e && e.lease.workerId === workerId && e.lease.uri === '/die');
    expect(leaseEvents.map((e) => e.type)).toEqual(['lease-acquired', 'lease-released', 'lease-revoked']);
    expect(leaseEvents[1]).toMatchObject({ outcome: 'worker-died' });
    expect(leaseEvents[2]).toMatchObject({ revocation: { kind: 'worker-exited', exit: { signal: 'SIGKILL' } } });
    expect(poolEvents.filter((e) => e.type === 'lease-protocol-error')).toEqual([]);
    expect(isRunning(pid)).toBe(false);
    await waitFor(() => server.pool.snapshot().counts.busy === 0 && server.pool.snapshot().counts.idle >= 1, 'a replacement worker', 15_000);
    expect(server.pool.snapshot().workers.map((w) => w.pid)).not.toContain(pid);

    // The next request is served, by another process.
    const { res, text } = await get('/info');
    expect(res.status).toBe(200);
    expect(Number(/<th>Worker pid<\/th><td>(\d+)<\/td>/.exec(text)?.[1])).not.toBe(pid);

    // And what a browser (fetch) makes of it: a failed load, never a complete page.
    const again = await fetch(url('/die')).then(
      async (r) =>
        r.status === 502
          ? 'bad gateway'
          : r.text().then(
              () => 'complete',
              () => 'broken',
            ),
      () => 'broken',
    );
    expect(['broken', 'bad gateway']).toContain(again);
    await waitFor(() => server.pool.snapshot().counts.busy === 0 && server.pool.snapshot().counts.idle >= 1, 'a second replacement', 15_000);
    expect((await fetch(url('/api/users'))).status).toBe(200);
  });

  it('/cookie sets two cookies and reads them back on the next visit', async () => {
    const first = await fetch(url('/cookie'));
    const cookies = first.headers.getSetCookie();
    await first.text();
    expect(cookies).toHaveLength(2);
    expect(cookies[0]).toMatch(/^visits=1; expires=[^;]+; Max-Age=3600; path=\/; HttpOnly; SameSite=Lax$/);
    expect(cookies[1]).toBe('flavour=chocolate-chip; path=/; HttpOnly; SameSite=Lax');

    const jar = cookies.map((c) => c.split(';')[0]).join('; ');
    const second = await get('/cookie', { headers: { Cookie: jar } });
    expect(second.text).toContain('<code>visits=2</code>');
    expect(second.text).toContain('<tr><td><code>flavour</code></td><td>chocolate-chip</td></tr>');
    expect(second.res.headers.getSetCookie()[0]).toMatch(/^visits=2;/);
  });

  it('/redirect is a 302 to /, which a browser follows', async () => {
    const res = await fetch(url('/redirect'), { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/');
    await res.text();
    const followed = await fetch(url('/redirect'));
    expect(followed.url).toBe(url('/'));
    expect(await followed.text()).toContain('<h1>hello-php</h1>');
  });

  it('/info shows the cgi-fcgi SAPI and the request', async () => {
    const { res, text } = await get('/info?x=1');
    expect(res.status).toBe(200);
    expect(text).toContain('<tr><th>SAPI</th><td>cgi-fcgi</td></tr>');
    expect(text).toContain('<tr><th><code>REQUEST_URI</code></th><td><code>/info?x=1</code></td></tr>');
    expect(text).toContain('<tr><th><code>SCRIPT_NAME</code></th><td><code>/index.php</code></td></tr>');
  });

  it('/assets/style.css is served from disk with an ETag; a conditional GET is 304', async () => {
    const res = await fetch(url('/assets/style.css'));
    const css = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(css).toBe(readFileSync(resolve(appRoot, 'assets', 'style.css'), 'utf8'));
    const etag = res.headers.get('etag');
    const lastModified = res.headers.get('last-modified');
    expect(etag).toMatch(/^(W\/)?"[^"]+"$/);
    expect(lastModified).not.toBeNull();

    // As a browser revalidates its cached copy on reload. (fetch() would add
    // `Cache-Control: no-cache` to a conditional request without one, and the
    // gateway's `send` then ignores the validators and answers 200: see
    // server-parity.test.ts, where nginx answers 304 to the same request.)
    const revalidate = { 'Cache-Control': 'max-age=0' };
    const byEtag = await fetch(url('/assets/style.css'), { headers: { ...revalidate, 'If-None-Match': etag as string } });
    expect(byEtag.status).toBe(304);
    expect(await byEtag.text()).toBe('');
    const byDate = await fetch(url('/assets/style.css'), { headers: { ...revalidate, 'If-Modified-Since': lastModified as string } });
    expect(byDate.status).toBe(304);
    const stale = await fetch(url('/assets/style.css'), { headers: { ...revalidate, 'If-None-Match': '"something-else"' } });
    expect(stale.status).toBe(200);
    await stale.text();

    const svg = await fetch(url('/assets/logo.svg'));
    expect(svg.headers.get('content-type')).toBe('image/svg+xml');
    await svg.text();
  });

  it('/.env (and its encoded spellings) is 403 and the secret never appears', async () => {
    const secret = /^SECRET=(.+)$/m.exec(readFileSync(resolve(appRoot, '.env'), 'utf8'))?.[1] as string;
    expect(secret).toBeTruthy();
    for (const path of ['/.env', '/%2eenv', '/assets/../.env', '/.env?x=1']) {
      const raw = await rawGet(server.port, path);
      expect([path, Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1])]).toEqual([path, 403]);
      expect(raw).not.toContain(secret);
    }
  });

  it('PHP source under the document root is never served or run directly', async () => {
    // src/*.php exist, so they are scripts: each guards itself with a 404.
    for (const path of ['/src/users.php', '/src/app.php', '/src/pages/home.php']) {
      const { res, text } = await get(path);
      expect([path, res.status]).toEqual([path, 404]);
      expect(text).not.toContain('Lovelace');
    }
  });

  it('an unknown route is the app’s 404 page', async () => {
    const { res, text } = await get('/no-such-page');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('text/html; charset=UTF-8');
    expect(text).toContain('No page at <code>/no-such-page</code>');
  });
});

describe('npm start: node dist/cli.js serve examples/hello-php', () => {
  it('serves / and /api/users on --port 0, then exits 0 on SIGINT leaving no worker behind', async () => {
    expect(existsSync(cli), `${cli} is missing: run "npm run build" (npm test does it before vitest)`).toBe(true);
    // As `npm start` runs it (from the repository root, relative docroot); php-cgi from PATH unless PHP_CGI says otherwise.
    const args = [cli, 'serve', 'examples/hello-php', '--port', '0', ...(process.env.PHP_CGI ? ['--php-cgi', process.env.PHP_CGI] : [])];
    const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
    try {
      await waitFor(() => /Listening on \S+/.test(stdout) || child.exitCode !== null, 'the CLI to listen', 15_000);
      const base = /Listening on (\S+)/.exec(stdout)?.[1];
      expect(base, stderr).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);

      const home = await fetch(new URL('/', base));
      expect(home.status).toBe(200);
      expect(await home.text()).toContain('<h1>hello-php</h1>');
      const users = await fetch(new URL('/api/users', base));
      expect(users.status).toBe(200);
      expect(users.headers.get('content-type')).toBe('application/json');
      expect(((await users.json()) as unknown[]).length).toBe(5);

      const status = (await (await fetch(new URL('/.fastcgi-pool/status', base))).json()) as { workers: Array<{ pid: number }> };
      const pids = status.workers.map((w) => w.pid);
      expect(pids.length).toBeGreaterThan(0);
      // The request log goes to stdout.
      await waitFor(() => stdout.includes('GET /api/users 200'), 'the request log line');

      child.kill('SIGINT');
      expect(await exit).toEqual({ code: 0, signal: null });
      expect(stderr).toContain('SIGINT: finishing requests and stopping workers');
      expect(stderr).toContain('stopped; no workers left running');
      for (const pid of pids) expect(isRunning(pid)).toBe(false);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exit;
      }
    }
  });
});
