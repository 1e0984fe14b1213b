import { createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVER_SOFTWARE } from '../../src/gateway/cgiParams';
import { startPoolServer, type PoolServer } from '../../src/gateway/poolServer';
import { phpCgi } from '../support/helpers';
import { isNginxFpmAvailable, startNginxFpm, type NginxFpm } from '../support/nginxFpm';

/**
 * End-to-end parity: every request below goes, byte for byte, to a real
 * nginx + PHP-FPM (test/support/nginxFpm.ts) and to our gateway
 * (startPoolServer with real php-cgi), both on the same document root (a temp
 * copy of test/fixtures/docroot). The scripts dump what PHP saw (dump.php:
 * $_SERVER, $_GET, $_POST, $_COOKIE, $_FILES with size + MD5, php://input),
 * and the two dumps must be equal except for the fields that differ by
 * nature (ports, SERVER_SOFTWARE, request time, the worker environment),
 * which are asserted separately. Where we differ from nginx on purpose, the
 * test asserts both sides' exact answer (see docs/cgi-rules.md).
 *
 * Upload limits are raised the same way on both sides: a `.user.ini` in the
 * document root (php-cgi and php-fpm both read it) sets upload_max_filesize
 * and post_max_size to 16M, and nginx's client_max_body_size (1m by default;
 * nginxFpm.ts has no option for it) is raised to 64m, the gateway's
 * --max-body default, by editing the generated nginx.conf and reloading.
 */

const available = isNginxFpmAvailable();
if (process.env.CI && !available) {
  throw new Error('server-parity: nginx and php-fpm must be installed in CI (.ci/run installs them); the parity test cannot run without them');
}

let docroot: string;
let nginx: NginxFpm;
let ours: PoolServer;

beforeAll(async () => {
  if (!available) return;
  docroot = realpathSync(mkdtempSync(join(tmpdir(), 'server-parity-')));
  cpSync(join(__dirname, '..', 'fixtures', 'docroot'), docroot, { recursive: true });
  writeFileSync(join(docroot, '.user.ini'), 'upload_max_filesize = 16M\npost_max_size = 16M\n');
  nginx = await startNginxFpm({ documentRoot: docroot, workers: 2 });
  await raiseNginxBodyLimit(nginx, '64m');
  ours = await startPoolServer({ documentRoot: docroot, pool: { phpCgi, minWorkers: 1, maxWorkers: 2 }, gateway: { port: 0 } });
}, 60_000);

afterAll(async () => {
  // Both stopped even if one fails, so no nginx, FPM or php-cgi outlives the run.
  const stopped = await Promise.allSettled([ours?.stop(1_000), nginx?.stop()]);
  if (docroot) rmSync(docroot, { recursive: true, force: true });
  for (const result of stopped) if (result.status === 'rejected') throw result.reason;
}, 60_000);

// ---------------------------------------------------------------- raw HTTP

interface Reply {
  status: number;
  /** The reason phrase of the status line. */
  statusText: string;
  /** Lower-cased names, in arrival order. */
  headers: Array<[string, string]>;
  body: Buffer;
  /** The body arrived in full (last chunk / Content-Length reached). */
  complete: boolean;
  /** Status codes of 1xx responses before the final one (100 Continue). */
  informational: number[];
}

const header = (reply: Reply, name: string): string | undefined => reply.headers.find(([n]) => n === name)?.[1];
const headers = (reply: Reply, name: string): string[] => reply.headers.filter(([n]) => n === name).map(([, v]) => v);

interface RequestSpec {
  method?: string;
  /** Sent as UTF-8 bytes, exactly as given (no normalisation, unlike fetch). */
  target: string;
  /** After `Host: localhost:PORT`; values are sent as UTF-8 bytes. */
  headers?: Array<[string, string]>;
  /** A body with Content-Length (unless given), written in one go. */
  body?: Buffer;
  /** A body sent with Transfer-Encoding: chunked, one chunk per element, one write each. */
  chunks?: Buffer[];
  /** Replaces `Host: localhost:PORT`; null sends none. */
  host?: string | null;
  /** HTTP version of the request line; default 1.1. */
  version?: '1.0' | '1.1';
  /**
   * HTTP/1.1 requests keep the connection by default, as browsers do (and
   * then our gateway's lean front parses them); `close` sends
   * `Connection: close` (then Node's parser does).
   */
  connection?: 'keep-alive' | 'close';
}

function buildHead(spec: RequestSpec, port: number): Buffer {
  const lines = [`${spec.method ?? 'GET'} ${spec.target} HTTP/${spec.version ?? '1.1'}`];
  const host = spec.host === undefined ? `localhost:${port}` : spec.host;
  if (host !== null) lines.push(`Host: ${host}`);
  for (const [name, value] of spec.headers ?? []) lines.push(`${name}: ${value}`);
  const has = (name: string): boolean => (spec.headers ?? []).some(([n]) => n.toLowerCase() === name);
  if (spec.body && !has('content-length')) lines.push(`Content-Length: ${spec.body.length}`);
  if (spec.chunks) lines.push('Transfer-Encoding: chunked');
  if ((spec.version ?? '1.1') === '1.1' && !has('connection')) lines.push(`Connection: ${spec.connection ?? 'keep-alive'}`);
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'utf8');
}

/**
 * One request on a fresh connection; the reply is read until it is complete
 * by its framing (then the connection is dropped) or the server closes.
 */
