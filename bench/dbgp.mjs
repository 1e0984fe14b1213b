#!/usr/bin/env node
// What the DBGp relay (src/dbgp) costs a debugged request, measured against
// real php-cgi workers running Xdebug and a minimal IDE in this process:
//   1. refused connect: an untriggered request (and one to a worker without
//      Xdebug at all), a triggered one whose IDE is not listening (through
//      the relay), and the same without the relay (Xdebug straight at a
//      closed port): what "no IDE" costs;
//   2. round trip: `status` to a paused worker, IDE → relay → Xdebug → relay
//      → IDE, against Xdebug connected to the IDE directly;
//   3. throughput: `property_get` of a 32 MiB string (a 43 MiB packet) through
//      the relay and directly, and a synthetic 256 MiB stream of 1 MiB packets
//      from a fake engine (no PHP in the way: the relay's own ceiling).
//
//   node bench/dbgp.mjs [--quick] [--json]
//
// Needs php-cgi and php-xdebug (loaded with -d zend_extension=xdebug).
// Everything runs on one machine and one Node event loop; the relay's work
// is what separates the "relay" columns from the "direct" ones.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { importTypeScript } from '../scripts/importTs.mjs';

const { values: opt } = parseArgs({ options: { quick: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } });
const root = resolve(import.meta.dirname, '..');
const phpCgi = process.env.PHP_CGI ?? '/usr/bin/php-cgi';
const log = (...a) => console.error('[dbgp]', ...a);
// tree-kill (CommonJS, behind stopProcessGroup) stays a plain require from node_modules.
const dbgp = await importTypeScript(resolve(root, 'bench/lib/dbgp.entry.mjs'), resolve(root, 'test-output/bench/dbgp.mjs'), { external: ['tree-kill'] });

const N_REQUESTS = opt.quick ? 100 : 400;
const N_ROUND_TRIPS = opt.quick ? 500 : 3_000;
const THROUGHPUT_RUNS = opt.quick ? 2 : 5;
const BIG_STRING = 32 * 1024 * 1024;
const SYNTHETIC_BYTES = 256 * 1024 * 1024;

const availability = await dbgp.detectXdebug(phpCgi);
if (availability.kind === 'missing') {
  console.error(`bench/dbgp.mjs needs Xdebug: ${availability.detail}. Debian: sudo apt-get install php-xdebug (then phpdismod xdebug).`);
  process.exit(2);
}
const decision = dbgp.decideXdebug('on', availability, phpCgi);

// ---- small tools -------------------------------------------------------------

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const ms = (ns) => Number(ns) / 1e6;

const docroot = mkdtempSync(join(tmpdir(), 'dbgp-bench-'));
writeFileSync(join(docroot, 'hello.php'), '<?php echo "ok\\n";\n');
writeFileSync(join(docroot, 'big.php'), `<?php\n$big = str_repeat('x', ${BIG_STRING});\nxdebug_break();\necho strlen($big), "\\n";\n`);
const socketDir = dbgp.createSocketDir();
const workers = [];
let count = 0;

/** A worker with Xdebug pointed at `clientPort`, or without Xdebug at all (null). */
async function startWorker(clientPort) {
  const { args } = clientPort === null ? { args: [] } : dbgp.xdebugWorkerArgs(decision, clientPort);
  const worker = await dbgp.spawnWorker({
    command: phpCgi,
    args: [...args, '-d', 'memory_limit=512M'],
    env: process.env,
    cwd: docroot,
    socketDir,
    name: `dbgp-bench-${process.pid}-${++count}`,
    parentDeathSignal: true,
  });
  worker.child.stderr.resume();
  workers.push(worker);
  return { worker, connection: await dbgp.FastCgiConnection.connect(worker.address, { timeoutMs: 5_000 }) };
}

function params(script, trigger) {
  const list = [
    ['GATEWAY_INTERFACE', 'CGI/1.1'],
    ['REQUEST_METHOD', 'GET'],
    ['SCRIPT_FILENAME', join(docroot, script)],
    ['SCRIPT_NAME', `/${script}`],
    ['REQUEST_URI', `/${script}`],
    ['QUERY_STRING', ''],
    ['REDIRECT_STATUS', '200'],
  ];
  return trigger ? dbgp.withXdebugTrigger(list) : list;
}

