import { VERSION } from '../shared/version';
import type { ScriptResolution } from './resolve';

/**
 * SERVER_SOFTWARE as the pool sends it. Apps gate features on the server's
 * name: WordPress offers pretty permalinks only when it contains Apache,
 * nginx or IIS (its got_url_rewrite()), and otherwise falls back to
 * `/index.php/…` links. Our routing is nginx's (`try_files $uri $uri/
 * /index.php?$query_string`), so the name says so, in lower case as
 * WordPress's `str_contains($_SERVER['SERVER_SOFTWARE'], 'nginx')` wants.
 */
export const SERVER_SOFTWARE = `fastcgi-pool/${VERSION} (nginx-compatible)`;

/** Facts about our front server that scripts see as SERVER_* params. */
export interface ServerInfo {
  /** SERVER_NAME (nginx: the first `server_name`). */
  serverName: string;
  /** SERVER_ADDR: the local address the request arrived on. */
  serverAddr: string;
  /** SERVER_PORT: the port we listen on. */
  serverPort: number;
  /** SERVER_SOFTWARE: {@link SERVER_SOFTWARE}. */
  serverSoftware: string;
  /** DOCUMENT_ROOT, as configured (realpath'd). */
  documentRoot: string;
  scheme: 'http';
}

/** The parts of an IncomingMessage that the params depend on. */
export interface CgiRequestInfo {
  method: string;
  /** `1.1`, as in IncomingMessage.httpVersion. */
  httpVersion: string;
  /** Name/value pairs in arrival order, as in IncomingMessage.rawHeaders. */
  rawHeaders: readonly string[];
  remoteAddress: string;
  remotePort: number;
}

/**
 * Builds the FastCGI params for one script request, as nginx sends them with
 * the stock `fastcgi_params` plus `SCRIPT_FILENAME` and `PATH_INFO`, in that
 * order (checked against nginx 1.22.1 by capturing its PARAMS records):
 *
 * - QUERY_STRING … REDIRECT_STATUS=200 in `fastcgi_params` order; empty
 *   values are sent, not omitted (CONTENT_TYPE and CONTENT_LENGTH are `''`
 *   for a GET). HTTPS is absent (`if_not_empty`, and we only speak http).
 * - CONTENT_LENGTH is `body.contentLength`: the bytes we will really send.
 *   nginx does the same for a chunked upload it buffered (`11` for a
 *   5+6-byte chunked body). Pass null when the request had neither
 *   Content-Length nor Transfer-Encoding, which gives `''` like nginx.
 * - Then every request header as `HTTP_<NAME>` (upper case, `-` → `_`), in
 *   arrival order, including Content-Type, Content-Length and
 *   Transfer-Encoding (nginx passes HTTP_CONTENT_TYPE, HTTP_CONTENT_LENGTH and
 *   HTTP_TRANSFER_ENCODING too).
 * - Headers whose names hold anything but letters, digits and `-` are
 *   dropped, underscores included: nginx's `ignore_invalid_headers on` +
 *   `underscores_in_headers off` (observed: `X_Under` and `X.Dot` never
 *   reach PHP). This also stops `X-Foo` and `X_Foo` from aliasing.
 * - Repeated headers are joined into one param at the first one's position,
 *   with `; ` for Cookie and `, ` otherwise, as nginx ≥ 1.23.0 does. (nginx
 *   1.22 sent each copy as its own param and PHP kept the last one.)
 * - `Proxy` never becomes HTTP_PROXY (httpoxy). nginx does send it; PHP
 *   drops it from $_SERVER on its side, so scripts see the same thing.
 * - HTTP_HOST is the Host header as received, port included (nginx 1.22 and
 *   the stock params). The gateway has checked it against the allow-list,
 *   and absolute-form targets are refused, so it cannot disagree with the
 *   URL (the case Debian's `HTTP_HOST $host` workaround is about).
 * - REMOTE_ADDR/SERVER_ADDR lose a `::ffff:` prefix, so a dual-stack socket
 *   still shows `127.0.0.1` as nginx on an IPv4 listener would.
 */
