// Installs what the benchmark needs with apt-get, idempotently: nothing is
// installed (or even looked up) when every binary is already there.
//
// Debian's postinst scripts start services (apache2 on port 80, php-fpm,
// nginx). A policy-rc.d that answers 101 ("action forbidden") stops that;
// an existing one is kept, otherwise ours is written for the duration of the
// install and removed afterwards (the previous file, if any, restored).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, renameSync, rmSync, writeFileSync, chmodSync } from 'node:fs';

/** Binary → Debian package that provides it. */
export const REQUIRED = [
  { bin: '/usr/bin/wrk', pkg: 'wrk' },
  { bin: '/usr/sbin/nginx', pkg: 'nginx-light' },
  { bin: '/usr/bin/php-cgi', pkg: 'php-cgi' },
  { bin: 'php-fpm', pkg: 'php-fpm', find: findPhpFpm },
  { bin: '/usr/sbin/apache2', pkg: 'apache2' },
  { bin: '/usr/lib/apache2/modules/mod_fcgid.so', pkg: 'libapache2-mod-fcgid' },
];

const POLICY = '/usr/sbin/policy-rc.d';

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** /usr/sbin/php-fpmX.Y, newest first. */
export function findPhpFpm() {
  for (const v of ['8.4', '8.3', '8.2', '8.1', '8.0', '7.4']) {
    if (executable(`/usr/sbin/php-fpm${v}`)) return `/usr/sbin/php-fpm${v}`;
  }
  return executable('/usr/sbin/php-fpm') ? '/usr/sbin/php-fpm' : null;
}

export function missingPackages() {
  return REQUIRED.filter((r) => (r.find ? r.find() === null : !existsSync(r.bin))).map((r) => r.pkg);
}

/**
 * Makes sure everything is installed. Returns the packages it installed.
 * Throws with apt-get's output when the install fails.
 */
export function ensureInstalled({ log = console.error } = {}) {
  const missing = missingPackages();
  if (missing.length === 0) return [];
  if (process.getuid?.() !== 0) {
    throw new Error(`missing packages: ${missing.join(' ')}; run as root or install them: sudo apt-get install ${missing.join(' ')}`);
  }
  log(`installing ${missing.join(' ')} (apt-get, services kept from starting)`);
  const ours = '#!/bin/sh\n# written by fastcgi-pool bench/lib/install.mjs for the duration of an install\nexit 101\n';
  let backup = null;
  let wrote = false;
  const current = existsSync(POLICY) ? readFileSync(POLICY, 'utf8') : null;
  if (current === null || !/^\s*exit\s+101\s*$/m.test(current)) {
    if (current !== null) {
      backup = `${POLICY}.bench-backup`;
      renameSync(POLICY, backup);
    }
    writeFileSync(POLICY, ours);
    chmodSync(POLICY, 0o755);
    wrote = true;
  }
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    let r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env, encoding: 'utf8' });
    if (r.status !== 0 && /Unable to locate|has no installation candidate|404/.test(r.stdout + r.stderr)) {
      spawnSync('apt-get', ['update'], { env, stdio: 'ignore' });
      r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env, encoding: 'utf8' });
    }
    if (r.status !== 0) throw new Error(`apt-get install ${missing.join(' ')} failed:\n${(r.stdout + r.stderr).slice(-3000)}`);
  } finally {
    if (wrote) {
      rmSync(POLICY, { force: true });
      if (backup) renameSync(backup, POLICY);
    }
  }
  const still = missingPackages();
  if (still.length > 0) throw new Error(`still missing after install: ${still.join(' ')}`);
  return missing;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(ensureInstalled());
}

/** The first line a command prints about itself (its version), or '?'. */
function firstLineOf(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return ((r.stdout || '') + (r.stderr || '')).split('\n').find((l) => l.trim()) ?? '?';
}

/**
 * The versions of what a benchmark compares, for its report: node and the
 * servers, plus the PHP CLI (php -S) and wrk when the benchmark uses them.
 */
export function serverVersions({ phpCli = false, wrk = false } = {}) {
  return {
    node: process.version,
    nginx: firstLineOf('/usr/sbin/nginx', ['-v']).replace('nginx version: ', ''),
    phpFpm: firstLineOf(findPhpFpm() ?? 'php-fpm', ['-v']).split(' (')[0],
    phpCgi: firstLineOf('/usr/bin/php-cgi', ['-v']).split(' (')[0],
    ...(phpCli ? { phpCli: firstLineOf('php', ['-v']).split(' (')[0] } : {}),
    apache: firstLineOf('/usr/sbin/apache2', ['-v']).replace('Server version: ', ''),
    ...(wrk ? { wrk: firstLineOf('/usr/bin/wrk', ['-v']).split(' [')[0] } : {}),
  };
}
