#!/usr/bin/env node
// npm run bench:host [-- --runs 3] [--seconds 10] [--workers 4] [--connections 8] [--json FILE]
//
// The extension host's main thread is shared with every other extension.
// This harness plays that host, with the built bundles (dist/engine.js and
// dist/engineThread.js), in both directions, with the engine on the main
// thread ("in-process", as before issue 16) and in a worker thread (as the
// extension now runs it):
//
//  (a) another extension blocks the host: a function that busy-waits 300 ms
//      every second runs on the main thread while wrk (its own process)
//      loads hello.php at c=8; we report wrk's latency percentiles;
//  (b) our load shows up in everyone else's code: with nothing blocking, the
//      main thread's event-loop delay (perf_hooks.monitorEventLoopDelay,
//      1 ms resolution) while wrk saturates hello.php; and the main
//      thread's event-loop utilisation, i.e. what the snapshots and events
//      cost it.
//
// The main thread consumes what the extension's projections consume: every
// pool event (lease traffic included) and every gateway event, and reads
// the snapshot at most four times a second (as the tree and status bar do).
// Runs alternate in-process and threaded, so the background load of a
// shared machine hits both alike; each run records the load average.
import { createRequire } from 'node:module';
import { loadavg, cpus } from 'node:os';
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { serialize, deserialize } from 'node:v8';
import { parseArgs } from 'node:util';
import { createApp } from './lib/app.mjs';
import { runWrk } from './lib/wrk.mjs';

const REPO = resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);
const engine = require(join(REPO, 'dist/engine.js'));
const ENTRY = join(REPO, 'dist/engineThread.js');

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '10' },
    workers: { type: 'string', default: '4' },
    connections: { type: 'string', default: '8' },
    'block-ms': { type: 'string', default: '300' },
    // spin: busy-wait, as a synchronous parse does (it also takes a core); sleep: Atomics.wait, blocked without using the CPU (a control).
    block: { type: 'string', default: 'spin' },
    modes: { type: 'string', default: 'inproc,thread' },
    json: { type: 'string' },
  },
});
const runs = Number(opt.runs);
const seconds = Number(opt.seconds);
const workers = Number(opt.workers);
const connections = Number(opt.connections);
const blockMs = Number(opt['block-ms']);
const blockKind = opt.block;
if (blockKind !== 'spin' && blockKind !== 'sleep') throw new Error('--block is spin or sleep');
const modes = opt.modes.split(',').map((m) => m.trim());
for (const mode of modes) if (mode !== 'inproc' && mode !== 'thread') throw new Error(`unknown mode ${mode}: inproc or thread`);

