import { createHash, randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPoolServer, type PoolServer, type PoolServerOptions } from '../../src/gateway/poolServer';
import { isRunning, phpCgi, sleep, waitFor } from '../support/helpers';

let docroot: string;
const servers: PoolServer[] = [];

async function start(pool: PoolServerOptions['pool'] = {}, gateway: PoolServerOptions['gateway'] = {}): Promise<PoolServer> {
  const server = await startPoolServer({ documentRoot: docroot, pool: { phpCgi, minWorkers: 1, maxWorkers: 2, ...pool }, gateway: { port: 0, ...gateway } });
  servers.push(server);
  return server;
}

/** Sends raw bytes and returns the raw response: fetch() would normalise the hostile paths away. */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (d) => (data += d.toString('latin1')));
    socket.on('end', () => resolvePromise(data));
    socket.on('error', (error) => (data ? resolvePromise(data) : reject(error)));
    socket.write(text);
  });
}

/**
 * A raw GET. HTTP/1.0 (Node's HTTP parser answers it, and the body ends
 * with the connection) or HTTP/1.1 with keep-alive (the gateway's lean
 * front parses it, or hands it to Node's parser): read until the response
 * is complete by its framing; a chunked body comes back de-chunked.
 */
function rawGet(port: number, target: string, headers = 'Host: localhost\r\n', version: '1.0' | '1.1' = '1.0'): Promise<string> {
  if (version === '1.0') return rawRequest(port, `GET ${target} HTTP/1.0\r\n${headers}\r\n`);
  return new Promise((resolvePromise, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const done = (): void => {
      socket.destroy();
      resolvePromise(data);
    };
    socket.on('data', (d) => {
      data += d.toString('latin1');
      const headEnd = data.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = data.slice(0, headEnd);
      const body = data.slice(headEnd + 4);
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (length && body.length >= Number(length[1])) done();
      else if (/\r\ntransfer-encoding: *chunked/i.test(head) && body.endsWith('0\r\n\r\n')) {
        data = head + '\r\n\r\n' + dechunk(body);
        done();
      }
    });
    socket.on('end', () => resolvePromise(data));
    socket.on('error', (error) => (data ? resolvePromise(data) : reject(error)));
    socket.write(`GET ${target} HTTP/1.1\r\n${headers}Connection: keep-alive\r\n\r\n`);
  });
}

function dechunk(body: string): string {
  let out = '';
  for (let at = 0; ;) {
    const lineEnd = body.indexOf('\r\n', at);
    const size = parseInt(body.slice(at, lineEnd), 16);
    if (!(size > 0)) return out;
    out += body.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
}

function statusOf(raw: string): number {
  return Number(/^HTTP\/1\.[01] (\d{3})/.exec(raw)?.[1] ?? 0);
}

beforeAll(() => {
  docroot = mkdtempSync(join(tmpdir(), 'gateway-app-'));
  cpSync(resolve(__dirname, '../fixtures/app'), docroot, { recursive: true });
  mkdirSync(join(docroot, '.git'));
  writeFileSync(join(docroot, '.git', 'config'), '[core]\nsecret = git-config\n');
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop(1_000)));
});

afterAll(() => rmSync(docroot, { recursive: true, force: true }));

