import { isUtf8 } from 'node:buffer';
import { statSync, type Stats } from 'node:fs';
import { sep } from 'node:path';
import { checkLinksCached, isMissing, SOURCE_NAME, type ServedAs, type SymlinkPolicy } from './symlinks';

export type { SymlinkPolicy } from './symlinks';

/**
 * Maps a request-target to what the gateway should do with it, the way nginx
 * does for the usual PHP server block:
 *
 * ```nginx
 * root DOC;
 * index index.php index.html;
 * location / { try_files $uri $uri/ /index.php?$query_string; }
 * location ~ [^/]\.php(/|$) {
 *     fastcgi_split_path_info ^(.+?\.php)(/.*)$;
 *     if (!-f $document_root$fastcgi_script_name) { return 404; }
 *     fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
 *     fastcgi_param PATH_INFO $fastcgi_path_info;
 * }
 * ```
 *
 * Rules, in the order they are applied. "nginx:" marks behaviour checked
 * against nginx 1.22.1 + PHP-FPM 8.2 (test/support/nginxFpm.ts); "ours:" marks
 * a deliberate difference, always in the safer direction.
 *
 * 1. Request-target form. Only origin-form (`/path?query`) is accepted.
 *    ours: absolute-form (`http://host/path`) is a bad request. nginx accepts
 *    it and takes $host from it, so the Host header the allow-list checked
 *    would no longer be the host the app sees; only proxies receive
 *    absolute-form, and browsers never send it to an origin server.
 *    nginx: `*` (asterisk-form) and a target without a leading `/` → 400.
 * 2. Fragment and query. nginx: a `#` ends the URI: the fragment is dropped
 *    from the path and from QUERY_STRING, but kept in REQUEST_URI. The query
 *    is everything after the first `?`, passed raw (never decoded), so
 *    `?a=b?c=d` gives QUERY_STRING `a=b?c=d`.
 * 3. Decoding. The path is percent-decoded exactly once, so `%252e` becomes
 *    the literal name `%2e`. nginx: a malformed escape (`%zz`, `%2`) or a NUL
 *    (`%00`) → 400. ours: a decoded path that is not valid UTF-8 (`%ff`) → 400
 *    (nginx would look the bytes up and usually fall through to the front
 *    controller); any other control character (`%0a`, `%7f`, ...) → 400
 *    (nginx answers 404 for `/index.php/a%0ab` because `.` in the split regex
 *    does not match a newline: the CVE-2019-11043 shape).
 * 4. Normalisation, after decoding. nginx: `//` merges, `.` segments go
 *    away, `..` removes the previous segment, and a `..` above the root → 400.
 *    Decoded `%2e%2e` and `%2f` take part (`/a%2F..%2Fx` is `/x`). A final
 *    `.` or `..` leaves a trailing slash (`/sub/..` is `/`). A backslash is an
 *    ordinary byte, as nginx treats it on Unix: `/a\..\x` is one literal name
 *    and can never climb out of the root. ours, on Windows only: a decoded
 *    `\` or `:` → 400 (a separator there, and `x.php::$DATA` is the source).
 * 5. Dotfiles. ours: any segment that starts with `.` (`/.env`,
 *    `/.git/config`, `/x/.htaccess`, `/index.php/.env`) → 403, whether or not
 *    it exists, except `.well-known` (RFC 8615). This is the common
 *    `location ~ /\.(?!well-known) { deny all; }` rule; the bare server block
 *    above would serve them.
 * 6. Scripts. If the path has a segment ending in the script extension
 *    followed by `/` or the end (nginx: `[^/]\.php(/|$)`), the script is the
 *    path up to the first such segment and PATH_INFO the rest (nginx:
 *    `/index.php/a/b` → `/index.php` + `/a/b`; `/a.php.php` → `/a.php.php`).
 *    The script must be a regular file, else 404 (nginx: `if (!-f ...)`),
 *    never the front controller. There is no `cgi.fix_pathinfo` style
 *    fallback: `/uploads/x.jpg/y.php` names the script `/uploads/x.jpg/y.php`,
 *    which does not exist → 404; x.jpg is never run. The extension match is
 *    case-sensitive like nginx's `~`, so only `*.php` executes.
 *    A script a symbolic link leads to must be a `.php` file too (ours).
 * 7. Static files. An existing regular file is served, except that ours:
 *    PHP source and its editor/backup copies are never served (403): names
 *    whose extension part is `.php`, `.phpN`, `.phtml` or `.phps`, alone or
 *    followed by anything that is not a letter or digit (`~`, `.bak`,
 *    `.orig`, `.swp`, `.save`, `.old`, `#`, also `x.php.jpg`) — compared
 *    case-insensitively, so `/INDEX.PHP` on a case-insensitive disk is
 *    refused too. This check applies only to files that exist, so a missing
 *    `/old.php.bak` still reaches the front controller as in nginx.
 * 8. Directories. nginx: without a trailing slash → 301 to the same path
 *    plus `/` (the query kept when non-empty); ours: the Location is
 *    relative (`/sub/`), where nginx writes `http://host:listen-port/sub/`,
 *    which is wrong behind a port forward. With a slash, the index files are
 *    tried in order: a script index runs with SCRIPT_NAME `/dir/index.php`
 *    and DOCUMENT_URI `/dir/index.php`; a static index is served. nginx: a
 *    directory with no index file → 403 (try_files matched `$uri/`, then the
 *    index module finds nothing and autoindex is off), not the front
 *    controller.
 * 9. Fallback. Anything else that does not exist (including a file name
 *    with a trailing slash, `/hello.txt/`) goes to the front controller when
 *    one is configured, else 404. nginx: SCRIPT_NAME and DOCUMENT_URI are
 *    the front controller, PATH_INFO is empty, QUERY_STRING is the original
 *    query, REQUEST_URI the original target. A front controller that is not
 *    a script (`/index.html`, an SPA shell) is served as a static file.
 * 10. Symbolic links (see symlinks.ts). nginx: followed wherever they lead
 *    (`disable_symlinks off`, its default), so Laravel's `public/storage`
 *    and Debian's packaged apps work; `symlinks: 'within-root'` refuses a
 *    real path outside the root (403). ours, either way: the dotfile rule
 *    (5), the PHP-source rule (7) and "only `.php` executes" (6) also apply
 *    to where a link leads, so `public/env → ../.env` is 403.
 *
 * File system calls are synchronous on purpose, as nginx's are: on a local
 * disk stat() + realpath() take ~8 µs, while the same calls through the
 * libuv thread pool cost ~50–100 µs per request on this 2-core machine,
 * which would dominate the gateway's own overhead. The function stays async
 * so a cache or async calls can come later without changing callers.
 *
 * nginx: DOCUMENT_URI is the normalised, decoded path of the request as
 * finally routed: `/index.php/a/b c` for `/index.php/a/b%20c` (PATH_INFO
 * included), `/index.php` after a try_files fallback, `/dir/index.php` for a
 * directory index. REQUEST_URI is always the raw target.
 */
