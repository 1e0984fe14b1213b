#!/usr/bin/env node
// How soon the debugger-aware pool knows a worker is paused, measured with a
// real `fastcgi-pool` pool (in this process: startPoolServer with --xdebug on),
// real php-cgi workers running Xdebug, and a minimal IDE in this process:
//   - the IDE's `run` → the worker `paused` in the pool's snapshot (the
//     worker-state event, emitted as the relay reads the break);
//   - `run` → the break response at the IDE (what PHP Debug waits for);
//   - break at the IDE → the first GET /.fastcgi-pool/status that says paused;
//   - Continue (`run`, `run`) → the HTTP response complete, and the worker idle.
//
//   node bench/debugPause.mjs [--quick] [--json]      (npm run bench:debug)
//
// Needs php-cgi and php-xdebug (loaded per worker with -d zend_extension=xdebug).
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { importTypeScript } from '../scripts/importTs.mjs';

const { values: opt } = parseArgs({ options: { quick: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } });
const root = resolve(import.meta.dirname, '..');
const phpCgi = process.env.PHP_CGI ?? '/usr/bin/php-cgi';
const log = (...a) => console.error('[debug-pause]', ...a);
const lib = await importTypeScript(resolve(root, 'bench/lib/debugPause.entry.mjs'), resolve(root, 'test-output/bench/debugPause.mjs'), {
  external: ['tree-kill', 'send'],
});
const N = opt.quick ? 20 : 100;

const availability = await lib.detectXdebug(phpCgi);
if (availability.kind === 'missing') {
  console.error(`bench/debugPause.mjs needs Xdebug: ${availability.detail}. Debian: sudo apt-get install php-xdebug (then phpdismod xdebug).`);
  process.exit(2);
}

const docroot = realpathSync(mkdtempSync(join(tmpdir(), 'debug-pause-')));
// Line 3, the breakpoint, is one statement: `echo "a", $b` would stop once per argument.
writeFileSync(join(docroot, 'pause.php'), '<?php\n$x = 1;\n$y = $x + 1;\necho "ok $y\\n";\n');
const SCRIPT_URI = `file://${docroot}/pause.php`;

const ms = (ns) => Number(ns) / 1e6;
const sorted = (xs) => [...xs].sort((a, b) => a - b);
const median = (xs) => sorted(xs)[Math.floor(xs.length / 2)];
const pct = (xs, p) => sorted(xs)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const summary = (xs) => ({ median: median(xs), p90: pct(xs, 0.9), max: Math.max(...xs) });

/** A minimal IDE: whole engine packets in, commands out. */
async function listenIde() {
  const server = createServer();
  await new Promise((r) => server.listen({ host: '127.0.0.1', port: 0 }, r));
  const waiting = [];
  const queued = [];
  server.on('connection', (socket) => {
    socket.setNoDelay(true);
    const packets = [];
    const readers = [];
    const decoder = new lib.EnginePacketDecoder(
      (packet) => {
        const arrived = { xml: packet.head.toString('latin1'), at: process.hrtime.bigint() };
        const reader = readers.shift();
        if (reader) reader(arrived);
        else packets.push(arrived);
      },
      { headBytes: 4096 },
    );
    socket.on('data', (chunk) => decoder.push(chunk));
    socket.on('error', () => {});
    let id = 0;
    const session = {
      next: () => (packets.length > 0 ? Promise.resolve(packets.shift()) : new Promise((r) => readers.push(r))),
      send: (name, args = '') => socket.write(lib.encodeIdeCommand(name, ++id, args)),
      command: (name, args = '') => {
        session.send(name, args);
        return session.next();
      },
    };
    const waiter = waiting.shift();
    if (waiter) waiter(session);
    else queued.push(session);
  });
  return {
    port: server.address().port,
    next: () => (queued.length ? Promise.resolve(queued.shift()) : new Promise((r) => waiting.push(r))),
    close: () => server.close(),
  };
}

const ide = await listenIde();
const waiters = [];
const server = await lib.startPoolServer({
  documentRoot: docroot,
  pool: { phpCgi, minWorkers: 1, maxWorkers: 1, xdebug: 'on', debugClient: `127.0.0.1:${ide.port}` },
  gateway: { port: 0 },
  onPoolEvent: (event) => {
    const at = process.hrtime.bigint();
    for (const waiter of [...waiters]) {
      if (waiter.match(event)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(at);
      }
    }
  },
});
const eventAt = (match) => new Promise((resolvePromise) => waiters.push({ match, resolve: resolvePromise }));
const statusUrl = `${server.url}.fastcgi-pool/status`;

