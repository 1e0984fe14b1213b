import { cpSync, mkdtempSync, realpathSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayEvent } from '../../src/gateway/gateway';
import { LIVE_RELOAD_TAG } from '../../src/gateway/liveInject';
import { startPoolServer, type PoolServer } from '../../src/gateway/poolServer';
import { phpCgi, waitFor } from '../support/helpers';
import { headerOf, rawRequest, type RawReply } from '../support/rawHttp';

/**
 * Live reload through the real gateway, real php-cgi and the example app
 * (plus a few fixture pages), on both HTTP fronts: a keep-alive request is
 * served by the lean front, `Connection: close` by Node's server. Two servers
 * share one document root, one with live reload and one without, so every
 * body can be compared with the untouched original.
 */

const TAG = LIVE_RELOAD_TAG.toString('latin1');
const PAGE: Array<[string, string]> = [['Sec-Fetch-Dest', 'document']];
type Headers = Array<[string, string]>;
const FRONTS: ReadonlyArray<[front: 'lean' | 'node', headers: Headers]> = [
  ['lean', [['Connection', 'keep-alive']]],
  ['node', [['Connection', 'close']]],
];

let root: string;
let on: PoolServer;
let off: PoolServer;
const events: GatewayEvent[] = [];

beforeAll(async () => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'live-reload-')));
  cpSync(resolve(__dirname, '../../examples/hello-php'), root, { recursive: true });
  cpSync(resolve(__dirname, '../fixtures/live'), join(root, 'live'), { recursive: true });
  [on, off] = await Promise.all([
    startPoolServer({
      documentRoot: root,
      pool: { phpCgi, minWorkers: 1, maxWorkers: 2 },
      gateway: { port: 0, liveReload: true },
      onGatewayEvent: (e) => events.push(e),
    }),
    startPoolServer({ documentRoot: root, pool: { phpCgi, minWorkers: 1, maxWorkers: 2 }, gateway: { port: 0 } }),
  ]);
}, 30_000);

afterAll(async () => {
  await Promise.all([on?.stop(1_000), off?.stop(1_000)]);
  if (root) rmSync(root, { recursive: true, force: true });
}, 30_000);

const get = (server: PoolServer, target: string, headers: ReadonlyArray<[string, string]> = []): Promise<RawReply> =>
  rawRequest(server.port, 'GET', target, headers);

/** The body with the tag where it belongs: before the first </body>, or at the end. */
function tagged(body: Buffer): string {
  const text = body.toString('latin1');
  const at = text.toLowerCase().indexOf('</body');
  return at < 0 ? text + TAG : text.slice(0, at) + TAG + text.slice(at);
}

function count(text: string, part: string): number {
  return text.split(part).length - 1;
}

describe('live reload off: nothing of it shows', () => {
  it('its script and event stream are a plain 404 on both fronts, not the app’s front controller', async () => {
    for (const [front, headers] of FRONTS) {
      for (const path of ['/.fastcgi-pool/live.js', '/.fastcgi-pool/live']) {
        const reply = await get(off, path, headers);
        expect([front, path, reply.status]).toEqual([front, path, 404]);
        expect(reply.body.toString()).toContain('Nothing at');
      }
    }
    const page = await get(off, '/', PAGE);
    expect(page.body.toString()).not.toContain('fastcgi-pool/live');
  });
});