export interface ResolveConfig {
  /** Absolute and already realpath'd, so containment checks compare like with like. */
  documentRoot: string;
  /** Tried in order for a directory URL; default {@link DEFAULT_INDEX_FILES}. */
  indexFiles: readonly string[];
  /** A URL path starting with `/`, e.g. `/index.php` (try_files' last argument); null = plain 404. */
  frontController: string | null;
  /** The only extension that executes, e.g. `.php`. */
  scriptExtension: string;
  /** Symbolic links: `follow` (default) or `within-root` (rule 10). */
  symlinks: SymlinkPolicy;
}

/** nginx `index index.php index.html`. */
const DEFAULT_INDEX_FILES: readonly string[] = Object.freeze(['index.php', 'index.html']);

/** A config with the defaults above for a realpath'd document root. */
export function defaultResolveConfig(documentRoot: string): ResolveConfig {
  return { documentRoot, indexFiles: DEFAULT_INDEX_FILES, frontController: '/index.php', scriptExtension: '.php', symlinks: 'follow' };
}

/** Serve this file as is. */
export interface StaticResolution {
  kind: 'static';
  /** documentRoot + uriPath (not the symlink-resolved path, so the MIME type follows the URL). */
  filePath: string;
  /** The normalised, decoded URL path of the file. */
  uriPath: string;
  /** The stat resolve made of the file, so that serving it needs no second stat(). */
  stats: Stats;
}

