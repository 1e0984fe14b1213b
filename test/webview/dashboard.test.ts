/**
 * The built dashboard webview (dist/webview) in headless Chromium, loaded
 * with the host's own HTML and CSP, a stub acquireVsCodeApi and VS Code's
 * theme variables. It is fed the recorded fixture (a defunct worker with its
 * kept lease, a leaked lease still held, resolved findings, ~200 finished
 * leases) and checked for what it draws and the intents it sends back. Any
 * CSP violation, console error or warning, page error or stray request fails
 * the test. Screenshots go to test-output/webview/.
 *
 * Needs Chromium (Debian `chromium`, or $CHROMIUM); skipped without it.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PoolSnapshot } from '../../src/pool/types';
import { checkIntent, DASHBOARD_PROTOCOL_VERSION, parseWebviewMessage } from '../../src/shared/dashboardProtocol';
import { BAR_KINDS, headline, latency } from '../../webview/derive';
import { KIND_LABELS } from '../../webview/format';
import { formatDuration } from '../../src/shared/text';
import { DashboardPage, DashboardServer, OUTPUT_DIR, findChromium, launchChromium } from './harness';
import { THEMES } from './themes';
import { MAC_CAPABILITIES } from '../support/platforms';

const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures/snapshot.json'), 'utf8')) as PoolSnapshot;
const DOCROOT = '/home/dev/shop/public';
const defunctWorker = fixture.workers.find((w) => w.defunct)!;
const leakedWorker = fixture.workers.find((w) => !w.defunct && w.findingIds.length > 0)!;
const GUTTER = 128;
const LANE_H = 20;

const chromiumPath = findChromium();
if (!chromiumPath) console.warn('test/webview: no chromium (install Debian chromium or set CHROMIUM): the dashboard browser tests are skipped');

describe.skipIf(!chromiumPath)('dashboard webview in headless Chromium', () => {
  let browser: Browser;
  const server = new DashboardServer();
  const open: DashboardPage[] = [];

  async function load(options: Parameters<typeof DashboardPage.open>[2] = {}): Promise<DashboardPage> {
    const page = await DashboardPage.open(browser, server, options);
    open.push(page);
    return page;
  }

  beforeAll(async () => {
    mkdirSync(OUTPUT_DIR, { recursive: true });
    await server.start();
    browser = await launchChromium();
  });

  afterEach(async () => {
    // Whatever a test did, the page must not have broken the CSP, logged an error or fetched anything foreign.
    const pages = open.splice(0);
    const problems = (await Promise.all(pages.map((p) => p.allProblems()))).flat();
    await Promise.all(pages.map((p) => p.close()));
    server.unexpected.length = 0;
    expect(problems).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await server.stop();
  });

  it('says ready once, then draws the headline figures of the snapshot', async () => {
    const page = await load();
    const before = await page.record();
    expect(before.acquired).toBe(1);
    expect(before.sent).toEqual([{ type: 'ready', protocol: 1 }]);
    await page.show(fixture);

    const figure = (key: string) => page.page.locator(`[data-figure="${key}"]`);
    const value = (key: string) => figure(key).locator('.figure-value').textContent();
    expect(await value('idle')).toBe('2');
    expect(await value('busy')).toBe('3');
    expect(await value('error')).toBe('1');
    expect(await value('queue')).toBe('0');
    expect(await value('findings')).toBe('2');
    expect(await figure('busy').locator('.figure-detail').textContent()).toBe('1 defunct');
    expect(await figure('findings').locator('.figure-detail').textContent()).toBe('open · 6 in all');
    for (const key of ['busy', 'error', 'findings']) expect(await figure(key).getAttribute('class')).toContain('alert');
    expect(await figure('idle').getAttribute('class')).not.toContain('alert');
    // Rates over the last minute, as derive.ts computes them (the page's clock has moved on a little).
    expect(await value('rps')).toBe('0.2');
    const p50s = [0, 2_000, 4_000].map((d) => formatDuration(latency(fixture.history, fixture.takenAt + d, 60_000).p50));
    expect(p50s).toContain(await value('p50'));
    expect(headline(fixture, fixture.takenAt).latency.count).toBeGreaterThan(5);
    expect(await page.page.locator('.subtitle').textContent()).toBe(
      'Pool running · shop · leak policy keep · 6/6 workers · snapshot ' + clock(fixture.takenAt),
    );
    // What the pool can check on its OS, in the tooltip's words; a snapshot without it claims nothing.
    expect(await page.page.locator('.platform').textContent()).toBe(
      'Linux · process truth: read from /proc on every scan (state, zombies, descendants) · workers die with the manager (parent-death signal) · workers listen on a private unix socket · live PHP stacks: available',
    );
    await page.show({
      ...fixture,
      version: fixture.version + 1,
      platform: MAC_CAPABILITIES,
    });
    expect(await page.page.locator('.platform').textContent()).toContain('macOS · process truth: one ps call per scan');
    expect(await page.page.locator('.platform').textContent()).toContain('live PHP stacks: not available here');
    await page.show({ ...fixture, version: fixture.version + 2, platform: null });
    expect(await page.page.locator('.platform').isHidden()).toBe(true);
    // The source is kept for the serializer.
    expect((await page.record()).states.at(-1)).toEqual({ v: 1, sourceKey: 'file:///home/dev/shop', windowMs: 300_000 });
  });

  it('lists the workers in the toolkit data grid, the defunct and the leaked ones marked', async () => {
    const page = await load();
    await page.show(fixture);
    const rows = page.page.locator('vscode-data-grid-row[data-key]');
    expect(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-key')))).toEqual(fixture.workers.map((w) => w.id));
    const cell = (worker: string, column: string) =>
      page.page.locator(`vscode-data-grid-row[data-key="${worker}"] vscode-data-grid-cell[data-column="${column}"]`);

    const defunct = page.page.locator(`vscode-data-grid-row[data-key="${defunctWorker.id}"]`);
    expect(await defunct.getAttribute('class')).toContain('defunct');
    expect(await cell(defunctWorker.id, 'Worker').innerText()).toBe(`${defunctWorker.id} defunct`);
    expect(await cell(defunctWorker.id, 'PID').textContent()).toBe(String(defunctWorker.pid));
    expect(await cell(defunctWorker.id, 'Current request').textContent()).toBe('POST /upload.php');
    expect(await cell(defunctWorker.id, 'Lease age').textContent()).toMatch(/^(49|5\d) s$/);

    expect(await page.page.locator(`vscode-data-grid-row[data-key="${leakedWorker.id}"]`).getAttribute('class')).toContain('stuck');
    expect(await cell(leakedWorker.id, 'Worker').innerText()).toBe(`${leakedWorker.id} leaked`);
    expect(await cell('w1', 'Worker').innerText()).toBe('w1');
    expect(await cell(leakedWorker.id, 'Current request').textContent()).toBe('GET /report.php?year=2025');

    expect(await cell('w1', 'State').textContent()).toBe('idle');
    expect(await cell('w1', 'Accesses').textContent()).toBe(String(fixture.workers[0]!.accesses));
    expect(await cell('w14', 'State').textContent()).toBe('error (recycled-by-user)');
    // A worker already stopping cannot be killed or recycled again; one without a lease has nothing to release.
    expect(await page.page.locator('vscode-button[aria-label="Kill worker w14"]').getAttribute('disabled')).not.toBeNull();
    expect(await page.page.locator('vscode-data-grid-row[data-key="w1"] vscode-button', { hasText: 'Release' }).isHidden()).toBe(true);
    expect(await page.page.locator('vscode-button[aria-label^="Release lease"]:visible').count()).toBe(3 + 2); // 3 rows + 2 open findings
  });

  it('draws the lease timeline on a canvas: every worker a lane, the leaks hatched and outlined, in theme colours', async () => {
    const page = await load();
    await page.show(fixture);
    const canvas = page.page.locator('canvas.timeline-lanes');
    const label = (await canvas.getAttribute('aria-label')) ?? '';
    expect(label).toContain('Lease timeline, last 5 min, 9 workers:');
    expect(label).toContain('1 in progress, 2 leaked, still held');
    expect(label).toContain('Defunct: w9');
    const box = (await canvas.boundingBox())!;
    expect(box.height).toBe(9 * LANE_H);

    // Pixels: the defunct lane is tinted with the theme's error background; ok bars are the outcome palette's ok
    // colour; the leases leaked and still held are its "stuck" colour; findings are outlined in the theme's error colour.
    const light = THEMES.light.variables;
    expect(await pixel(page, GUTTER + 3, 2 * LANE_H + 1)).toBe(light['--vscode-inputValidation-errorBackground']);
    const kinds = await outcomeColours(page);
    const counts = await colourCounts(page, [kinds.ok!, kinds.stuck!, light['--vscode-errorForeground']!]);
    expect(counts[kinds.ok!]).toBeGreaterThan(100);
    expect(counts[kinds.stuck!]).toBeGreaterThan(300);
    expect(counts[light['--vscode-errorForeground']!]).toBeGreaterThan(200); // the finding outlines
  });

  it('shows a lease on hover and opens its script on click', async () => {
    const page = await load();
    await page.show(fixture);
    const box = (await page.page.locator('canvas.timeline-lanes').boundingBox())!;
    // The defunct worker's kept lease runs to "now", at the right edge of its lane (the third).
    await page.page.mouse.move(box.x + box.width - 30, box.y + 2 * LANE_H + LANE_H / 2);
    const tooltip = page.page.locator('.timeline-tooltip');
    await tooltip.waitFor({ state: 'visible' });
    const text = await tooltip.textContent();
    expect(text).toContain('POST /upload.php');
    expect(text).toContain('leaked, still held');
    expect(text).toContain(`Lease ${defunctWorker.lease!.id} · worker w9 (pid ${defunctWorker.pid})`);
    expect(text).toContain('Findings: F6 · worker defunct');
    await page.page.screenshot({ path: join(OUTPUT_DIR, 'dashboard-tooltip-light.png'), clip: { x: 0, y: 0, width: 1280, height: 520 } });
    // Off the bars: no tooltip.
    await page.page.mouse.move(box.x + GUTTER / 2, box.y + 5);
    await tooltip.waitFor({ state: 'hidden' });
    await page.page.mouse.click(box.x + box.width - 30, box.y + 2 * LANE_H + LANE_H / 2);
    expect(await page.intents()).toEqual([{ type: 'openScript', requestId: 1, path: `${DOCROOT}/upload.php` }]);
  });

  it('shows where the worker of a hovered lease is: its wait reason and PHP stack', async () => {
    const page = await load();
    const lease = defunctWorker.lease!;
    const frame = (fn: string, file: string | null, line: number | null, cls: string | null = null) => ({
      function: fn,
      class: cls,
      file,
      line,
      internal: file === null,
      type: cls ? ('->' as const) : null,
      address: '0x00007f0000001000',
    });
    const stacks = {
      [lease.id]: {
        leaseId: lease.id,
        workerId: defunctWorker.id,
        pid: defunctWorker.pid!,
        sampledAt: fixture.takenAt - 400,
        stack: [frame('fread', null, null), frame('receive', `${DOCROOT}/src/Upload.php`, 31, 'Upload'), frame('{main}', `${DOCROOT}/upload.php`, 9)],
        truncated: false,
        stackError: null,
        wait: {
          state: 'sleeping',
          syscall: 'poll',
          fd: 5,
          target: { kind: 'tcp' as const, description: 'tcp 127.0.0.1:51002 -> 127.0.0.1:3306 (ESTABLISHED)' },
          cpuMs: 12,
          sinceMs: 3_000,
        },
      },
    };
    const before = await page.renders();
    await page.post({
      type: 'snapshot',
      protocol: DASHBOARD_PROTOCOL_VERSION,
      source: { key: 'file:///home/dev/shop', label: 'shop' },
      snapshot: fixture,
      stacks,
    });
    await page.waitForRenders(before + 1);
    const box = (await page.page.locator('canvas.timeline-lanes').boundingBox())!;
    await page.page.mouse.move(box.x + box.width - 30, box.y + 2 * LANE_H + LANE_H / 2);
    const section = page.page.locator('.timeline-tooltip .tt-stack');
    await section.waitFor({ state: 'visible' });
    const lines = await section.locator('div').allTextContents();
    expect(lines[0]).toMatch(/^PHP stack, read \d+(\.\d)? m?s ago$/);
    expect(lines.slice(1)).toEqual([
      'sleeping in poll() on fd 5 (tcp 127.0.0.1:51002 -> 127.0.0.1:3306 (ESTABLISHED)) for 3.0 s; 12 ms CPU',
      'fread()  <internal>',
      'Upload->receive()  Upload.php:31',
      '{main}()  upload.php:9',
    ]);
    await page.page.screenshot({ path: join(OUTPUT_DIR, 'dashboard-tooltip-stack-light.png'), clip: { x: 0, y: 0, width: 1280, height: 560 } });
  });

  it('walks the timeline from the keyboard, starting at a leak', async () => {
    const page = await load();
    await page.show(fixture);
    const canvas = page.page.locator('canvas.timeline-lanes');
    await canvas.focus();
    const live = page.page.locator('.timeline .sr-only');
    await expect.poll(() => live.textContent()).toContain('POST /upload.php, leaked, still held, worker w9');
    await page.page.keyboard.press('Enter');
    await page.page.keyboard.press('ArrowDown');
    await expect.poll(() => live.textContent()).toContain('GET /report.php?year=2025, leaked, still held, worker w11');
    await page.page.keyboard.press('Enter');
    await page.page.keyboard.press('ArrowLeft');
    await expect.poll(() => live.textContent()).toMatch(/, ok, worker w11, lease L\d+/);
    expect(await page.intents()).toEqual([
      { type: 'openScript', requestId: 1, path: `${DOCROOT}/upload.php` },
      { type: 'openScript', requestId: 2, path: `${DOCROOT}/report.php` },
    ]);
  });

  it('sends typed intents from the table, the links and the findings, each one the host would accept', async () => {
    const page = await load();
    await page.show(fixture);
    const click = (label: string) => page.page.locator(`vscode-button[aria-label="${label}"]`).click();
    await click('Kill worker w9');
    await click('Recycle worker w1');
    await click('Reveal worker w11 in the tree');
    await click(`Release lease ${defunctWorker.lease!.id} on worker w9`);
    await page.page.locator('vscode-data-grid-row[data-key="w7"] a.request-link').click();
    const finding = (id: string) => page.page.locator(`li.finding[data-finding="${id}"]`);
    await finding('F5').locator(`vscode-button[aria-label="Release lease ${leakedWorker.lease!.id}"]`).click();
    await finding('F6').locator('vscode-button[aria-label="Reveal worker w9"]').click();
    await finding('F1').locator('vscode-button', { hasText: 'Open script' }).click();

    const intents = await page.intents();
    expect(intents).toEqual([
      { type: 'kill', requestId: 1, workerId: 'w9' },
      { type: 'recycle', requestId: 2, workerId: 'w1' },
      { type: 'revealWorker', requestId: 3, workerId: 'w11' },
      { type: 'releaseLease', requestId: 4, leaseId: defunctWorker.lease!.id },
      { type: 'openScript', requestId: 5, path: `${DOCROOT}/index.php` },
      { type: 'releaseLease', requestId: 6, leaseId: leakedWorker.lease!.id },
      { type: 'revealWorker', requestId: 7, workerId: 'w9' },
      { type: 'openScript', requestId: 8, path: `${DOCROOT}/index.php` },
    ]);
    for (const raw of intents) {
      const parsed = parseWebviewMessage(raw);
      expect(parsed.ok).toBe(true);
      if (parsed.ok && parsed.value.type !== 'ready') expect(checkIntent(parsed.value, fixture).ok).toBe(true);
    }
  });

  it('shows intent results and flashes a new finding', async () => {
    const page = await load();
    await page.show(fixture);
    const status = page.page.locator('.status');
    await page.postEvent({ kind: 'intent-result', requestId: 1, intent: 'kill', ok: false, message: 'worker w2 is no longer in the pool' });
    await expect.poll(() => status.textContent()).toBe('worker w2 is no longer in the pool');
    expect(await status.getAttribute('class')).toContain('error');
    await page.postEvent({ kind: 'intent-result', requestId: 2, intent: 'recycle', ok: true, message: 'Recycle worker w1: done' });
    await expect.poll(() => status.textContent()).toBe('Recycle worker w1: done');
    expect(await status.getAttribute('class')).not.toContain('error');

    const f6 = fixture.findings.find((f) => f.id === 'F6')!;
    await page.postEvent({ kind: 'finding', finding: f6 });
    await expect.poll(() => status.textContent()).toBe(`New finding: ${f6.message}`);
    await expect.poll(() => page.page.locator('li.finding[data-finding="F6"]').getAttribute('class')).toContain('flash');
  });

  it('restores its view state, changes the span from the toolkit dropdown, and shows when no pool runs', async () => {
    const page = await load({ state: { v: 1, sourceKey: 'file:///home/dev/shop', windowMs: 60_000 } });
    await page.show(fixture);
    const canvas = page.page.locator('canvas.timeline-lanes');
    expect(await canvas.getAttribute('aria-label')).toContain('last 1 min, 6 workers');
    await page.page.locator('vscode-dropdown').click();
    await page.page.locator('vscode-option', { hasText: 'Last 15 minutes' }).click();
    await expect.poll(() => canvas.getAttribute('aria-label')).toContain('last 15 min, 14 workers');
    expect((await page.record()).states.at(-1)).toEqual({ v: 1, sourceKey: 'file:///home/dev/shop', windowMs: 900_000 });

    await page.show(null);
    expect(await page.page.locator('.empty').textContent()).toBe('No pool is running here. Start one with the command “FastCGI: Start Pool”.');
    expect(await page.page.locator('.body').isHidden()).toBe(true);
    await page.page.screenshot({ path: join(OUTPUT_DIR, 'dashboard-no-pool-light.png'), clip: { x: 0, y: 0, width: 1280, height: 200 } });
  });

  it('renders at most four times a second however often snapshots come', async () => {
    const page = await load();
    await page.show(fixture);
    const before = await page.renders();
    const started = Date.now();
    for (let i = 1; i <= 40; i++) {
      await page.postSnapshot({ ...fixture, version: fixture.version + i });
      await page.page.waitForTimeout(25);
    }
    await page.page.waitForTimeout(300);
    const elapsed = Date.now() - started;
    const renders = (await page.renders()) - before;
    // One per 250 ms, plus the trailing one (the 1 s age ticker falls within).
    expect(renders).toBeLessThanOrEqual(Math.ceil(elapsed / 250) + 1);
    expect(renders).toBeGreaterThanOrEqual(2);
  });

  for (const kind of ['light', 'dark', 'high-contrast'] as const) {
    it(`follows the ${kind} theme (screenshot dashboard-${kind}.png)`, async () => {
      const page = await load({ theme: kind });
      await page.show(fixture);
      const theme = THEMES[kind];
      const background = await page.page
        .locator('body')
        .evaluate(
          (body) =>
            (body.ownerDocument.defaultView as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(body).backgroundColor,
        );
      expect(background).toBe(rgb(theme.variables['--vscode-editor-background']!));
      expect(await pixel(page, GUTTER + 3, 2 * LANE_H + 1)).toBe(theme.variables['--vscode-inputValidation-errorBackground']);
      await page.page.screenshot({ path: join(OUTPUT_DIR, `dashboard-${kind}.png`), fullPage: true });
    });
  }

  it('gives every lease outcome a colour of its own, distinct from the others and readable on the background, in light, dark and high contrast', async () => {
    const page = await load();
    await page.show(fixture);
    const legend = await page.page.locator('ul.legend li').allInnerTexts();
    expect(legend.slice(0, BAR_KINDS.length)).toEqual(BAR_KINDS.map((kind) => KIND_LABELS[kind]));
    for (const kind of ['light', 'dark', 'high-contrast'] as const) {
      await page.setTheme(kind);
      const colours = await outcomeColours(page);
      const background = THEMES[kind].variables['--vscode-editor-background']!;
      expect(Object.keys(colours).sort()).toEqual([...BAR_KINDS].sort());
      for (const [a, ca] of Object.entries(colours)) {
        expect(contrastRatio(ca, background), `${kind}: ${a} ${ca} on ${background}`).toBeGreaterThanOrEqual(3);
        for (const [b, cb] of Object.entries(colours)) {
          if (a < b) expect(deltaE(ca, cb), `${kind}: ${a} ${ca} vs ${b} ${cb}`).toBeGreaterThanOrEqual(20);
        }
      }
    }
    // The pair the issue named: VS Code's chart yellow and orange, which these replace, were too close to tell apart.
    expect(deltaE(THEMES.light.variables['--vscode-charts-yellow']!, THEMES.light.variables['--vscode-charts-orange']!)).toBeLessThan(20);
  });

  for (const width of [1400, 700, 520]) {
    it(`fits the worker table in ${width} px: Kill and Release in view, no value cut without an ellipsis, the whole value on hover (dashboard-${width}.png)`, async () => {
      const page = await load({ viewport: { width, height: 900 } });
      const long = '/slow?ms=15000&report=quarterly-revenue-by-region-and-product-line';
      const original = fixture.workers.find((w) => w.lease !== null && !w.defunct && w.findingIds.length === 0)!;
      const busy = { ...original, lease: { ...original.lease!, method: 'GET', uri: long } };
      await page.show({ ...fixture, workers: fixture.workers.map((w) => (w.id === busy.id ? busy : w)) });
      const box = page.page.locator('.grid-scroll');
      const fits = await box.evaluate((e) => e.scrollWidth <= e.clientWidth + 1);
      expect(fits, 'no horizontal scrolling').toBe(true);
      for (const label of [`Kill worker ${busy.id}`, `Release lease ${busy.lease.id} on worker ${busy.id}`]) {
        const button = (await page.page.locator(`vscode-button[aria-label="${label}"]`).boundingBox())!;
        expect(button, label).not.toBeNull();
        expect(button.x, label).toBeGreaterThanOrEqual(0);
        expect(button.x + button.width, label).toBeLessThanOrEqual(width);
      }
      // Every visible cell: either its text fits, or it ends in an ellipsis and its title holds all of it.
      const cells = await page.page.locator('vscode-data-grid-cell:not([hidden])').evaluateAll((elements) =>
        elements.map((e) => {
          const view = e.ownerDocument.defaultView as unknown as {
            getComputedStyle(x: unknown): { textOverflow: string; whiteSpace: string; overflowX: string; display: string };
          };
          const style = view.getComputedStyle(e);
          const link = e.querySelector('a.request-link') as unknown as { title: string; hidden: boolean } | null;
          const el = e as unknown as { scrollWidth: number; clientWidth: number; title: string; innerText: string; getAttribute(n: string): string | null };
          return {
            column: el.getAttribute('data-column') ?? el.getAttribute('title') ?? '',
            cut: el.scrollWidth > el.clientWidth + 1,
            ellipsis: style.textOverflow === 'ellipsis' && style.whiteSpace === 'nowrap' && style.overflowX === 'hidden',
            text: el.innerText.replace(/\s+/g, ' ').trim(),
            title: link && !link.hidden ? link.title : el.title,
            hasButtons: e.querySelector('vscode-button') !== null,
          };
        }),
      );
      for (const cell of cells) {
        if (cell.hasButtons || cell.text === '') continue;
        expect(cell.ellipsis, `${cell.column}: "${cell.text}"`).toBe(true);
        // The first line of the hover starts with all of what the cell shows (the Worker cell adds what narrow tables leave out).
        expect(cell.title.split('\n')[0]?.startsWith(cell.text), `${cell.column}: "${cell.text}" vs title "${cell.title}"`).toBe(true);
      }
      const request = cells.find((cell) => cell.text === `GET ${long}`)!;
      expect(request.title).toBe(`GET ${long}\nClick to open ${busy.lease.scriptFilename}`);
      // At 1400 px the long request still does not fit its column: the case the ellipsis is for.
      expect(request.cut).toBe(true);
      const shown = await page.page.locator('vscode-data-grid-row[row-type="header"] vscode-data-grid-cell:not([hidden])').allTextContents();
      expect(shown).toEqual(
        width >= 1400
          ? ['Worker', 'PID', 'State', 'Accesses', 'Age', 'Current request', 'Lease age', 'Actions']
          : width >= 700
            ? ['Worker', 'PID', 'State', 'Current request', 'Actions']
            : ['Worker', 'State', 'Current request', 'Actions'],
      );
      await page.page.screenshot({ path: join(OUTPUT_DIR, `dashboard-${width}.png`), fullPage: true });
    });
  }

  it('repaints the canvas when VS Code switches the theme under it', async () => {
    const page = await load({ theme: 'light' });
    await page.show(fixture);
    expect(await pixel(page, GUTTER + 3, 2 * LANE_H + 1)).toBe(THEMES.light.variables['--vscode-inputValidation-errorBackground']);
    await page.setTheme('dark');
    await expect.poll(() => pixel(page, GUTTER + 3, 2 * LANE_H + 1)).toBe(THEMES.dark.variables['--vscode-inputValidation-errorBackground']);
  });
});

function clock(epoch: number): string {
  const d = new Date(epoch);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** `#1e1e1e` → `rgb(30, 30, 30)`. */
