import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, lstatSync, mkdtempSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPoolServer, type PoolServer } from '../../src/gateway/poolServer';
import { mariaDbMissing, startMariaDb, type PrivateMariaDb } from '../support/mariadb';
import { phpCgi } from '../support/helpers';

// Debian's packaged WordPress, served by the pool as it is deployed: its
// code copied as the package installs it (with the package's own symlinks
// into /usr/share/javascript and /usr/share/php), wp-content a symlink to
// /var/lib/wordpress/wp-content, whose themes and plugins are symlinks back
// into /usr/share/wordpress: every theme file is reached through links out
// of the document root. A private MariaDB on its own socket. Installed by
// posting its install form; then the front page, a login (cookie → wp-admin)
// and a pretty permalink, which WordPress offers only because
// SERVER_SOFTWARE names nginx.

const WORDPRESS = '/usr/share/wordpress';
const WP_CONTENT = '/var/lib/wordpress/wp-content';

function whyNot(): string | null {
  if (!existsSync(join(WORDPRESS, 'wp-settings.php')) || !existsSync(WP_CONTENT)) return 'WordPress is not installed (Debian: apt-get install wordpress)';
  return mariaDbMissing();
}
const skipReason = whyNot();

let base: string;
let docroot: string;
let db: PrivateMariaDb | null = null;
let server: PoolServer | null = null;
const ADMIN_PASSWORD = `pw-${randomBytes(8).toString('hex')}`;

/** A tiny cookie jar and fetch without automatic redirects. */
class Browser {
  private readonly cookies = new Map<string, string>();
  constructor(private readonly base: string) {}