function exchange(port: number, spec: RequestSpec): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    const isHead = (spec.method ?? 'GET') === 'HEAD';
    socket.on('data', (d: Buffer) => {
      received.push(d);
      const data = Buffer.concat(received);
      let reply: Reply;
      try {
        reply = parseReply(data, isHead);
      } catch {
        return; // the head is not complete yet
      }
      if (reply.complete && isFramed(reply, isHead)) {
        socket.destroy();
        resolve(reply);
      }
    });
    socket.on('error', (error) => (received.length > 0 ? undefined : reject(error)));
    socket.on('close', () => {
      try {
        resolve(parseReply(Buffer.concat(received), (spec.method ?? 'GET') === 'HEAD'));
      } catch (error) {
        reject(error as Error);
      }
    });
    socket.on('connect', async () => {
      socket.write(buildHead(spec, port));
      if (spec.body) socket.write(spec.body);
      if (spec.chunks) {
        for (const chunk of spec.chunks) {
          socket.write(Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]));
          // Separate TCP writes, like a client that streams its upload.
          await new Promise((r) => setTimeout(r, 5));
        }
        socket.write('0\r\n\r\n');
      }
    });
  });
}

/** The reply's end is known without the connection closing. */
function isFramed(reply: Reply, isHead: boolean): boolean {
  if (isHead || reply.status === 204 || reply.status === 304) return true;
  return header(reply, 'content-length') !== undefined || /chunked/i.test(header(reply, 'transfer-encoding') ?? '');
}

function parseReply(data: Buffer, isHead: boolean): Reply {
  const informational: number[] = [];
  let pos = 0;
  for (;;) {
    const end = data.indexOf('\r\n\r\n', pos);
    if (end < 0) throw new Error(`no complete response head in ${JSON.stringify(data.toString('latin1').slice(0, 300))}`);
    const [statusLine, ...lines] = data.subarray(pos, end).toString('latin1').split('\r\n');
    const statusMatch = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(statusLine ?? '');
    const status = Number(statusMatch?.[1] ?? 0);
    pos = end + 4;
    if (status >= 100 && status < 200) {
      informational.push(status);
      continue;
    }
    const hs = lines.map((line): [string, string] => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
    });
    const rest = data.subarray(pos);
    const reply: Reply = { status, statusText: statusMatch?.[2] ?? '', headers: hs, body: Buffer.alloc(0), complete: true, informational };
    if (isHead || status === 204 || status === 304) return reply;
    if (hs.some(([n, v]) => n === 'transfer-encoding' && /chunked/i.test(v))) {
      const parts: Buffer[] = [];
      let p = 0;
      reply.complete = false;
      for (;;) {
        const lineEnd = rest.indexOf('\r\n', p);
        if (lineEnd < 0) break;
        const size = parseInt(rest.subarray(p, lineEnd).toString('latin1'), 16);
        if (Number.isNaN(size)) break;
        if (size === 0) {
          reply.complete = true;
          break;
        }
        if (lineEnd + 2 + size > rest.length) {
          parts.push(rest.subarray(lineEnd + 2));
          break;
        }
        parts.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
        p = lineEnd + 2 + size + 2;
      }
      reply.body = Buffer.concat(parts);
    } else {
      const length = hs.find(([n]) => n === 'content-length')?.[1];
      reply.body = length === undefined ? rest : rest.subarray(0, Number(length));
      reply.complete = length === undefined || rest.length >= Number(length);
    }
    return reply;
  }
}

