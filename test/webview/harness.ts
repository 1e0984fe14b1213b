/**
 * Loads the built dashboard (dist/webview) in headless Chromium the way VS
 * Code would: the same HTML (renderDashboardHtml), the same CSP, a stub
 * `acquireVsCodeApi` injected before any script runs, VS Code's theme
 * variables on <html> and its theme class on <body>. Every CSP violation,
 * console error, page error, failed or foreign request is recorded so that a
 * test can fail on it.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createNonce, renderDashboardHtml } from '../../src/extension/dashboard/html';
import type { PoolSnapshot } from '../../src/pool/types';
import { DASHBOARD_PROTOCOL_VERSION, type DashboardEvent, type DashboardViewState, type HostToWebviewMessage } from '../../src/shared/dashboardProtocol';
import { THEMES, type Theme, type ThemeKind } from './themes';

/** The bench bundles this file elsewhere and sets FASTCGI_POOL_ROOT. */
export const REPO_ROOT = process.env.FASTCGI_POOL_ROOT ?? resolve(__dirname, '../..');
export const WEBVIEW_DIST = join(REPO_ROOT, 'dist/webview');
export const OUTPUT_DIR = join(REPO_ROOT, 'test-output/webview');

/** Debian's chromium, or $CHROMIUM. */
export function findChromium(): string | null {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((c): c is string => Boolean(c));
  return candidates.find((c) => existsSync(c)) ?? null;
}

export async function launchChromium(): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) throw new Error('no chromium: install Debian chromium or set CHROMIUM');
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json' };

/** Serves the dashboard page and dist/webview (nothing else) on 127.0.0.1. */
export class DashboardServer {
  private server: Server | null = null;
  origin = '';
  /** Requests for anything the dashboard should not ask for. */
  readonly unexpected: string[] = [];

  async start(): Promise<void> {
    const files = new Set(readdirSync(WEBVIEW_DIST));
    for (const needed of ['main.js', 'dashboard.css', 'toolkit.min.js']) {
      if (!files.has(needed)) throw new Error(`dist/webview/${needed} is missing: run npm run build first`);
    }
    this.server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/dashboard.html') {
        // A fresh nonce per load, as the panel does.
        const html = renderDashboardHtml({
          cspSource: this.origin,
          nonce: createNonce(),
          scriptUri: `${this.origin}/dist/webview/main.js`,
          styleUri: `${this.origin}/dist/webview/dashboard.css`,
          toolkitUri: `${this.origin}/dist/webview/toolkit.min.js`,
        });
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        res.end(html);
        return;
      }
      const match = /^\/dist\/webview\/([A-Za-z0-9_.-]+)$/.exec(path);
      if (match && files.has(match[1]!)) {
        res.writeHead(200, { 'content-type': TYPES[extname(match[1]!)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
        res.end(readFileSync(join(WEBVIEW_DIST, match[1]!)));
        return;
      }
      // Chromium asks for a favicon by itself; anything else is a bug.
      if (path !== '/favicon.ico') this.unexpected.push(path);
      res.writeHead(204);
      res.end();
    });
    await new Promise<void>((done) => this.server!.listen(0, '127.0.0.1', done));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((done) => server.close(() => done()));
  }
}

/** What the stub recorded in the page. */
export interface PageRecord {
  sent: Record<string, unknown>[];
  states: DashboardViewState[];
  violations: { directive: string; blocked: string; sample: string; source: string }[];
  acquired: number;
  /** Link clicks that reached the window, where VS Code would act on them. */
  linkClicks: string[];
}

export interface OpenOptions {
  theme?: ThemeKind;
  /** What getState() returns (a restored panel). */
  state?: DashboardViewState;
  viewport?: { width: number; height: number };
}

/** One loaded dashboard page, with what it sent and what went wrong. */
export class DashboardPage {
  /** Console errors, page errors, failed requests, foreign requests. */
  readonly problems: string[] = [];

  private constructor(
    readonly page: Page,
    private readonly server: DashboardServer,
  ) {}

