#!/usr/bin/env node
// npm run bench:pages [-- --quick] [--loads 30] [--batch 10] [--workers 4]
//                     [--targets nginx,apache,phps,ours] [--apps hello,heavy,wordpress]
//                     [--asset-age 86400] [--revalidate-all] [--no-install] [--json FILE]
//
// Page-load benchmark (issue 16): headless Chromium loads real pages, with
// their CSS, JS and images, from nginx + php-fpm, apache + mod_fcgid,
// `php -S` and `fastcgi-pool serve`, cold (new browser context) and warm
// (reloads in one context), and reports the `load` event's median and p95,
// TTFB and what each load asked the server, with ratios to nginx + php-fpm.
//
// Apps: examples/hello-php (three of its pages), bench/apps/heavy (a tiny
// framework: 34 PHP files per page, a 200-row table, 22 assets of which 7 are
// served by PHP) and WordPress (Debian's package, its front page and a post:
// bench/apps/wordpress, one private MariaDB per run that every target shares;
// skipped, saying why, where WordPress or MariaDB is not installed). Loads
// are interleaved: each page × mode runs in batches against every target in
// turn (the order rotating), so background noise hits all alike; after each
// batch the target settles.
//
// Loopback only; every server (MariaDB too) runs from a generated config in
// a temp dir and is stopped by its pid, as bench/run.mjs does. See
// docs/performance.md.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { coldLoads, launchBrowser, warmLoads } from './lib/browser.mjs';
import { ensureInstalled, serverVersions } from './lib/install.mjs';
import { createPageApp, PAGE_APPS } from './lib/pageApps.mjs';
import { renderPagesReport, summariseLoads } from './lib/pagesReport.mjs';
import { settle, treeRss } from './lib/procs.mjs';
import { fmt } from './lib/report.mjs';
import { TARGETS } from './lib/targets.mjs';
import { runWrk } from './lib/wrk.mjs';