/** One request; resolves with its duration in ns once END_REQUEST arrived. */
function request(connection, script, trigger) {
  return new Promise((resolvePromise, reject) => {
    const t0 = process.hrtime.bigint();
    connection.beginRequest(
      params(script, trigger),
      {
        onStdout() {},
        onStderr() {},
        onEnd: () => resolvePromise(process.hrtime.bigint() - t0),
        onError: reject,
      },
      { stdin: Buffer.alloc(0) },
    );
  });
}

/** A minimal IDE: queues engine packets (whole), sends commands. */
async function listenIde() {
  const server = createServer();
  await new Promise((r) => server.listen({ host: '127.0.0.1', port: 0 }, r));
  const sessions = [];
  const waiting = [];
  server.on('connection', (socket) => {
    socket.setNoDelay(true);
    const packets = [];
    const readers = [];
    const decoder = new dbgp.EnginePacketDecoder(
      (packet) => {
        const xml = packet.head.toString('latin1');
        const reader = readers.shift();
        if (reader) reader({ xml, length: packet.length });
        else packets.push({ xml, length: packet.length });
      },
      { headBytes: 4096 },
    );
    socket.on('data', (chunk) => decoder.push(chunk));
    socket.on('error', () => {});
    let id = 0;
    const session = {
      socket,
      next: () => (packets.length > 0 ? Promise.resolve(packets.shift()) : new Promise((r) => readers.push(r))),
      command: async (name, args = '') => {
        socket.write(dbgp.encodeIdeCommand(name, ++id, args));
        return session.next();
      },
    };
    const waiter = waiting.shift();
    if (waiter) waiter(session);
    else sessions.push(session);
  });
  return {
    port: server.address().port,
    nextSession: () => (sessions.length > 0 ? Promise.resolve(sessions.shift()) : new Promise((r) => waiting.push(r))),
    close: () => server.close(),
  };
}