/** nginx.conf gets `client_max_body_size`, then the master reloads it (SIGHUP). */
async function raiseNginxBodyLimit(server: NginxFpm, size: string): Promise<void> {
  const confPath = join(server.dir, 'nginx.conf');
  const conf = readFileSync(confPath, 'utf8');
  if (!conf.includes('http {')) throw new Error('unexpected nginx.conf layout: no "http {"');
  writeFileSync(confPath, conf.replace('http {', `http {\n  client_max_body_size ${size};`));
  // nginx accepts connections (startNginxFpm's readiness check) a moment before it writes its pid file.
  const pidFile = join(server.dir, 'nginx.pid');
  let master = 0;
  for (const until = Date.now() + 10_000; !(master > 0) && Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
    master = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0;
  }
  if (!(master > 0)) throw new Error(`no nginx pid in ${pidFile}`);
  // The new workers take over after a moment; until then old ones answer 413.
  // A SIGHUP that lands before the master enters its signal loop is only
  // acted on at the next signal, so it is repeated every second (a reload of
  // an unchanged config is harmless).
  const probe = Buffer.alloc(2 * 1024 * 1024, 0x61);
  const deadline = Date.now() + 20_000;
  let lastHup = 0;
  for (;;) {
    if (Date.now() - lastHup >= 1_000) {
      process.kill(master, 'SIGHUP');
      lastHup = Date.now();
    }
    const reply = await exchange(server.port, { method: 'POST', target: '/dump.php', headers: [['Content-Type', 'application/octet-stream']], body: probe });
    if (reply.status === 200) return;
    if (Date.now() > deadline)
      throw new Error(
        `nginx still answers ${reply.status} to a 2 MB body after the reload: ${readFileSync(join(server.dir, 'nginx-error.log'), 'utf8').slice(-1000)}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---------------------------------------------------------------- comparing

type Json = Record<string, unknown>;
interface Dump extends Json {
  ran: string;
  server: Record<string, string | number>;
  other_server_keys?: string[];
}

interface Pair {
  theirs: Dump;
  ours: Dump;
  nginxReply: Reply;
  oursReply: Reply;
}

async function both(spec: RequestSpec): Promise<{ nginxReply: Reply; oursReply: Reply }> {
  const nginxReply = await exchange(nginx.port, spec);
  const oursReply = await exchange(ours.port, spec);
  return { nginxReply, oursReply };
}

/**
 * The fields that legitimately differ, checked for their expected values,
 * then removed: what remains must be equal.
 */
function normalise(dump: Dump, port: number, side: 'nginx' | 'ours'): Dump {
  const server = { ...dump.server };
  if (side === 'nginx') expect(server.SERVER_SOFTWARE).toMatch(/^nginx\/\d+\.\d+\.\d+$/);
  else expect(server.SERVER_SOFTWARE).toBe(SERVER_SOFTWARE);
  expect(server.SERVER_PORT).toBe(String(port));
  expect(String(server.REMOTE_PORT)).toMatch(/^\d+$/);
  if (typeof server.HTTP_HOST === 'string') {
    expect(server.HTTP_HOST).toBe(`localhost:${port}`);
    server.HTTP_HOST = 'localhost:PORT';
  }
  for (const key of ['SERVER_SOFTWARE', 'SERVER_PORT', 'REMOTE_PORT', 'REQUEST_TIME', 'REQUEST_TIME_FLOAT']) delete server[key];
  const copy: Dump = { ...dump, server };
  delete copy.other_server_keys; // the worker's own environment: see its own test
  return copy;
}

/** Connection-level headers: how a body is delimited and how long the connection stays. */
const FRAMING = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive']);

function interestingHeaders(reply: Reply): Array<[string, string]> {
  // Date varies; Server is nginx's alone (asserted in its own test). The
  // framing legitimately differs: nginx chunks every FastCGI response, we
  // send Content-Length when the whole body is in hand before the first
  // byte leaves (both are checked to be complete), and Node names its
  // keep-alive timeout. A script's own Content-Length is compared.
  return reply.headers.filter(([n]) => n !== 'date' && n !== 'server' && !FRAMING.has(n)).sort(([a], [b]) => a.localeCompare(b));
}

/** Sends `spec` to both; both must answer 200 with a JSON dump, and the normalised dumps must be equal. */
async function parity(spec: RequestSpec): Promise<Pair> {
  const { nginxReply, oursReply } = await both(spec);
  const what = `${spec.method ?? 'GET'} ${spec.target}`;
  expect(nginxReply.status, `nginx: ${what}: ${nginxReply.body.toString().slice(0, 500)}`).toBe(200);
  expect(oursReply.status, `ours: ${what}: ${oursReply.body.toString().slice(0, 500)}`).toBe(200);
  expect(nginxReply.complete && oursReply.complete, what).toBe(true);
  expect(interestingHeaders(oursReply), what).toEqual(interestingHeaders(nginxReply));
  if (spec.method === 'HEAD') {
    expect(nginxReply.body.length + oursReply.body.length).toBe(0);
    return { theirs: { ran: '', server: {} }, ours: { ran: '', server: {} }, nginxReply, oursReply };
  }
  const theirs = JSON.parse(nginxReply.body.toString('utf8')) as Dump;
  const mine = JSON.parse(oursReply.body.toString('utf8')) as Dump;
  expect(normalise(mine, ours.port, 'ours'), what).toEqual(normalise(theirs, nginx.port, 'nginx'));
  return { theirs, ours: mine, nginxReply, oursReply };
}

// ---------------------------------------------------------------- bodies

type Part = { name: string; value: string } | { name: string; filename: string; type: string; data: Buffer };

function multipart(parts: Part[]): { contentType: string; body: Buffer } {
  const boundary = '----parity' + randomBytes(8).toString('hex');
  const pieces: Buffer[] = [];
  for (const part of parts) {
    if ('data' in part) {
      pieces.push(
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"; filename="${part.filename}"\r\nContent-Type: ${part.type}\r\n\r\n`,
          'utf8',
        ),
        part.data,
        Buffer.from('\r\n'),
      );
    } else {
      pieces.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"\r\n\r\n${part.value}\r\n`, 'utf8'));
    }
  }
  pieces.push(Buffer.from(`--${boundary}--\r\n`));
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(pieces) };
}

const md5 = (data: Buffer): string => createHash('md5').update(data).digest('hex');