const results = { meta: { date: new Date().toISOString(), phpCgi, xdebug: availability.version, node: process.version, runs: N, quick: opt.quick } };
const runToPaused = [];
const runToBreak = [];
const pausedBeforeIde = [];
const statusAfterBreak = [];
const statusPolls = [];
const continueToResponse = [];
const continueToIdle = [];
try {
  log(`${N} debugged requests, each: breakpoint, run, read the status JSON, continue`);
  for (let i = 0; i < N + 3; i++) {
    server.pool.debugger.arm();
    const response = fetch(`${server.url}pause.php`).then((r) => r.text());
    const session = await ide.next();
    await session.next(); // init
    await session.command('breakpoint_set', `-t line -f ${SCRIPT_URI} -n 3`);
    const paused = eventAt((e) => e.type === 'worker-state' && e.to === 'paused');
    const t0 = process.hrtime.bigint();
    const brk = await session.command('run');
    if (!brk.xml.includes('status="break"')) throw new Error(`no break: ${brk.xml.slice(0, 200)}`);
    const pausedAt = await paused;
    // What a client of the status JSON (the CLI's user, a script) sees once the IDE has the break.
    let polls = 0;
    const s0 = process.hrtime.bigint();
    for (;;) {
      polls++;
      const snapshot = await (await fetch(statusUrl)).json();
      if (snapshot.counts.paused === 1) break;
    }
    const s1 = process.hrtime.bigint();
    const idle = eventAt((e) => e.type === 'worker-state' && e.from === 'busy' && e.to === 'idle');
    const c0 = process.hrtime.bigint();
    // Continue to the end (a breakpoint hit again would stop it again: continue until stopping), then the last word.
    while (!(await session.command('run')).xml.includes('status="stopping"'));
    session.send('run');
    await response;
    const c1 = process.hrtime.bigint();
    const idleAt = await idle;
    if (i < 3) continue; // warm-up
    runToPaused.push(ms(pausedAt - t0));
    runToBreak.push(ms(brk.at - t0));
    pausedBeforeIde.push(ms(brk.at - pausedAt));
    statusAfterBreak.push(ms(s1 - s0));
    statusPolls.push(polls);
    continueToResponse.push(ms(c1 - c0));
    continueToIdle.push(ms(idleAt - c0));
  }
  Object.assign(results, {
    runToPausedInSnapshotMs: summary(runToPaused),
    runToBreakAtIdeMs: summary(runToBreak),
    pausedInSnapshotBeforeIdeSeesBreakMs: summary(pausedBeforeIde),
    statusJsonSaysPausedAfterBreakMs: summary(statusAfterBreak),
    statusPollsNeeded: { max: Math.max(...statusPolls) },
    continueToResponseMs: summary(continueToResponse),
    continueToIdleMs: summary(continueToIdle),
  });
} finally {
  await server.stop(1_000);
  ide.close();
  rmSync(docroot, { recursive: true, force: true });
}

const f = (n) => n.toFixed(3);
if (opt.json) {
  console.log(JSON.stringify(results, null, 2));
} else {
  const r = results;
  const row = (label, s) => `| ${label} | ${f(s.median)} | ${f(s.p90)} | ${f(s.max)} |`;
  console.log(`### Break → paused, ${r.meta.date}${opt.quick ? ' (quick)' : ''}`);
  console.log(`${N} debugged requests; php-cgi ${phpCgi}, Xdebug ${r.meta.xdebug}, Node ${r.meta.node}; pool, IDE and workers on one machine.\n`);
  console.log('| interval | median ms | p90 ms | max ms |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(row("IDE's `run` → worker `paused` in the snapshot (event)", r.runToPausedInSnapshotMs));
  console.log(row("IDE's `run` → break response at the IDE", r.runToBreakAtIdeMs));
  console.log(row('paused in the snapshot, ahead of the IDE seeing the break', r.pausedInSnapshotBeforeIdeSeesBreakMs));
  console.log(row('break at the IDE → GET status says paused (first poll)', r.statusJsonSaysPausedAfterBreakMs));
  console.log(row('Continue → HTTP response complete', r.continueToResponseMs));
  console.log(row('Continue → worker idle', r.continueToIdleMs));
  console.log(`\nStatus polls needed after the break: at most ${r.statusPollsNeeded.max} (1 = the first read already says paused).`);
}