describe('live reload on', () => {
  it('serves live.js as same-origin JavaScript', async () => {
    for (const [front, headers] of FRONTS) {
      const reply = await get(on, '/.fastcgi-pool/live.js', headers);
      expect([front, reply.status, headerOf(reply, 'content-type')]).toEqual([front, 200, 'text/javascript; charset=utf-8']);
      expect(reply.body.toString()).toContain("new EventSource(new URL('live', base).href)");
    }
  });

  it('puts the tag into the example app’s pages once, before </body>, identically on both fronts', async () => {
    for (const target of ['/', '/hello/world', '/no-such-page', '/form']) {
      const original = await get(off, target, PAGE);
      const bodies: string[] = [];
      for (const [front, headers] of FRONTS) {
        const reply = await get(on, target, [...PAGE, ...headers]);
        const body = reply.body.toString('latin1');
        expect([target, front, reply.status]).toEqual([target, front, original.status]);
        expect(count(body, TAG), `${target} ${front}`).toBe(1);
        // Everything else is the app's own output (the footer names the worker's pid, which may differ).
        const strip = (text: string) => text.replace(/pid \d+/, 'pid N');
        expect(strip(body), `${target} ${front}`).toBe(strip(tagged(original.body)));
        bodies.push(strip(body));
      }
      expect(bodies[0]).toBe(bodies[1]);
    }
  });

  it('a PHP page whose </body> is split across two FastCGI records and two HTTP chunks gets the tag once, on both fronts', async () => {
    const original = await get(off, '/chunked', PAGE);
    // Proof the split is real: the page arrives in (at least) two chunks, one ending in "</bo".
    expect(original.chunks.length).toBeGreaterThanOrEqual(2);
    expect(original.chunks.some((chunk) => chunk.toString('latin1').endsWith('</bo'))).toBe(true);
    for (const [front, headers] of FRONTS) {
      const reply = await get(on, '/chunked', [...PAGE, ...headers]);
      const body = reply.body.toString('latin1');
      expect([front, headerOf(reply, 'transfer-encoding')]).toEqual([front, 'chunked']);
      expect(count(body, TAG), front).toBe(1);
      expect(body.replace(/pid \d+/, ''), front).toBe(tagged(original.body).replace(/pid \d+/, ''));
    }
  });

  it('a JSON response and a download are byte-identical with live reload on and off', async () => {
    for (const target of ['/api/users', '/api/users/3', '/download', '/assets/style.css', '/assets/notes.txt']) {
      for (const [front, headers] of FRONTS) {
        const original = await get(off, target, [...PAGE, ...headers]);
        expect([target, original.status]).toEqual([target, 200]);
        const reply = await get(on, target, [...PAGE, ...headers]);
        expect([target, front, reply.status]).toEqual([target, front, 200]);
        expect(reply.body.equals(original.body), `${target} ${front}`).toBe(true);
        expect(headerOf(reply, 'content-length'), `${target} ${front}`).toBe(headerOf(original, 'content-length'));
      }
    }
    const download = await get(on, '/download', PAGE);
    expect(headerOf(download, 'content-disposition')).toBe('attachment; filename="hello-php-report.html"');
    expect(download.body.toString()).toContain('</body>');
  });

  it('raises a script’s own Content-Length by the tag and leaves a compressed page alone', async () => {
    for (const [front, headers] of FRONTS) {
      const original = await get(off, '/live/length.php', PAGE);
      const reply = await get(on, '/live/length.php', [...PAGE, ...headers]);
      expect(Number(headerOf(reply, 'content-length')), front).toBe(Number(headerOf(original, 'content-length')) + LIVE_RELOAD_TAG.length);
      expect(reply.body.length, front).toBe(Number(headerOf(reply, 'content-length')));
      expect(reply.body.toString('latin1'), front).toBe(tagged(original.body));
      const gzip = await get(on, '/live/gzip.php', [...PAGE, ...headers]);
      expect(gzip.body.equals((await get(off, '/live/gzip.php', PAGE)).body), front).toBe(true);
    }
  });

  it('leaves requests that are not page loads alone: an iframe, a fetch(), a HEAD', async () => {
    const original = await get(off, '/', PAGE);
    const strip = (reply: RawReply) => reply.body.toString('latin1').replace(/pid \d+/, '');
    for (const dest of ['iframe', 'empty', 'script']) {
      expect(strip(await get(on, '/', [['Sec-Fetch-Dest', dest]])), dest).toBe(strip(original));
    }
    // HEAD says what its GET would send: the same Content-Length (here none: the page streams), no body.
    const head = await rawRequest(on.port, 'HEAD', '/live/length.php', PAGE);
    expect(Number(headerOf(head, 'content-length'))).toBe(Number(headerOf(await get(on, '/live/length.php', PAGE), 'content-length')));
  });

  it('tags a static .html page on both fronts, with a validator of its own and a working 304', async () => {
    const original = await get(off, '/live/page.html', PAGE);
    for (const [front, headers] of FRONTS) {
      const reply = await get(on, '/live/page.html', [...PAGE, ...headers]);
      expect([front, reply.status, headerOf(reply, 'content-type')]).toEqual([front, 200, 'text/html; charset=UTF-8']);
      expect(reply.body.toString('latin1')).toBe(tagged(original.body));
      expect(Number(headerOf(reply, 'content-length'))).toBe(reply.body.length);
      const etag = headerOf(reply, 'etag') as string;
      expect(etag).toMatch(/-lr"$/);
      expect(etag).not.toBe(headerOf(original, 'etag'));
      const again = await get(on, '/live/page.html', [...PAGE, ...headers, ['If-None-Match', etag]]);
      expect([front, again.status, again.body.length]).toEqual([front, 304, 0]);
      // The untagged file's validator does not match the tagged copy.
      expect((await get(on, '/live/page.html', [...PAGE, ...headers, ['If-None-Match', headerOf(original, 'etag') as string]])).status).toBe(200);
    }
    const iframe = await get(on, '/live/page.html', [['Sec-Fetch-Dest', 'iframe']]);
    expect(iframe.body.equals(original.body)).toBe(true);
  });

  it('leaves a page alone when its CSP forbids even a same-origin script, and says so in the status JSON', async () => {
    const allowed = await get(on, `/live/csp.php?policy=${encodeURIComponent("script-src 'self'")}`, PAGE);
    expect(count(allowed.body.toString(), TAG)).toBe(1);
    const strict = `/live/csp.php?policy=${encodeURIComponent("script-src 'nonce-r4nd0m'")}`;
    for (const [front, headers] of FRONTS) {
      const reply = await get(on, strict, [...PAGE, ...headers]);
      expect([front, reply.body.toString()]).toEqual([front, '<!doctype html>\n<html><body><p>csp</p></body></html>\n']);
    }
    const status = (await (await fetch(`${on.url}.fastcgi-pool/status`)).json()) as {
      gateway: { liveReload: { enabled: boolean; blockedByCsp: Array<{ path: string; directive: string; policy: string }> } };
    };
    expect(status.gateway.liveReload.enabled).toBe(true);
    expect(status.gateway.liveReload.blockedByCsp).toEqual([
      { path: '/live/csp.php', directive: 'script-src', policy: "script-src 'nonce-r4nd0m'", at: expect.any(Number) as number },
    ]);
    expect(events.filter((e) => e.type === 'live-reload-blocked')).toEqual([
      { type: 'live-reload-blocked', path: '/live/csp.php', directive: 'script-src', policy: "script-src 'nonce-r4nd0m'" },
    ]);
    const offStatus = (await (await fetch(`${off.url}.fastcgi-pool/status`)).json()) as { gateway: { liveReload: unknown } };
    expect(offStatus.gateway.liveReload).toEqual({ enabled: false });
  });

  it('streams reload and css events to the open pages for the changes it is told about', async () => {
    const stream = await openEventStream(on.port);
    try {
      await waitFor(() => stream.text().includes('event: hello'), 'the hello event');
      on.gateway.liveReload?.changed(['src/pages/home.php']);
      await waitFor(() => stream.text().includes('event: reload'), 'a reload event');
      on.gateway.liveReload?.changed(['assets/style.css']);
      await waitFor(() => stream.text().includes('event: css'), 'a css event');
      expect(stream.text()).toContain('data: {"files":["src/pages/home.php"]}');
      expect(events.filter((e) => e.type === 'live-reload').map((e) => e.type === 'live-reload' && e.action)).toEqual(['reload', 'css']);
    } finally {
      stream.socket.destroy();
    }
  });

  it('the reloaded page runs the code just saved: workers revalidate opcache on every request, unless the user’s ini says otherwise', async () => {
    expect(JSON.parse((await get(on, '/live/ini.php')).body.toString())).toMatchObject({ revalidate_freq: '0', enable: '1' });
    // A script old enough for opcache to cache it (file_update_protection skips files under 2 s old),
    // requested once so that it is cached, then saved: the next request must run the new code.
    const runs = async (server: PoolServer): Promise<string[]> => {
      const script = join(root, 'live', `opcache-${server.port}.php`);
      const old = new Date(Date.now() - 60_000);
      writeFileSync(script, '<?php echo "before";');
      utimesSync(script, old, old);
      const seen = [(await get(server, `/live/opcache-${server.port}.php`)).body.toString()];
      writeFileSync(script, '<?php echo "after!";'); // same size: only the timestamp tells them apart
      seen.push((await get(server, `/live/opcache-${server.port}.php`)).body.toString());
      return seen;
    };
    const fresh = await startPoolServer({ documentRoot: root, pool: { phpCgi, minWorkers: 1, maxWorkers: 1 }, gateway: { port: 0 } });
    // The user's own setting wins: with a long revalidation period the saved code is not seen yet.
    const theirs = await startPoolServer({
      documentRoot: root,
      pool: { phpCgi, minWorkers: 1, maxWorkers: 1, ini: { 'opcache.revalidate_freq': '60' } },
      gateway: { port: 0 },
    });
    try {
      expect(await runs(fresh)).toEqual(['before', 'after!']);
      expect(JSON.parse((await get(theirs, '/live/ini.php')).body.toString())).toMatchObject({ revalidate_freq: '60' });
      expect(await runs(theirs)).toEqual(['before', 'before']);
    } finally {
      await Promise.all([fresh.stop(1_000), theirs.stop(1_000)]);
    }
  });
});

describe('stopping frees the port', () => {
  it('at once, with a live-reload event stream and connections a browser leaves half-open: the same port binds again right after stop()', async () => {
    const server = await startPoolServer({ documentRoot: root, pool: { phpCgi, minWorkers: 1, maxWorkers: 1 }, gateway: { port: 0, liveReload: true } });
    const port = server.port;
    const stream = await openEventStream(port);
    await waitFor(() => stream.text().includes('event: hello'), 'the hello event');
    // Chromium's way: a preconnected socket that never sends a request, and a
    // kept-alive one after its response; neither closes its side when the
    // server sends FIN (allowHalfOpen), so the server must cut them.
    const preconnected = await halfOpenSocket(port);
    const keptAlive = await halfOpenSocket(port);
    keptAlive.write(`GET /api/users HTTP/1.1\r\nHost: localhost:${port}\r\n\r\n`);
    await new Promise((answered) => keptAlive.once('data', answered));
    // A drain period of 30 s (the test's own timeout): stop() must return because every connection closed, not because it gave up.
    await server.stop(30_000);
    const again = createServer();
    await new Promise<void>((ready, fail) => {
      again.once('error', fail);
      again.listen(port, '127.0.0.1', () => ready());
    });
    await new Promise<void>((done) => again.close(() => done()));
    await waitFor(() => stream.ended, 'the event stream to end');
    for (const socket of [preconnected, keptAlive]) socket.destroy();
  });
});

/** A client connection that does not close its side when the server ends the connection. */
function halfOpenSocket(port: number): Promise<Socket> {
  return new Promise((ready, fail) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    socket.on('error', fail);
    socket.on('connect', () => ready(socket));
  });
}

/** A raw connection to the event stream, collecting what arrives. */
function openEventStream(port: number): Promise<{ socket: Socket; text: () => string; ended: boolean }> {
  return new Promise((resolveStream, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const handle = { socket, text: () => Buffer.concat(chunks).toString('utf8'), ended: false };
    socket.on('data', (data: Buffer) => chunks.push(data));
    socket.on('close', () => (handle.ended = true));
    socket.on('error', reject);
    socket.on('connect', () => {
      socket.write(`GET /.fastcgi-pool/live HTTP/1.1\r\nHost: localhost:${port}\r\nAccept: text/event-stream\r\n\r\n`);
      resolveStream(handle);
    });
  });
}