  static async open(browser: Browser, server: DashboardServer, options: OpenOptions = {}): Promise<DashboardPage> {
    const page = await browser.newPage({ viewport: options.viewport ?? { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    const dashboard = new DashboardPage(page, server);
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') dashboard.problems.push(`console.${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => dashboard.problems.push(`page error: ${error.message}`));
    page.on('requestfailed', (request) => dashboard.problems.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`));
    page.on('request', (request) => {
      if (!request.url().startsWith(server.origin) && !request.url().startsWith('data:')) dashboard.problems.push(`foreign request: ${request.url()}`);
    });
    await page.addInitScript({ content: stubScript(THEMES[options.theme ?? 'light'], options.state) });
    await page.goto(`${server.origin}/dashboard.html`);
    await page.waitForFunction('window.__dashboardStats !== undefined');
    return dashboard;
  }

  /** Posts a host message, as the extension's webview.postMessage would. */
  async post(message: HostToWebviewMessage): Promise<void> {
    // As a JSON string: Playwright's serializer takes ~0.2 s for a 60 kB object, JSON.parse a millisecond.
    await this.page.evaluate(
      (json) => (globalThis as unknown as { postMessage(m: unknown, o: string): void }).postMessage(JSON.parse(json), '*'),
      JSON.stringify(message),
    );
  }

  async postSnapshot(snapshot: PoolSnapshot | null, source = { key: 'file:///home/dev/shop', label: 'shop' }): Promise<void> {
    await this.post({ type: 'snapshot', protocol: DASHBOARD_PROTOCOL_VERSION, source, snapshot });
  }

  async postEvent(event: DashboardEvent): Promise<void> {
    await this.post({ type: 'event', event });
  }

  /** Waits until the page has rendered at least `count` times in all. */
  async waitForRenders(count: number): Promise<void> {
    await this.page.waitForFunction((n) => (globalThis as unknown as { __dashboardStats: { renders: number } }).__dashboardStats.renders >= n, count);
  }

  async renders(): Promise<number> {
    return this.page.evaluate(() => (globalThis as unknown as { __dashboardStats: { renders: number } }).__dashboardStats.renders);
  }

  /** Posts a snapshot and waits for the render that shows it. */
  async show(snapshot: PoolSnapshot | null): Promise<void> {
    const before = await this.renders();
    await this.postSnapshot(snapshot);
    await this.waitForRenders(before + 1);
  }

  async record(): Promise<PageRecord> {
    return this.page.evaluate(() => JSON.parse(JSON.stringify((globalThis as unknown as { __dashboardTest: PageRecord }).__dashboardTest)) as PageRecord);
  }

  /** Messages the webview sent, minus `ready`. */
  async intents(): Promise<Record<string, unknown>[]> {
    return (await this.record()).sent.filter((m) => m.type !== 'ready');
  }

  async setTheme(kind: ThemeKind): Promise<void> {
    await this.page.evaluate(
      (theme) => (globalThis as unknown as { __dashboardTest: { applyTheme(t: Theme): void } }).__dashboardTest.applyTheme(theme),
      THEMES[kind],
    );
  }

  /** Everything that went wrong: CSP violations first. */
  async allProblems(): Promise<string[]> {
    const record = await this.record();
    return [
      ...record.violations.map((v) => `CSP violation: ${v.directive} blocked ${v.blocked || 'inline'} ${v.sample} at ${v.source}`),
      ...record.linkClicks.map(
        (href) => `a click on <a href="${href}"> reached the window: VS Code would ${href === '#' ? 'scroll the webview to the top' : 'open it'}`,
      ),
      ...this.problems,
      ...this.server.unexpected.map((path) => `unexpected request: ${path}`),
    ];
  }

  async close(): Promise<void> {
    await this.page.close();
  }
}

/** Runs in the page before any of its scripts: VS Code's API stub, the theme, the CSP listener. */
function stubScript(theme: Theme, state: DashboardViewState | undefined): string {
  return `(() => {
  const record = { sent: [], states: [], violations: [], acquired: 0, linkClicks: [] };
  Object.defineProperty(window, '__dashboardTest', { value: record });
  document.addEventListener('securitypolicyviolation', (e) => {
    record.violations.push({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample, source: e.sourceFile + ':' + e.lineNumber });
  });
  let state = ${JSON.stringify(state ?? null)} ?? undefined;
  // Like VS Code's: one instance per page, messages structured-cloned.
  window.acquireVsCodeApi = () => {
    if (record.acquired++ > 0) throw new Error('An instance of the VS Code API has already been acquired');
    return Object.freeze({
      postMessage: (message) => { record.sent.push(structuredClone(message)); },
      getState: () => state,
      setState: (next) => { state = structuredClone(next); record.states.push(state); return next; },
    });
  };
  // VS Code's webview frame handles every link click that reaches the window (pre/index.html,
  // handleInnerClick: href="#" scrolls to the top, others open), defaultPrevented or not.
  window.addEventListener('click', (event) => {
    for (const node of event.composedPath()) {
      if (node.tagName && node.tagName.toLowerCase() === 'a' && node.href) {
        record.linkClicks.push(node.getAttribute('href'));
        return;
      }
    }
  });
  // VS Code puts its theme variables on <html> (through the CSSOM) and the kind on <body>.
  record.applyTheme = (theme) => {
    const root = document.documentElement;
    for (const name of Array.from(root.style)) if (name.startsWith('--vscode-')) root.style.removeProperty(name);
    for (const [name, value] of Object.entries(theme.variables)) root.style.setProperty(name, value);
    document.body.classList.remove('vscode-light', 'vscode-dark', 'vscode-high-contrast');
    document.body.classList.add(theme.bodyClass);
    document.body.dataset.vscodeThemeKind = theme.bodyClass;
  };
  const theme = ${JSON.stringify(theme)};
  new MutationObserver((_, observer) => {
    if (document.body) {
      observer.disconnect();
      record.applyTheme(theme);
    }
  }).observe(document, { childList: true, subtree: true });
})();`;
}