export function buildCgiParams(
  req: CgiRequestInfo,
  resolution: ScriptResolution,
  server: ServerInfo,
  body: { contentLength: number | null },
): Array<[string, string]> {
  const raw = req.rawHeaders;
  let contentType = '';
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).length === 12 && (raw[i] as string).toLowerCase() === 'content-type') {
      contentType = raw[i + 1] as string; // nginx: $content_type is the first one
      break;
    }
  }

  const params: Array<[string, string]> = [
    ['QUERY_STRING', resolution.queryString],
    ['REQUEST_METHOD', req.method],
    ['CONTENT_TYPE', contentType],
    ['CONTENT_LENGTH', body.contentLength === null ? '' : String(body.contentLength)],
    ['SCRIPT_NAME', utf8AsLatin1(resolution.scriptName)],
    ['REQUEST_URI', resolution.requestUri],
    ['DOCUMENT_URI', utf8AsLatin1(resolution.documentUri)],
    ['DOCUMENT_ROOT', utf8AsLatin1(server.documentRoot)],
    ['SERVER_PROTOCOL', 'HTTP/' + req.httpVersion],
    ['REQUEST_SCHEME', server.scheme],
    ['GATEWAY_INTERFACE', 'CGI/1.1'],
    ['SERVER_SOFTWARE', server.serverSoftware],
    ['REMOTE_ADDR', unmapIPv4(req.remoteAddress)],
    ['REMOTE_PORT', String(req.remotePort)],
    ['SERVER_ADDR', unmapIPv4(server.serverAddr)],
    ['SERVER_PORT', String(server.serverPort)],
    ['SERVER_NAME', server.serverName],
    ['REDIRECT_STATUS', '200'],
    ['SCRIPT_FILENAME', utf8AsLatin1(resolution.scriptFilename)],
    ['PATH_INFO', utf8AsLatin1(resolution.pathInfo)],
  ];

  // Repeats are joined into the entry of their first occurrence.
  const byName = new Map<string, [string, string]>();
  for (let i = 0; i < raw.length; i += 2) {
    const key = cachedParamName(raw[i] as string);
    if (key === null || key === 'HTTP_PROXY') continue;
    const value = raw[i + 1] as string;
    const existing = byName.get(key);
    if (existing === undefined) {
      const entry: [string, string] = [key, value];
      byName.set(key, entry);
      params.push(entry);
    } else {
      existing[1] += (key === 'HTTP_COOKIE' ? '; ' : ', ') + value;
    }
  }
  return params;
}

/**
 * The params are byte strings (one char per byte, sent as latin1), because
 * Node hands us header values that way: a raw UTF-8 cookie must reach PHP
 * as the same bytes. Values we decoded from the path are real UTF-8 text,
 * so they are turned into their bytes here. ASCII, the usual case, is free.
 */
function utf8AsLatin1(value: string): string {
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) > 0x7f) return Buffer.from(value, 'utf8').toString('latin1');
  }
  return value;
}

/**
 * Header names repeat from request to request (Host, User-Agent, Cookie...),
 * and converting one costs more than the rest of buildCgiParams together, so
 * results are remembered. Cleared when full, so random names sent by a
 * hostile client cannot grow it without bound.
 */
const nameCache = new Map<string, string | null>();
const NAME_CACHE_LIMIT = 1000;

function cachedParamName(name: string): string | null {
  let key = nameCache.get(name);
  if (key === undefined) {
    key = httpParamName(name);
    if (nameCache.size >= NAME_CACHE_LIMIT) nameCache.clear();
    nameCache.set(name, key);
  }
  return key;
}

/**
 * `HTTP_` + the name upper-cased with `-` → `_`, or null when the name holds
 * a character nginx would ignore the header for. One pass over char codes,
 * no regex.
 */
export function httpParamName(name: string): string | null {
  if (name.length === 0) return null;
  let dash = false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)) continue;
    if (c === 0x2d) {
      dash = true;
      continue;
    }
    return null;
  }
  return 'HTTP_' + (dash ? name.replaceAll('-', '_') : name).toUpperCase();
}

function unmapIPv4(address: string): string {
  return address.startsWith('::ffff:') && address.indexOf('.') > 0 ? address.slice(7) : address;
}

/**
 * Whether any param could be too long for one FastCGI record: a header or
 * the target (REQUEST_URI, QUERY_STRING and the paths derive from it) of
 * more than ~21 800 characters (UTF-8 needs at most 3 bytes per character).
 */
export function mayHaveOversizedParam(req: { readonly url: string; readonly rawHeaders: readonly string[] }): boolean {
  const limit = (65535 - 8) / 3 - 64;
  if (req.url.length > limit) return true;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).length + (raw[i + 1] as string).length > limit) return true;
  }
  return false;
}

/** Names the first param whose pair cannot fit one FastCGI record, if any. */
export function findOversizedParam(params: ReadonlyArray<readonly [string, string]>): string | null {
  for (const [name, value] of params) {
    // Cheap test first: UTF-8 needs at most 3 bytes per UTF-16 unit.
    if ((name.length + value.length) * 3 + 8 <= 65535) continue;
    if (Buffer.byteLength(name) + Buffer.byteLength(value) + 8 > 65535) return name;
  }
  return null;
}
