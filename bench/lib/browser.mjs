// Headless Chromium (Debian's, driven by playwright-core) loading pages the
// way a developer does: cold (a new browser context: empty cache, no open
// connections) and warm (the same context, reloaded: the page again, its
// assets from the cache or revalidated, whatever the server's headers say).
// Each load is measured in the page itself from Navigation Timing and
// Resource Timing, so nothing is added to the browser's own work.
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.BENCH_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Chromium's flags for a quiet, reproducible browser. Playwright gives every
 * launch a fresh temp --user-data-dir of its own (and removes it on close);
 * it refuses one in `args`.
 */
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchBrowser() {
  // Our own SIGINT/SIGTERM handler stops the servers and closes the browser;
  // Playwright still kills the browser if this process exits without that.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false });
}

/**
 * Runs in the page after `load`: the navigation's timings and every resource
 * the load waited for (started before loadEventStart; the favicon comes later).
 */
async function readTimings() {
  const nav = () => performance.getEntriesByType('navigation')[0];
  // loadEventEnd is set when the load handlers return; poll until it is.
  while (!(nav()?.loadEventEnd > 0)) await new Promise((resolveWait) => setTimeout(resolveWait, 0));
  const n = nav();
  return {
    loadMs: n.loadEventEnd - n.startTime,
    ttfbMs: n.responseStart - n.startTime,
    dclMs: n.domContentLoadedEventEnd - n.startTime,
    status: n.responseStatus,
    documentBytes: n.transferSize,
    resources: performance
      .getEntriesByType('resource')
      .filter((e) => e.startTime < n.loadEventStart)
      .map((e) => ({
        name: e.name,
        transferSize: e.transferSize,
        encodedBodySize: e.encodedBodySize,
        decodedBodySize: e.decodedBodySize,
        status: e.responseStatus,
      })),
  };
}

/** What Resource Timing counts for a response's headers, whatever their size. */
const HEADER_BYTES = 300;

/**
 * One load's figures. Same-origin Resource Timing tells the three cases apart:
 * transferSize 0 with a body = taken from the cache without a request; a full
 * response transfers its encoded body plus HEADER_BYTES; anything else that
 * transferred is a 304 (HEADER_BYTES alone; encodedBodySize is then 0, or the
 * cached body's size, as for an image that is also the page's icon).
 */
function summarise(t) {
  let fromCache = 0;
  let notModified = 0;
  let full = 0;
  let failed = t.status >= 400 ? 1 : 0;
  let bytes = t.documentBytes;
  for (const r of t.resources) {
    bytes += r.transferSize;
    if (r.status >= 400 || (r.transferSize === 0 && r.decodedBodySize === 0)) failed++;
    else if (r.transferSize === 0) fromCache++;
    else if (r.encodedBodySize > 0 && r.transferSize >= r.encodedBodySize + HEADER_BYTES) full++;
    else notModified++;
  }
  return {
    loadMs: t.loadMs,
    ttfbMs: t.ttfbMs,
    dclMs: t.dclMs,
    // The document itself is always a request (a PHP page has no validator).
    requests: 1 + notModified + full,
    notModified,
    fromCache,
    subresources: t.resources.length,
    failed,
    kib: bytes / 1024,
    failures: failed ? t.resources.filter((r) => r.status >= 400 || (r.transferSize === 0 && r.decodedBodySize === 0)).map((r) => `${r.status} ${r.name}`) : [],
  };
}

const pause = (ms) => new Promise((resolveWait) => setTimeout(resolveWait, ms));

/**
 * `count` cold loads of `url`: each in a new context (empty cache, new
 * connections), closed afterwards. `gapMs` between loads lets late requests
 * (the favicon) finish before the next load starts.
 */
export async function coldLoads(browser, url, count, gapMs = 100) {
  const out = [];
  for (let i = 0; i < count; i++) {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(url, { waitUntil: 'load' });
      out.push(summarise(await page.evaluate(readTimings)));
    } finally {
      await context.close();
    }
    await pause(gapMs);
  }
  return out;
}

/**
 * `count` warm loads of `url`: one context, a first (unmeasured) load to fill
 * its cache and open its connections, then `count` reloads, as F5 does.
 */
export async function warmLoads(browser, url, count, gapMs = 100) {
  const out = [];
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'load' });
    await page.evaluate(readTimings);
    for (let i = 0; i < count; i++) {
      await pause(gapMs);
      await page.reload({ waitUntil: 'load' });
      out.push(summarise(await page.evaluate(readTimings)));
    }
  } finally {
    await context.close();
  }
  return out;
}
