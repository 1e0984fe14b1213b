// Bundles the CLI and the extension with esbuild. Both run on Node 20 inside
// one file each, so the packaged .vsix needs no node_modules.
import { build } from 'esbuild';

const watch = process.argv.includes('--watch');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: process.argv.includes('--watch') ? 'info' : 'warning',
};

const targets = [
  { ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  { ...common, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'] },
  // The engine as a library, for bench/ and the soak run.
  { ...common, entryPoints: ['src/index.ts'], outfile: 'dist/engine.js' },
];

if (watch) {
  const { context } = await import('esbuild');
  for (const t of targets) await (await context(t)).watch();
} else {
  await Promise.all(targets.map((t) => build(t)));
}
