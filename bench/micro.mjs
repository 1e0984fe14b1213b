#!/usr/bin/env node
// Micro-benchmarks of the engine (npm run build first; npm run bench runs this):
//   1. lease acquire + release with 10 and 1 000 workers (the pool's lists);
//   2. FastCGI encode of a typical browser request's params;
//   3. decode of a 100 KB response as php-cgi frames it;
//   4. event-loop lag (lateness of a 1 ms timer) while the pool serves
//      hello.php at c=64 (wrk) in this same process.
//
//   node bench/micro.mjs [--quick] [--json] [--only lease,encode,decode,lag] [--engine other/engine.js]
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createApp } from './lib/app.mjs';
import { loadInternals } from './lib/internals.mjs';
import { renderMicro } from './lib/report.mjs';
import { runWrk } from './lib/wrk.mjs';

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    only: { type: 'string' },
    seconds: { type: 'string' },
    // Another build of the engine (e.g. with a proposed pool patch) for the lease and lag figures.
    engine: { type: 'string' },
  },
});
const quick = opt.quick;
const only = new Set((opt.only ?? 'lease,encode,decode,lag').split(','));
const engine = createRequire(import.meta.url)(resolve(opt.engine ?? resolve(import.meta.dirname, '../dist/engine.js')));
const internals = await loadInternals();
const log = (...a) => console.error('[micro]', ...a);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** ns per call of fn(i), median of `runs` runs of `n` calls after a warm-up. */
function bench(fn, n, runs = 5) {
  for (let i = 0; i < Math.min(n, 100_000); i++) fn(i);
  const results = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn(i);
    results.push(Number(process.hrtime.bigint() - t0) / n);
  }
  return median(results);
}

async function benchAsync(fn, n, runs = 5) {
  for (let i = 0; i < Math.min(n, 50_000); i++) await fn(i);
  const results = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await fn(i);
    results.push(Number(process.hrtime.bigint() - t0) / n);
  }
  return median(results);
}

// ------------------------------------------------------------------ lease