function rgb(hex: string): string {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgb(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255})`;
}

interface PixelCanvas {
  width: number;
  height: number;
  clientWidth: number;
  ownerDocument: { createElement(tag: 'canvas'): PixelCanvas };
  getContext(
    type: '2d',
    options?: { willReadFrequently: boolean },
  ): {
    drawImage(source: unknown, x: number, y: number): void;
    getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
  };
}

/** The lanes canvas's colour at CSS pixel (x, y), as `#rrggbb` (read from a copy: no readback on the page's canvas). */
async function pixel(page: DashboardPage, x: number, y: number): Promise<string> {
  return page.page.locator('canvas.timeline-lanes').evaluate(
    (element, [px, py]) => {
      const canvas = element as unknown as PixelCanvas;
      const copy = canvas.ownerDocument.createElement('canvas');
      copy.width = canvas.width;
      copy.height = canvas.height;
      const ctx = copy.getContext('2d', { willReadFrequently: true });
      ctx.drawImage(canvas, 0, 0);
      const scale = canvas.width / canvas.clientWidth;
      const [r, g, b] = ctx.getImageData(Math.round(px! * scale), Math.round(py! * scale), 1, 1).data;
      return '#' + [r, g, b].map((v) => v!.toString(16).padStart(2, '0')).join('');
    },
    [x, y],
  );
}

