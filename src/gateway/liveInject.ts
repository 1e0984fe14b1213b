import { DEFAULTS } from '../shared/defaults';
import { liveReloadBlockedBy, originFromHost, type CspBlock } from './csp';

/**
 * Where the live-reload script goes into an HTML page, and whether it may:
 * the rules both fronts and both kinds of response (a PHP script's, a static
 * `.html` file's) share, so that a page is changed the same way whichever
 * path served it.
 */

/** The one tag added to a page, before its `</body>`. */
export const LIVE_RELOAD_TAG = Buffer.from(`<script src="${DEFAULTS.liveReloadScriptPath}" async></script>`, 'latin1');

/** `</body`, lower case; matched case-insensitively. */
const BODY_CLOSE = Buffer.from('</body', 'latin1');

/**
 * Puts {@link LIVE_RELOAD_TAG} into a streamed HTML body exactly once:
 * before the first `</body` (in any case), or at the very end when the page
 * has none. The tag may be split across chunks (or FastCGI records): up to
 * five bytes that could begin `</body` are held back until the next chunk
 * says whether they do. Every byte of the page goes out, in order, and the
 * body grows by exactly the tag's length, so a Content-Length raised by
 * that much stays right.
 */
export class HtmlInjector {
  private injected = false;
  /** The end of the last chunk, held back because it could start `</body`. */
  private held: Buffer | null = null;

  /** The bytes to send now for `chunk` (possibly fewer, possibly with the tag). */
  push(chunk: Buffer): Buffer {
    if (this.injected) return chunk;
    const bytes = this.held === null ? chunk : Buffer.concat([this.held, chunk]);
    this.held = null;
    const at = indexOfBodyClose(bytes);
    if (at >= 0) {
      this.injected = true;
      return Buffer.concat([bytes.subarray(0, at), LIVE_RELOAD_TAG, bytes.subarray(at)]);
    }
    const keep = partialBodyCloseAtEnd(bytes);
    if (keep > 0) this.held = bytes.subarray(bytes.length - keep);
    return keep > 0 ? bytes.subarray(0, bytes.length - keep) : bytes;
  }

  /** The body ended: what is still held, and the tag if no `</body` came. */
  finish(): Buffer {
    if (this.injected) return EMPTY;
    this.injected = true;
    const held = this.held;
    this.held = null;
    return held === null ? LIVE_RELOAD_TAG : Buffer.concat([held, LIVE_RELOAD_TAG]);
  }
}

const EMPTY = Buffer.alloc(0);

/** Where `</body` starts in `bytes`, ignoring case, or -1. */
function indexOfBodyClose(bytes: Buffer): number {
  for (let at = bytes.indexOf(0x3c /* < */); at >= 0 && at + BODY_CLOSE.length <= bytes.length; at = bytes.indexOf(0x3c, at + 1)) {
    if (matchesAt(bytes, at, BODY_CLOSE.length)) return at;
  }
  return -1;
}

/** How many bytes at the end of `bytes` are a proper prefix of `</body` (0–5). */
function partialBodyCloseAtEnd(bytes: Buffer): number {
  for (let length = Math.min(BODY_CLOSE.length - 1, bytes.length); length > 0; length--) {
    if (matchesAt(bytes, bytes.length - length, length)) return length;
  }
  return 0;
}

/** Whether `length` bytes at `at` equal the start of `</body`, letters in either case. */
function matchesAt(bytes: Buffer, at: number, length: number): boolean {
  for (let i = 0; i < length; i++) {
    const byte = bytes[at + i] as number;
    // ASCII letters only: setting bit 0x20 lower-cases them and leaves '<' and '/' alone.
    if ((i < 2 ? byte : byte | 0x20) !== BODY_CLOSE[i]) return false;
  }
  return true;
}

/** A request header's value from `[name, value, …]` (the first, case-insensitive name), or undefined. */
export function rawHeader(rawHeaders: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) return rawHeaders[i + 1];
  }
  return undefined;
}

/**
 * The request may get the tag: a GET or POST that a browser makes to show a
 * page (`Sec-Fetch-Dest: document`), or one without Sec-Fetch-Dest at all
 * (an older browser, curl). An iframe, a fetch(), an image, a script never
 * do, nor a HEAD.
 */
export function isPageRequest(method: string, rawHeaders: readonly string[]): boolean {
  if (method !== 'GET' && method !== 'POST') return false;
  const dest = rawHeader(rawHeaders, 'sec-fetch-dest');
  return dest === undefined || dest.trim().toLowerCase() === 'document';
}

/** Whether a response with these headers is an HTML page the tag may go into. */
export function isInjectableResponse(status: number, flatHeaders: readonly string[]): boolean {
  if (status < 200 || status === 204 || status === 304) return false;
  let html = false;
  for (let i = 0; i < flatHeaders.length; i += 2) {
    const name = (flatHeaders[i] as string).toLowerCase();
    const value = (flatHeaders[i + 1] as string).trim().toLowerCase();
    if (name === 'content-type') html = value === 'text/html' || value.startsWith('text/html;') || value.startsWith('text/html ');
    // Compressed bytes are not HTML we can read; a download must arrive as it was sent.
    else if (name === 'content-encoding' && value !== 'identity' && value !== '') return false;
    else if (name === 'content-disposition' && value.startsWith('attachment')) return false;
    else if (name === 'content-length' && !/^\d+$/.test(value)) return false;
  }
  return html;
}

/** The response headers with Content-Length (if any) raised by the tag's length; the list is changed in place. */
export function growContentLength(flatHeaders: string[]): void {
  for (let i = 0; i < flatHeaders.length; i += 2) {
    if ((flatHeaders[i] as string).toLowerCase() === 'content-length') flatHeaders[i + 1] = String(Number(flatHeaders[i + 1]) + LIVE_RELOAD_TAG.length);
  }
}

/** The policy (if any) in the response's Content-Security-Policy headers that forbids live reload on this page. */
export function cspBlockOf(flatHeaders: readonly string[], hostHeader: string | undefined, listenPort: number): CspBlock | null {
  const policies: string[] = [];
  for (let i = 0; i < flatHeaders.length; i += 2) {
    if ((flatHeaders[i] as string).toLowerCase() === 'content-security-policy') policies.push(flatHeaders[i + 1] as string);
  }
  if (policies.length === 0) return null;
  return liveReloadBlockedBy(policies, originFromHost(hostHeader, listenPort), DEFAULTS.liveReloadScriptPath, DEFAULTS.liveReloadEventsPath);
}
