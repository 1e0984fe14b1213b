#!/usr/bin/env node
// Dashboard frame times: the built webview (dist/webview) in headless
// Chromium with 64 workers and 1 000 leases on the timeline, a snapshot every
// 250 ms (the host's maximum) for 10 s, the mouse over the timeline for half
// of it. Prints the
// median and p95 frame time (requestAnimationFrame intervals) and render time.
// A measurement, not a test: it asserts nothing.
//
//   npm run build && node bench/dashboard-frames.mjs [--workers 64] [--leases 1000] [--seconds 10] [--interval 250]
//
// Headless Chromium runs with --disable-gpu: raster and compositing are done
// in software on the CPU, so paint-heavy numbers are pessimistic next to VS
// Code's GPU-accelerated webviews.
import { resolve } from 'node:path';
import { importTypeScript } from '../scripts/importTs.mjs';

const root = resolve(import.meta.dirname, '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const { runFrameBench } = await importTypeScript(resolve(root, 'test/webview/frameBench.ts'), resolve(root, 'test-output/webview/frame-bench.mjs'), {
  // harness.ts finds the repository through __dirname, which a bundle does not have.
  define: { __dirname: JSON.stringify(resolve(root, 'test/webview')) },
});
const result = await runFrameBench({
  workers: arg('workers', 64),
  leases: arg('leases', 1000),
  durationMs: arg('seconds', 10) * 1000,
  intervalMs: arg('interval', 250),
});
const ms = (v) => `${v.toFixed(1)} ms`;
console.log(
  `dashboard: ${result.workers} workers, ${result.leases} leases (snapshot ${(result.snapshotBytes / 1024).toFixed(0)} KiB), ${result.snapshotsPosted} snapshots in ${(result.durationMs / 1000).toFixed(1)} s`,
);
console.log(`  first render            ${ms(result.firstRenderMs)}`);
console.log(
  `  renders                 ${result.renders.count} (≤ 4/s): median ${ms(result.renders.median)}, p95 ${ms(result.renders.p95)}, max ${ms(result.renders.max)}`,
);
console.log(
  `  frame time (rAF)        ${result.frames.count} frames: median ${ms(result.frames.median)}, p95 ${ms(result.frames.p95)}, max ${ms(result.frames.max)}`,
);
console.log(
  `  frames > 16.7 ms        ${result.framesOver16ms} (> 33 ms: ${result.framesOver33ms}); long animation frames (> 50 ms): ${result.longAnimationFrames}`,
);
const perUpdate = (v) => ms(v / result.snapshotsPosted);
console.log(
  `  main thread per update  ${perUpdate(result.mainThreadMs.task)} in tasks (of which script ${perUpdate(result.mainThreadMs.script)}, style ${perUpdate(result.mainThreadMs.styleRecalc)}, layout ${perUpdate(result.mainThreadMs.layout)}); includes receiving the message`,
);
console.log(`  screenshot              ${result.screenshot}`);