async function leaseBench(workers) {
  const { Pool } = engine;
  // A stand-in worker: the pool spawns it like php-cgi (listening socket as
  // fd 0) but it only sleeps. 1 000 real php-cgi would need ~20 GB.
  const dir = mkdtempSync(join(tmpdir(), 'fcgi-bench-fake-'));
  const fake = join(dir, 'fake-worker.sh');
  writeFileSync(fake, '#!/bin/sh\nexec sleep 3600\n');
  chmodSync(fake, 0o755);
  // readyProbeTimeoutMs 0: a sleeping stand-in never answers FCGI_GET_VALUES.
  const pool = new Pool({ phpCgi: fake, cwd: dir, minWorkers: workers, maxWorkers: workers, scanIntervalMs: 0, readyProbeTimeoutMs: 0 });
  const t0 = performance.now();
  await pool.start();
  log(`${workers} stand-in workers started in ${(performance.now() - t0).toFixed(0)} ms`);
  const request = { method: 'GET', uri: '/hello.php', scriptFilename: '/app/hello.php', clientAddress: '127.0.0.1' };
  const holder = { description: 'bench', revoke() {}, isActive: () => true };
  const n = quick ? 200_000 : 1_000_000;
  try {
    if (pool.snapshot().counts.idle !== workers) throw new Error(`expected ${workers} idle workers, got ${JSON.stringify(pool.snapshot().counts)}`);
    const nsPerOp = bench(() => {
      const lease = pool.tryAcquire(request, holder);
      pool.release(lease, 'ok');
    }, n);
    const asyncNsPerOp = await benchAsync(async () => {
      const lease = await pool.acquire(request, holder);
      pool.release(lease, 'ok');
    }, n / 4);
    // With a subscriber, as the CLI and the extension always have one.
    const sub = pool.onEvent(() => {});
    const withListenerNs = bench(() => {
      const lease = pool.tryAcquire(request, holder);
      pool.release(lease, 'ok');
    }, n / 2);
    sub.dispose();
    return { nsPerOp, asyncNsPerOp, withListenerNs };
  } finally {
    await pool.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------ encode/decode

/** What Chrome sends for a page, cookies included: the "typical request". */
const RAW_HEADERS = [
  'Host',
  '127.0.0.1:8080',
  'Connection',
  'keep-alive',
  'sec-ch-ua',
  '"Chromium";v="131", "Not_A Brand";v="24"',
  'sec-ch-ua-mobile',
  '?0',
  'sec-ch-ua-platform',
  '"Linux"',
  'Upgrade-Insecure-Requests',
  '1',
  'User-Agent',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Accept',
  'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7',
  'Sec-Fetch-Site',
  'same-origin',
  'Sec-Fetch-Mode',
  'navigate',
  'Sec-Fetch-User',
  '?1',
  'Sec-Fetch-Dest',
  'document',
  'Referer',
  'http://127.0.0.1:8080/index.php',
  'Accept-Encoding',
  'gzip, deflate, br, zstd',
  'Accept-Language',
  'en-US,en;q=0.9,de;q=0.8',
  'Cookie',
  'PHPSESSID=9m1l0c3kq7e5b2o8r4h6t1v0; theme=dark; XSRF-TOKEN=eyJpdiI6IkZ3b1RrTm1xV2tRTk9BPT0iLCJ2YWx1ZSI6Im',
];

function encodeBench() {
  const { buildCgiParams, encodeRequest, encodeParams } = internals;
  const req = { method: 'GET', httpVersion: '1.1', rawHeaders: RAW_HEADERS, remoteAddress: '127.0.0.1', remotePort: 51234 };
  const resolution = {
    kind: 'script',
    scriptFilename: '/home/dev/project/public/index.php',
    scriptName: '/index.php',
    pathInfo: '',
    documentUri: '/index.php',
    queryString: 'page=2&sort=name',
    requestUri: '/products?page=2&sort=name',
  };
  const server = {
    serverName: 'localhost',
    serverAddr: '127.0.0.1',
    serverPort: 8080,
    serverSoftware: 'fastcgi-pool',
    documentRoot: '/home/dev/project/public',
    scheme: 'http',
  };
  const body = { contentLength: null };
  const params = buildCgiParams(req, resolution, server, body);
  const n = quick ? 200_000 : 1_000_000;
  // latin1: the gateway sends params as byte strings (see cgiParams.ts).
  const bytes = encodeParams(1, params, 'latin1').reduce((s, b) => s + b.length, 0);
  const encodeParamsNs = bench(() => encodeParams(1, params, 'latin1'), n);
  const encodeRequestNs = bench(() => encodeRequest(1, params, { keepConn: true, stdin: EMPTY, encoding: 'latin1' }), n);
  const buildCgiParamsNs = bench(() => buildCgiParams(req, resolution, server, body), n);
  return { params: params.length, bytes, encodeParamsNs, encodeRequestNs, buildCgiParamsNs };
}
const EMPTY = Buffer.alloc(0);

function decodeBench() {
  const { RecordDecoder, encodeRecord } = internals;
  // As php-cgi frames `echo str_repeat('x', 102400)`: a small first STDOUT
  // record (the CGI headers), then 65528-byte records, then END_REQUEST.
  const headers = Buffer.from('Content-type: text/html; charset=UTF-8\r\n\r\n');
  const body = Buffer.alloc(100 * 1024, 0x78);
  const records = [encodeRecord(6, 1, headers)];
  for (let i = 0; i < body.length; i += 65528) records.push(encodeRecord(6, 1, body.subarray(i, Math.min(i + 65528, body.length))));
  records.push(encodeRecord(3, 1, Buffer.alloc(8)));
  const wire = Buffer.concat(records);
  // Socket reads of 64 KiB (Node's default), as they arrive from a unix socket.
  const chunks = [];
  for (let i = 0; i < wire.length; i += 65536) chunks.push(wire.subarray(i, Math.min(i + 65536, wire.length)));
  let seen = 0;
  const sink = {
    onRecord: (type, id, content) => (seen += content.length),
    onProtocolError: (e) => {
      throw e;
    },
  };
  const decoder = new RecordDecoder(sink, { splitStreamRecords: true });
  const n = quick ? 50_000 : 200_000;
  const ns = bench(() => {
    for (let c = 0; c < chunks.length; c++) decoder.push(chunks[c]);
  }, n);
  if (seen === 0) throw new Error('decoder delivered nothing');
  return { records: records.length, chunks: chunks.length, usPerResponse: ns / 1000, gbps: wire.length / ns };
}

function extraBench() {
  const { CgiHeaderParser } = internals;
  const out = {};
  const block = Buffer.from('X-Powered-By: PHP/8.2.36\r\nContent-type: application/json\r\nSet-Cookie: a=b; path=/\r\n\r\n{"count":50}');
  out['parse a 3-header CGI response head (CgiHeaderParser)'] = bench(() => new CgiHeaderParser().push(block), quick ? 200_000 : 1_000_000);
  return out;
}

async function resolveBench(app) {
  const { resolveRequest, defaultResolveConfig } = internals;
  const config = defaultResolveConfig(app);
  const n = quick ? 50_000 : 200_000;
  const ns = await benchAsync(() => resolveRequest('/hello.php?x=1', config), n);
  return { 'resolve /hello.php to a script (stat + realpath, awaited)': ns };
}

// ----------------------------------------------------------- event-loop lag

async function lagBench(app) {
  const { startPoolServer } = engine;
  const server = await startPoolServer({ documentRoot: app, pool: { minWorkers: 4, maxWorkers: 4 }, gateway: { port: 0 } });
  try {
    // Warm up (opcache, connections).
    await runWrk({ url: `${server.url}hello.php`, connections: 64, seconds: 1 });
    const samples = [];
    let running = true;
    let expected = 0;
    const tick = () => {
      const now = performance.now();
      samples.push(Math.max(0, now - expected));
      if (!running) return;
      expected = performance.now() + 1;
      setTimeout(tick, 1);
    };
    expected = performance.now() + 1;
    setTimeout(tick, 1);
    const seconds = Number(opt.seconds ?? (quick ? 3 : 10));
    const r = await runWrk({ url: `${server.url}hello.php`, connections: 64, seconds });
    running = false;
    // The first samples fall before wrk has connected; all are kept (the
    // saturated part dominates).
    const sorted = samples.sort((a, b) => a - b);
    const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
    return { samples: sorted.length, p50ms: pct(50), p99ms: pct(99), maxms: sorted[sorted.length - 1], rps: r.rps, errors: r.errors };
  } finally {
    await server.stop();
  }
}

// ---------------------------------------------------------------- main

const result = {};
if (only.has('encode')) {
  result.encode = encodeBench();
  log('encode', result.encode);
}
if (only.has('decode')) {
  result.decode = decodeBench();
  log('decode', result.decode);
}
const app = createApp();
try {
  if (only.has('encode')) {
    result.extra = { ...extraBench(), ...(await resolveBench(app)) };
    log('extra', result.extra);
  }
  if (only.has('lease')) {
    result.lease = {};
    for (const n of [10, 1000]) {
      result.lease[n] = await leaseBench(n);
      log(`lease ${n}`, result.lease[n]);
    }
  }
  if (only.has('lag')) {
    result.eventLoopLag = await lagBench(app);
    log('lag', result.eventLoopLag);
  }
} finally {
  rmSync(app, { recursive: true, force: true });
}
if (opt.json) process.stdout.write(JSON.stringify(result) + '\n');
else process.stdout.write(renderMicro(result) + '\n');