/** Run this script; the fields are the CGI values nginx would send. */
export interface ScriptResolution {
  kind: 'script';
  /** SCRIPT_FILENAME: documentRoot + scriptName. */
  scriptFilename: string;
  /** SCRIPT_NAME (decoded). */
  scriptName: string;
  /** PATH_INFO (decoded), '' when none. */
  pathInfo: string;
  /** DOCUMENT_URI (decoded, normalised). */
  documentUri: string;
  /** QUERY_STRING: raw, without the fragment. */
  queryString: string;
  /** REQUEST_URI: the raw request-target. */
  requestUri: string;
}

/** Answer 301 with this Location (already percent-encoded). */
export interface RedirectResolution {
  kind: 'redirect';
  location: string;
}

/** What {@link resolveRequest} decided. */
export type Resolution =
  | StaticResolution
  | ScriptResolution
  | RedirectResolution
  | { kind: 'not-found' }
  | { kind: 'forbidden'; reason: string }
  | { kind: 'bad-request'; reason: string };

const NOT_FOUND: Resolution = Object.freeze({ kind: 'not-found' });

const WINDOWS = process.platform === 'win32';

/**
 * Resolves `rawTarget` (req.url exactly as received) against the document
 * root. Never throws for bad input; file system errors other than
 * "missing"/"not a directory"/"no permission" are rethrown (the gateway
 * answers 500).
 */
export async function resolveRequest(rawTarget: string, config: ResolveConfig): Promise<Resolution> {
  return resolveRequestSync(rawTarget, config);
}

/**
 * {@link resolveRequest} without the promise: the gateway's hot path calls
 * this directly (one microtask and two closures less per request). Throws
 * where resolveRequest rejects.
 */
export function resolveRequestSync(rawTarget: string, config: ResolveConfig): Resolution {
  if (rawTarget.charCodeAt(0) !== 0x2f /* / */) return badForm(rawTarget);

  // Rule 2: cut the fragment first, then split off the query at the first '?'.
  const hash = rawTarget.indexOf('#');
  const target = hash < 0 ? rawTarget : rawTarget.slice(0, hash);
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const queryString = q < 0 ? '' : target.slice(q + 1);

  const decoded = decodePath(rawPath);
  if (typeof decoded !== 'string') return decoded;
  const path = normalisePath(decoded);
  if (path === null) return { kind: 'bad-request', reason: `the path climbs above the document root: ${rawPath}` };

  if (WINDOWS && /[\\:]/.test(path)) {
    // On Windows a backslash is a separator and a colon opens NTFS streams
    // (`index.php::$DATA` is the source): neither may reach the file system.
    return { kind: 'bad-request', reason: 'backslashes and colons are not allowed in paths on Windows' };
  }

  const dot = findDotSegment(path);
  if (dot !== null) {
    return { kind: 'forbidden', reason: `"${dot}" is a hidden path segment; files whose names start with a dot are never served` };
  }

  // root + path must give one slash between them, also for a root of '/'.
  const root = trimTrailingSlash(config.documentRoot);
  const split = splitScript(path, config.scriptExtension);
  if (split) {
    return script(root, config, split[0], split[1], path, queryString, rawTarget);
  }

  const fsPath = root + path;
  const st = statOrNull(fsPath);
  if (st === 'forbidden') return { kind: 'forbidden', reason: `no permission to read ${path}` };
  if (st?.isFile()) return staticFile(root, config, fsPath, path, st);
  if (st?.isDirectory()) {
    const refused = links(root, fsPath, st, config, 'directory');
    if (refused) return refused;
    if (!path.endsWith('/')) {
      return { kind: 'redirect', location: encodePath(path) + '/' + (queryString ? '?' + queryString : '') };
    }
    for (const name of config.indexFiles) {
      const candidate = path + name;
      const indexSt = statOrNull(root + candidate);
      if (indexSt === null || indexSt === 'forbidden' || !indexSt.isFile()) continue;
      return name.endsWith(config.scriptExtension)
        ? script(root, config, candidate, '', candidate, queryString, rawTarget)
        : staticFile(root, config, root + candidate, candidate, indexSt);
    }
    return { kind: 'forbidden', reason: `the directory ${path} has no index file (${config.indexFiles.join(', ')}) and directory listing is off` };
  }

  // Rule 9: missing, or not a file/directory (socket, fifo).
  const front = config.frontController;
  if (front === null) return NOT_FOUND;
  if (front.endsWith(config.scriptExtension)) {
    return script(root, config, front, '', front, queryString, rawTarget);
  }
  const frontSt = statOrNull(root + front);
  if (frontSt === null || frontSt === 'forbidden' || !frontSt.isFile()) return NOT_FOUND;
  return staticFile(root, config, root + front, front, frontSt);
}

