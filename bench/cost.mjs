#!/usr/bin/env node
// CPU cost per request, which (unlike req/s) stays meaningful on a busy
// machine: runs wrk against a target and reads the CPU time of the server's
// front process(es) and of its PHP workers from /proc before and after.
// Given several --cli builds of ours, alternates between them (A B A B …)
// so that background load hits each alike, and prints the median per build.
//
//   node bench/cost.mjs [--page hello.php] [-c 8] [--seconds 5] [--rounds 3]
//        [--cli dist/cli.js --cli /tmp/other/cli.js] [--targets ours,nginx,apache] [--post 0]
import { readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createApp } from './lib/app.mjs';
import { treeOf } from './lib/procs.mjs';
import { TARGETS } from './lib/targets.mjs';
import { runWrk } from './lib/wrk.mjs';

const { values: opt } = parseArgs({
  options: {
    page: { type: 'string', default: 'hello.php' },
    c: { type: 'string', short: 'c', default: '8' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    cli: { type: 'string', multiple: true },
    targets: { type: 'string', default: 'ours' },
    workers: { type: 'string', default: '4' },
    post: { type: 'string', default: '0' },
  },
});

const TICK_US = 1e6 / 100; // USER_HZ is 100 on Linux

function cpuUs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_US;
  } catch {
    return 0;
  }
}

/** CPU of one thread (the main thread of `pid` when tid = pid): the event loop, without JIT and GC helper threads. */
function threadCpuUs(pid, tid) {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_US;
  } catch {
    return 0;
  }
}

/** CPU of the front (root pids and non-PHP descendants) and of PHP processes, summed. */
function sample(rootPids) {
  let front = 0;
  let php = 0;
  let main = 0;
  for (const root of rootPids) main += threadCpuUs(root, root);
  for (const root of rootPids) {
    for (const pid of treeOf(root)) {
      let comm;
      try {
        comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      } catch {
        continue;
      }
      if (/^php/.test(comm)) php += cpuUs(pid);
      else front += cpuUs(pid);
    }
  }
  return { front, php, main };
}

const app = createApp();
const variants = [];
for (const id of opt.targets.split(',')) {
  if (id === 'ours') for (const cli of opt.cli ?? ['dist/cli.js']) variants.push({ label: `ours ${cli}`, id, cli: resolve(cli) });
  else variants.push({ label: TARGETS[id].label, id });
}
const results = new Map(variants.map((v) => [v.label, []]));
try {
  for (let round = 0; round < Number(opt.rounds); round++) {
    for (const v of variants) {
      const t = await TARGETS[v.id].start({ app, workers: Number(opt.workers), ...(v.cli ? { cli: v.cli } : {}) });
      try {
        const url = `${t.url}/${opt.page}`;
        await runWrk({ url, connections: 64, seconds: 1, postBytes: Number(opt.post) });
        // Warm the JIT at the measured concurrency, then let workers retired
        // by the warm-up's aborted requests be replaced.
        await runWrk({ url, connections: Number(opt.c), seconds: 2, postBytes: Number(opt.post) });
        await new Promise((r) => setTimeout(r, 300));
        const before = sample(t.rootPids());
        const r = await runWrk({ url, connections: Number(opt.c), seconds: Number(opt.seconds), postBytes: Number(opt.post) });
        const after = sample(t.rootPids());
        const row = {
          rps: r.rps,
          p99: r.p99ms,
          frontUs: (after.front - before.front) / r.requests,
          mainUs: (after.main - before.main) / r.requests,
          phpUs: (after.php - before.php) / r.requests,
          errors: r.errors,
        };
        results.get(v.label).push(row);
        console.error(
          `${v.label}: ${Math.round(r.rps)} req/s, front ${row.frontUs.toFixed(1)} µs/req (main thread ${row.mainUs.toFixed(1)}), php ${row.phpUs.toFixed(1)} µs/req, p99 ${r.p99ms} ms${r.errors ? `, ${r.errors} errors` : ''}`,
        );
      } finally {
        await t.stop();
      }
    }
  }
} finally {
  rmSync(app, { recursive: true, force: true });
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`\n${opt.page} c=${opt.c}, ${opt.rounds} rounds × ${opt.seconds} s (median):`);
console.log('| variant | req/s | front CPU µs/req | of which main thread | PHP CPU µs/req | p99 ms |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const [label, rows] of results) {
  console.log(
    `| ${label} | ${Math.round(med(rows.map((r) => r.rps)))} | ${med(rows.map((r) => r.frontUs)).toFixed(1)} | ${med(rows.map((r) => r.mainUs)).toFixed(1)} | ${med(rows.map((r) => r.phpUs)).toFixed(1)} | ${med(rows.map((r) => r.p99)).toFixed(2)} |`,
  );
}
