/**
 * The lean front's request-head parser: strict on purpose. It accepts only
 * what the lean front serves (GET, HEAD or POST over HTTP/1.1, plainly
 * well-formed headers) and says null to anything else, so that Node's own
 * parser, with its error answers, decides every doubtful request.
 */

/** More header lines than this: Node's parser decides. */
const MAX_LEAN_HEADERS = 100;

/** A request head the lean front can serve. */
export interface LeanHead {
  method: 'GET' | 'HEAD' | 'POST';
  url: string;
  rawHeaders: string[];
  host: string | undefined;
  /** 0 when absent. */
  contentLength: number;
  declaresBody: boolean;
  /**
   * Range, If-Range, a precondition (If-Match, If-Unmodified-Since), any
   * other If-* header, or a validator or Cache-Control given twice: static
   * files go through send.
   */
  conditional: boolean;
  /** The validators of a revalidation, which the lean front answers itself (notModified.ts); undefined when absent. */
  ifNoneMatch: string | undefined;
  ifModifiedSince: string | undefined;
  cacheControl: string | undefined;
}

/** Header-name bytes allowed by RFC 9110 (tchar). */
const TOKEN = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TOKEN[c.charCodeAt(0)] = 1;

/**
 * Parses a request head (without its final CRLFCRLF) strictly; null for
 * anything the lean front does not serve or that is not plainly valid, so
 * that Node's parser, with its error answers, decides.
 */
export function parseHead(head: string): LeanHead | null {
  let lineEnd = head.indexOf('\r\n');
  if (lineEnd < 0) lineEnd = head.length;
  const sp1 = head.indexOf(' ');
  if (sp1 < 3 || sp1 > 4) return null;
  const method = head.slice(0, sp1);
  if (method !== 'GET' && method !== 'POST' && method !== 'HEAD') return null;
  const sp2 = lineEnd - 9;
  if (sp2 <= sp1 + 1 || head.charCodeAt(sp2) !== 0x20 || !head.startsWith('HTTP/1.1', sp2 + 1)) return null;
  if (head.charCodeAt(sp1 + 1) !== 0x2f /* / */) return null;
  for (let i = sp1 + 1; i < sp2; i++) {
    const c = head.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return null;
  }
  const url = head.slice(sp1 + 1, sp2);

  const rawHeaders: string[] = [];
  let host: string | undefined;
  let contentLength = -1;
  let conditional = false;
  let ifNoneMatch: string | undefined;
  let ifModifiedSince: string | undefined;
  let cacheControl: string | undefined;
  let at = lineEnd + 2;
  while (at < head.length) {
    let end = head.indexOf('\r\n', at);
    if (end < 0) end = head.length;
    const colon = head.indexOf(':', at);
    if (colon <= at || colon > end) return null;
    for (let i = at; i < colon; i++) {
      const c = head.charCodeAt(i);
      if (c >= 128 || TOKEN[c] === 0) return null;
    }
    // The value without surrounding spaces and tabs; no other control bytes (a bare CR or LF, NUL).
    let from = colon + 1;
    let to = end;
    while (from < to && (head.charCodeAt(from) === 0x20 || head.charCodeAt(from) === 0x09)) from++;
    while (to > from && (head.charCodeAt(to - 1) === 0x20 || head.charCodeAt(to - 1) === 0x09)) to--;
    for (let i = from; i < to; i++) {
      const c = head.charCodeAt(i);
      if ((c < 0x20 && c !== 0x09) || c === 0x7f) return null;
    }
    const name = head.slice(at, colon);
    const value = head.slice(from, to);
    rawHeaders.push(name, value);
    if (rawHeaders.length > MAX_LEAN_HEADERS * 2) return null;
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') {
          if (host !== undefined) return null;
          host = value;
        }
        break;
      case 5:
        if (name.toLowerCase() === 'range') conditional = true;
        break;
      case 6:
        if (name.toLowerCase() === 'expect') return null;
        break;
      case 7:
        if (name.toLowerCase() === 'upgrade') return null;
        break;
      case 8:
        if (name.toLowerCase().startsWith('if-')) conditional = true;
        break;
      case 10:
        if (name.toLowerCase() === 'connection') {
          const lower = value.toLowerCase();
          if (lower !== 'keep-alive' && lower !== '') return null;
        }
        break;
      case 13: {
        const lower = name.toLowerCase();
        if (lower === 'if-none-match') {
          if (ifNoneMatch !== undefined) conditional = true;
          ifNoneMatch = value;
        } else if (lower === 'cache-control') {
          if (cacheControl !== undefined) conditional = true;
          cacheControl = value;
        } else if (lower.startsWith('if-')) conditional = true;
        break;
      }
      case 17: {
        const lower = name.toLowerCase();
        if (lower === 'if-modified-since') {
          if (ifModifiedSince !== undefined) conditional = true;
          ifModifiedSince = value;
        } else if (lower.startsWith('if-')) conditional = true;
        else if (lower === 'transfer-encoding') return null;
        break;
      }
      case 19:
        if (name.toLowerCase().startsWith('if-')) conditional = true;
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') {
          if (contentLength >= 0 || value.length === 0 || value.length > 15) return null;
          for (let i = 0; i < value.length; i++) {
            const c = value.charCodeAt(i);
            if (c < 0x30 || c > 0x39) return null;
          }
          contentLength = Number(value);
        }
        break;
    }
    at = end + 2;
  }
  return {
    method,
    url,
    rawHeaders,
    host,
    contentLength: contentLength < 0 ? 0 : contentLength,
    declaresBody: contentLength >= 0,
    conditional,
    ifNoneMatch,
    ifModifiedSince,
    cacheControl,
  };
}
