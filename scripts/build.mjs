// Bundles the CLI and the extension with esbuild. Both run on Node 20 inside
// one file each, so the packaged .vsix needs no node_modules.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: process.argv.includes('--watch') ? 'info' : 'warning',
};

// `send` and the MIME lookup it types files with (mime-types, with its 230 KB
// database) are loaded only for the first static file; in the CLI and the
// engine they live in files of their own, dist/send.js and dist/mime.js (which
// send.js requires too: one copy of the database), so that Node does not even
// parse them at start-up (~4 ms of the cold start). The extension and its
// engine thread keep them inside their single bundles.
const mimeApart = {
  name: 'mime-apart',
  setup(b) {
    b.onResolve({ filter: /^mime-types$/ }, () => ({ path: './mime.js', external: true }));
  },
};
const sendApart = {
  name: 'send-apart',
  setup(b) {
    b.onResolve({ filter: /^send$/ }, () => ({ path: './send.js', external: true }));
    mimeApart.setup(b);
  },
};

const targets = [
  // dist/cli.js is a small loader that runs dist/cli-main.js with a V8 code cache (src/cli/loader.ts).
  // No V8 flags in its shebang: any heap flag (e.g. --max-semi-space-size=4,
  // which shortens the latency tail under load) makes Node reject the code
  // cache of its own built-in modules, +30 ms at every start (docs/performance.md).
  { ...common, entryPoints: ['src/cli/loader.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' }, sourcemap: false },
  { ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli-main.js', plugins: [sendApart] },
  { ...common, entryPoints: { send: 'node_modules/send/index.js' }, outdir: 'dist', sourcemap: false, plugins: [mimeApart] },
  { ...common, entryPoints: { mime: 'node_modules/mime-types/index.js' }, outdir: 'dist', sourcemap: false },
  { ...common, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'] },
  // The extension's engine thread (src/engineThread/threadMain.ts): one per running pool. Like the
  // extension, one file with `send` inside, so the .vsix needs nothing else.
  { ...common, entryPoints: ['src/engineThread/threadMain.ts'], outfile: 'dist/engineThread.js' },
  // The engine as a library, for bench/ and the soak run.
  { ...common, entryPoints: ['src/index.ts'], outfile: 'dist/engine.js', plugins: [sendApart] },
  // The dashboard webview (browser), its stylesheet, and the toolkit it uses (see dashboardAssets below).
  { ...common, entryPoints: ['webview/main.ts'], outfile: 'dist/webview/main.js', platform: 'browser', target: 'chrome120', format: 'iife' },
  { ...common, entryPoints: ['webview/dashboard.css'], outfile: 'dist/webview/dashboard.css', platform: 'browser', target: 'chrome120', sourcemap: false },
];

// Loaded by the dashboard as is: @vscode/webview-ui-toolkit's self-registering bundle (pinned 1.4.0),
// with its licence and third-party notices, which ship along with it.
const toolkit = 'node_modules/@vscode/webview-ui-toolkit';
const dashboardAssets = [
  [`${toolkit}/dist/toolkit.min.js`, 'dist/webview/toolkit.min.js'],
  [`${toolkit}/LICENSE`, 'dist/webview/toolkit.LICENSE.txt'],
  [`${toolkit}/NOTICES`, 'dist/webview/toolkit.NOTICES.txt'],
];
mkdirSync('dist/webview', { recursive: true });
for (const [from, to] of dashboardAssets) copyFileSync(from, to);

if (watch) {
  const { context } = await import('esbuild');
  for (const t of targets) await (await context(t)).watch();
} else {
  await Promise.all(targets.map((t) => build(t)));
}
