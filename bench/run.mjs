#!/usr/bin/env node
// npm run bench [-- --quick] [--workers 4] [--seconds 10] [--targets nginx,apache,ours]
//               [--no-install] [--no-micro] [--no-docs | --write-docs] [--json FILE]
//               [--ours-args="ARGS"] [--variant "LABEL=ARGS"]... [--scenarios hello@8,...]
//
// --ours-args gives `fastcgi-pool serve` extra arguments; each --variant adds
// a target that is ours with other arguments, measured in the same run
// (e.g. --ours-args="--xdebug off" --variant "xdebug on=--xdebug on"; an
// argument that starts with a dash needs the = form).
//
// Macro benchmark: nginx + php-fpm (pm static), apache (mpm event) + mod_fcgid
// and `fastcgi-pool serve`, each with N PHP workers, on the same PHP app,
// measured with wrk at c=1, 8, 64 (interleaved: each scenario runs against
// every target in turn, so background noise hits all three alike). Records
// cold start (spawn → first 200 from hello.php) and RSS of each process tree.
// Then the micro-benchmarks (bench/micro.mjs). Prints markdown; a full run
// also rewrites the results section of docs/performance.md.
//
// Loopback only; every server runs from a generated config in a temp dir and
// is stopped by its pid. See docs/performance.md.
import { spawn, spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { get as httpGet } from 'node:http';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createApp, STATIC_BYTES, STATIC_FILE } from './lib/app.mjs';
import { ensureInstalled, serverVersions } from './lib/install.mjs';
import { settle, treeRss } from './lib/procs.mjs';
import { getStatus, TARGETS } from './lib/targets.mjs';
import { runWrk } from './lib/wrk.mjs';
import { fmt, renderReport } from './lib/report.mjs';

const REPO = resolve(import.meta.dirname, '..');
const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    workers: { type: 'string', default: '4' },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    targets: { type: 'string', default: 'nginx,apache,ours' },
    'cold-trials': { type: 'string' },
    'wrk-threads': { type: 'string', default: '1' },
    'no-install': { type: 'boolean', default: false },
    'no-micro': { type: 'boolean', default: false },
    'no-docs': { type: 'boolean', default: false },
    'write-docs': { type: 'boolean', default: false },
    json: { type: 'string' },
    // Also measure another build of ours (e.g. with bench/proposals/ applied) as a fourth target.
    'compare-cli': { type: 'string' },
    'compare-label': { type: 'string', default: 'fastcgi-pool + proposals' },
    // The micro-benchmarks again against another engine build (bench/lib/buildengine.mjs).
    'compare-engine': { type: 'string' },
    // Extra `serve` arguments for ours, and more targets that are ours with other arguments.
    'ours-args': { type: 'string' },
    variant: { type: 'string', multiple: true },
    scenarios: { type: 'string' },
  },
});
/** "--xdebug on -d a=b" → ['--xdebug', 'on', '-d', 'a=b'] (no quoting: bench arguments have no spaces). */
const splitArgs = (text) => (text ?? '').split(/\s+/).filter(Boolean);
if (opt['ours-args']) {
  const extraArgs = splitArgs(opt['ours-args']);
  const base = TARGETS.ours.start;
  TARGETS.ours = { label: `fastcgi-pool ${extraArgs.join(' ')}`, start: (o) => base({ ...o, extraArgs }) };
}
const variantIds = [];
for (const [i, spec] of (opt.variant ?? []).entries()) {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new Error(`--variant takes LABEL=ARGS, got "${spec}"`);
  const extraArgs = splitArgs(spec.slice(eq + 1));
  const id = `variant${i + 1}`;
  const start = TARGETS.ours.start;
  TARGETS[id] = { label: `fastcgi-pool ${spec.slice(0, eq)}`, start: (o) => start({ ...o, extraArgs: [...(o.extraArgs ?? []), ...extraArgs] }) };
  variantIds.push(id);
}
if (opt['compare-cli']) {
  const cli = resolve(opt['compare-cli']);
  TARGETS.proposed = { label: opt['compare-label'], start: (o) => TARGETS.ours.start({ ...o, cli }) };
}
const quick = opt.quick;
const workers = Number(opt.workers);
const seconds = Number(opt.seconds ?? (quick ? 3 : 10));
const warmupSeconds = Number(opt.warmup ?? (quick ? 1 : 3));
const coldTrials = Number(opt['cold-trials'] ?? (quick ? 1 : 3));
const wrkThreads = Number(opt['wrk-threads']);
const targetIds = opt.targets
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
if (opt['compare-cli'] && !targetIds.includes('proposed')) targetIds.push('proposed');
for (const id of variantIds) if (!targetIds.includes(id)) targetIds.push(id);
for (const id of targetIds) if (!TARGETS[id]) throw new Error(`unknown target ${id}; known: ${Object.keys(TARGETS).join(', ')}`);
const writeDocs = opt['write-docs'] || (!quick && !opt['no-docs'] && ['nginx', 'apache', 'ours'].every((id) => targetIds.includes(id)));

