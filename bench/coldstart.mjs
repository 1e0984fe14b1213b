#!/usr/bin/env node
// Where the cold start of `fastcgi-pool serve` goes: spawns it with
// `--events -` and stamps each event (ms since the spawn) until the first 200
// from hello.php, a few times. Also times `node -e 0` and loading the bundles.
//
//   node bench/coldstart.mjs [--runs 5] [--workers 4] [--cli dist/cli.js]
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createApp } from './lib/app.mjs';
import { freePort, getStatus, shebangNodeArgs } from './lib/targets.mjs';

const { values: opt } = parseArgs({ options: { runs: { type: 'string', default: '5' }, workers: { type: 'string', default: '4' }, cli: { type: 'string' } } });
const cli = resolve(opt.cli ?? resolve(import.meta.dirname, '../dist/cli.js'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// As bench/lib/targets.mjs: without NODE_EXTRA_CA_CERTS unless BENCH_KEEP_NODE_ENV is set.
const childEnv = { ...process.env };
if (!process.env.BENCH_KEEP_NODE_ENV) delete childEnv.NODE_EXTRA_CA_CERTS;

function timeIt(args) {
  const t0 = performance.now();
  spawnSync(process.execPath, args, { stdio: 'ignore', env: childEnv });
  return performance.now() - t0;
}

const app = createApp();
const phases = {};
const add = (k, v) => (phases[k] ??= []).push(v);
try {
  for (let i = 0; i < Number(opt.runs); i++) {
    add('node -e 0', timeIt(['-e', '0']));
    add('node: load the CLI bundle (--help)', timeIt([cli, '--help']));
    const port = await freePort();
    const t0 = performance.now();
    const child = spawn(
      process.execPath,
      [...shebangNodeArgs(cli), cli, 'serve', app, '--port', String(port), '--min-workers', opt.workers, '--max-workers', opt.workers, '--events', '-'],
      { stdio: ['ignore', 'pipe', 'ignore'], env: childEnv },
    );
    const seen = {};
    let buffer = '';
    child.stdout.on('data', (d) => {
      buffer += d;
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const at = performance.now() - t0;
        if (line.startsWith('Listening')) seen.listening ??= at;
        else {
          try {
            const e = JSON.parse(line);
            const key = e.type === 'pool-state' ? `pool ${e.state}` : e.type;
            seen[key] ??= at;
          } catch {
            // not an event
          }
        }
      }
    });
    let first;
    for (;;) {
      if ((await getStatus(`http://127.0.0.1:${port}/hello.php`, 1000)) === 200) {
        first = performance.now() - t0;
        break;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
    add('spawn → pool starting (node boot, bundle, config)', seen['pool starting']);
    add('spawn → first worker-ready', seen['worker-ready']);
    add('spawn → pool running (all workers spawned)', seen['pool running']);
    add('spawn → listening', seen.listening);
    add('spawn → first 200 from hello.php', first);
  }
} finally {
  rmSync(app, { recursive: true, force: true });
}
console.log(`| phase (median of ${opt.runs}) | ms |`);
console.log('| --- | ---: |');
for (const [k, v] of Object.entries(phases)) console.log(`| ${k} | ${median(v.filter((x) => x !== undefined)).toFixed(1)} |`);