  async request(
    path: string,
    init: { method?: string; form?: Record<string, string> } = {},
  ): Promise<{ status: number; location: string | null; body: string }> {
    const headers: Record<string, string> = { Cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ') };
    let body: string | undefined;
    if (init.form) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(new URL(path, this.base), { method: init.method ?? (body ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const eq = (pair as string).indexOf('=');
      const name = (pair as string).slice(0, eq).trim();
      const value = (pair as string).slice(eq + 1).trim();
      if (/expires=Thu, 01 Jan 1970|max-age=0/i.test(cookie) || value === 'deleted' || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return { status: res.status, location: res.headers.get('location'), body: await res.text() };
  }

  setCookie(name: string, value: string): void {
    this.cookies.set(name, value);
  }
}

describe.skipIf(skipReason !== null)(`Debian's WordPress through the pool${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let browser: Browser;
  let url: string;

  beforeAll(async () => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'wordpress-')));
    db = await startMariaDb(join(base, 'mariadb'));
    db.sql("CREATE DATABASE wp; CREATE USER 'wp'@'localhost' IDENTIFIED BY 'wp'; GRANT ALL ON wp.* TO 'wp'@'localhost';");

    docroot = join(base, 'wordpress');
    // The package's tree as it is, its own symlinks kept; our wp-config.php instead of Debian's
    // (which reads /etc/wordpress/config-HOST.php); wp-content where Debian keeps it.
    cpSync(WORDPRESS, docroot, { recursive: true, verbatimSymlinks: true, filter: (source) => source !== join(WORDPRESS, 'wp-content') });
    symlinkSync(WP_CONTENT, join(docroot, 'wp-content'));
    const keys = ['AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY', 'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT'];
    writeFileSync(
      join(docroot, 'wp-config.php'),
      `<?php
define('DB_NAME', 'wp');
define('DB_USER', 'wp');
define('DB_PASSWORD', 'wp');
define('DB_HOST', 'localhost:${db.socket}');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
${keys.map((key) => `define('${key}', '${randomBytes(24).toString('hex')}');`).join('\n')}
$table_prefix = 'wp_';
// No internet here: no update checks (requests to the site itself, wp-cron's, are still allowed).
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
// Uploads stay in the test's folder, not in /var/lib/wordpress.
define('UPLOADS', 'wp-uploads');
if (!defined('ABSPATH')) define('ABSPATH', __DIR__ . '/');
require_once ABSPATH . 'wp-settings.php';
`,
    );
    server = await startPoolServer({ documentRoot: docroot, pool: { phpCgi, minWorkers: 2, maxWorkers: 4 }, gateway: { port: 0 } });
    url = server.url;
    browser = new Browser(url);
  }, 120_000);

  afterAll(async () => {
    await server?.stop(1_000);
    await db?.stop();
    if (base) rmSync(base, { recursive: true, force: true });
  });

  it('is served as Debian lays it out: wp-content and the theme through symlinks out of the document root', () => {
    expect(lstatSync(join(docroot, 'wp-content')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(WP_CONTENT, 'themes/twentytwentythree'))).toMatch(/^\/usr\/share\/wordpress\//);
  });

  it('installs through its install form', async () => {
    const form = await browser.request('/wp-admin/install.php?step=1');
    expect(form.status).toBe(200);
    expect(form.body).toContain('name="weblog_title"');
    const installed = await browser.request('/wp-admin/install.php?step=2', {
      form: {
        weblog_title: 'Pool Blog',
        user_name: 'admin',
        admin_password: ADMIN_PASSWORD,
        admin_password2: ADMIN_PASSWORD,
        pw_weak: '1',
        admin_email: 'admin@example.com',
        blog_public: '0',
        language: '',
      },
    });
    expect(installed.status).toBe(200);
    expect(installed.body).toContain('WordPress has been installed');
  }, 60_000);

  it("serves its front page, and the theme's stylesheet through the symlinks", async () => {
    const home = await browser.request('/');
    expect(home.status).toBe(200);
    expect(home.body).toContain('Pool Blog');
    const style = await fetch(new URL('wp-content/themes/twentytwentythree/style.css', url));
    expect(style.status).toBe(200);
    expect(style.headers.get('content-type')).toMatch(/^text\/css/);
    expect(await style.text()).toContain('Theme Name: Twenty Twenty-Three');
  }, 30_000);

  it('logs in: wp-login.php sets the cookie, and wp-admin answers 200', async () => {
    browser.setCookie('wordpress_test_cookie', 'WP%20Cookie%20check');
    const login = await browser.request('/wp-login.php', {
      form: { log: 'admin', pwd: ADMIN_PASSWORD, 'wp-submit': 'Log In', redirect_to: `${url}wp-admin/`, testcookie: '1' },
    });
    expect(login.status).toBe(302);
    expect(login.location).toBe(`${url}wp-admin/`);
    const dashboard = await browser.request('/wp-admin/');
    expect(dashboard.status).toBe(200);
    expect(dashboard.body).toContain('Dashboard');
  }, 30_000);

  it('turned pretty permalinks on by itself at install, and they work through the front controller', async () => {
    // wp_install_maybe_enable_pretty_permalinks(): a loopback request from PHP to such a permalink,
    // through the pool (a second worker; the first runs the install), answered by index.php.
    expect(db?.sql("SELECT option_value FROM wp.wp_options WHERE option_name = 'permalink_structure'").trim()).toBe('/%year%/%monthnum%/%day%/%postname%/');
    const home = await browser.request('/');
    const permalink = new RegExp(`${url.replace(/[.:/]/g, '\\$&')}(\\d{4}/\\d{2}/\\d{2}/hello-world/)`).exec(home.body)?.[1];
    expect(permalink).toBeDefined();
    const post = await browser.request(`/${permalink as string}`);
    expect(post.status).toBe(200);
    expect(post.body).toContain('Hello world!');
  }, 30_000);

  it('offers only pretty structures in Settings → Permalinks (SERVER_SOFTWARE names nginx), and a changed one works at once', async () => {
    const page = await browser.request('/wp-admin/options-permalink.php');
    expect(page.status).toBe(200);
    // Unless got_url_rewrite() (Apache's mod_rewrite, nginx or IIS by SERVER_SOFTWARE), WordPress offers /index.php/… structures only.
    expect(page.body).toContain(`${url}sample-post/`);
    expect(page.body).not.toContain(`${url}index.php/`);
    const nonce = /name="_wpnonce" value="([0-9a-f]+)"/.exec(page.body)?.[1];
    expect(nonce).toBeDefined();
    const saved = await browser.request('/wp-admin/options-permalink.php', {
      form: {
        _wpnonce: nonce as string,
        _wp_http_referer: '/wp-admin/options-permalink.php',
        selection: '/%postname%/',
        permalink_structure: '/%postname%/',
        category_base: '',
        tag_base: '',
        submit: 'Save Changes',
      },
    });
    expect(saved.status).toBe(302);
    // The page it redirects to rebuilds the rewrite rules, as a browser following it would.
    expect((await browser.request(saved.location as string)).status).toBe(200);
    const post = await browser.request('/hello-world/');
    expect(post.status).toBe(200);
    expect(post.body).toContain('Hello world!');
    const snapshot = server?.pool.snapshot();
    expect(snapshot?.findings).toEqual([]);
    expect(snapshot?.totals.crashed).toBe(0);
  }, 30_000);
});