const log = (...a) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);

/** Pages: path, POST body size, and whether wrk sends the file's own ETag (a browser's revalidation on reload: 304). */
const PAGES = {
  hello: { path: '/hello.php' },
  json: { path: '/json.php' },
  sleep: { path: '/sleep.php' },
  post: { path: '/post.php', postBytes: 10 * 1024 },
  static: { path: `/${STATIC_FILE}` },
  revalidate: { path: `/${STATIC_FILE}`, revalidate: true },
};
/** The issue's headline cells, in table order. */
const HEADLINE = [
  { key: 'hello@8', page: 'hello', c: 8, metric: 'rps', label: 'hello c=8 req/s' },
  { key: 'json@8', page: 'json', c: 8, metric: 'rps', label: 'json c=8 req/s' },
  { key: 'sleep@64', page: 'sleep', c: 64, metric: 'rps', label: 'sleep 10 ms c=64 req/s' },
  { key: 'post@8', page: 'post', c: 8, metric: 'rps', label: 'post 10 KB c=8 req/s' },
  { key: 'static@64', page: 'static', c: 64, metric: 'rps', label: 'static 100 KB c=64 req/s' },
  { key: 'hello@64', page: 'hello', c: 64, metric: 'p99ms', label: 'hello c=64 p99 ms' },
];
const allScenarios = quick
  ? [...new Map(HEADLINE.map((h) => [h.key, { page: h.page, c: h.c, key: h.key }])).values()]
  : Object.keys(PAGES).flatMap((page) => [1, 8, 64].map((c) => ({ page, c, key: `${page}@${c}` })));
// --scenarios hello@8,json@8: only these (e.g. to repeat one comparison several times).
const onlyScenarios = opt.scenarios ? opt.scenarios.split(',').map((s) => s.trim()) : null;
const scenarios = onlyScenarios ? onlyScenarios.map((key) => ({ page: key.split('@')[0], c: Number(key.split('@')[1]), key })) : allScenarios;
for (const s of scenarios) if (!PAGES[s.page] || !(s.c > 0)) throw new Error(`--scenarios: unknown scenario ${s.key} (PAGE@C, e.g. hello@8)`);

/** The cgi and fpm SAPIs read different php.ini files; the comparison is only fair if they agree. */
function phpIniCheck() {
  const norm = (p) => {
    try {
      return readFileSync(p, 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith(';'))
        .join('\n');
    } catch {
      return null;
    }
  };
  const ver = /PHP (\d+\.\d+)/.exec(serverVersions().phpCgi)?.[1] ?? '8.2';
  const cgi = norm(`/etc/php/${ver}/cgi/php.ini`);
  const fpm = norm(`/etc/php/${ver}/fpm/php.ini`);
  const ls = (d) => spawnSync('ls', [d], { encoding: 'utf8' }).stdout;
  const same = cgi !== null && cgi === fpm && ls(`/etc/php/${ver}/cgi/conf.d`) === ls(`/etc/php/${ver}/fpm/conf.d`);
  return same
    ? `php.ini: /etc/php/${ver}/cgi/php.ini and /etc/php/${ver}/fpm/php.ini have identical settings and conf.d (opcache on in both)`
    : `WARNING: the cgi and fpm php.ini files differ; php-fpm and php-cgi do not run with the same settings`;
}