const log = (...a) => console.error(`[host ${new Date().toISOString().slice(11, 19)}]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** Starts a pool the way the extension would, in-process or in its thread, with projection-like consumers. */
async function startPool(mode, app) {
  const counts = { poolEvents: 0, gatewayEvents: 0, updates: 0 };
  let handle = null;
  let lastSnapshot = null;
  const noteUpdate = () => {
    // A new snapshot object means a new update from the thread (in-process: a new version).
    const snap = handle?.pool.snapshot();
    if (snap && snap !== lastSnapshot) {
      lastSnapshot = snap;
      counts.updates++;
    }
  };
  const options = {
    documentRoot: app,
    pool: { minWorkers: workers, maxWorkers: workers },
    gateway: { port: 0 },
    onPoolEvent: (event) => {
      counts.poolEvents++;
      if (mode === 'thread') noteUpdate();
      void event;
    },
    onGatewayEvent: () => {
      counts.gatewayEvents++;
    },
  };
  const start = mode === 'thread' ? engine.createThreadedStartServer({ entry: ENTRY }) : engine.startPoolServer;
  handle = await start(options);
  // The projections' redraws: at most four a second, each reading the snapshot.
  let busy = 0;
  const redraw = setInterval(() => {
    const snap = handle.pool.snapshot();
    busy += snap.counts.busy;
  }, 250);
  return {
    url: handle.url,
    counts,
    snapshot: () => handle.pool.snapshot(),
    async stop() {
      clearInterval(redraw);
      void busy;
      await handle.stop(1_000);
    },
  };
}

/** Another extension's bad habit: blocks the main thread `ms` every second (busy-waiting, or asleep in Atomics.wait). */
function startBlocker(ms, kind) {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const timer = setInterval(() => {
    if (kind === 'sleep') {
      Atomics.wait(cell, 0, 0, ms);
      return;
    }
    const until = performance.now() + ms;
    while (performance.now() < until);
  }, 1_000);
  return () => clearInterval(timer);
}

async function blockedRun(mode, app) {
  const pool = await startPool(mode, app);
  try {
    await runWrk({ url: `${pool.url}hello.php`, connections, seconds: 2 }); // warm-up
    const loadBefore = load();
    const stopBlocker = startBlocker(blockMs, blockKind);
    const r = await runWrk({ url: `${pool.url}hello.php`, connections, seconds });
    stopBlocker();
    return { mode, rps: r.rps, p50ms: r.p50ms, p90ms: r.p90ms, p99ms: r.p99ms, maxms: r.maxms, errors: r.errors, loadBefore, loadAfter: load() };
  } finally {
    await pool.stop();
  }
}

/**
 * Another extension's work, as it experiences our load: 100 slices of 1 ms
 * of CPU, each queued behind the event loop (setImmediate) like the steps
 * of a long job that yields; ideally 100 ms. The event-loop delay shows how
 * late a timer fires; this shows how much of the thread is left to others.
 */
async function sliceJob(slices = 100, sliceMs = 1) {
  const t0 = performance.now();
  for (let i = 0; i < slices; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    const until = performance.now() + sliceMs;
    while (performance.now() < until);
  }
  return performance.now() - t0;
}

async function lagRun(mode, app) {
  const pool = await startPool(mode, app);
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  try {
    await runWrk({ url: `${pool.url}hello.php`, connections, seconds: 2 });
    const loadBefore = load();
    const idle = monitorEventLoopDelay({ resolution: 1 });
    idle.enable();
    await sleep(2_000);
    idle.disable();
    const idleJobs = [];
    for (let i = 0; i < 5; i++) idleJobs.push(await sliceJob());
    const before = { ...pool.counts };
    const h = monitorEventLoopDelay({ resolution: 1 });
    const elu0 = performance.eventLoopUtilization();
    h.enable();
    // The delay over the first half of the load; the other extension's jobs in the second half (their slices would count as delay).
    const wrk = runWrk({ url: `${pool.url}hello.php`, connections, seconds });
    await sleep((seconds * 1_000) / 2);
    h.disable();
    const elu = performance.eventLoopUtilization(elu0);
    const jobs = [];
    for (const until = performance.now() + (seconds * 1_000) / 2 - 1_000; performance.now() < until;) jobs.push(await sliceJob());
    const r = await wrk;
    const ms = (ns) => ns / 1e6;
    const perSecond = (key) => (pool.counts[key] - before[key]) / seconds;
    return {
      mode,
      rps: r.rps,
      p99ms: r.p99ms,
      lagP50ms: ms(h.percentile(50)),
      lagP99ms: ms(h.percentile(99)),
      lagMaxms: ms(h.max),
      idleLagP99ms: ms(idle.percentile(99)),
      mainElu: elu.utilization,
      jobMs: median(jobs),
      jobs: jobs.length,
      idleJobMs: median(idleJobs),
      updatesPerS: mode === 'thread' ? perSecond('updates') : null,
      eventsPerS: perSecond('poolEvents') + perSecond('gatewayEvents'),
      historyEntries: pool.snapshot().history.length,
      snapshot: pool.snapshot(),
      loadBefore,
      loadAfter: load(),
    };
  } finally {
    await pool.stop();
  }
}

/**
 * What one update costs to encode and decode (structured clone = v8
 * serialize/deserialize, as postMessage does), measured here: a snapshot
 * whose whole history ring turned over since the last update (the worst
 * case at saturation) with the history as objects (before) and as the
 * channel now sends it (columns), and the events of one update.
 */
function channelCost(snapshot, eventsPerUpdate) {
  const events = [];
  const lease = { ...(snapshot.history[0] ?? {}), holder: 'http 127.0.0.1:50312 #42' };
  for (let i = 0; i < eventsPerUpdate; i++) {
    events.push(
      i % 5 === 4
        ? { type: 'request', method: 'GET', uri: '/hello.php', status: 200, durationMs: 1, workerId: 'w1', leaseId: `L${i}`, bytes: 14 }
        : { type: 'lease-released', lease, outcome: 'ok', heldMs: 1 },
    );
  }
  const time = (value) => {
    const n = 50;
    let bytes = 0;
    let encode = 0;
    let decode = 0;
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const buffer = serialize(value);
      const t1 = performance.now();
      deserialize(buffer);
      decode += performance.now() - t1;
      encode += t1 - t0;
      bytes = buffer.length;
    }
    return { encodeMs: encode / n, decodeMs: decode / n, bytes };
  };
  const columns = { ...snapshot, history: new engine.HistoryEncoder().encode(snapshot.history) };
  const decodeColumns = () => {
    const n = 50;
    const buffer = serialize(columns);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) new engine.HistoryDecoder().decode(deserialize(buffer).history);
    return (performance.now() - t0) / n;
  };
  return { objects: time(snapshot), columns: { ...time(columns), decodeAndRebuildMs: decodeColumns() }, events: time(events), eventsPerUpdate };
}

const stats = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0], median: sorted[Math.floor(sorted.length / 2)], max: sorted[sorted.length - 1] };
};
const f = (n, d = 1) => (n === null || n === undefined ? '–' : n.toFixed(d));

const app = createApp();
log(`${cpus().length} cores, load ${load()}; ${runs} runs × (blocked, lag) × (in-process, thread), wrk c=${connections} ${seconds}s, ${workers} workers`);
const blocked = [];
const lag = [];
for (let i = 0; i < runs; i++) {
  for (const mode of i % 2 === 0 ? modes : [...modes].reverse()) {
    log(`run ${i + 1} ${mode}: blocked host`);
    blocked.push(await blockedRun(mode, app));
    log(`run ${i + 1} ${mode}: event-loop lag at saturation`);
    lag.push(await lagRun(mode, app));
  }
}
rmSync(app, { recursive: true, force: true });
const lastThreadLag = lag.filter((r) => r.mode === 'thread').at(-1);
const cost = lastThreadLag ? channelCost(lastThreadLag.snapshot, Math.round(lastThreadLag.eventsPerS / Math.max(1, lastThreadLag.updatesPerS))) : null;

const out = [];
out.push(
  `## Host main thread: blocked ${blockMs} ms every second (${blockKind === 'spin' ? 'busy-waiting' : 'asleep in Atomics.wait'}), hello.php c=${connections} (wrk, ${seconds} s, ${workers} workers)`,
  '',
);
out.push(
  '| run | engine | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | load avg (1/5/15) before → after |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
);
blocked.forEach((r, i) =>
  out.push(
    `| ${Math.floor(i / modes.length) + 1} | ${r.mode} | ${f(r.rps, 0)} | ${f(r.p50ms)} | ${f(r.p90ms)} | ${f(r.p99ms)} | ${f(r.maxms)} | ${r.errors} | ${r.loadBefore} → ${r.loadAfter} |`,
  ),
);
for (const mode of modes) {
  const s = stats(blocked.filter((r) => r.mode === mode).map((r) => r.p99ms));
  out.push('', `${mode}: p99 median ${f(s.median)} ms (min ${f(s.min)}, max ${f(s.max)})`);
}
out.push(
  '',
  `## Host main thread while the pool serves hello.php at saturation (c=${connections}, nothing blocking): event-loop delay (first half of the load) and another extension's sliced job (second half)`,
  '',
);
out.push(
  '| run | engine | req/s | hello p99 ms | lag p50 ms | lag p99 ms | lag max ms | idle lag p99 ms | main ELU | 100 × 1 ms job, ms (idle) | updates/s | events/s | load avg before → after |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
);
lag.forEach((r, i) =>
  out.push(
    `| ${Math.floor(i / modes.length) + 1} | ${r.mode} | ${f(r.rps, 0)} | ${f(r.p99ms)} | ${f(r.lagP50ms, 2)} | ${f(r.lagP99ms, 2)} | ${f(r.lagMaxms, 1)} | ${f(r.idleLagP99ms, 2)} | ${f(r.mainElu * 100, 1)} % | ${f(r.jobMs, 0)} (${f(r.idleJobMs, 0)}) | ${f(r.updatesPerS, 1)} | ${f(r.eventsPerS, 0)} | ${r.loadBefore} → ${r.loadAfter} |`,
  ),
);
for (const mode of modes) {
  const s = stats(lag.filter((r) => r.mode === mode).map((r) => r.lagP99ms));
  out.push('', `${mode}: lag p99 median ${f(s.median, 2)} ms (min ${f(s.min, 2)}, max ${f(s.max, 2)})`);
  const j = stats(lag.filter((r) => r.mode === mode).map((r) => r.jobMs));
  out.push('', `${mode}: another extension's 100 × 1 ms job took ${f(j.median, 0)} ms (min ${f(j.min, 0)}, max ${f(j.max, 0)}; ideal 100)`);
}
if (cost) {
  out.push(
    '',
    `## What one update costs (v8 serialize / deserialize = postMessage's structured clone; measured in this process)`,
    '',
    `- a snapshot whose ${lastThreadLag.historyEntries}-entry history turned over, history as objects (before): encode ${f(cost.objects.encodeMs, 2)} ms, decode ${f(cost.objects.decodeMs, 2)} ms, ${(cost.objects.bytes / 1024).toFixed(0)} KB`,
    `- the same, history in columns (as sent now): encode ${f(cost.columns.encodeMs, 2)} ms, decode ${f(cost.columns.decodeMs, 2)} ms (+ rebuild: ${f(cost.columns.decodeAndRebuildMs, 2)} ms), ${(cost.columns.bytes / 1024).toFixed(0)} KB; when fewer leases ended since the last update, only those are sent`,
    `- the events of one update at saturation (${cost.eventsPerUpdate}): encode ${f(cost.events.encodeMs, 2)} ms, decode ${f(cost.events.decodeMs, 2)} ms, ${(cost.events.bytes / 1024).toFixed(0)} KB`,
  );
}
console.log(out.join('\n'));
if (opt.json) writeFileSync(opt.json, JSON.stringify({ blocked, lag: lag.map(({ snapshot: _snapshot, ...r }) => r), cost }, null, 2));
