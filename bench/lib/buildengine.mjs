// Builds the engine library (src/index.ts → engine.js) from the sources, or
// from a copy of src/ (e.g. with a proposed patch applied), so that
// bench/micro.mjs --engine can measure it.
//   node bench/lib/buildengine.mjs OUTFILE [SRCDIR]
import { build } from 'esbuild';
import { join, resolve } from 'node:path';

const out = resolve(process.argv[2] ?? 'engine-bench.js');
const src = resolve(process.argv[3] ?? join(import.meta.dirname, '../../src'));
await build({
  entryPoints: [join(src, 'index.ts')],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile: out,
  logLevel: 'warning',
  nodePaths: [join(import.meta.dirname, '../../node_modules')],
});
console.log(out);
