#!/usr/bin/env node
// Profiles `fastcgi-pool serve` under load: starts it with `node --cpu-prof`,
// drives one page with wrk, stops it (SIGTERM; the profile is written on
// exit) and prints where the Node process spent its time (self time per
// function, and per file/package).
//
//   node bench/profile.mjs [--page hello.php] [-c 8] [--seconds 10] [--keep FILE] [--top 40] [--cli other/cli.js]
import { mkdtempSync, readdirSync, readFileSync, rmSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createApp } from './lib/app.mjs';
import { TARGETS } from './lib/targets.mjs';
import { runWrk } from './lib/wrk.mjs';

const { values: opt } = parseArgs({
  options: {
    page: { type: 'string', default: 'hello.php' },
    c: { type: 'string', short: 'c', default: '8' },
    seconds: { type: 'string', default: '10' },
    workers: { type: 'string', default: '4' },
    keep: { type: 'string' },
    top: { type: 'string', default: '40' },
    post: { type: 'string', default: '0' },
    cli: { type: 'string' },
  },
});

export function summarize(profile, top = 40) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const byFile = new Map();
  const dt = profile.timeDeltas;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]);
    const us = dt[i] ?? 0;
    total += us;
    const f = node.callFrame;
    const file = f.url.replace(/^.*\/(node_modules\/[^/]+|dist\/[^/]+|node:[^/]+)/, '$1').replace(/^node:internal\//, 'node:') || '(native)';
    const key = `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + us);
    const fileKey = f.url === '' ? f.functionName : file;
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + us);
  }
  // Inclusive time: each sample counts once for every function on its stack.
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map();
  const keyOf = (n) => {
    const f = n.callFrame;
    const file = f.url.replace(/^.*\/(node_modules\/[^/]+|dist\/[^/]+|node:[^/]+)/, '$1').replace(/^node:internal\//, 'node:') || '(native)';
    return `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
  };
  for (let i = 0; i < profile.samples.length; i++) {
    const seen = new Set();
    for (let id = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      const k = keyOf(byId.get(id));
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + (dt[i] ?? 0));
    }
  }
  const pct = (us) => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
  const lines = [`total ${(total / 1e6).toFixed(2)} s sampled`, '', 'self time by function:'];
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`${pct(us)}  ${k}`);
  lines.push('', 'inclusive time by function:');
  for (const [k, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`${pct(us)}  ${k}`);
  lines.push('', 'self time by file / category:');
  for (const [k, us] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 25)) lines.push(`${pct(us)}  ${k}`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const app = createApp();
  const profDir = mkdtempSync(join(tmpdir(), 'fcgi-bench-prof-'));
  const target = await TARGETS.ours.start({
    app,
    workers: Number(opt.workers),
    nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profDir],
    ...(opt.cli ? { cli: resolve(opt.cli) } : {}),
  });
  try {
    await runWrk({ url: `${target.url}/${opt.page}`, connections: 64, seconds: 2, postBytes: Number(opt.post) });
    const r = await runWrk({ url: `${target.url}/${opt.page}`, connections: Number(opt.c), seconds: Number(opt.seconds), postBytes: Number(opt.post) });
    console.log(`${opt.page} c=${opt.c}: ${Math.round(r.rps)} req/s, p50 ${r.p50ms} ms, p99 ${r.p99ms} ms, errors ${r.errors}`);
  } finally {
    await target.stop();
    rmSync(app, { recursive: true, force: true });
  }
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error('no .cpuprofile written');
  if (opt.keep) cpSync(join(profDir, file), opt.keep);
  console.log(summarize(JSON.parse(readFileSync(join(profDir, file), 'utf8')), Number(opt.top)));
  rmSync(profDir, { recursive: true, force: true });
}
