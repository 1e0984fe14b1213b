#!/usr/bin/env node
// npm run bench:live-reload [-- --runs 20] [--write-docs]
//
// Save-to-reload latency of live reload, as a developer feels it: the built
// CLI (`fastcgi-pool serve --live-reload`, its real file watcher) on a copy
// of examples/hello-php, the page open in headless Chromium. Each run writes
// src/pages/home.php (a new marker) and measures from just before the write
// to the reloaded page's `load` event (Date.now() in the page: the same
// clock), then waits until the new page listens again before the next run.
// Prints each run, the median, p90 and max; --write-docs writes them to
// docs/measurements/live-reload.txt.
//
// The latency includes the coalescing window (DEFAULTS.liveReloadQuietMs):
// a save is sent once no other change has come for that long.
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { importTypeScript } from '../scripts/importTs.mjs';

const REPO = resolve(import.meta.dirname, '..');
const { values: opt } = parseArgs({ options: { runs: { type: 'string', default: '20' }, 'write-docs': { type: 'boolean', default: false } } });
const runs = Number(opt.runs);

process.env.FASTCGI_POOL_ROOT = REPO;
const { LiveReloadSession } = await importTypeScript(join(REPO, 'test/support/liveBrowser.ts'), join(REPO, 'test-output/bench-build/liveBrowser.mjs'));
const { DEFAULTS } = await importTypeScript(join(REPO, 'src/shared/defaults.ts'), join(REPO, 'test-output/bench-build/defaults.mjs'));

const session = await LiveReloadSession.start();
const latencies = [];
try {
  const original = session.read('src/pages/home.php');
  for (let i = 0; i < runs; i++) {
    const loads = session.loads;
    const marker = `bench-${i}-${Date.now()}`;
    const wroteAt = Date.now();
    session.write('src/pages/home.php', `${original}\n<p>${marker}</p>\n`);
    await session.waitForLoads(loads + 1);
    await session.listening();
    const loadedAt = await session.loadedAt();
    const text = await session.page.locator('body').innerText();
    if (!text.includes(marker)) throw new Error(`run ${i}: the reloaded page does not show the code just saved (${marker})`);
    latencies.push(loadedAt - wroteAt);
    console.log(`run ${String(i + 1).padStart(2)}: ${loadedAt - wroteAt} ms`);
  }
} finally {
  await session.close();
}

const sorted = [...latencies].sort((a, b) => a - b);
const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
const summary = [
  `Save-to-reload latency, ${runs} runs (npm run bench:live-reload), ${new Date().toISOString().slice(0, 10)}`,
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; Node ${process.version}; headless Chromium`,
  `from writeFileSync(src/pages/home.php) to the reloaded page's load event; coalescing window ${DEFAULTS.liveReloadQuietMs} ms`,
  '',
  `median ${median} ms, p90 ${at(0.9)} ms, min ${sorted[0]} ms, max ${sorted[sorted.length - 1]} ms`,
  `runs: ${latencies.join(', ')} ms`,
  '',
].join('\n');
console.log(`\n${summary}`);
if (opt['write-docs']) writeFileSync(join(REPO, 'docs/measurements/live-reload.txt'), summary);
