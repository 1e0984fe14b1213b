/**
 * DNS-rebinding defence: a web page on evil.example can make the browser
 * resolve evil.example to 127.0.0.1 and then read our answers, but the
 * browser still sends `Host: evil.example`. So only names that can never be
 * an attacker's are accepted:
 *
 * - `localhost` and any `*.localhost` (RFC 6761: always loopback; browsers
 *   resolve them locally);
 * - IPv4 loopback `127.0.0.0/8` in canonical dotted-decimal form (what
 *   browsers send; `0177.0.0.1`, `127.1` or `2130706433` are refused);
 * - `[::1]`;
 * - the configured names: exact, case-insensitive, or `*.name` for any
 *   subdomain of name; an entry with a port (`app.test:8080`) matches that
 *   port only.
 *
 * Each may carry a port (`localhost:8080`). Everything else is refused:
 * a missing or empty Host (HTTP/1.1 requires it, and every browser sends
 * it, so HTTP/1.0 requests without one are refused too), `0.0.0.0`, other
 * IPv6 addresses, a trailing dot (`localhost.` goes to DNS on some
 * resolvers), userinfo, spaces, several hosts.
 */
export function isHostAllowed(hostHeader: string | undefined, allowed: readonly string[]): boolean {
  if (hostHeader === undefined) return false;
  const parsed = splitHostPort(hostHeader);
  if (parsed === null) return false;
  const [host, port] = parsed;
  if (host === 'localhost' || host === '[::1]') return true;
  if (host.endsWith('.localhost') && isDnsName(host)) return true;
  if (isLoopbackIPv4(host)) return true;
  for (const entry of allowed) {
    if (matchesEntry(host, port, entry)) return true;
  }
  return false;
}

/** [lower-cased host, port or null]; null when the value is not a host[:port]. */
function splitHostPort(value: string): [string, string | null] | null {
  if (value.length === 0 || value.length > 260) return null;
  let host: string;
  let port: string | null = null;
  if (value.charCodeAt(0) === 0x5b /* [ */) {
    const close = value.indexOf(']');
    if (close < 0) return null;
    host = value.slice(0, close + 1);
    const rest = value.slice(close + 1);
    if (rest !== '') {
      if (rest.charCodeAt(0) !== 0x3a /* : */) return null;
      port = rest.slice(1);
    }
  } else {
    const colon = value.indexOf(':');
    if (colon >= 0) {
      host = value.slice(0, colon);
      port = value.slice(colon + 1);
    } else {
      host = value;
    }
  }
  if (port !== null && !isPort(port)) return null;
  return [host.toLowerCase(), port];
}

function isPort(port: string): boolean {
  if (port.length === 0 || port.length > 5) return false;
  for (let i = 0; i < port.length; i++) {
    const c = port.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return Number(port) <= 65535;
}

/** Dot-separated labels of letters, digits, `-` and `_`, none empty, no trailing dot. */
function isDnsName(host: string): boolean {
  let labelLength = 0;
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c === 0x2e) {
      if (labelLength === 0) return false;
      labelLength = 0;
      continue;
    }
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f;
    if (!ok || ++labelLength > 63) return false;
  }
  return labelLength > 0;
}

function isLoopbackIPv4(host: string): boolean {
  if (!host.startsWith('127.')) return false;
  const parts = host.split('.');
  if (parts.length !== 4) return false;
  for (const p of parts) {
    if (p.length === 0 || p.length > 3 || (p.length > 1 && p.charCodeAt(0) === 0x30)) return false;
    for (let i = 0; i < p.length; i++) {
      const c = p.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return false;
    }
    if (Number(p) > 255) return false;
  }
  return true;
}

function matchesEntry(host: string, port: string | null, entry: string): boolean {
  const parsed = splitHostPort(entry.trim());
  if (parsed === null) return false;
  const [name, entryPort] = parsed;
  if (entryPort !== null && entryPort !== port) return false;
  if (name.startsWith('*.')) {
    const suffix = name.slice(1); // ".example.test"
    return host.length > suffix.length && host.endsWith(suffix) && isDnsName(host);
  }
  return host === name;
}
