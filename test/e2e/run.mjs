#!/usr/bin/env node
// Runs the end-to-end test (test/e2e/pool.e2e.ts): bundles it with esbuild, as
// scripts/build.mjs does for the product, then runs the bundle from the
// repository root. `npm run test:e2e` packages the .vsix first.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importTypeScript } from '../../scripts/importTs.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
process.chdir(root);
await importTypeScript(resolve(root, 'test/e2e/pool.e2e.ts'), resolve(root, 'test-output/e2e-build/pool.e2e.mjs'), { sourcemap: 'inline' });
