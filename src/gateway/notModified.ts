/**
 * A revalidation of a static file: whether a GET or HEAD that carries
 * If-None-Match or If-Modified-Since may be answered 304 Not Modified.
 *
 * The browser asks this for every asset on every reload, because we send
 * `Cache-Control: max-age=0` (files change while you develop), so the lean
 * front answers it from the file's stat instead of handing the connection to
 * Node's server and `send`. The decision is the one `send` makes (through
 * the `fresh` package), so that both paths answer alike:
 *
 * - a request `Cache-Control: no-cache` (an end-to-end reload, or fetch()'s
 *   `cache: 'no-cache'`) is never fresh: the whole file goes out;
 * - If-None-Match, when present, decides alone (RFC 9110 §13.2.2): `*`
 *   matches the existing file, otherwise any listed tag that equals ours
 *   under the weak comparison (`W/` ignored on either side);
 * - otherwise If-Modified-Since: fresh when the file's Last-Modified is not
 *   later than that date; a date that does not parse is never fresh.
 */

/** The request's headers that decide a revalidation (undefined: absent). */
export interface RevalidationRequest {
  readonly ifNoneMatch: string | undefined;
  readonly ifModifiedSince: string | undefined;
  readonly cacheControl: string | undefined;
}

/** The file's validators, as its 200 response names them. */
export interface FileValidators {
  /** The ETag header's value, e.g. `W/"1a-18c2f…"`. */
  readonly etag: string;
  /** The Last-Modified header's value (an HTTP-date, whole seconds). */
  readonly lastModified: string;
}

/** Whether the request carries a validator at all (else it is a plain GET). */
export function isRevalidation(request: RevalidationRequest): boolean {
  return request.ifNoneMatch !== undefined || request.ifModifiedSince !== undefined;
}

/** Whether `request` may be answered 304 for a file with these validators. */
export function isNotModified(request: RevalidationRequest, file: FileValidators): boolean {
  if (!isRevalidation(request)) return false;
  if (request.cacheControl !== undefined && hasNoCache(request.cacheControl)) return false;
  if (request.ifNoneMatch !== undefined) {
    const list = request.ifNoneMatch.trim();
    if (list === '*') return true;
    const ours = opaqueTag(file.etag);
    return list.split(',').some((tag) => opaqueTag(tag.trim()) === ours);
  }
  const since = Date.parse(request.ifModifiedSince as string);
  const modified = Date.parse(file.lastModified);
  return !Number.isNaN(since) && !Number.isNaN(modified) && modified <= since;
}

/** An entity tag without its weakness marker: the weak comparison compares these. */
function opaqueTag(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}

/** Whether a Cache-Control list holds the `no-cache` directive, spelled as browsers send it (and as `fresh` reads it). */
function hasNoCache(cacheControl: string): boolean {
  return cacheControl.split(',').some((directive) => directive.trim() === 'no-cache');
}
