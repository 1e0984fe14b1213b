/**
 * Live reload as a developer meets it: `fastcgi-pool serve --live-reload`
 * (the built CLI, with its real file watcher) on a temp copy of the example
 * app, and the app open in headless Chromium. Used by the browser test
 * (test/integration/live-reload-browser.test.ts) and the latency benchmark
 * (bench/live-reload.mjs), which bundles this file.
 *
 * The page is instrumented from the outside only (an init script, as a
 * browser extension would be): it records when each document's `load` event
 * fired and whether its live-reload stream has said hello, so a test can
 * wait for "the page reloaded and listens again" without sleeping.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { LIVE_RELOAD_INSTRUMENT } from './liveInstrument';

/** The repository (the benchmark bundles this file elsewhere and sets FASTCGI_POOL_ROOT). */
const REPO_ROOT = process.env.FASTCGI_POOL_ROOT ?? resolve(__dirname, '../..');

/** Debian's chromium, or $CHROMIUM; null when there is none. */
export function findChromium(): string | null {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((c): c is string => Boolean(c));
  return candidates.find((c) => existsSync(c)) ?? null;
}

/** What `/.fastcgi-pool/status` says about live reload. */
export interface LiveStatus {
  enabled: boolean;
  clients: number;
  reloads: number;
  stylesheetSwaps: number;
}

export class LiveReloadSession {
  /** Documents loaded in the page so far (the first visit is 1). */
  loads = 0;

  private constructor(
    readonly project: string,
    readonly url: string,
    readonly cli: ChildProcess,
    readonly cliOutput: { text: string },
    readonly browser: Browser,
    readonly page: Page,
    /** The browser is another session's: closing this session leaves it open. */
    private readonly sharedBrowser: boolean,
  ) {
    page.on('load', () => this.loads++);
  }

  /** Starts the CLI with `--live-reload` (unless `liveReload: false`) on a copy of examples/hello-php and opens `/` in Chromium. */
  static async start(options: { phpCgi?: string; liveReload?: boolean; browser?: Browser } = {}): Promise<LiveReloadSession> {
    const live = options.liveReload ?? true;
    const executablePath = findChromium();
    if (!executablePath) throw new Error('no chromium: install Debian chromium or set CHROMIUM');
    const project = mkdtempSync(join(tmpdir(), 'live-browser-'));
    cpSync(join(REPO_ROOT, 'examples/hello-php'), project, { recursive: true });
    const args = ['serve', project, '--port', '0', '--php-cgi', options.phpCgi ?? '/usr/bin/php-cgi', '-q', ...(live ? ['--live-reload'] : [])];
    const cli = spawn(process.execPath, [join(REPO_ROOT, 'dist/cli.js'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = { text: '' };
    cli.stdout?.on('data', (d: Buffer) => (output.text += d.toString()));
    cli.stderr?.on('data', (d: Buffer) => (output.text += d.toString()));
    let browser: Browser | null = null;
    try {
      const url = await until(
        () => /Listening on (\S+)/.exec(output.text)?.[1],
        'the CLI to listen',
        15_000,
        () => output.text,
      );
      if (live)
        await until(
          () => output.text.includes('live reload: watching') || undefined,
          'the watcher to start',
          10_000,
          () => output.text,
        );
      browser =
        options.browser ??
        (await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] }));
      const page = await browser.newPage();
      await page.addInitScript({ content: LIVE_RELOAD_INSTRUMENT });
      const session = new LiveReloadSession(project, url, cli, output, browser, page, options.browser !== undefined);
      await page.goto(url);
      if (live) await session.listening();
      return session;
    } catch (error) {
      if (!options.browser) await browser?.close();
      cli.kill('SIGTERM');
      rmSync(project, { recursive: true, force: true });
      throw error;
    }
  }

  /** Resolves once the current document's event stream has said hello (it hears the next change). */
  async listening(timeoutMs = 10_000): Promise<void> {
    await this.page.waitForFunction('window.__liveHello === true', undefined, { timeout: timeoutMs });
  }

  /** When the current document's load event fired (Date.now() in the page: the same clock as this process). */
  loadedAt(): Promise<number> {
    return this.page.evaluate<number>('window.__loadedAt ?? 0');
  }

  /** Waits until `count` documents have loaded in the page. */
  async waitForLoads(count: number, timeoutMs = 10_000): Promise<void> {
    await until(() => this.loads >= count || undefined, `${count} page loads (have ${this.loads})`, timeoutMs);
  }

  async status(): Promise<LiveStatus> {
    const status = (await (await fetch(new URL('.fastcgi-pool/status', this.url))).json()) as { gateway: { liveReload: LiveStatus } };
    return status.gateway.liveReload;
  }

  /** Navigates a new tab to `path`, which the server answers with a download; returns the saved file's bytes. */
  async download(path: string): Promise<Buffer> {
    const tab = await this.browser.newPage({ acceptDownloads: true });
    try {
      const [download] = await Promise.all([tab.waitForEvent('download'), tab.goto(new URL(path, this.url).href).catch(() => null)]);
      const saved = await download.path();
      return readFileSync(saved);
    } finally {
      await tab.close();
    }
  }

  /** Writes a file of the project (path relative to it). */
  write(path: string, content: string): void {
    writeFileSync(join(this.project, path), content);
  }

  read(path: string): string {
    return readFileSync(join(this.project, path), 'utf8');
  }

  /** Closes the browser, stops the CLI (SIGTERM: it stops its workers) and removes the copy. */
  async close(): Promise<void> {
    if (this.sharedBrowser) await this.page.close().catch(() => undefined);
    else await this.browser.close().catch(() => undefined);
    if (this.cli.exitCode === null && this.cli.signalCode === null) {
      const exited = new Promise((done) => this.cli.once('exit', done));
      this.cli.kill('SIGTERM');
      await exited;
    }
    rmSync(this.project, { recursive: true, force: true });
  }
}

/** Polls `check` every 10 ms until it gives a value; throws with `what` (and `detail`) after `timeoutMs`. */
export async function until<T>(check: () => T | undefined, what: string, timeoutMs: number, detail?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${detail ? `: ${detail()}` : ''}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Blocks this thread for `ms` (precise spacing for a burst of writes; a timer could stretch it under load). */
export function blockFor(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
