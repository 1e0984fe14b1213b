import { readFileSync, type Stats } from 'node:fs';
import { extname } from 'node:path';
import type { HttpIo } from './httpIo';
import { HtmlInjector, isPageRequest, rawHeader } from './liveInject';

/** Static pages up to this size get the tag; a larger one is sent untouched by the usual static path. */
const MAX_PAGE_BYTES = 4 * 1024 * 1024;

/** Whether the file is a static HTML page by its name (`send` types `.html` and `.htm` as text/html). */
export function isHtmlFile(filePath: string): boolean {
  const ext = extname(filePath).toLowerCase();
  return ext === '.html' || ext === '.htm';
}

/**
 * Serves a static `.html` page with the live-reload tag, through either
 * front's HttpIo, when the request is a page load (see isPageRequest) or its
 * HEAD. Returns false, having written nothing, when it does not apply (not
 * HTML, not a page load, too large, unreadable): the usual static path
 * (`send`, with ranges and the rest) serves it then.
 *
 * The headers are `send`'s, with a validator of their own (`-lr` on the
 * ETag), so that a browser never revalidates a tagged copy against the
 * untagged file or the other way round. Range is ignored (RFC 9110 allows
 * it): a page load never asks for one.
 */
export function serveLiveHtml(io: HttpIo, filePath: string, stats: Stats): boolean {
  if (!isHtmlFile(filePath) || !stats.isFile() || stats.size > MAX_PAGE_BYTES) return false;
  const isHead = io.method === 'HEAD';
  if (!isHead && !isPageRequest(io.method, io.rawHeaders)) return false;
  if (isHead && !isPageRequest('GET', io.rawHeaders)) return false;
  let file: Buffer;
  try {
    file = readFileSync(filePath);
  } catch {
    return false;
  }
  const etag = `W/"${file.length.toString(16)}-${stats.mtime.getTime().toString(16)}-lr"`;
  const lastModified = stats.mtime.toUTCString();
  const headers = ['Cache-Control', 'public, max-age=0', 'Last-Modified', lastModified, 'ETag', etag];
  if (notModified(io.rawHeaders, etag, stats.mtime)) {
    io.writeHead(304, undefined, headers);
    io.end();
    return true;
  }
  const injector = new HtmlInjector();
  const page = Buffer.concat([injector.push(file), injector.finish()]);
  io.writeHead(200, undefined, [...headers, 'Content-Type', 'text/html; charset=UTF-8', 'Content-Length', String(page.length)]);
  io.end(page);
  return true;
}

/** If-None-Match (it wins when present) or If-Modified-Since says the browser's copy is current. */
function notModified(rawHeaders: readonly string[], etag: string, mtime: Date): boolean {
  const ifNoneMatch = rawHeader(rawHeaders, 'if-none-match');
  if (ifNoneMatch !== undefined) {
    return ifNoneMatch.split(',').some((tag) => {
      const t = tag.trim();
      return t === '*' || t === etag || `W/${t}` === etag;
    });
  }
  const ifModifiedSince = rawHeader(rawHeaders, 'if-modified-since');
  if (ifModifiedSince === undefined) return false;
  const since = Date.parse(ifModifiedSince);
  return Number.isFinite(since) && Math.floor(mtime.getTime() / 1000) * 1000 <= since;
}
