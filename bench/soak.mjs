#!/usr/bin/env node
// Soak: mixed load against real php-cgi workers for N minutes, with random
// client aborts, injected worker kills (SIGKILL of a busy worker) and stops
// (SIGSTOP past the busy timeout). Every injected fault must be found (a
// `defunct-busy` or `busy-timeout` finding for exactly that lease) and no
// other finding may appear. Loopback only; bounded in time; stops by itself.
//
//   npm run soak -- [--minutes 10] [--clients 12]
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { startPoolServer } = await import(resolve(import.meta.dirname, '../dist/engine.js'));
const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' }, clients: { type: 'string', default: '12' } } });
const durationMs = Number(values.minutes) * 60_000;
const clients = Number(values.clients);
const docroot = resolve(import.meta.dirname, '../test/fixtures/app');

const findings = [];
const server = await startPoolServer({
  documentRoot: docroot,
  pool: { phpCgi: process.env.PHP_CGI ?? 'php-cgi', minWorkers: 2, maxWorkers: 8, busyTimeoutMs: 3_000, queueTimeoutMs: 30_000, scanIntervalMs: 1_000 },
  gateway: { port: 0 },
  onPoolEvent: (event) => {
    if (event.type === 'finding') findings.push(event.finding);
  },
});
const url = server.url;
const stats = { requests: 0, ok: 0, aborted: 0, byStatus: {}, networkErrors: 0 };
const injected = []; // { kind, uri, leaseId, pid, at }
let running = true;

const pages = [() => 'pid.php', () => `slow.php?ms=${5 + Math.floor(Math.random() * 150)}`, () => 'big.php?mb=1'];

async function client(id) {
  let n = 0;
  while (running) {
    n++;
    const abort = Math.random() < 0.05;
    const path = abort ? `slow.php?ms=400&abort=${id}-${n}` : pages[Math.floor(Math.random() * pages.length)]();
    const controller = new AbortController();
    if (abort) setTimeout(() => controller.abort(), 20 + Math.random() * 200);
    stats.requests++;
    try {
      const options = Math.random() < 0.2 ? { method: 'POST', body: 'x'.repeat(10_000), signal: controller.signal } : { signal: controller.signal };
      const res = await fetch(new URL(path.startsWith('pid') && options.method ? 'echo.php' : path, url), options);
      await res.arrayBuffer();
      stats.byStatus[res.status] = (stats.byStatus[res.status] ?? 0) + 1;
      if (res.status === 200) stats.ok++;
    } catch {
      if (abort) stats.aborted++;
      else stats.networkErrors++;
    }
  }
}

/** Sends a long request tagged with a marker and waits until a worker holds its lease. */
async function leasedVictim(marker) {
  const pending = fetch(new URL(`slow.php?ms=2500&victim=${marker}`, url))
    .then((r) => r.arrayBuffer())
    .catch(() => undefined);
  for (let i = 0; i < 200; i++) {
    const worker = server.pool.snapshot().workers.find((w) => w.lease?.uri.includes(`victim=${marker}`) && w.state === 'busy');
    if (worker) return { worker, pending };
    await new Promise((r) => setTimeout(r, 10));
  }
  return { worker: null, pending };
}

async function injector() {
  let n = 0;
  while (running) {
    await new Promise((r) => setTimeout(r, 2_000 + Math.random() * 3_000));
    if (!running) break;
    n++;
    const kind = n % 3 === 0 ? 'stop' : 'kill';
    const { worker, pending } = await leasedVictim(n);
    if (!worker) continue;
    injected.push({ kind, uri: worker.lease.uri, leaseId: worker.lease.id, pid: worker.pid, at: Date.now() });
    process.kill(worker.pid, kind === 'kill' ? 'SIGKILL' : 'SIGSTOP');
    await pending;
  }
}

const progress = setInterval(() => {
  const s = server.pool.snapshot();
  process.stderr.write(
    `${new Date().toISOString()} requests ${stats.requests} ok ${stats.ok} aborted ${stats.aborted} injected ${injected.length} findings ${findings.length} workers ${s.counts.total} busy ${s.counts.busy}\n`,
  );
}, 30_000);

const stop = new Promise((r) => setTimeout(r, durationMs));
const work = [...Array.from({ length: clients }, (_, i) => client(i)), injector()];
await stop;
running = false;
await Promise.all(work);
clearInterval(progress);
await new Promise((r) => setTimeout(r, 1_500)); // one more scan interval

// Match: each injected fault ↔ one finding for its lease.
const expectedKind = { kill: 'defunct-busy', stop: 'busy-timeout' };
const matched = new Set();
let found = 0;
for (const fault of injected) {
  const finding = findings.find((f) => f.lease?.id === fault.leaseId && f.kind === expectedKind[fault.kind]);
  if (finding) {
    found++;
    matched.add(finding.id);
  } else {
    console.log(`MISSED: ${fault.kind} of pid ${fault.pid} (lease ${fault.leaseId}, ${fault.uri})`);
  }
}
const falseFindings = findings.filter((f) => !matched.has(f.id));
for (const f of falseFindings) console.log(`FALSE FINDING: ${f.kind}: ${f.message}`);
// Kills: from the signal to the finding. Stops: how late past the busy timeout.
const killLatencies = [];
const stopLateness = [];
for (const f of findings.filter((f) => matched.has(f.id))) {
  if (f.kind === 'busy-timeout') stopLateness.push(f.detectionLatencyMs);
  else killLatencies.push(f.detectedAt - injected.find((i) => i.leaseId === f.lease?.id).at);
}
const spread = (values) => (values.length ? { median: values.sort((a, b) => a - b)[Math.floor(values.length / 2)], max: Math.max(...values) } : null);
const snap = server.pool.snapshot();
await server.stop();

const summary = {
  minutes: Number(values.minutes),
  clients,
  requests: stats.requests,
  ok: stats.ok,
  clientAborts: stats.aborted,
  statuses: stats.byStatus,
  unexpectedNetworkErrors: stats.networkErrors,
  injected: { kills: injected.filter((i) => i.kind === 'kill').length, stops: injected.filter((i) => i.kind === 'stop').length },
  found,
  missed: injected.length - found,
  falseFindings: falseFindings.length,
  killDetectionMs: spread(killLatencies),
  stopPastTimeoutMs: spread(stopLateness),
  finalCounts: snap.counts,
  leasesInHistory: snap.history.length,
};
console.log(JSON.stringify(summary, null, 2));
const passed = summary.missed === 0 && summary.falseFindings === 0 && snap.counts.busy === 0;
console.log(`${passed ? 1 : 0} passed, ${passed ? 0 : 1} failed`);
process.exitCode = passed ? 0 : 1;