describe('gateway faults', () => {
  it('answers 502 naming the worker and its signal when a worker is SIGKILLed mid-request, and replaces it', async () => {
    const server = await start({ minWorkers: 1, maxWorkers: 1 });
    const response = fetch(new URL('slow.php?ms=3000', server.url));
    await waitFor(() => server.pool.snapshot().counts.busy === 1, 'the request to lease a worker');
    const victim = server.pool.snapshot().workers.find((w) => w.state === 'busy');
    const pid = victim?.pid as number;
    process.kill(pid, 'SIGKILL');
    const res = await response;
    expect(res.status).toBe(502);
    const page = await res.text();
    expect(page).toContain(`Worker ${victim?.id} (pid ${pid}) was killed by SIGKILL while running /slow.php`);
    await waitFor(() => server.pool.snapshot().counts.idle === 1, 'a replacement worker');
    const snap = server.pool.snapshot();
    expect(snap.counts).toMatchObject({ busy: 0, idle: 1 });
    expect(snap.workers.map((w) => w.pid)).not.toContain(pid);
    expect(isRunning(pid)).toBe(false);
    const next = await fetch(new URL('pid.php', server.url));
    expect(next.status).toBe(200);
    expect(Number(await next.text())).toBe(snap.workers[0]?.pid);
  });

  it('answers 504 when a SIGSTOPped worker passes the busy timeout, kills it and replaces it', async () => {
    const server = await start({ minWorkers: 1, maxWorkers: 1, busyTimeoutMs: 700 });
    const response = fetch(new URL('slow.php?ms=100', server.url));
    await waitFor(() => server.pool.snapshot().counts.busy === 1, 'the lease');
    const pid = server.pool.snapshot().workers[0]?.pid as number;
    process.kill(pid, 'SIGSTOP');
    const res = await response;
    expect(res.status).toBe(504);
    expect(await res.text()).toContain('busy timeout of 0.7 s');
    await waitFor(() => !isRunning(pid), 'the stopped worker to die');
    await waitFor(() => server.pool.snapshot().counts.idle === 1, 'a replacement');
    expect(server.pool.snapshot().counts.busy).toBe(0);
    expect((await fetch(new URL('pid.php', server.url))).status).toBe(200);
  });

  it('serves 2 000 requests through a limit of 50 workers with 0 errors', async () => {
    const server = await start({ minWorkers: 4, maxWorkers: 50, queueTimeoutMs: 20_000 });
    let errors = 0;
    let done = 0;
    const concurrency = 100;
    const pids = new Set<string>();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (done < 2_000) {
          done++;
          const res = await fetch(new URL('slow.php?ms=5', server.url));
          const text = await res.text();
          if (res.status !== 200) errors++;
          else pids.add(text);
        }
      }),
    );
    expect(errors).toBe(0);
    const snap = server.pool.snapshot();
    expect(snap.totals.requests).toBeGreaterThanOrEqual(2_000);
    expect(snap.counts.total).toBeLessThanOrEqual(50);
    expect(pids.size).toBeGreaterThan(4);
    expect(snap.counts.busy).toBe(0);
  });

  it('ends the lease of each of 200 client aborts at once, lets each script end as PHP decides, and recycles no worker', async () => {
    const server = await start({ minWorkers: 2, maxWorkers: 8, queueTimeoutMs: 20_000 });
    let aborted = 0;
    for (let batch = 0; batch < 20; batch++) {
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          const controller = new AbortController();
          const res = fetch(new URL('slow.php?ms=2000', server.url), { signal: controller.signal });
          await sleep(30);
          controller.abort();
          await res.catch(() => aborted++);
        }),
      );
    }
    expect(aborted).toBe(200);
    // Each abort ends its lease at once; its worker finishes the script
    // (slow.php stops at its first write after the sleep) and is idle again.
    await waitFor(() => server.pool.snapshot().counts.busy === 0, 'no busy leases', 30_000);
    await waitFor(() => server.pool.snapshot().counts.finishing === 0, 'the abandoned scripts to end', 30_000);
    // The live-stack canary borrows a worker for a few ms once the pool has been quiet for a second: let it be done.
    await server.pool.stacks.whenChecked();
    await waitFor(() => server.pool.snapshot().counts.busy === 0, 'the canary to give its worker back');
    const snap = server.pool.snapshot();
    expect(snap.counts.busy).toBe(0);
    expect(snap.queue.length).toBe(0);
    expect(snap.totals).toMatchObject({ exited: 0, crashed: 0 });
    expect(snap.totals.spawned).toBeLessThanOrEqual(8);
    // Every lease ended as client-abort (a request that left while queued never had one).
    expect(snap.history.filter((entry) => entry.outcome === 'client-abort')).toHaveLength(snap.totals.requests);
    for (const worker of snap.workers) expect(isRunning(worker.pid as number)).toBe(true);
    expect((await fetch(new URL('pid.php', server.url))).status).toBe(200);
  }, 90_000);

  for (const mode of ['bad-version', 'unknown-type', 'bad-end', 'headerless']) {
    it(`answers 502 (or cuts a response already under way) and stays alive when a worker sends malformed output (${mode})`, async () => {
      const fake = resolve(__dirname, '../fixtures/fake-worker.mjs');
      const server = await start({ phpCgi: fake, minWorkers: 1, maxWorkers: 1, env: { FAKE_WORKER_MODE: mode } });
      if (mode === 'bad-end') {
        // The headers and body were already on their way when the bad
        // END_REQUEST came: the client must see a broken response (the
        // connection cut before or after the headers), never a complete one.
        const outcome = await fetch(new URL('pid.php', server.url)).then(
          (res) =>
            res.text().then(
              () => 'complete',
              () => 'cut after the headers',
            ),
          () => 'cut before the headers',
        );
        expect(outcome).not.toBe('complete');
      } else {
        const res = await fetch(new URL('pid.php', server.url));
        expect(res.status).toBe(502);
        expect(await res.text()).toMatch(/Invalid response from the worker|malformed/);
      }
      await waitFor(() => server.pool.snapshot().counts.busy === 0, 'the lease to end');
      const status = await fetch(new URL('.fastcgi-pool/status', server.url));
      expect(status.status).toBe(200);
    });
  }

  it('answers 503 with Retry-After when the pool stays saturated', async () => {
    const server = await start({ minWorkers: 1, maxWorkers: 1, queueTimeoutMs: 300 });
    const slow = fetch(new URL('slow.php?ms=1500', server.url));
    await waitFor(() => server.pool.snapshot().counts.busy === 1, 'the lease');
    const res = await fetch(new URL('pid.php', server.url));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await res.text()).toContain('all 1 workers stayed busy');
    expect((await slow).status).toBe(200);
  });
});

