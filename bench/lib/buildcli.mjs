// Builds dist-like cli.js from the current sources into another folder, so
// two versions of the engine can be measured side by side (bench/cost.mjs).
//   node bench/lib/buildcli.mjs OUTDIR [SRCDIR]   (SRCDIR: a copy of src/ to build instead)
import { build } from 'esbuild';
import { join, resolve } from 'node:path';

const out = resolve(process.argv[2] ?? 'dist-bench');
const src = resolve(process.argv[3] ?? join(import.meta.dirname, '../../src'));
await build({
  entryPoints: [join(src, 'cli/main.ts')],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile: join(out, 'cli.js'),
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
  // A source copy outside the repo still resolves packages from the repo.
  nodePaths: [join(import.meta.dirname, '../../node_modules')],
});
console.log(join(out, 'cli.js'));