async function closedPort() {
  const server = createServer();
  await new Promise((r) => server.listen({ host: '127.0.0.1', port: 0 }, r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

const results = { meta: { date: new Date().toISOString(), phpCgi, xdebug: availability.version, node: process.version, quick: opt.quick } };

try {
  // ---- 1. refused connect --------------------------------------------------------
  log(`1. refused connect: ${N_REQUESTS} requests of each kind, interleaved`);
  const relayToNowhere = await dbgp.DebugRelay.listen({ ide: { host: '127.0.0.1', port: await closedPort() } });
  const viaRelay = await startWorker(relayToNowhere.port);
  const direct = await startWorker(await closedPort());
  const noXdebug = await startWorker(null);
  const withoutXdebug = [];
  const plain = [];
  const refusedRelay = [];
  const refusedDirect = [];
  for (let i = 0; i < 20; i++) {
    await request(noXdebug.connection, 'hello.php', false);
    await request(viaRelay.connection, 'hello.php', false);
    await request(viaRelay.connection, 'hello.php', true);
    await request(direct.connection, 'hello.php', true);
  }
  for (let i = 0; i < N_REQUESTS; i++) {
    withoutXdebug.push(ms(await request(noXdebug.connection, 'hello.php', false)));
    plain.push(ms(await request(viaRelay.connection, 'hello.php', false)));
    refusedRelay.push(ms(await request(viaRelay.connection, 'hello.php', true)));
    refusedDirect.push(ms(await request(direct.connection, 'hello.php', true)));
  }
  relayToNowhere.dispose();
  results.refusedConnect = {
    withoutXdebugMs: { median: median(withoutXdebug), p90: pct(withoutXdebug, 0.9) },
    untriggeredMs: { median: median(plain), p90: pct(plain, 0.9) },
    triggeredNoIdeViaRelayMs: { median: median(refusedRelay), p90: pct(refusedRelay, 0.9) },
    triggeredNoIdeDirectMs: { median: median(refusedDirect), p90: pct(refusedDirect, 0.9) },
  };
  results.refusedConnect.costViaRelayMs = results.refusedConnect.triggeredNoIdeViaRelayMs.median - results.refusedConnect.untriggeredMs.median;
  results.refusedConnect.costDirectMs = results.refusedConnect.triggeredNoIdeDirectMs.median - results.refusedConnect.untriggeredMs.median;

  // ---- 2 and 3 (real Xdebug): a paused worker, through the relay and directly ------
  const ide = await listenIde();
  const relay = await dbgp.DebugRelay.listen({ ide: { host: '127.0.0.1', port: ide.port } });
  const relayed = await startWorker(relay.port);
  const straight = await startWorker(ide.port);

  async function pausedSession(target) {
    const done = request(target.connection, 'big.php', true);
    const session = await ide.nextSession();
    await session.next(); // init
    await session.command('feature_set', '-n max_data -v 0');
    await session.command('run'); // stops at xdebug_break()
    return { session, done };
  }

  async function roundTrips(session, n) {
    const times = [];
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint();
      await session.command('status');
      times.push(Number(process.hrtime.bigint() - t0) / 1e3);
    }
    return times;
  }

  async function bigPropertyGet(session) {
    const t0 = process.hrtime.bigint();
    const answer = await session.command('property_get', '-n $big');
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return { bytes: answer.length, seconds };
  }

  async function finish({ session, done }) {
    session.socket.destroy(); // the IDE hangs up: the request completes
    await done;
  }

  log(`2. round trips: ${N_ROUND_TRIPS} status commands to a paused worker, each way, alternating`);
  log(`3. property_get of a ${BIG_STRING / 1048576} MiB string, ${THROUGHPUT_RUNS} runs each way`);
  const a = await pausedSession(relayed);
  const b = await pausedSession(straight);
  await roundTrips(a.session, 200);
  await roundTrips(b.session, 200);
  const rttRelay = [];
  const rttDirect = [];
  for (let i = 0; i < N_ROUND_TRIPS / 500; i++) {
    rttRelay.push(...(await roundTrips(a.session, 500)));
    rttDirect.push(...(await roundTrips(b.session, 500)));
  }
  const bigRelay = [];
  const bigDirect = [];
  for (let i = 0; i < THROUGHPUT_RUNS; i++) {
    bigRelay.push(await bigPropertyGet(a.session));
    bigDirect.push(await bigPropertyGet(b.session));
  }
  await finish(a);
  await finish(b);
  const rate = (runs) => median(runs.map((run) => run.bytes / run.seconds / 1048576));
  results.roundTrip = {
    viaRelayUs: { median: median(rttRelay), p99: pct(rttRelay, 0.99) },
    directUs: { median: median(rttDirect), p99: pct(rttDirect, 0.99) },
  };
  results.roundTrip.addedUs = results.roundTrip.viaRelayUs.median - results.roundTrip.directUs.median;
  results.propertyGet = {
    packetBytes: bigRelay[0].bytes,
    viaRelayMiBps: rate(bigRelay),
    directMiBps: rate(bigDirect),
    viaRelaySeconds: median(bigRelay.map((run) => run.seconds)),
    directSeconds: median(bigDirect.map((run) => run.seconds)),
  };
  relay.dispose();
  ide.close();

  // ---- 3b. synthetic: the relay's own ceiling ---------------------------------------
  log(`3b. synthetic: ${SYNTHETIC_BYTES / 1048576} MiB in 1 MiB packets from a fake engine, ${THROUGHPUT_RUNS} runs each way`);
  results.synthetic = await syntheticThroughput();
} finally {
  await Promise.all(workers.map((worker) => dbgp.stopProcessGroup(worker.child, 2_000)));
  dbgp.removeSocketDir(socketDir);
  rmSync(docroot, { recursive: true, force: true });
}

async function syntheticThroughput() {
  const packet = dbgp.encodeEnginePacket(Buffer.alloc(1024 * 1024 - 32, 0x41));
  const packets = Math.floor(SYNTHETIC_BYTES / packet.length);
  const total = packets * packet.length;
  const sink = createServer();
  let onSinkConnection;
  sink.on('connection', (socket) => onSinkConnection(socket));
  await new Promise((r) => sink.listen({ host: '127.0.0.1', port: 0 }, r));
  const relay = await dbgp.DebugRelay.listen({ ide: { host: '127.0.0.1', port: sink.address().port } });

  async function run(port, viaRelay) {
    const received = new Promise((resolveReceived) => {
      onSinkConnection = (socket) => {
        let bytes = 0;
        socket.on('data', (chunk) => {
          bytes += chunk.length;
          if (bytes >= total) resolveReceived(process.hrtime.bigint());
        });
        socket.on('error', () => {});
      };
    });
    const engine = connect({ host: '127.0.0.1', port });
    await new Promise((r) => engine.once('connect', r));
    const init = viaRelay ? dbgp.encodeEnginePacket(`<init appid="${process.pid}" fileuri="file:///bench.php"/>`) : Buffer.alloc(0);
    const t0 = process.hrtime.bigint();
    engine.write(init);
    for (let i = 0; i < packets; i++) {
      if (!engine.write(packet)) await new Promise((r) => engine.once('drain', r));
    }
    const t1 = await received;
    engine.destroy();
    return total / (Number(t1 - t0) / 1e9) / 1048576;
  }

  const relayed = [];
  const direct = [];
  for (let i = 0; i < THROUGHPUT_RUNS; i++) {
    relayed.push(await run(relay.port, true));
    direct.push(await run(sink.address().port, false));
  }
  relay.dispose();
  sink.close();
  return { bytes: total, viaRelayMiBps: median(relayed), directMiBps: median(direct) };
}

// ---- report ------------------------------------------------------------------------

const f = (n, d = 2) => n.toFixed(d);
if (opt.json) {
  console.log(JSON.stringify(results, null, 2));
} else {
  const r = results;
  console.log(`### DBGp relay, ${r.meta.date}${opt.quick ? ' (quick, not for the record)' : ''}`);
  console.log(`php-cgi ${phpCgi}, Xdebug ${r.meta.xdebug}, Node ${r.meta.node}; all on one machine.\n`);
  console.log('| request (hello.php) | median ms | p90 ms |');
  console.log('| --- | ---: | ---: |');
  console.log(`| no Xdebug loaded | ${f(r.refusedConnect.withoutXdebugMs.median)} | ${f(r.refusedConnect.withoutXdebugMs.p90)} |`);
  console.log(`| Xdebug loaded, untriggered | ${f(r.refusedConnect.untriggeredMs.median)} | ${f(r.refusedConnect.untriggeredMs.p90)} |`);
  console.log(
    `| triggered, no IDE, via relay | ${f(r.refusedConnect.triggeredNoIdeViaRelayMs.median)} | ${f(r.refusedConnect.triggeredNoIdeViaRelayMs.p90)} |`,
  );
  console.log(
    `| triggered, no IDE, Xdebug direct | ${f(r.refusedConnect.triggeredNoIdeDirectMs.median)} | ${f(r.refusedConnect.triggeredNoIdeDirectMs.p90)} |`,
  );
  console.log(`\nRefused-connect cost: ${f(r.refusedConnect.costViaRelayMs)} ms via the relay, ${f(r.refusedConnect.costDirectMs)} ms direct.\n`);
  console.log('| paused worker | via relay | direct | added |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(
    `| status round trip, median µs | ${f(r.roundTrip.viaRelayUs.median, 0)} | ${f(r.roundTrip.directUs.median, 0)} | ${f(r.roundTrip.addedUs, 0)} |`,
  );
  console.log(`| status round trip, p99 µs | ${f(r.roundTrip.viaRelayUs.p99, 0)} | ${f(r.roundTrip.directUs.p99, 0)} | |`);
  console.log(
    `| property_get ${f(r.propertyGet.packetBytes / 1048576, 1)} MiB packet, MiB/s | ${f(r.propertyGet.viaRelayMiBps, 0)} | ${f(r.propertyGet.directMiBps, 0)} | ${f(r.propertyGet.viaRelaySeconds * 1000 - r.propertyGet.directSeconds * 1000, 0)} ms |`,
  );
  console.log(`| synthetic ${f(r.synthetic.bytes / 1048576, 0)} MiB stream, MiB/s | ${f(r.synthetic.viaRelayMiBps, 0)} | ${f(r.synthetic.directMiBps, 0)} | |`);
}