function badForm(rawTarget: string): Resolution {
  if (rawTarget === '*') return { kind: 'bad-request', reason: 'asterisk-form (OPTIONS *) is not served' };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rawTarget)) {
    return {
      kind: 'bad-request',
      reason: 'absolute-form request-targets (http://host/path) are only for proxies; send the path only',
    };
  }
  return { kind: 'bad-request', reason: 'the request-target must start with "/"' };
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/**
 * Percent-decodes once and checks the result (rule 3). Returns the decoded
 * string or a bad-request resolution.
 */
function decodePath(rawPath: string): string | Resolution {
  let plain = true;
  for (let i = 0; i < rawPath.length; i++) {
    const c = rawPath.charCodeAt(i);
    if (c === 0x25 /* % */ || c < 0x20 || c >= 0x7f) {
      plain = false;
      break;
    }
  }
  // The common case: printable ASCII without escapes needs no copying.
  if (plain) return rawPath;

  const bytes = Buffer.allocUnsafe(rawPath.length);
  let n = 0;
  for (let i = 0; i < rawPath.length; i++) {
    const c = rawPath.charCodeAt(i);
    if (c === 0x25) {
      const hi = i + 2 < rawPath.length ? hexValue(rawPath.charCodeAt(i + 1)) : -1;
      const lo = hi >= 0 ? hexValue(rawPath.charCodeAt(i + 2)) : -1;
      if (lo < 0) return { kind: 'bad-request', reason: `malformed percent-escape in the path: ${rawPath}` };
      bytes[n++] = hi * 16 + lo;
      i += 2;
    } else if (c <= 0xff) {
      // Node's strict parser rejects raw non-ASCII in the request line; a
      // lenient one hands the bytes over as latin1 characters.
      bytes[n++] = c;
    } else {
      return { kind: 'bad-request', reason: 'the request-target contains characters that are not bytes' };
    }
  }
  const buf = bytes.subarray(0, n);
  for (let i = 0; i < n; i++) {
    const b = buf[i] as number;
    if (b === 0) return { kind: 'bad-request', reason: 'the path contains a NUL byte (%00)' };
    if (b < 0x20 || b === 0x7f) return { kind: 'bad-request', reason: 'the path contains a control character' };
  }
  if (!isUtf8(buf)) return { kind: 'bad-request', reason: 'the decoded path is not valid UTF-8' };
  return buf.toString('utf8');
}

/**
 * Merges slashes and resolves `.`/`..` the way nginx does (rule 4). Returns
 * null when `..` would climb above the root.
 */