async function verify(target, label) {
  for (const page of Object.values(PAGES)) {
    if (page.postBytes) continue;
    const status = await getStatus(target.url + page.path, 5000);
    if (status !== 200) throw new Error(`${label}: GET ${page.path} answered ${status}`);
  }
  const body = await fetch(target.url + PAGES.post.path, { method: 'POST', body: 'x'.repeat(PAGES.post.postBytes) }).then((r) => r.text());
  if (!body.startsWith(`${PAGES.post.postBytes} `)) throw new Error(`${label}: post.php answered ${JSON.stringify(body.slice(0, 100))}`);
  const buf = await fetch(target.url + PAGES.static.path).then((r) => r.arrayBuffer());
  if (buf.byteLength !== STATIC_BYTES) throw new Error(`${label}: static file came back with ${buf.byteLength} bytes`);
  // Through node:http, as wrk sends it: fetch() would add `Cache-Control: no-cache` to a conditional request.
  const etag = await etagOf(target.url + PAGES.revalidate.path);
  const again = await new Promise((resolveStatus, reject) => {
    httpGet(target.url + PAGES.revalidate.path, { headers: { 'If-None-Match': etag } }, (response) => {
      response.resume();
      resolveStatus(response.statusCode);
    }).on('error', reject);
  });
  if (again !== 304) throw new Error(`${label}: a revalidation with its own ETag ${etag} answered ${again}, not 304`);
}

/** The ETag a server sends with `url` (the revalidate page sends it back, as a browser does on reload). */
async function etagOf(url) {
  const response = await fetch(url);
  await response.arrayBuffer();
  const etag = response.headers.get('etag');
  if (!etag) throw new Error(`${url} came without an ETag`);
  return etag;
}

