#!/usr/bin/env node
// Builds the CLI and the engine with the proposed pool changes applied to a
// copy of src/ (the checkout is not touched), for side-by-side measurement:
//
//   node bench/proposals/build.mjs [OUTDIR]      → OUTDIR/cli.js, OUTDIR/engine.js
//   npm run bench -- --compare-cli OUTDIR/cli.js --compare-engine OUTDIR/engine.js
//   node bench/cost.mjs --cli dist/cli.js --cli OUTDIR/cli.js
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '../..');
const out = resolve(process.argv[2] ?? join(tmpdir(), 'fastcgi-pool-proposals'));
const work = mkdtempSync(join(tmpdir(), 'fcgi-proposals-src-'));
try {
  cpSync(join(repo, 'src'), join(work, 'src'), { recursive: true });
  execFileSync('patch', ['-p1', '-s', '-d', work, '-i', join(import.meta.dirname, 'pool-hot-path.patch')], { stdio: 'inherit' });
  execFileSync(process.execPath, [join(repo, 'bench/lib/buildcli.mjs'), out, join(work, 'src')], { stdio: 'inherit' });
  execFileSync(process.execPath, [join(repo, 'bench/lib/buildengine.mjs'), join(out, 'engine.js'), join(work, 'src')], { stdio: 'inherit' });
} finally {
  rmSync(work, { recursive: true, force: true });
}
