import { realpathSync, type Stats } from 'node:fs';
import { sep } from 'node:path';

/**
 * What the gateway does with a symbolic link in the document root:
 *
 * - `follow` (the default): it leads wherever it leads, as nginx
 *   (`disable_symlinks off`, its default), Apache on Debian (`FollowSymLinks`)
 *   and `php -S` have it. Laravel's `public/storage → ../storage/app/public`
 *   and Debian's packaged apps (folders linked into /var/lib/…) need it.
 * - `within-root`: a path whose real location is outside the document root
 *   is refused (403), the stricter mode, in the spirit of nginx's
 *   `disable_symlinks`.
 *
 * Either way the rules about names apply to where a link leads as well as
 * to the requested path: a hidden segment (`.env`, `.git`, `.ssh`; not
 * `.well-known`) below the point where the real path leaves the document
 * root's own path is refused, a static file whose real name is PHP source
 * or a backup of it is refused, and a script must really be a script.
 */
export type SymlinkPolicy = 'follow' | 'within-root';

/** What the checked path is served as: the rules about names differ. */
export type ServedAs = 'static' | 'script' | 'directory';

/** Why a path is refused (the 403's reason), `missing` when it went away meanwhile, or null when it may be served. */
export type LinkVerdict = string | 'missing' | null;

/**
 * Names of PHP source or an editor/backup copy of it: the extension followed
 * by the end or by anything but a letter/digit, so `x.php~`, `x.php.bak`,
 * `#x.php#` and Windows aliases of `x.php` (`x.php.`, `x.php::$DATA`) all
 * match, while `x.phpunit.xml` does not.
 */
export const SOURCE_NAME = /\.(?:php\d*|phtml|phps)(?:$|[^a-z0-9])/i;

/** What {@link checkLinks} said about a path, and about which file. */
interface Remembered {
  dev: number;
  ino: number;
  ctimeMs: number;
  checkedAt: number;
  verdict: LinkVerdict;
}

/** Answers by document root, policy and use, then path. */
const byRoot = new Map<string, Map<string, Remembered>>();
/** An answer is reused for at most this long. */
const TTL_MS = 1_000;
/** Per root; the map is emptied when full, so random URLs cannot grow it without bound. */
const MAX_PATHS = 1_000;

/**
 * {@link checkLinks}, remembered: realpath() costs a readlink() per path
 * component (~15 µs per request on a 2-core VM, a tenth of the gateway's
 * whole cost for hello.php). An answer is reused only while the path still
 * leads to the very same file (device, inode) with an unchanged ctime (which
 * a rename of the file, a new hard link or a chmod updates), and for at most
 * a second. A path whose file was replaced by a symlink, or whose directory
 * now is one, leads to another inode and is checked again at once.
 */
export function checkLinksCached(root: string, fsPath: string, st: Stats, policy: SymlinkPolicy, as: ServedAs, scriptExtension: string): LinkVerdict {
  const key = `${policy}:${as}:${root}`;
  let byPath = byRoot.get(key);
  if (byPath === undefined) {
    if (byRoot.size >= 64) byRoot.clear();
    byPath = new Map();
    byRoot.set(key, byPath);
  }
  const now = Date.now();
  const known = byPath.get(fsPath);
  if (known !== undefined && known.ino === st.ino && known.dev === st.dev && known.ctimeMs === st.ctimeMs && now - known.checkedAt < TTL_MS) {
    return known.verdict;
  }
  const verdict = checkLinks(root, fsPath, policy, as, scriptExtension);
  // Missing: the file went away between stat and realpath; nothing to remember.
  if (verdict !== 'missing') {
    if (byPath.size >= MAX_PATHS) byPath.clear();
    byPath.set(fsPath, { dev: st.dev, ino: st.ino, ctimeMs: st.ctimeMs, checkedAt: now, verdict });
  }
  return verdict;
}

/** Where `fsPath` really leads, judged by `policy` and the rules about names (see {@link SymlinkPolicy}). */
function checkLinks(root: string, fsPath: string, policy: SymlinkPolicy, as: ServedAs, scriptExtension: string): LinkVerdict {
  let real: string;
  try {
    real = realpathOf(fsPath);
  } catch (error) {
    if (isMissing(error)) return 'missing';
    throw error;
  }
  // No link on the way: the requested path, already checked, is the real one.
  if (real === fsPath) return null;
  // root is '' for a document root of '/': everything is inside.
  const inside = root === '' || real === root || real.startsWith(root + sep);
  if (!inside && policy === 'within-root') return 'a symbolic link leads outside the document root';
  const hidden = hiddenSegment(root, real);
  if (hidden !== null) return `a symbolic link leads to "${hidden}", a hidden path segment; files whose names start with a dot are never served`;
  const name = real.slice(real.lastIndexOf(sep) + 1);
  if (as === 'static' && SOURCE_NAME.test(name))
    return `a symbolic link leads to "${name}", which looks like PHP source or a backup of it; it is never served as a file`;
  if (as === 'script' && !name.endsWith(scriptExtension)) return `a symbolic link makes "${name}", which is not a ${scriptExtension} file, run as a script`;
  return null;
}

/**
 * The first hidden segment of `real` below the deepest folder it shares
 * with the document root: `/app/.env` for a root of `/app/public` is
 * hidden, but a root and its linked folders inside `~/.local/…` are not
 * refused for the part they share.
 */
function hiddenSegment(root: string, real: string): string | null {
  const rootParts = root.split(sep);
  const parts = real.split(sep);
  let shared = 0;
  while (shared < rootParts.length && shared < parts.length && rootParts[shared] === parts[shared]) shared++;
  for (let i = shared; i < parts.length; i++) {
    const segment = parts[i] as string;
    if (segment.startsWith('.') && segment !== '.well-known') return segment;
  }
  return null;
}

/** libc realpath(3) is one call; Node's JS version walks every component, but is the safer one on Windows. */
const realpathOf: (p: string) => string = process.platform === 'win32' ? (p) => realpathSync(p) : (p) => realpathSync.native(p);

/** ENOENT and friends: as good as missing (ELOOP: a symlink cycle; ENAMETOOLONG: cannot exist). */
export function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG' || code === 'ELOOP';
}