const REPO = resolve(import.meta.dirname, '..');
const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    loads: { type: 'string' },
    batch: { type: 'string' },
    workers: { type: 'string', default: '4' },
    targets: { type: 'string', default: 'nginx,apache,phps,ours' },
    apps: { type: 'string', default: 'hello,heavy,wordpress' },
    'asset-age': { type: 'string', default: '86400' },
    // nginx and apache send static files with Cache-Control: public, max-age=0, as ours does.
    'revalidate-all': { type: 'boolean', default: false },
    'gap-ms': { type: 'string', default: '100' },
    'no-install': { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const quick = opt.quick;
const loads = Number(opt.loads ?? (quick ? 5 : 30));
const batch = Number(opt.batch ?? (quick ? loads : 10));
const workers = Number(opt.workers);
const assetAgeS = Number(opt['asset-age']);
const gapMs = Number(opt['gap-ms']);
const list = (text) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const targetIds = list(opt.targets);
const appIds = list(opt.apps);
for (const id of targetIds) if (!TARGETS[id]) throw new Error(`unknown target ${id}; known: ${Object.keys(TARGETS).join(', ')}`);
for (const id of appIds) if (!PAGE_APPS[id]) throw new Error(`unknown app ${id}; known: ${Object.keys(PAGE_APPS).join(', ')}`);
for (const [name, n] of Object.entries({ loads, batch, workers })) if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
if (!Number.isFinite(assetAgeS) || assetAgeS < 0) throw new Error('--asset-age must be a number of seconds ≥ 0');

const log = (...a) => console.error(`[pages ${new Date().toISOString().slice(11, 19)}]`, ...a);
const load1 = () => loadavg()[0];
const loadNow = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** Set by Ctrl+C / SIGTERM: the loads then fail (browser closed), and that is no error to report. */
let interrupted = false;
/** An app that is installed but did not start: the others still run, the exit code says so. */
let startFailed = false;

/** Rotates `items` by `n`: round r starts with a different target. */
const rotate = (items, n) => items.map((_, i) => items[(i + n) % items.length]);

async function main() {
  if (!opt['no-install']) {
    const installed = ensureInstalled({ log });
    if (installed.length) log(`installed: ${installed.join(' ')}`);
  }
  if (targetIds.some((id) => id.startsWith('phps')) && spawnSync('php', ['-v']).status !== 0)
    throw new Error('php (the CLI, for php -S) is not installed: apt-get install php-cli');
  if (targetIds.includes('ours') && !existsSync(join(REPO, 'dist/cli.js')))
    throw new Error('dist/cli.js missing: run `npm run build` (npm run bench:pages does)');
  if (!existsSync(join(REPO, 'node_modules/playwright-core'))) throw new Error('playwright-core is missing: npm install');

  const mtime = new Date(Date.now() - assetAgeS * 1000);
  const loadSamples = [load1()];
  const meta = {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    cpu: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
    workers,
    loads,
    batch,
    gapMs,
    assetAgeS,
    revalidateAll: opt['revalidate-all'],
    phpsNote: targetIds.includes('phps')
      ? 'one process serving one request at a time, no PHP_CLI_SERVER_WORKERS, as VS Code\'s "PHP Server" extension starts it'
      : '',
    loadBefore: loadNow(),
    // Each app's own software (WordPress: its version and MariaDB's).
    versions: Object.assign(serverVersions({ phpCli: true }), ...appIds.map((id) => PAGE_APPS[id].versions?.() ?? {})),
    playwright: JSON.parse(readFileSync(join(REPO, 'node_modules/playwright-core/package.json'), 'utf8')).version,
  };
  const results = { meta, targets: {}, apps: {} };
  for (const id of targetIds) results.targets[id] = { label: TARGETS[id].label, perApp: {} };

  const running = {};
  let browser = null;
  let app = null;
  const stopAll = async () => {
    for (const [id, t] of Object.entries(running)) {
      delete running[id];
      await t.stop().catch((e) => log(`stopping ${id}: ${e.message}`));
    }
  };
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    log('interrupted: closing the browser and stopping every server we started');
    void (async () => {
      await browser?.close().catch(() => {});
      await stopAll();
      await app?.remove().catch(() => {});
      process.exit(130);
    })();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    browser = await launchBrowser();
    meta.browser = `Chromium ${browser.version()}`;
    log(
      `${meta.mode}: ${loads} loads per cell (batches of ${batch}), ${targetIds.length} targets, apps ${appIds.join(', ')}; ${meta.browser}; load ${meta.loadBefore}`,
    );
    for (const appId of appIds) {
      const def = PAGE_APPS[appId];
      const pages = quick ? def.quickPages : def.pages;
      // An app whose software is missing, or fails to start, is left out of the run, not the whole run.
      const missing = def.missing?.();
      if (missing) {
        log(`${appId}: skipped: ${missing}`);
        results.apps[appId] = { label: def.label, skipped: missing };
        continue;
      }
      app = createPageApp(appId, { mtime });
      const appResult = { label: def.label, files: app.files, bytes: app.bytes, subresources: {}, pages: {} };
      try {
        const t0 = performance.now();
        await app.start();
        if (def.start) log(`${appId}: what it needs besides its files started in ${fmt(performance.now() - t0, 0)} ms`);
      } catch (error) {
        if (interrupted) return;
        log(`${appId}: skipped: it did not start: ${error.message}`);
        results.apps[appId] = { label: def.label, skipped: `it did not start: ${error.message.split('\n')[0]}` };
        startFailed = true;
        await app.remove();
        app = null;
        continue;
      }
      results.apps[appId] = appResult;
      try {
        for (const id of targetIds) {
          const t = await TARGETS[id].start({ app: app.docroot, workers, probe: pages[0], staticMaxAge0: opt['revalidate-all'] });
          running[id] = t;
          results.targets[id].perApp[appId] = { coldStartMs: t.coldStartMs };
          log(`${appId}: ${TARGETS[id].label} up at ${t.url} in ${fmt(t.coldStartMs, 1)} ms`);
        }
        // Every page once per target: it must load with no failed request,
        // and every target must serve the same number of subresources.
        for (const path of pages) {
          const seen = {};
          for (const id of targetIds) {
            const [first] = await coldLoads(browser, running[id].url + path, 1, gapMs);
            if (first.failed)
              throw new Error(`${TARGETS[id].label} ${appId} ${path}: ${first.failed} failed: ${first.failures.join(', ') || 'the page itself'}`);
            seen[id] = first.subresources;
          }
          const counts = new Set(Object.values(seen));
          if (counts.size > 1) throw new Error(`${appId} ${path}: the targets served different subresource counts: ${JSON.stringify(seen)}`);
          appResult.subresources[path] = [...counts][0];
        }
        // Warm-up: wrk at c = 8 on each page, so mod_fcgid has spawned its
        // workers and every opcache is warm, then a few browser loads.
        for (const id of targetIds) {
          for (const path of pages) {
            await runWrk({ url: running[id].url + path, connections: 8, seconds: quick ? 1 : 2 });
            await coldLoads(browser, running[id].url + path, quick ? 1 : 3, gapMs);
            await warmLoads(browser, running[id].url + path, quick ? 1 : 3, gapMs);
          }
          await new Promise((r) => setTimeout(r, 1000));
          results.targets[id].perApp[appId].processesAfterWarmup = treeRss(running[id].rootPids()).processes;
        }
        log(`${appId}: warm-up done`);
        for (const path of pages) {
          appResult.pages[path] = { cold: {}, warm: {} };
          for (const mode of ['cold', 'warm']) {
            const cells = appResult.pages[path][mode];
            for (const id of targetIds) cells[id] = { loads: [] };
            for (let round = 0, done = 0; done < loads; round++, done += batch) {
              const n = Math.min(batch, loads - done);
              for (const id of rotate(targetIds, round)) {
                const url = running[id].url + path;
                try {
                  cells[id].loads.push(...(mode === 'cold' ? await coldLoads(browser, url, n, gapMs) : await warmLoads(browser, url, n, gapMs)));
                } catch (error) {
                  throw new Error(`${TARGETS[id].label}: ${mode} loads of ${url}: ${error.message}`, { cause: error });
                }
                loadSamples.push(load1());
                await settle(running[id], results.targets[id].perApp[appId].processesAfterWarmup);
              }
            }
            for (const id of targetIds) {
              const s = (cells[id].summary = summariseLoads(cells[id].loads));
              log(
                `${appId} ${path} ${mode} ${TARGETS[id].label.padEnd(20)} load ${fmt(s.loadMedianMs, 1)} / p95 ${fmt(s.loadP95Ms, 1)} ms, TTFB ${fmt(s.ttfbMedianMs, 1)} ms, ${fmt(s.requests, 1)} requests, ${fmt(s.notModified, 1)} × 304, ${fmt(s.fromCache, 1)} cached${s.failed ? `, ${s.failed} FAILED` : ''}`,
              );
            }
          }
        }
      } finally {
        await stopAll();
        await app.remove();
        app = null;
      }
    }
  } finally {
    await browser?.close().catch((e) => log(`closing the browser: ${e.message}`));
    await stopAll();
  }
  meta.loadAfter = loadNow();
  meta.loadDuring = `${Math.min(...loadSamples).toFixed(2)}–${Math.max(...loadSamples).toFixed(2)}`;

  const md = renderPagesReport(results);
  process.stdout.write(md + '\n');
  const dir = join(REPO, 'bench/results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${meta.date.replace(/[:.]/g, '-')}-pages-${meta.mode}.json`), JSON.stringify(results, null, 2));
  writeFileSync(join(dir, `latest-pages-${meta.mode}.md`), md + '\n');
  if (opt.json) writeFileSync(opt.json, JSON.stringify(results, null, 2));
  if (startFailed) process.exitCode = 1;
}

main().catch((error) => {
  if (interrupted) return;
  console.error(error);
  process.exitCode = 1;
});
