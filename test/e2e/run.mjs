#!/usr/bin/env node
// Runs the end-to-end test (test/e2e/pool.e2e.ts): bundles it with esbuild, as
// scripts/build.mjs does for the product, then runs the bundle from the
// repository root. `npm run test:e2e` packages the .vsix first.
import { build } from 'esbuild';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
process.chdir(root);
const outfile = resolve(root, 'test-output/e2e-build/pool.e2e.mjs');
await build({
  entryPoints: [resolve(root, 'test/e2e/pool.e2e.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  external: ['playwright-core'],
  sourcemap: 'inline',
  logLevel: 'warning',
});
await import(pathToFileURL(outfile).href);
