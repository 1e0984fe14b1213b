/**
 * Live reload end to end: `fastcgi-pool serve --live-reload` on a copy of the
 * example app, the app open in headless Chromium, files changed on disk the
 * way an editor saves them. Page loads are counted by the browser's own
 * `load` events. No fixed sleeps: every "this did not happen" is proven by a
 * later event that would have been merged with it (a barrier), or by the
 * server's counters.
 *
 * Needs Chromium (Debian `chromium`, or $CHROMIUM); skipped without it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phpCgi } from '../support/helpers';
import { blockFor, findChromium, LiveReloadSession, type LiveStatus } from '../support/liveBrowser';

const chromiumPath = findChromium();
if (!chromiumPath) console.warn('live-reload-browser: no chromium (install Debian chromium or set CHROMIUM): skipped');

describe.skipIf(!chromiumPath)('live reload in headless Chromium against the example app', () => {
  let session: LiveReloadSession;
  const TAG_SELECTOR = 'script[src="/.fastcgi-pool/live.js"]';

  beforeAll(async () => {
    session = await LiveReloadSession.start({ phpCgi });
  }, 30_000);

  afterAll(async () => {
    await session?.close();
  }, 30_000);

  /** Appends to a template of the example app. */
  const editHome = (marker: string): void => session.write('src/pages/home.php', `${session.read('src/pages/home.php')}\n<p class="edit">${marker}</p>\n`);
  const bodyText = (): Promise<string> => session.page.locator('body').innerText();

  it('opens the page with the script once, and the page listens', async () => {
    expect(session.loads).toBe(1);
    expect(await session.page.locator(TAG_SELECTOR).count()).toBe(1);
    expect((await session.status()).clients).toBe(1);
  });

  it('a PHP change reloads the page once, and the reloaded page runs the code just saved', async () => {
    const before = await session.status();
    editHome('edited-once');
    await session.waitForLoads(2);
    await session.listening();
    expect(await bodyText()).toContain('edited-once');
    expect(await session.page.locator(TAG_SELECTOR).count()).toBe(1);
    expect((await session.status()).reloads).toBe(before.reloads + 1);
  });

  it('a CSS change does not navigate: the stylesheet is swapped in place and the new style applies', async () => {
    const loads = session.loads;
    const before = await session.status();
    // State that a navigation would lose.
    await session.page.evaluate("window.keep = 'same document'");
    session.write('assets/style.css', `${session.read('assets/style.css')}\nbody { background-color: rgb(12, 34, 56); }\n`);
    await session.page.waitForFunction("getComputedStyle(document.body).backgroundColor === 'rgb(12, 34, 56)'", undefined, { timeout: 10_000 });
    expect(await session.page.evaluate('window.keep')).toBe('same document');
    expect(session.loads).toBe(loads);
    expect(await session.status()).toMatchObject({ reloads: before.reloads, stylesheetSwaps: before.stylesheetSwaps + 1 });
    // One stylesheet link again once the new one has loaded (the old one is removed).
    await session.page.waitForFunction('document.querySelectorAll(\'link[rel="stylesheet"]\').length === 1');
  });

  it('20 saves in 100 ms reload the page once', async () => {
    const original = session.read('src/pages/home.php');
    // The scenario is 20 saves within 100 ms. On a loaded machine this process can be
    // descheduled mid-burst; a burst that took longer is not that scenario (its pause
    // is a real pause, after which a reload is right), so it is waited out and run again.
    for (let attempt = 1; ; attempt++) {
      const loads = session.loads;
      const before = await session.status();
      const started = performance.now();
      for (let i = 0; i < 20; i++) {
        session.write('src/pages/home.php', `${original}\n<p class="burst">save ${attempt}-${i}</p>\n`);
        if (i < 19) blockFor(2);
      }
      const span = performance.now() - started;
      if (span > 100) {
        if (attempt === 5)
          throw new Error(`five bursts of 20 saves each took over 100 ms (the last ${span.toFixed(0)} ms): the machine is too busy for this scenario`);
        await session.page.waitForFunction(`document.body.innerText.includes('save ${attempt}-19')`, undefined, { timeout: 10_000 });
        await session.listening();
        continue;
      }
      await session.waitForLoads(loads + 1);
      await session.listening();
      expect(await bodyText()).toContain(`save ${attempt}-19`);
      // Barrier: a stylesheet change now. Had any save of the burst still been
      // pending, it would have merged with it into a reload (another load);
      // a second reload of the burst would show in the counter.
      session.write('assets/style.css', `${session.read('assets/style.css')}\nbody { background-color: rgb(65, 43, ${20 + attempt}); }\n`);
      await session.page.waitForFunction(`getComputedStyle(document.body).backgroundColor === 'rgb(65, 43, ${20 + attempt})'`, undefined, { timeout: 10_000 });
      const after: LiveStatus = await session.status();
      expect(session.loads).toBe(loads + 1);
      expect(after).toMatchObject({ reloads: before.reloads + 1, stylesheetSwaps: before.stylesheetSwaps + 1 });
      return;
    }
  });

  it('a JSON response and a download are byte-identical with live reload on and off', async () => {
    // Off: the same app through a second CLI without --live-reload (same bytes on disk).
    const off = await LiveReloadSession.start({ phpCgi, liveReload: false, browser: session.browser });
    try {
      for (const target of ['/api/users', '/api/users/2']) {
        const [on, plain] = await Promise.all([session, off].map(async (s) => (await (await s.browser.newPage()).goto(new URL(target, s.url).href))?.body()));
        expect(on?.equals(plain as Buffer), target).toBe(true);
      }
      const [on, plain] = await Promise.all([session, off].map((s) => s.download('/download')));
      expect(on.length).toBeGreaterThan(0);
      expect(on.equals(plain), 'the downloaded report').toBe(true);
      expect(on.toString()).not.toContain('fastcgi-pool');
    } finally {
      await off.close();
    }
  });

  it('a chunked PHP page whose </body> is split across two chunks gets the tag once, and listens', async () => {
    const loads = session.loads;
    await session.page.goto(new URL('/chunked', session.url).href);
    await session.waitForLoads(loads + 1);
    await session.listening();
    expect(await session.page.locator(TAG_SELECTOR).count()).toBe(1);
    expect(await session.page.content()).toMatch(/<script src="\/\.fastcgi-pool\/live\.js" async=""><\/script>\s*<\/body>/);
    session.write('src/pages/chunked.php', `${session.read('src/pages/chunked.php')}\n<p>chunked edited</p>\n`);
    await session.waitForLoads(loads + 2);
    expect(await bodyText()).toContain('chunked edited');
  });
});