/** How many canvas pixels have exactly each of these colours. */
async function colourCounts(page: DashboardPage, colours: string[]): Promise<Record<string, number>> {
  return page.page.locator('canvas.timeline-lanes').evaluate((element, wanted) => {
    const canvas = element as unknown as PixelCanvas;
    const copy = canvas.ownerDocument.createElement('canvas');
    copy.width = canvas.width;
    copy.height = canvas.height;
    const ctx = copy.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(canvas, 0, 0);
    const data = ctx.getImageData(0, 0, copy.width, copy.height).data;
    const counts: Record<string, number> = Object.fromEntries(wanted.map((w) => [w, 0]));
    for (let i = 0; i < data.length; i += 4) {
      const hex = '#' + [data[i]!, data[i + 1]!, data[i + 2]!].map((v) => v.toString(16).padStart(2, '0')).join('');
      if (hex in counts) counts[hex]!++;
    }
    return counts;
  }, colours);
}

/** The lease outcome colours (`--kind-*`) as the page resolves them now, as `#rrggbb`. */
async function outcomeColours(page: DashboardPage): Promise<Record<string, string>> {
  const values = await page.page.evaluate(
    (kinds) => {
      const view = globalThis as unknown as { document: { body: unknown }; getComputedStyle(e: unknown): { getPropertyValue(n: string): string } };
      const style = view.getComputedStyle(view.document.body);
      return Object.fromEntries(kinds.map((kind) => [kind, style.getPropertyValue(`--kind-${kind}`).trim().toLowerCase()]));
    },
    [...BAR_KINDS],
  );
  return values;
}

function channels(hex: string): [number, number, number] {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function linear(channel: number): number {
  const c = channel / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

/** WCAG 2 contrast ratio of two `#rrggbb` colours. */
function contrastRatio(a: string, b: string): number {
  const luminance = (hex: string) => {
    const [r, g, bl] = channels(hex).map(linear) as [number, number, number];
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** CIE76 colour difference of two `#rrggbb` colours (sRGB → CIELAB, D65). */
function deltaE(a: string, b: string): number {
  const lab = (hex: string): [number, number, number] => {
    const [r, g, bl] = channels(hex).map(linear) as [number, number, number];
    const x = (0.4124 * r + 0.3576 * g + 0.1805 * bl) / 0.95047;
    const y = 0.2126 * r + 0.7152 * g + 0.0722 * bl;
    const z = (0.0193 * r + 0.1192 * g + 0.9505 * bl) / 1.08883;
    const f = (t: number) => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116);
    return [116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))];
  };
  const [l1, a1, b1] = lab(a);
  const [l2, a2, b2] = lab(b);
  return Math.hypot(l1 - l2, a1 - a2, b1 - b2);
}