function normalisePath(decoded: string): string | null {
  // Fast path: nothing to merge or resolve.
  if (decoded.indexOf('//') < 0 && decoded.indexOf('/.') < 0) return decoded;
  const parts = decoded.split('/');
  const out: string[] = [];
  let trailingSlash = false;
  const last = parts.length - 1;
  for (let i = 1; i <= last; i++) {
    const s = parts[i] as string;
    if (s === '' || s === '.') {
      if (i === last) trailingSlash = true;
    } else if (s === '..') {
      if (out.length === 0) return null;
      out.pop();
      if (i === last) trailingSlash = true;
    } else {
      out.push(s);
    }
  }
  if (out.length === 0) return '/';
  return '/' + out.join('/') + (trailingSlash ? '/' : '');
}

function findDotSegment(path: string): string | null {
  let i = path.indexOf('/.');
  while (i >= 0) {
    const end = path.indexOf('/', i + 1);
    const segment = path.slice(i + 1, end < 0 ? path.length : end);
    if (segment !== '.well-known') return segment;
    i = path.indexOf('/.', i + 1);
  }
  return null;
}

/**
 * The first segment that ends in `ext` and is followed by `/` or the end
 * (nginx: location `[^/]\.php(/|$)` + `^(.+?\.php)(/.*)$`), as
 * [scriptName, pathInfo]; null when the path is not a script path.
 */
function splitScript(path: string, ext: string): [string, string] | null {
  if (ext === '') return null; // a misconfiguration must not make everything a script
  let i = path.indexOf(ext);
  while (i >= 0) {
    const end = i + ext.length;
    if (path.charCodeAt(i - 1) !== 0x2f && (end === path.length || path.charCodeAt(end) === 0x2f)) {
      return [path.slice(0, end), path.slice(end)];
    }
    i = path.indexOf(ext, i + 1);
  }
  return null;
}

function script(
  root: string,
  config: ResolveConfig,
  scriptName: string,
  pathInfo: string,
  documentUri: string,
  queryString: string,
  requestUri: string,
): Resolution {
  const scriptFilename = root + scriptName;
  const st = statOrNull(scriptFilename);
  if (st === 'forbidden') return { kind: 'forbidden', reason: `no permission to read ${scriptName}` };
  if (st === null || !st.isFile()) return NOT_FOUND;
  const refused = links(root, scriptFilename, st, config, 'script');
  if (refused) return refused;
  return { kind: 'script', scriptFilename, scriptName, pathInfo, documentUri, queryString, requestUri };
}

function staticFile(root: string, config: ResolveConfig, filePath: string, uriPath: string, st: Stats): Resolution {
  const slash = uriPath.lastIndexOf('/');
  const name = uriPath.slice(slash + 1);
  if (SOURCE_NAME.test(name)) {
    return { kind: 'forbidden', reason: `"${name}" looks like PHP source or a backup of it; it is never served as a file` };
  }
  const refused = links(root, filePath, st, config, 'static');
  if (refused) return refused;
  return { kind: 'static', filePath, uriPath, stats: st };
}

/** A forbidden (or, if it went away meanwhile, not-found) resolution when where `fsPath` really leads is refused; else null. */
function links(root: string, fsPath: string, st: Stats, config: ResolveConfig, as: ServedAs): Resolution | null {
  const verdict = checkLinksCached(root, fsPath, st, config.symlinks, as, config.scriptExtension);
  if (verdict === null) return null;
  return verdict === 'missing' ? NOT_FOUND : { kind: 'forbidden', reason: verdict };
}

function statOrNull(fsPath: string): Stats | null | 'forbidden' {
  try {
    // throwIfNoEntry: a miss is the common case (every front-controller
    // route), and building an ENOENT error costs more than the stat.
    return statSync(fsPath, { throwIfNoEntry: false }) ?? null;
  } catch (error) {
    if (isMissing(error)) return null;
    if ((error as NodeJS.ErrnoException).code === 'EACCES') return 'forbidden';
    throw error;
  }
}

function trimTrailingSlash(p: string): string {
  let end = p.length;
  while (end > 0 && (p[end - 1] === '/' || p[end - 1] === sep)) end--;
  return p.slice(0, end);
}

/** Percent-encodes a decoded path for a Location header (nginx escapes it too). */
function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}
