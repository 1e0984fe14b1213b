import { readdirSync } from 'node:fs';
import { posix, win32 } from 'node:path';
import { DEFAULTS } from '../shared/defaults';
import { OptionError } from '../shared/options';
import { isExecutable as executableOnDisk } from './spawnWorker';

/** Where the php-cgi in use was found. */
export type PhpCgiSource = 'configured' | 'path' | 'beside-php' | 'well-known';

export interface DiscoveredPhpCgi {
  readonly path: string;
  readonly source: PhpCgiSource;
}

/** What discovery looks at; the defaults are this machine's. */
export interface PhpCgiSearch {
  /** `--php-cgi` / `fastcgiPool.phpCgiPath`: the default (`php-cgi`) means "find it". */
  readonly configured: string;
  /** The PATH the workers get. */
  readonly pathEnv: string;
  /** `php` executables the editor knows of (`php.validate.executablePath`, `php.executablePath`): php-cgi usually sits beside. */
  readonly phpExecutables?: readonly string[];
  readonly os?: string;
  /** %LOCALAPPDATA%, %USERPROFILE%, %SCOOP% on Windows. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Whether a file exists and may be run (a fake in tests). */
  readonly isExecutable?: (path: string) => boolean;
  /** A folder's entries (a fake in tests); [] when it does not exist. */
  readonly list?: (dir: string) => string[];
}

/**
 * Finds php-cgi: the configured path when one is set (and only there: a
 * wrong explicit path is an error, not a reason to run another PHP); else
 * `php-cgi` on PATH; else beside the `php` the editor's PHP settings name;
 * else where the usual installers put it (Homebrew on macOS; C:\php,
 * Laragon, XAMPP, Scoop, winget, Chocolatey on Windows). Throws an
 * OptionError naming `phpCgi`, with this OS's install command, when there
 * is none.
 */
export function discoverPhpCgi(search: PhpCgiSearch): DiscoveredPhpCgi {
  const os = search.os ?? process.platform;
  const path = os === 'win32' ? win32 : posix;
  const isExecutable = search.isExecutable ?? executableOnDisk;
  const list = search.list ?? listDir;
  const names = os === 'win32' ? ['php-cgi.exe', 'php-cgi'] : ['php-cgi'];
  const onPath = (command: string): string | null => {
    if (command.includes('/') || (os === 'win32' && command.includes('\\'))) return isExecutable(command) ? command : null;
    const variants = os === 'win32' && !/\.exe$/i.test(command) ? [`${command}.exe`, command] : [command];
    for (const dir of search.pathEnv.split(os === 'win32' ? ';' : ':')) {
      if (!dir) continue;
      for (const name of variants) {
        const candidate = path.join(dir, name);
        if (isExecutable(candidate)) return candidate;
      }
    }
    return null;
  };

  if (search.configured !== DEFAULTS.phpCgi) {
    const found = onPath(search.configured);
    if (found) return { path: found, source: 'configured' };
    throw new OptionError(`php-cgi not found: "${search.configured}". ${installHint(os)} or set the path to php-cgi`, 'phpCgi');
  }
  const found = onPath(DEFAULTS.phpCgi);
  if (found) return { path: found, source: 'path' };
  for (const php of search.phpExecutables ?? []) {
    if (!php) continue;
    const resolved = onPath(php);
    if (!resolved) continue;
    for (const name of names) {
      const candidate = path.join(path.dirname(resolved), name);
      if (isExecutable(candidate)) return { path: candidate, source: 'beside-php' };
    }
  }
  for (const candidate of wellKnown(os, search.env ?? process.env, list)) {
    if (isExecutable(candidate)) return { path: candidate, source: 'well-known' };
  }
  throw new OptionError(
    `php-cgi not found on PATH${os === 'darwin' ? ', in /opt/homebrew/bin or /usr/local/bin' : os === 'win32' ? ' or in C:\\php, Laragon, XAMPP, Scoop or winget’s folders' : ''}. ${installHint(os)} or set the path to php-cgi`,
    'phpCgi',
  );
}

/** One sentence: how to install php-cgi on this OS. */
export function installHint(os: string = process.platform): string {
  switch (os) {
    case 'darwin':
      return 'Install it with Homebrew: brew install php (php-cgi comes with it)';
    case 'win32':
      return 'Install it: winget install PHP.PHP.8.3 (php-cgi.exe comes with it), or unzip PHP from windows.php.net into C:\\php,';
    default:
      return 'Install it (Debian/Ubuntu: sudo apt-get install php-cgi; Fedora: sudo dnf install php-cli; macOS: brew install php)';
  }
}

/** Where installers put php-cgi, in the order they are tried. */
function wellKnown(os: string, env: Readonly<Record<string, string | undefined>>, list: (dir: string) => string[]): string[] {
  if (os === 'darwin') return ['/opt/homebrew/bin/php-cgi', '/usr/local/bin/php-cgi', '/opt/local/bin/php-cgi'];
  if (os !== 'win32') return ['/usr/local/bin/php-cgi', '/usr/bin/php-cgi'];
  const j = win32.join;
  const versioned = (dir: string, prefix: string): string[] =>
    list(dir)
      .filter((name) => name.toLowerCase().startsWith(prefix))
      .sort()
      .reverse()
      .map((name) => j(dir, name, 'php-cgi.exe'));
  const candidates = [j('C:\\php', 'php-cgi.exe')];
  candidates.push(...versioned('C:\\laragon\\bin\\php', 'php-'));
  candidates.push(j('C:\\xampp', 'php', 'php-cgi.exe'));
  const scoop = env.SCOOP ?? (env.USERPROFILE ? j(env.USERPROFILE, 'scoop') : null);
  if (scoop) candidates.push(j(scoop, 'apps', 'php', 'current', 'php-cgi.exe'));
  if (env.LOCALAPPDATA) candidates.push(...versioned(j(env.LOCALAPPDATA, 'Microsoft', 'WinGet', 'Packages'), 'php.php.'));
  candidates.push(...versioned('C:\\tools', 'php'));
  return candidates;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
