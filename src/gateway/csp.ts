/**
 * Just enough of Content-Security-Policy (CSP Level 3) to answer one
 * question: may this page load a script from its own origin and open an
 * EventSource to it? That is all live reload needs (`/.fastcgi-pool/live.js`
 * and `/.fastcgi-pool/live`, both same-origin). A page that allows neither
 * is left alone rather than sent a script its policy would block and report.
 *
 * Pure: no Node, no I/O.
 */

/** The page's own origin, as the browser sees it: the request's Host, over http. */
export interface PageOrigin {
  /** Lower-case host name or address, without brackets for IPv6 (`127.0.0.1`, `localhost`, `::1`). */
  readonly host: string;
  readonly port: number;
}

/** Why live reload cannot run on a page: the directive that forbids it, and the policy it is in. */
export interface CspBlock {
  readonly directive: string;
  readonly policy: string;
}

/**
 * The first policy among the page's `Content-Security-Policy` header values
 * that forbids a same-origin script at `scriptPath` or an EventSource to
 * `eventsPath`, or null when every policy allows both. Report-only policies
 * do not block anything and are not passed here.
 */
export function liveReloadBlockedBy(headerValues: readonly string[], origin: PageOrigin, scriptPath: string, eventsPath: string): CspBlock | null {
  for (const value of headerValues) {
    // One header field may carry several policies, separated by commas; each one applies.
    for (const policy of value.split(',')) {
      const directives = parsePolicy(policy);
      if (directives.size === 0) continue;
      const script = directives.get('script-src-elem') ?? directives.get('script-src') ?? directives.get('default-src');
      const scriptName = directives.has('script-src-elem') ? 'script-src-elem' : directives.has('script-src') ? 'script-src' : 'default-src';
      if (script !== undefined && !allows(script, origin, scriptPath, true)) return { directive: scriptName, policy: policy.trim() };
      const connect = directives.get('connect-src') ?? directives.get('default-src');
      const connectName = directives.has('connect-src') ? 'connect-src' : 'default-src';
      if (connect !== undefined && !allows(connect, origin, eventsPath, false)) return { directive: connectName, policy: policy.trim() };
    }
  }
  return null;
}

/** Directive name (lower case) → its source expressions; the first occurrence of a name wins, as browsers do. */
function parsePolicy(policy: string): Map<string, string[]> {
  const directives = new Map<string, string[]>();
  for (const part of policy.split(';')) {
    const tokens = part
      .trim()
      .split(/[\t\n\f\r ]+/)
      .filter((t) => t.length > 0);
    const name = tokens.shift()?.toLowerCase();
    if (name === undefined || directives.has(name)) continue;
    directives.set(name, tokens);
  }
  return directives;
}

/** Whether a source list lets the page fetch `path` on its own origin over http. */
function allows(sources: readonly string[], origin: PageOrigin, path: string, isScript: boolean): boolean {
  const lower = sources.map((source) => source.toLowerCase());
  // 'strict-dynamic' makes a script list ignore 'self', hosts and schemes:
  // only nonces and hashes count, and our tag has neither.
  if (isScript && lower.includes("'strict-dynamic'")) return false;
  for (const source of lower) {
    if (source === "'self'" || source === '*' || source === 'http:') return true;
    if (source.startsWith("'")) continue; // 'none', 'unsafe-inline', nonces, hashes: not a way in for a same-origin URL
    if (hostSourceMatches(source, origin, path)) return true;
  }
  return false;
}

/** `[scheme://]host[:port][/path]`, as CSP's host-source, matched against http://origin/path. */
function hostSourceMatches(source: string, origin: PageOrigin, path: string): boolean {
  let rest = source;
  const schemeEnd = rest.indexOf('://');
  if (schemeEnd >= 0) {
    // An https-only source does not match an http page's own origin (CSP only upgrades http to https).
    if (rest.slice(0, schemeEnd) !== 'http') return false;
    rest = rest.slice(schemeEnd + 3);
  }
  const slash = rest.indexOf('/');
  const sourcePath = slash >= 0 ? rest.slice(slash) : '';
  const authority = slash >= 0 ? rest.slice(0, slash) : rest;
  let host = authority;
  let port: string | null = null;
  const bracket = authority.startsWith('[') ? authority.indexOf(']') : -1;
  const colon = bracket >= 0 ? authority.indexOf(':', bracket) : authority.lastIndexOf(':');
  if (colon >= 0) {
    host = authority.slice(0, colon);
    port = authority.slice(colon + 1);
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (!hostMatches(host, origin.host)) return false;
  if (port === null ? origin.port !== 80 : port !== '*' && Number(port) !== origin.port) return false;
  if (sourcePath === '' || sourcePath === '/') return true;
  return sourcePath.endsWith('/') ? path.startsWith(sourcePath) : path === sourcePath;
}

function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1));
  return pattern === host;
}

/** The page's origin from its request's Host header (`localhost:8080`, `[::1]:8080`); the port the server listens on when the Host has none. */
export function originFromHost(hostHeader: string | undefined, listenPort: number): PageOrigin {
  const value = (hostHeader ?? '').trim().toLowerCase();
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    const port = value.slice(end + 1).startsWith(':') ? Number(value.slice(end + 2)) : 80;
    return { host: value.slice(1, end), port: Number.isInteger(port) ? port : listenPort };
  }
  const colon = value.lastIndexOf(':');
  if (colon < 0) return { host: value, port: value === '' ? listenPort : 80 };
  const port = Number(value.slice(colon + 1));
  return { host: value.slice(0, colon), port: Number.isInteger(port) ? port : listenPort };
}