describe('gateway requests', () => {
  it('streams a large response with backpressure and keeps the bytes intact', async () => {
    const server = await start();
    const res = await fetch(new URL('big.php?mb=16', server.url));
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.length).toBe(16 * 1024 * 1024);
    const expected = createHash('md5')
      .update(Buffer.from('0123456789abcdef'.repeat(4096 * 16 * 16)))
      .digest('hex');
    expect(createHash('md5').update(body).digest('hex')).toBe(expected);
  });

  it('passes Status, custom headers and repeated Set-Cookie through', async () => {
    const server = await start();
    const res = await fetch(new URL('headers.php', server.url));
    expect(res.status).toBe(418);
    expect(res.headers.get('x-custom')).toBe('yes');
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    const redirect = await fetch(new URL('location.php', server.url), { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('/pid.php');
  });

  it('receives a 10 MB upload and a chunked body in full before leasing a worker', async () => {
    // Debian's php.ini allows 2 MB uploads and 8 MB posts; -d overrides raise them.
    const server = await start({ ini: { upload_max_filesize: '16M', post_max_size: '16M' } });
    const file = randomBytes(10 * 1024 * 1024);
    const form = new FormData();
    form.append('note', 'hello');
    form.append('file', new Blob([file]), 'big.bin');
    const res = await fetch(new URL('echo.php', server.url), { method: 'POST', body: form });
    const echo = (await res.json()) as { post: Record<string, string>; files: Record<string, { size: number; md5: string; name: string }> };
    expect(echo.post).toEqual({ note: 'hello' });
    expect(echo.files.file).toMatchObject({ name: 'big.bin', size: file.length, md5: createHash('md5').update(file).digest('hex') });

    const chunks = [randomBytes(70_000), randomBytes(123), randomBytes(300_000)];
    const chunked = await new Promise<{ inputLength: number; inputMd5: string; contentLength: string }>((resolvePromise, reject) => {
      const req = httpRequest(new URL('echo.php', server.url), { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' } }, (r) => {
        let text = '';
        r.on('data', (d) => (text += d));
        r.on('end', () => resolvePromise(JSON.parse(text)));
      });
      req.on('error', reject);
      void (async () => {
        for (const chunk of chunks) {
          req.write(chunk);
          await sleep(20);
        }
        req.end();
      })();
    });
    const all = Buffer.concat(chunks);
    expect(chunked).toMatchObject({ inputLength: all.length, inputMd5: createHash('md5').update(all).digest('hex'), contentLength: String(all.length) });
  });

  it('answers 413 for a body over the limit without leasing a worker', async () => {
    const server = await start({}, { maxBodyBytes: 1024 });
    const res = await fetch(new URL('echo.php', server.url), { method: 'POST', body: 'x'.repeat(5000) });
    expect(res.status).toBe(413);
    expect(server.pool.snapshot().totals.requests).toBe(0);
  });
});

describe('hostile requests', () => {
  let server: PoolServer;
  beforeAll(async () => {
    server = await startPoolServer({ documentRoot: docroot, pool: { phpCgi, minWorkers: 1, maxWorkers: 2 }, gateway: { port: 0 } });
  });
  afterAll(async () => {
    await server.stop(1_000);
  });

  // What would show that a file leaked or a non-.php file ran.
  const secrets = ['root:x:0', 'SECRET=from-dotenv', 'git-config', 'backup-source', '<?php'];
  const cases: Array<[string, string]> = [
    ['/../../../../etc/passwd', 'dot-dot'],
    ['/%2e%2e/%2e%2e/%2e%2e/etc/passwd', 'encoded dot-dot'],
    ['/%252e%252e/%252e%252e/etc/passwd', 'double-encoded dot-dot'],
    ['/..%5c..%5c..%5cetc%5cpasswd', 'encoded backslashes'],
    ['/uploads\\..\\..\\etc\\passwd', 'raw backslashes'],
    ['/pid.php%00.jpg', 'NUL byte'],
    ['/uploads/x.jpg/y.php', 'x.jpg/y.php'],
    ['/uploads/x.jpg%2fy.php', 'x.jpg%2fy.php'],
    ['/.env', 'dotfile'],
    ['/.git/config', 'git folder'],
    ['/index.php.bak', 'backup of a script'],
    ['/pid.php', 'PHP source is never served raw'],
  ];
  // HTTP/1.0: Node's HTTP parser; HTTP/1.1 keep-alive: the lean front first.
  for (const [target, what] of cases) {
    it.each(['1.0', '1.1'] as const)(`does not leak a file or run a non-.php file: ${what} (${target}), HTTP/%s`, async (version) => {
      const raw = await rawGet(server.port, target, undefined, version);
      const status = statusOf(raw);
      expect(status).toBeGreaterThan(0);
      const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
      for (const secret of secrets) expect(body, `${target} leaked ${secret}`).not.toContain(secret);
      // Executed, x.jpg would print EXECUTED-JPG without its source around it.
      expect(body).not.toMatch(/(^|[^"])EXECUTED-JPG/);
      // Either refused, or answered by the front controller (index.php prints
      // its pid), as nginx's try_files does for a name that is no file.
      if (status === 200) expect(body).toMatch(/^\d+$/);
      else expect(status).toBeGreaterThanOrEqual(400);
    });
  }

  it('serves an image with PHP code in it as bytes, never executing it', async () => {
    const res = await fetch(new URL('uploads/x.jpg', server.url));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(await res.text()).toBe('<?php echo "EXECUTED-JPG";\n');
  });

  it.each(['1.0', '1.1'] as const)('refuses a foreign Host (DNS rebinding) and accepts localhost names, HTTP/%s', async (version) => {
    expect(statusOf(await rawGet(server.port, '/pid.php', 'Host: evil.example\r\n', version))).toBe(421);
    expect(statusOf(await rawGet(server.port, '/pid.php', 'Host: localhost\r\nHost: evil.example\r\n', version))).toBe(400);
    expect(statusOf(await rawGet(server.port, '/pid.php', 'Host: localhost\r\n', version))).toBe(200);
    expect(statusOf(await rawGet(server.port, '/pid.php', `Host: 127.0.0.1:${server.port}\r\n`, version))).toBe(200);
    expect(statusOf(await rawGet(server.port, '/pid.php', `Host: [::1]:${server.port}\r\n`, version))).toBe(200);
  });

  it.each(['1.0', '1.1'] as const)('never passes a Proxy header to PHP as HTTP_PROXY (httpoxy), HTTP/%s', async (version) => {
    writeFileSync(join(docroot, 'proxy.php'), '<?php echo json_encode(["proxy" => getenv("HTTP_PROXY"), "server" => $_SERVER["HTTP_PROXY"] ?? null]);');
    const raw = await rawGet(server.port, '/proxy.php', 'Host: localhost\r\nProxy: http://evil.example:1234\r\n', version);
    expect(statusOf(raw)).toBe(200);
    expect(raw).toContain('{"proxy":false,"server":null}');
  });

  it.each(['1.0', '1.1'] as const)('answers a 100 KB header with 431 and no worker sees it, HTTP/%s', async (version) => {
    const before = server.pool.snapshot().totals.requests;
    const raw = await rawGet(server.port, '/pid.php', `Host: localhost\r\nX-Big: ${'a'.repeat(100 * 1024)}\r\n`, version);
    expect(statusOf(raw)).toBe(431);
    expect(server.pool.snapshot().totals.requests).toBe(before);
  });

  it('cuts off a client that never finishes its headers without touching the pool', async () => {
    const slow = await startPoolServer({ documentRoot: docroot, pool: { phpCgi, minWorkers: 1, maxWorkers: 1 }, gateway: { port: 0, headersTimeoutMs: 500 } });
    servers.push(slow);
    const socket = connect(slow.port, '127.0.0.1');
    socket.write('GET /pid.php HTTP/1.1\r\nHost: localhost\r\n');
    socket.resume(); // read what the server says, so that its FIN reaches us
    const closed = await new Promise<boolean>((r) => {
      socket.on('close', () => r(true));
      socket.on('error', () => undefined);
      setTimeout(() => r(false), 5_000);
    });
    expect(closed).toBe(true);
    expect(slow.pool.snapshot().totals.requests).toBe(0);
  });
});