async function main() {
  if (!opt['no-install']) {
    const installed = ensureInstalled({ log });
    if (installed.length) log(`installed: ${installed.join(' ')}`);
  }
  if (!existsSync(join(REPO, 'dist/cli.js'))) throw new Error('dist/cli.js missing: run `npm run build` (npm run bench does)');
  const meta = {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    cpu: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
    workers,
    seconds,
    wrkThreads,
    loadBefore: loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
    versions: serverVersions({ wrk: true }),
    phpIni: phpIniCheck(),
  };
  log(`mode ${meta.mode}: ${workers} workers, ${seconds} s per run, ${scenarios.length} scenarios × ${targetIds.length} targets; load ${meta.loadBefore}`);
  const app = createApp();
  const running = {};
  const results = { meta, targets: {}, runs: {}, micro: null };
  let currentRun = 'start-up';
  const rssTimer = setInterval(() => {
    for (const [id, t] of Object.entries(running)) {
      const r = treeRss(t.rootPids());
      const entry = results.targets[id];
      if (entry && r.mib > entry.rssPeakMiB) {
        entry.rssPeakMiB = r.mib;
        entry.processesAtPeak = r.processes;
        entry.peakDuring = currentRun;
      }
    }
  }, 250);
  const stopAll = async () => {
    for (const [id, t] of Object.entries(running)) {
      delete running[id];
      await t.stop().catch((e) => log(`stopping ${id}: ${e.message}`));
    }
  };
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    log('interrupted: stopping every server we started');
    clearInterval(rssTimer);
    void stopAll().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    // Cold starts, one target at a time with nothing else running; the last
    // trial's server stays up for the load runs.
    for (const id of targetIds) {
      const def = TARGETS[id];
      const colds = [];
      for (let trial = 0; trial < coldTrials; trial++) {
        const t = await def.start({ app, workers });
        colds.push(t.coldStartMs);
        if (trial < coldTrials - 1) await t.stop();
        else running[id] = t;
      }
      const sorted = [...colds].sort((a, b) => a - b);
      results.targets[id] = {
        label: def.label,
        coldStartMs: sorted[Math.floor(sorted.length / 2)],
        coldStartTrialsMs: colds,
        rssPeakMiB: 0,
        processesAtPeak: 0,
      };
      await verify(running[id], def.label);
      log(`${def.label}: up at ${running[id].url}, cold start ${colds.map((c) => c.toFixed(1)).join(' / ')} ms`);
    }
    // Warm-up: every page at c=64, so mod_fcgid has spawned its workers and
    // every opcache is warm.
    for (const id of targetIds) {
      for (const page of Object.values(PAGES)) {
        currentRun = 'warm-up';
        await runWrk({ url: running[id].url + page.path, connections: 64, seconds: warmupSeconds, threads: wrkThreads, postBytes: page.postBytes });
      }
      // Workers finishing the scripts of the warm-up's aborted requests are idle again by now.
      await new Promise((resolveWait) => setTimeout(resolveWait, 1500));
      const r = treeRss(running[id].rootPids());
      results.targets[id].rssAfterWarmupMiB = r.mib;
      results.targets[id].processesAfterWarmup = r.processes;
    }
    log('warm-up done');
    for (const s of scenarios) {
      const page = PAGES[s.page];
      results.runs[s.key] = {};
      for (const id of targetIds) {
        currentRun = `${s.key} (${TARGETS[id].label} loaded)`;
        const ifNoneMatch = page.revalidate ? await etagOf(running[id].url + page.path) : undefined;
        const r = await runWrk({ url: running[id].url + page.path, connections: s.c, seconds, threads: wrkThreads, postBytes: page.postBytes, ifNoneMatch });
        results.runs[s.key][id] = r;
        // Let the target settle before the next one runs: wrk's closing
        // connections abort the requests in flight, and the pool recycles
        // each such worker (its replacements would run during the next cell).
        await settle(running[id], results.targets[id].processesAfterWarmup);
        log(
          `${s.key.padEnd(10)} ${TARGETS[id].label.padEnd(18)} ${fmt(r.rps, 0).padStart(7)} req/s  p50 ${fmt(r.p50ms, 2)} ms  p99 ${fmt(r.p99ms, 2)} ms${r.errors ? `  errors ${JSON.stringify(r.errorDetail)}` : ''}`,
        );
      }
    }
  } finally {
    clearInterval(rssTimer);
    await stopAll();
    rmSync(app, { recursive: true, force: true });
  }
  meta.loadAfter = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

  if (!opt['no-micro']) {
    log('micro-benchmarks (bench/micro.mjs)');
    results.micro = await runMicro(quick);
    if (opt['compare-engine']) {
      log(`micro-benchmarks against ${opt['compare-engine']}`);
      results.microCompare = { label: opt['compare-label'], ...(await runMicro(quick, ['--engine', resolve(opt['compare-engine']), '--only', 'lease,lag'])) };
    }
  }
  const md = renderReport(results, HEADLINE, scenarios);
  process.stdout.write(md + '\n');
  const dir = join(REPO, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const stamp = meta.date.replace(/[:.]/g, '-');
  writeFileSync(join(dir, `${stamp}-${meta.mode}.json`), JSON.stringify(results, null, 2));
  writeFileSync(join(dir, `latest-${meta.mode}.md`), md + '\n');
  if (opt.json) writeFileSync(opt.json, JSON.stringify(results, null, 2));
  if (writeDocs) updateDocs(md);
}

function runMicro(quickMode, extra = []) {
  return new Promise((resolveMicro, reject) => {
    const child = spawn(process.execPath, [join(import.meta.dirname, 'micro.mjs'), '--json', ...(quickMode ? ['--quick'] : []), ...extra], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`micro.mjs exited with ${code}`));
      try {
        resolveMicro(JSON.parse(out));
      } catch (e) {
        reject(e);
      }
    });
  });
}

const DOC = join(REPO, 'docs/performance.md');
const START = '<!-- bench:results:start -->';
const END = '<!-- bench:results:end -->';

function updateDocs(md) {
  if (!existsSync(DOC)) return log('docs/performance.md not found; results not written there');
  const text = readFileSync(DOC, 'utf8');
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) return log(`docs/performance.md has no ${START} … ${END} markers; results not written there`);
  writeFileSync(DOC, text.slice(0, a + START.length) + '\n' + md + '\n' + text.slice(b));
  log('docs/performance.md updated');
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
