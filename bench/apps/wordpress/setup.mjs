// WordPress for the page-load benchmark (bench/pages.mjs --apps wordpress):
// Debian's packaged WordPress with a private MariaDB, as
// test/integration/wordpress.test.ts serves it, with two differences. The
// package's symlinks (into /usr/share/javascript and /usr/share/php, and
// wp-content's themes and plugins back into /usr/share/wordpress) are
// resolved into the copy, so every target serves plain files that carry the
// copy's one mtime (see bench/lib/pageApps.mjs) and none depends on
// following links. And WordPress is installed from the command line
// (install.php here), before any target runs, into the one database that
// every target then serves.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { mariaDbMissing, mariaDbVersion, spawnMariaDb } from '../../lib/mariadb.mjs';

const WORDPRESS = '/usr/share/wordpress';
const WP_CONTENT = '/var/lib/wordpress/wp-content';
/** Set at install, so that the post page has a path every target routes to index.php. */
const PERMALINKS = '/%postname%/';

/** Why the WordPress app cannot run here, or null when it can. */
export function wordpressMissing() {
  if (!existsSync(join(WORDPRESS, 'wp-settings.php')) || !existsSync(WP_CONTENT)) return 'WordPress is not installed (Debian: apt-get install wordpress)';
  const modules = spawnSync('php', ['-m'], { encoding: 'utf8' });
  if (modules.status !== 0) return 'php (the CLI, which installs WordPress) is not installed (Debian: apt-get install php-cli)';
  if (!/^mysqli$/m.test(modules.stdout)) return "PHP's mysqli is not installed (Debian: apt-get install php-mysql)";
  return mariaDbMissing();
}

/** WordPress's and MariaDB's versions for the report; none when the app will be skipped. */
export function wordpressVersions() {
  if (wordpressMissing()) return {};
  const version = /\$wp_version = '([^']+)'/.exec(readFileSync(join(WORDPRESS, 'wp-includes/version.php'), 'utf8'))?.[1] ?? '?';
  return { wordpress: version, mariadb: mariaDbVersion() };
}

function wpConfig(socket) {
  const keys = ['AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY', 'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT'];
  return `<?php
// Written by bench/apps/wordpress/setup.mjs for the page-load benchmark.
define('DB_NAME', 'wp');
define('DB_USER', 'wp');
define('DB_PASSWORD', 'wp');
define('DB_HOST', 'localhost:${socket}');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
${keys.map((key) => `define('${key}', '${randomBytes(24).toString('hex')}');`).join('\n')}
$table_prefix = 'wp_';
// Every target serves this copy and this database, each on its own port: the
// site's address follows the request's Host (loopback only), so that a page's
// links and assets point to the server that sent it, and redirect_canonical()
// sends no load to another.
$bench_host = $_SERVER['HTTP_HOST'] ?? 'localhost';
define('WP_HOME', 'http://' . $bench_host);
define('WP_SITEURL', 'http://' . $bench_host);
// No work behind the measured loads' backs: wp-cron would fire a request to
// wp-cron.php from some page loads (php -S, one request at a time, would
// serve it in the middle of a load); no update checks (no internet here).
define('DISABLE_WP_CRON', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
if (!defined('ABSPATH')) define('ABSPATH', __DIR__ . '/');
require_once ABSPATH . 'wp-settings.php';
`;
}

/**
 * Copies WordPress into `copy`/wordpress (the document root) and writes its
 * wp-config.php for the database startWordPress() will run in `copy`/mariadb
 * (outside the document root, so no target serves its files).
 */
export function writeWordPress(copy) {
  const docroot = join(copy, 'wordpress');
  // No dotfiles, as for the other apps (Debian's .htaccess links to /etc/wordpress).
  const noDotfiles = (src) => !basename(src).startsWith('.');
  const skip = new Set([join(WORDPRESS, 'wp-content'), join(WORDPRESS, 'wp-config.php')]);
  cpSync(WORDPRESS, docroot, { recursive: true, dereference: true, filter: (src) => noDotfiles(src) && !skip.has(src) });
  cpSync(WP_CONTENT, join(docroot, 'wp-content'), { recursive: true, dereference: true, filter: noDotfiles });
  writeFileSync(join(docroot, 'wp-config.php'), wpConfig(join(copy, 'mariadb', 'mysqld.sock')));
}

/**
 * Starts the database in `copy`/mariadb and installs WordPress into it.
 * `atStop` is given the database's stop at once, so that it is stopped even
 * when this fails or the run is interrupted half-way.
 */
export async function startWordPress(copy, atStop) {
  const db = spawnMariaDb(join(copy, 'mariadb'));
  atStop(db.stop);
  await db.ready();
  db.sql("CREATE DATABASE wp; CREATE USER 'wp'@'localhost' IDENTIFIED BY 'wp'; GRANT ALL ON wp.* TO 'wp'@'localhost';");
  const install = spawnSync('php', [join(import.meta.dirname, 'install.php'), join(copy, 'wordpress'), PERMALINKS], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  let permalinks = '';
  try {
    permalinks = db.sql("SELECT option_value FROM wp.wp_options WHERE option_name = 'permalink_structure'").trim();
  } catch {
    // No table: the install failed, reported below.
  }
  if (install.status !== 0 || permalinks !== PERMALINKS) {
    throw new Error(`installing WordPress failed (php exited ${install.status}): ${`${install.stdout}${install.stderr}`.slice(-1500)}`);
  }
}
