/**
 * Variables a worker inherits from the manager. Everything else is left out,
 * like PHP-FPM's `clear_env = yes`: the editor's environment holds tokens and
 * settings (VSCODE_*, NODE_OPTIONS, cloud credentials) that have no business
 * in every PHP app's $_SERVER.
 */
const INHERITED = new Set(['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'TEMP', 'TMP', 'SYSTEMROOT', 'WINDIR', 'COMSPEC', 'PATHEXT']);

/**
 * Prefixes that are passed on: `LC_*` (locale), `PHPRC` and `PHP_INI_SCAN_DIR`
 * (which php.ini php-cgi reads), and `FASTCGI_POOL_*` (our own namespace, for
 * anyone who needs to mark or trace the workers).
 */
const INHERITED_PREFIXES = ['LC_', 'PHPRC', 'PHP_INI_SCAN_DIR', 'FASTCGI_POOL_'];

/**
 * A worker's environment: the inherited subset of `source`, then `extra` on
 * top. Windows spells its variables as it likes (`Path`, `SystemRoot`) and
 * matches them without regard to case; so does this, there.
 */
export function workerEnvironment(
  source: NodeJS.ProcessEnv,
  extra: Readonly<Record<string, string | undefined>>,
  os: string = process.platform,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(source)) {
    if (value === undefined) continue;
    const key = os === 'win32' ? name.toUpperCase() : name;
    if (INHERITED.has(key) || INHERITED_PREFIXES.some((prefix) => key.startsWith(prefix))) env[name] = value;
  }
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}