/** Splits a buffer into pieces of `size` bytes (the last one shorter). */
function slices(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

// ---------------------------------------------------------------- the matrix

describe.skipIf(!available)('end-to-end parity with nginx + PHP-FPM', () => {
  it('both sides run with the same raised upload limits from .user.ini', async () => {
    const { ours: mine } = await parity({ target: '/dump.php' });
    expect(mine.ini).toEqual({ upload_max_filesize: '16M', post_max_size: '16M' });
  });

  it('a query string with encoded characters: QUERY_STRING raw, $_GET decoded', async () => {
    const { ours: mine } = await parity({ target: '/dump.php?a=%20b&c[]=1&c[]=2&d=%C3%A9&e=a%2Bb' });
    expect(mine.server.QUERY_STRING).toBe('a=%20b&c[]=1&c[]=2&d=%C3%A9&e=a%2Bb');
    expect(mine.server.REQUEST_URI).toBe('/dump.php?a=%20b&c[]=1&c[]=2&d=%C3%A9&e=a%2Bb');
    expect(mine.get).toEqual({ a: ' b', c: ['1', '2'], d: 'é', e: 'a+b' });
  });

  it('PATH_INFO: /server.php/a/b%20c and /dump.php/x%2Fy/ü?q=1', async () => {
    const { ours: a } = await parity({ target: '/server.php/a/b%20c' });
    expect(a.server).toMatchObject({ SCRIPT_NAME: '/server.php', PATH_INFO: '/a/b c', DOCUMENT_URI: '/server.php/a/b c', PHP_SELF: '/server.php/a/b c' });
    expect(a.ran).toBe(join(docroot, 'server.php'));
    const { ours: b } = await parity({ target: '/dump.php/x%2Fy/%C3%BC?q=1' });
    expect(b.server).toMatchObject({ SCRIPT_NAME: '/dump.php', PATH_INFO: '/x/y/ü', QUERY_STRING: 'q=1' });
  });

  it('front controller: /no/such/route?x=y runs /index.php with the original query and URI', async () => {
    const { ours: mine } = await parity({ target: '/no/such/route?x=y' });
    expect(mine.ran).toBe(join(docroot, 'index.php'));
    expect(mine.server).toMatchObject({
      SCRIPT_NAME: '/index.php',
      DOCUMENT_URI: '/index.php',
      PATH_INFO: '',
      QUERY_STRING: 'x=y',
      REQUEST_URI: '/no/such/route?x=y',
    });
  });

  it('directory index: /app/ runs /app/index.php', async () => {
    const { ours: mine } = await parity({ target: '/app/?z=1' });
    expect(mine.ran).toBe(join(docroot, 'app', 'index.php'));
    expect(mine.server).toMatchObject({ SCRIPT_NAME: '/app/index.php', DOCUMENT_URI: '/app/index.php', QUERY_STRING: 'z=1' });
  });

  it('HEAD: same status and headers, no body, for a script and the front controller', async () => {
    const { oursReply } = await parity({ method: 'HEAD', target: '/dump.php?h=%20' });
    expect(header(oursReply, 'x-dump-method')).toBe('HEAD');
    expect(header(oursReply, 'x-dump-query')).toBe(encodeURIComponent('h=%20'));
    expect(header(oursReply, 'content-length')).toBeUndefined();
    await parity({ method: 'HEAD', target: '/no/such/route' });
  });

  it('POST application/x-www-form-urlencoded', async () => {
    const body = Buffer.from('name=Ada+L&note=%3Cb%3E%20%26&list[]=1&list[]=2&u=%C3%A9');
    const { ours: mine } = await parity({ method: 'POST', target: '/dump.php', headers: [['Content-Type', 'application/x-www-form-urlencoded']], body });
    expect(mine.post).toEqual({ name: 'Ada L', note: '<b> &', list: ['1', '2'], u: 'é' });
    expect(mine.server).toMatchObject({ CONTENT_LENGTH: String(body.length), CONTENT_TYPE: 'application/x-www-form-urlencoded' });
    expect(mine.input).toEqual({ length: body.length, md5: md5(body) });
  });

  it('POST without a body: no Content-Length gives CONTENT_LENGTH "", Content-Length: 0 gives "0"', async () => {
    const { ours: none } = await parity({ method: 'POST', target: '/dump.php' });
    expect(none.server.CONTENT_LENGTH).toBe('');
    const { ours: zero } = await parity({ method: 'POST', target: '/dump.php', headers: [['Content-Length', '0']] });
    expect(zero.server.CONTENT_LENGTH).toBe('0');
  });

  it('POST multipart/form-data with two files and a field', async () => {
    const one = randomBytes(200_000);
    const two = Buffer.from('plain text ünïcode\n'.repeat(100), 'utf8');
    const form = multipart([
      { name: 'title', value: 'two files' },
      { name: 'first', filename: 'one.bin', type: 'application/octet-stream', data: one },
      { name: 'second', filename: 'résumé.txt', type: 'text/plain', data: two },
    ]);
    const { ours: mine } = await parity({ method: 'POST', target: '/dump.php', headers: [['Content-Type', form.contentType]], body: form.body });
    expect(mine.post).toEqual({ title: 'two files' });
    expect(mine.files).toEqual({
      first: {
        name: 'one.bin',
        full_path: 'one.bin',
        type: 'application/octet-stream',
        size: one.length,
        error: 0,
        uploaded: true,
        disk_size: one.length,
        md5: md5(one),
      },
      second: {
        name: 'résumé.txt',
        full_path: 'résumé.txt',
        type: 'text/plain',
        size: two.length,
        error: 0,
        uploaded: true,
        disk_size: two.length,
        md5: md5(two),
      },
    });
    // PHP consumes a multipart body itself: php://input is empty on both sides.
    expect(mine.input).toEqual({ length: 0, md5: md5(Buffer.alloc(0)) });
  });

  it('a chunked multipart upload (Transfer-Encoding: chunked): CONTENT_LENGTH is the received length', async () => {
    const data = randomBytes(300_000);
    const form = multipart([{ name: 'f', filename: 'chunked.bin', type: 'application/octet-stream', data }]);
    const { ours: mine } = await parity({
      method: 'POST',
      target: '/dump.php',
      headers: [['Content-Type', form.contentType]],
      chunks: slices(form.body, 64 * 1024),
    });
    expect(mine.server).toMatchObject({ CONTENT_LENGTH: String(form.body.length), HTTP_TRANSFER_ENCODING: 'chunked' });
    expect(mine.files).toEqual({
      f: {
        name: 'chunked.bin',
        full_path: 'chunked.bin',
        type: 'application/octet-stream',
        size: data.length,
        error: 0,
        uploaded: true,
        disk_size: data.length,
        md5: md5(data),
      },
    });
  });

  it('a chunked raw body reaches php://input intact', async () => {
    const data = randomBytes(50_000);
    const { ours: mine } = await parity({
      method: 'PUT',
      target: '/dump.php',
      headers: [['Content-Type', 'application/octet-stream']],
      chunks: slices(data, 7_000),
    });
    expect(mine.input).toEqual({ length: data.length, md5: md5(data) });
    expect(mine.server.CONTENT_LENGTH).toBe(String(data.length));
  });

  it('a 10 MB upload with Expect: 100-continue, as curl sends it', async () => {
    const data = randomBytes(10 * 1024 * 1024);
    const form = multipart([{ name: 'big', filename: 'big.bin', type: 'application/octet-stream', data }]);
    const {
      ours: mine,
      nginxReply,
      oursReply,
    } = await parity({
      method: 'POST',
      target: '/dump.php',
      headers: [
        ['Content-Type', form.contentType],
        ['Expect', '100-continue'],
      ],
      body: form.body,
    });
    expect(mine.files).toEqual({
      big: {
        name: 'big.bin',
        full_path: 'big.bin',
        type: 'application/octet-stream',
        size: data.length,
        error: 0,
        uploaded: true,
        disk_size: data.length,
        md5: md5(data),
      },
    });
    expect(mine.server).toMatchObject({ CONTENT_LENGTH: String(form.body.length), HTTP_EXPECT: '100-continue' });
    // Both answered the Expect before the final response.
    expect(nginxReply.informational).toEqual([100]);
    expect(oursReply.informational).toEqual([100]);
  }, 60_000);

  it('a unicode script name, percent-encoded: /%C3%BCn%C3%AF.php', async () => {
    const { ours: mine } = await parity({ target: '/%C3%BCn%C3%AF.php?q=%C3%BC' });
    expect(mine.ran).toBe(join(docroot, 'ünï.php'));
    expect(mine.server).toMatchObject({ SCRIPT_NAME: '/ünï.php', DOCUMENT_URI: '/ünï.php', REQUEST_URI: '/%C3%BCn%C3%AF.php?q=%C3%BC' });
  });

  it('cookies: one Cookie header with several pairs, encoded and array names', async () => {
    const { ours: mine } = await parity({ target: '/dump.php', headers: [['Cookie', 'a=1; b=x%20y; c[k]=v; d=%C3%A9; e=a+b']] });
    expect(mine.cookie).toEqual({ a: '1', b: 'x y', c: { k: 'v' }, d: 'é', e: 'a+b' });
    expect(mine.server.HTTP_COOKIE).toBe('a=1; b=x%20y; c[k]=v; d=%C3%A9; e=a+b');
  });

  it('custom headers: dashes become underscores; a name with an underscore or a dot is dropped by both', async () => {
    const { ours: mine } = await parity({
      target: '/dump.php',
      headers: [
        ['X-Custom-Header-Name', 'dash value'],
        ['x-MiXeD-cAsE', 'm'],
        ['X_Under_Score', 'dropped'],
        ['X.Dot', 'dropped'],
        ['User-Agent', 'parity/1.0'],
      ],
    });
    expect(mine.server).toMatchObject({ HTTP_X_CUSTOM_HEADER_NAME: 'dash value', HTTP_X_MIXED_CASE: 'm', HTTP_USER_AGENT: 'parity/1.0' });
    expect(Object.keys(mine.server).filter((k) => /UNDER|DOT/.test(k))).toEqual([]);
  });

  it('a Proxy header becomes HTTP_PROXY on neither side (httpoxy)', async () => {
    const { ours: mine } = await parity({ target: '/server.php', headers: [['Proxy', 'http://evil.example:1']] });
    expect(mine.server.HTTP_PROXY).toBeUndefined();
    expect(mine.getenv_http_proxy).toBe(false);
  });

  it('HTTP/1.0: SERVER_PROTOCOL HTTP/1.0 on both sides', async () => {
    const { ours: mine } = await parity({ target: '/dump.php?v=10', version: '1.0' });
    expect(mine.server.SERVER_PROTOCOL).toBe('HTTP/1.0');
  });

  it('HTTP/1.1 without Host: 400 on both sides (RFC 9112 section 3.2)', async () => {
    const { nginxReply, oursReply } = await both({ target: '/dump.php', host: null });
    expect(nginxReply.status).toBe(400);
    expect(oursReply.status).toBe(400);
  });

  it('a script’s status, repeated headers, Set-Cookie and Location reach the client unchanged', async () => {
    for (const target of [
      '/respond.php?status=201&location=/x',
      '/respond.php?location=/y',
      '/respond.php?status=204',
      '/respond.php?status=404&type=text/plain',
      '/respond.php?status=299&reason=Custom%20Reason',
      '/respond.php?status=503&reason=Down',
    ]) {
      const { nginxReply, oursReply } = await both({ target });
      expect([target, oursReply.status, oursReply.statusText], 'status line').toEqual([target, nginxReply.status, nginxReply.statusText]);
      expect(oursReply.body.equals(nginxReply.body), target).toBe(true);
      // Names compared case-insensitively: PHP's default header is spelled
      // `Content-type`; nginx rewrites it to `Content-Type`, we pass it as is.
      expect(interestingHeaders(oursReply), target).toEqual(interestingHeaders(nginxReply));
    }
    const { oursReply } = await both({ target: '/respond.php?location=/y' });
    expect(oursReply.status).toBe(302);
    expect(headers(oursReply, 'set-cookie')).toEqual(['one=1; path=/', 'two=a%20b; path=/; HttpOnly; SameSite=Lax']);
    expect(headers(oursReply, 'x-multi')).toEqual(['a', 'b']);
  });

  it('static files and plain errors: same status on both sides', async () => {
    for (const [target, status] of [
      ['/hello.txt', 200],
      ['/sub/', 200],
      ['/nope.php', 404],
      ['/uploads/x.jpg/y.php', 404],
      ['/../server.php', 400],
      ['/hello%00.txt', 400],
    ] as const) {
      const { nginxReply, oursReply } = await both({ target });
      expect([target, nginxReply.status], 'nginx').toEqual([target, status]);
      expect([target, oursReply.status], 'ours').toEqual([target, status]);
      if (status === 200) expect(oursReply.body.equals(nginxReply.body), target).toBe(true);
    }
  });
});

describe.skipIf(!available)('what legitimately differs (asserted, not skipped)', () => {
  it('the worker environment: FPM clears it (clear_env); ours passes a small allow-list', async () => {
    const { nginxReply, oursReply } = await both({ target: '/dump.php' });
    const theirs = (JSON.parse(nginxReply.body.toString()) as Dump).other_server_keys ?? [];
    const mine = (JSON.parse(oursReply.body.toString()) as Dump).other_server_keys ?? [];
    // FPM: only what it sets itself (FCGI_ROLE, and USER/HOME of the pool user).
    for (const key of theirs) expect(['FCGI_ROLE', 'USER', 'HOME']).toContain(key);
    expect(theirs).toContain('FCGI_ROLE');
    // Ours: PATH, HOME, locale, TZ, TMPDIR, PHPRC…, FASTCGI_POOL_* (see
    // src/platform/workerEnvironment.ts), plus FCGI_ROLE and PHP_FCGI_MAX_REQUESTS.
    expect(mine).toContain('FCGI_ROLE');
    expect(mine).toContain('PHP_FCGI_MAX_REQUESTS');
    expect(mine).toContain('FASTCGI_POOL_TEST_RUN'); // set by test/globalSetup.ts in the test process
    expect(mine).toContain('PATH');
    // Workers that bind their own port (php-cgi -b, the Windows way) get
    // FCGI_WEB_SERVER_ADDRS=127.0.0.1 from us: php-cgi's own peer filter.
    const bindsOwnPort = ours.pool.snapshot().platform?.workerAddress === 'loopback-port';
    expect(mine.includes('FCGI_WEB_SERVER_ADDRS')).toBe(bindsOwnPort);
    const allowed =
      /^(FCGI_ROLE|PHP_FCGI_MAX_REQUESTS|FCGI_WEB_SERVER_ADDRS|PATH|HOME|USER|LOGNAME|LANG|LANGUAGE|TZ|TMPDIR|TEMP|TMP|LC_.*|PHPRC|PHP_INI_SCAN_DIR|FASTCGI_POOL_.*)$/;
    for (const key of mine) expect(key, `${key} leaked from the manager's environment`).toMatch(allowed);
    expect(theirs).not.toContain('FASTCGI_POOL_TEST_RUN');
  });

  it('the Server response header: nginx sends its version, we send none', async () => {
    const { nginxReply, oursReply } = await both({ target: '/dump.php' });
    expect(header(nginxReply, 'server')).toMatch(/^nginx\/\d/);
    expect(header(oursReply, 'server')).toBeUndefined();
  });

  it.each([
    // target, nginx status, our status, why
    ['/.env', 200, 403, 'dotfiles are never served'],
    ['/.user.ini', 200, 403, 'dotfiles are never served'],
    ['/index.php.bak', 200, 403, 'backup copies of PHP source are never served'],
    ['/%ff.txt', 200, 400, 'a path that is not UTF-8 is a bad request (nginx: the front controller)'],
    ['/index.php/a%0ab', 404, 400, 'control characters in the path are a bad request'],
  ] as Array<[string, number, number, string]>)('%s: nginx %i, ours %i (%s)', async (target, nginxStatus, ourStatus) => {
    const { nginxReply, oursReply } = await both({ target });
    expect(nginxReply.status).toBe(nginxStatus);
    expect(oursReply.status).toBe(ourStatus);
    if (target === '/.env') {
      expect(nginxReply.body.toString()).toContain('SECRET=fixture-only');
      expect(oursReply.body.toString()).not.toContain('fixture-only');
    }
  });

  it('static files: same bytes, but send’s headers differ from nginx’s (charset, ETag format, Cache-Control)', async () => {
    const { nginxReply, oursReply } = await both({ target: '/hello.txt' });
    expect(oursReply.body.equals(nginxReply.body)).toBe(true);
    expect(header(nginxReply, 'content-type')).toBe('text/plain');
    expect(header(oursReply, 'content-type')).toBe('text/plain; charset=utf-8');
    expect(header(nginxReply, 'etag')).toMatch(/^"[0-9a-f]+-19"$/); // "mtime-size" in hex, strong
    expect(header(oursReply, 'etag')).toMatch(/^W\/"19-[0-9a-f]+"$/); // "size-mtime", weak
    expect(header(nginxReply, 'cache-control')).toBeUndefined();
    expect(header(oursReply, 'cache-control')).toBe('public, max-age=0');
    // Each side honours its own validator.
    for (const [port, reply] of [
      [nginx.port, nginxReply],
      [ours.port, oursReply],
    ] as const) {
      const again = await exchange(port, { target: '/hello.txt', headers: [['If-None-Match', header(reply, 'etag') as string]] });
      expect(again.status).toBe(304);
      const range = await exchange(port, { target: '/hello.txt', headers: [['Range', 'bytes=0-4']] });
      expect([range.status, range.body.toString(), header(range, 'content-range')]).toEqual([206, 'hello', 'bytes 0-4/25']);
    }
  });

  it('a conditional GET that also carries Cache-Control: no-cache (as fetch() sends it): nginx 304, ours 200', async () => {
    // Not deliberate: the `send` package (its fresh() check) treats a request
    // no-cache as "never fresh"; nginx evaluates the validator regardless.
    // Browsers revalidate with max-age=0, which both answer with 304.
    const { nginxReply, oursReply } = await both({ target: '/hello.txt' });
    const nginx304 = await exchange(nginx.port, {
      target: '/hello.txt',
      headers: [
        ['If-None-Match', header(nginxReply, 'etag') as string],
        ['Cache-Control', 'no-cache'],
      ],
    });
    const ours200 = await exchange(ours.port, {
      target: '/hello.txt',
      headers: [
        ['If-None-Match', header(oursReply, 'etag') as string],
        ['Cache-Control', 'no-cache'],
      ],
    });
    expect(nginx304.status).toBe(304);
    expect(ours200.status).toBe(200);
    const ours304 = await exchange(ours.port, {
      target: '/hello.txt',
      headers: [
        ['If-None-Match', header(oursReply, 'etag') as string],
        ['Cache-Control', 'max-age=0'],
      ],
    });
    expect(ours304.status).toBe(304);
  });

  it('POST to a static file: both 405; nginx says "Not Allowed" without Allow, ours "Method Not Allowed" with Allow: GET, HEAD', async () => {
    const { nginxReply, oursReply } = await both({ method: 'POST', target: '/hello.txt', body: Buffer.from('x') });
    expect(nginxReply.status).toBe(405);
    expect(oursReply.status).toBe(405);
    expect(header(nginxReply, 'allow')).toBeUndefined();
    expect(header(oursReply, 'allow')).toBe('GET, HEAD');
  });

  it('directory redirect: both 301; nginx writes an absolute Location with its port, ours is relative', async () => {
    const { nginxReply, oursReply } = await both({ target: '/sub?x=1' });
    expect(nginxReply.status).toBe(301);
    expect(oursReply.status).toBe(301);
    expect(header(nginxReply, 'location')).toBe(`http://localhost:${nginx.port}/sub/?x=1`);
    expect(header(oursReply, 'location')).toBe('/sub/?x=1');
  });

  it('a raw UTF-8 request-target (/ünï.php unencoded): nginx runs the script, Node’s HTTP parser answers 400', async () => {
    const { nginxReply, oursReply } = await both({ target: '/ünï.php' });
    expect(nginxReply.status).toBe(200);
    const theirs = JSON.parse(nginxReply.body.toString('utf8')) as Dump;
    expect(theirs.server).toMatchObject({ SCRIPT_NAME: '/ünï.php', REQUEST_URI: '/ünï.php' });
    // Rejected before the gateway sees it (clientError): an empty 400, no explanatory page.
    expect(oursReply.status).toBe(400);
    expect(oursReply.body.length).toBe(0);
  });

  it('an absolute-form target (GET http://localhost:PORT/dump.php): nginx serves it, ours is a 400', async () => {
    const nginxReply = await exchange(nginx.port, { target: `http://localhost:${nginx.port}/dump.php` });
    const oursReply = await exchange(ours.port, { target: `http://localhost:${ours.port}/dump.php` });
    expect(nginxReply.status).toBe(200);
    expect(oursReply.status).toBe(400);
    expect(oursReply.body.toString()).toContain('absolute-form');
  });

  it('repeated Cookie headers: we join them like nginx >= 1.23; nginx 1.22 lets PHP keep only the last', async () => {
    const { nginxReply, oursReply } = await both({
      target: '/dump.php',
      headers: [
        ['Cookie', 'a=1'],
        ['Cookie', 'b=2'],
      ],
    });
    const theirs = JSON.parse(nginxReply.body.toString()) as Dump;
    const mine = JSON.parse(oursReply.body.toString()) as Dump;
    const [major, minor] = String(theirs.server.SERVER_SOFTWARE).replace('nginx/', '').split('.').map(Number) as [number, number];
    const nginxJoins = major > 1 || minor >= 23;
    expect(theirs.cookie).toEqual(nginxJoins ? { a: '1', b: '2' } : { b: '2' });
    expect(mine.server.HTTP_COOKIE).toBe('a=1; b=2');
    expect(mine.cookie).toEqual({ a: '1', b: '2' });
  });

  it('HTTP/1.0 without Host: nginx serves it (SERVER_NAME stands in), ours is 421', async () => {
    const { nginxReply, oursReply } = await both({ target: '/dump.php', host: null, version: '1.0' });
    expect(nginxReply.status).toBe(200);
    expect((JSON.parse(nginxReply.body.toString()) as Dump).server.HTTP_HOST).toBeUndefined();
    expect(oursReply.status).toBe(421);
  });

  it('two Host headers: 400 on both sides (RFC 9112 section 3.2), on both of our fronts', async () => {
    for (const connection of ['keep-alive', 'close'] as const) {
      const { nginxReply, oursReply } = await both({ target: '/dump.php', headers: [['Host', 'localhost']], connection });
      expect([connection, nginxReply.status]).toEqual([connection, 400]);
      expect([connection, oursReply.status]).toEqual([connection, 400]);
    }
  });

  it('a Host other than localhost: nginx serves it, ours is 421 (DNS rebinding guard)', async () => {
    const { nginxReply, oursReply } = await both({ target: '/dump.php', host: 'evil.example' });
    expect(nginxReply.status).toBe(200);
    expect(oursReply.status).toBe(421);
  });
});

describe.skipIf(!available)('our two HTTP fronts', () => {
  // Keep-alive requests like these are parsed by the gateway's lean front;
  // with `Connection: close` Node's HTTP server parses them. PHP must see the
  // same request either way (the matrix above runs on the lean front).
  const specs: RequestSpec[] = [
    { target: '/dump.php?a=%20b&c[]=1&d=%C3%A9' },
    { target: '/server.php/a/b%20c' },
    { target: '/no/such/route?x=y' },
    {
      target: '/dump.php',
      headers: [
        ['Cookie', 'a=1; b=%20; c[x]=2'],
        ['X-Custom-Thing', 'v'],
        ['X_Under', 'dropped'],
        ['Accept', 'text/html'],
        ['Accept', 'application/json'],
      ],
    },
    { method: 'POST', target: '/dump.php', headers: [['Content-Type', 'application/x-www-form-urlencoded']], body: Buffer.from('name=Ada&tags[]=a&tags[]=b') },
    { method: 'POST', target: '/dump.php', headers: [['Content-Length', '0']] },
    { method: 'POST', target: '/dump.php' },
  ];
  it('give PHP the same request, and the client the same headers', async () => {
    for (const spec of specs) {
      const what = `${spec.method ?? 'GET'} ${spec.target}`;
      const lean = await exchange(ours.port, { ...spec, connection: 'keep-alive' });
      const node = await exchange(ours.port, { ...spec, connection: 'close' });
      expect([what, lean.status, lean.complete], 'lean').toEqual([what, 200, true]);
      expect([what, node.status, node.complete], 'node').toEqual([what, 200, true]);
      expect(header(lean, 'connection'), what).toBe('keep-alive');
      expect(header(node, 'connection'), what).toBe('close');
      expect(interestingHeaders(lean), what).toEqual(interestingHeaders(node));
      const leanDump = normalise(JSON.parse(lean.body.toString('utf8')) as Dump, ours.port, 'ours');
      const nodeDump = normalise(JSON.parse(node.body.toString('utf8')) as Dump, ours.port, 'ours');
      expect(leanDump.server.HTTP_CONNECTION).toBe('keep-alive');
      expect(nodeDump.server.HTTP_CONNECTION).toBe('close');
      delete leanDump.server.HTTP_CONNECTION;
      delete nodeDump.server.HTTP_CONNECTION;
      expect(leanDump, what).toEqual(nodeDump);
    }
  });
});

describe.skipIf(!available)('non-ASCII header bytes', () => {
  // Node decodes header values as latin1; the gateway sends params as bytes
  // (latin1), so a raw UTF-8 cookie `d=é` (C3 A9) reaches PHP unchanged, as
  // with nginx. Browsers send raw UTF-8 in Cookie when a script set one with
  // document.cookie. (Found by this test: it used to arrive as `Ã©`.)
  const request: RequestSpec = {
    target: '/dump.php',
    headers: [
      ['Cookie', 'd=é'],
      ['X-Name', 'Zoë'],
    ],
  };

  it('nginx passes raw UTF-8 header bytes to PHP unchanged', async () => {
    const theirs = JSON.parse((await exchange(nginx.port, request)).body.toString('utf8')) as Dump;
    expect(theirs.cookie).toEqual({ d: 'é' });
    expect(theirs.server.HTTP_X_NAME).toBe('Zoë');
  });

  it('ours passes them unchanged too', async () => {
    const mine = JSON.parse((await exchange(ours.port, request)).body.toString('utf8')) as Dump;
    expect(mine.cookie).toEqual({ d: 'é' });
    expect(mine.server.HTTP_X_NAME).toBe('Zoë');
  });
});

describe.skipIf(!available)('with live reload on: pages get one tag, everything else stays byte for byte what nginx sends', () => {
  // A third server: ours again on the same document root, with live reload.
  // nginx never changes a body, so it is the reference for the bytes.
  let live: PoolServer;
  const TAG = '<script src="/.fastcgi-pool/live.js" async></script>';

  beforeAll(async () => {
    live = await startPoolServer({ documentRoot: docroot, pool: { phpCgi, minWorkers: 1, maxWorkers: 2 }, gateway: { port: 0, liveReload: true } });
  }, 30_000);
  afterAll(async () => {
    await live?.stop(1_000);
  }, 30_000);

  /** nginx's body with the tag where live reload puts it: before </body>, or at the end. */
  const tagged = (body: Buffer): string => {
    const text = body.toString('latin1');
    const at = text.toLowerCase().indexOf('</body');
    return at < 0 ? text + TAG : text.slice(0, at) + TAG + text.slice(at);
  };

  it('a PHP page and a static page: nginx’s bytes plus the tag, on both of our fronts, with a Content-Length that counts it', async () => {
    for (const target of ['/respond.php?type=text/html', '/sub/index.html', '/sub/']) {
      const theirs = await exchange(nginx.port, { target });
      expect([target, theirs.status]).toEqual([target, 200]);
      for (const connection of ['keep-alive', 'close'] as const) {
        const mine = await exchange(live.port, { target, connection });
        expect([target, connection, mine.status, mine.complete]).toEqual([target, connection, 200, true]);
        expect(mine.body.toString('latin1'), `${target} (${connection})`).toBe(tagged(theirs.body));
        const length = header(mine, 'content-length');
        if (length !== undefined) expect(Number(length), `${target} (${connection})`).toBe(mine.body.length);
      }
    }
  });

  it('JSON, text, a file, and the pages an iframe or a fetch() asks for: byte-identical to nginx’s', async () => {
    const specs: RequestSpec[] = [
      { target: '/respond.php?type=application/json' },
      { target: '/respond.php' + '?type=' + encodeURIComponent('text/plain') },
      { target: '/hello.txt' },
      { target: '/respond.php?type=text/html', headers: [['Sec-Fetch-Dest', 'iframe']] },
      { target: '/respond.php?type=text/html', headers: [['Sec-Fetch-Dest', 'empty']] },
      { target: '/sub/index.html', headers: [['Sec-Fetch-Dest', 'iframe']] },
    ];
    for (const spec of specs) {
      const theirs = await exchange(nginx.port, spec);
      for (const connection of ['keep-alive', 'close'] as const) {
        const mine = await exchange(live.port, { ...spec, connection });
        const what = `${spec.target} ${JSON.stringify(spec.headers ?? [])} (${connection})`;
        expect([what, mine.status]).toEqual([what, theirs.status]);
        expect(mine.body.equals(theirs.body), `${what}: ${mine.body.toString('latin1').slice(-120)}`).toBe(true);
      }
    }
  });
});
