// Bundles a TypeScript entry for Node with esbuild (as scripts/build.mjs does
// for the product) and imports it: how the end-to-end test and the dashboard
// frame benchmark run their .ts harnesses without a TypeScript loader.
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Builds `entry` into `outfile` (ESM, node20, playwright-core left external)
 * and returns the imported module. `options` are passed on to esbuild.
 */
export async function importTypeScript(entry, outfile, options = {}) {
  mkdirSync(dirname(outfile), { recursive: true });
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    external: ['playwright-core'],
    logLevel: 'warning',
    ...options,
  });
  return import(pathToFileURL(outfile).href);
}
