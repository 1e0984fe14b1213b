import { readFileSync, statSync, type Stats } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename, dirname, extname } from 'node:path';
import type * as MimeTypes from 'mime-types';
import type sendType from 'send';
import { errorPage } from './errorPages';
import type { FileValidators } from './notModified';

/**
 * `send` and the MIME lookup it types files with (mime-types and its 190 KB
 * database) are loaded on the first static request, not at start-up: they
 * were the largest part of loading the engine, which every `fastcgi-pool
 * serve` and every extension activation pays before its first response.
 * The lean front types a file with the very lookup send uses (one copy of
 * mime-types: package.json asks for the range send does), so it can answer
 * a file send has never served and still say exactly what send would.
 */
let sendModule: typeof sendType | null = null;
function send(...args: Parameters<typeof sendType>): ReturnType<typeof sendType> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  sendModule ??= require('send') as typeof sendType;
  return sendModule(...args);
}
let mimeTypes: typeof MimeTypes | null = null;
/** The Content-Type send writes for a file with this extension (`.css`, or '' for none). */
function sendContentType(extension: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  mimeTypes ??= require('mime-types') as typeof MimeTypes;
  return mimeTypes.contentType(extension) || 'application/octet-stream';
}

/** Why a static file could not be sent; `status` is the HTTP status to answer. */
export class StaticFileError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Headers the answer must carry, e.g. Content-Range with a 416. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'StaticFileError';
  }
}

/** Options for {@link serveStatic}. */
export interface StaticOptions {
  /** Cache-Control max-age in seconds; default 0 (revalidate every time: files change while you develop). */
  maxAgeSeconds?: number;
  /**
   * Called instead of the built-in error page when the file cannot be sent
   * and no header has gone out yet. Once the body has started, an error just
   * destroys the response (the client sees a truncated transfer).
   */
  onError?: (error: StaticFileError, req: IncomingMessage, res: ServerResponse) => void;
  /** The file's stat, if the caller already has it (resolve.ts does): saves a stat() per request. */
  stats?: Stats;
}

/** Files up to this size are kept in memory (see {@link serveStatic}). */
export const STATIC_CACHE_MAX_FILE = 256 * 1024;
/** All cached files together stay below this. */
const STATIC_CACHE_MAX_TOTAL = 16 * 1024 * 1024;

interface CachedFile {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  maxAgeSeconds: number;
  body: Buffer;
  /** The response headers, as send would write them, flat for writeHead. */
  headers: string[];
}

/** Small files by absolute path; validated against a fresh stat on every request. */
const fileCache = new Map<string, CachedFile>();
let fileCacheBytes = 0;
/** Content-Type by lower-cased extension, from send's own lookup: the two paths cannot disagree. */
const typeByExtension = new Map<string, string>();

function contentTypeOf(filePath: string): string {
  const extension = extname(filePath).toLowerCase();
  let type = typeByExtension.get(extension);
  if (type === undefined) {
    type = sendContentType(extension);
    if (typeByExtension.size < 1000) typeByExtension.set(extension, type);
  }
  return type;
}

/** Empties the small-file cache (tests; memory pressure). */
export function clearStaticCache(): void {
  fileCache.clear();
  fileCacheBytes = 0;
  typeByExtension.clear();
}

/**
 * Sends one file that resolve.ts has already vetted (inside the root, not a
 * dotfile, not PHP source), with the `send` package: ETag, Last-Modified,
 * If-None-Match/If-Modified-Since (304), If-Match/If-Unmodified-Since (412),
 * single Range requests (206/416), HEAD, and Content-Type from the
 * extension (`text/*` with `charset=utf-8`). Directory indexes and
 * redirects are resolve.ts's job, so send's are off; dotfiles are denied as
 * a second line of defence. Methods other than GET and HEAD get 405 with
 * `Allow: GET, HEAD`, as nginx's static module answers.
 */
export function serveStatic(req: IncomingMessage, res: ServerResponse, filePath: string, options: StaticOptions = {}): void {
  const fail = (error: StaticFileError): void => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (options.onError) {
      options.onError(error, req, res);
      return;
    }
    writeErrorPage(req, res, error);
  };

  if (req.method !== 'GET' && req.method !== 'HEAD') {
    fail(new StaticFileError(405, `${req.method ?? '?'} is not allowed on a static file`, { Allow: 'GET, HEAD' }));
    return;
  }

  if (serveFromMemory(req, res, filePath, options)) return;

  // With `root` set to the file's folder, send only looks at the name (for
  // dotfiles and `..`), so a document root below a dot-folder still works.
  // send percent-decodes its path argument, hence the encoding.
  const stream = send(req, '/' + encodeURIComponent(basename(filePath)), {
    root: dirname(filePath),
    dotfiles: 'deny',
    index: false,
    etag: true,
    lastModified: true,
    acceptRanges: true,
    cacheControl: true,
    maxAge: (options.maxAgeSeconds ?? 0) * 1000,
  });
  stream.on('error', (err: Error & { status?: number; statusCode?: number; headers?: Record<string, string> }) => {
    const status = err.status ?? err.statusCode ?? 500;
    fail(new StaticFileError(status, describe(status, filePath, err), err.headers ?? {}));
  });
  // The file turned into a directory between resolve and send: treat it as gone.
  stream.on('directory', () => fail(new StaticFileError(404, `${filePath} is a directory`)));
  stream.pipe(res);
}

/**
 * The fast path: a plain GET or HEAD (no Range, no conditional or
 * precondition header) of a small regular file, typed by send's own
 * lookup, answered from memory in one write with exactly the headers send
 * writes (Accept-Ranges, Cache-Control, Last-Modified, a weak ETag from size
 * and mtime, Content-Type, Content-Length). The file is read once and kept
 * while its size, mtime, ctime and inode stay the same: every request still
 * stats it, so an edit is served at once. Everything else goes to send.
 * Returns false, having done nothing, when it does not apply.
 */
function serveFromMemory(req: IncomingMessage, res: ServerResponse, filePath: string, options: StaticOptions): boolean {
  const h = req.headers;
  if (
    h.range !== undefined ||
    h['if-none-match'] !== undefined ||
    h['if-modified-since'] !== undefined ||
    h['if-match'] !== undefined ||
    h['if-unmodified-since'] !== undefined ||
    h['if-range'] !== undefined ||
    res.headersSent ||
    res.getHeaderNames().length > 0
  ) {
    return false;
  }
  const entry = cachedStaticFile(filePath, options.stats, options.maxAgeSeconds ?? 0);
  if (entry === null) return false;
  res.writeHead(200, entry.headers as string[]);
  res.end(req.method === 'HEAD' ? undefined : entry.body);
  return true;
}

/** A small file's 200 response, ready to write (see {@link cachedStaticFile}). */
export interface CachedStaticResponse {
  /** Flat `[name, value, …]`, exactly as send writes them. */
  readonly headers: readonly string[];
  readonly body: Buffer;
}

/**
 * The in-memory answer for a plain GET or HEAD of `filePath` (the caller
 * has checked that the request has no Range or conditional header), or null
 * when the file must go through send: not a small regular file, or a dotfile.
 */
export function cachedStaticFile(filePath: string, stats: Stats | undefined | null, maxAgeSeconds = 0): CachedStaticResponse | null {
  const file = regularFileStats(filePath, stats);
  if (file === null || file.size > STATIC_CACHE_MAX_FILE) return null;
  let entry = fileCache.get(filePath);
  if (
    entry === undefined ||
    entry.size !== file.size ||
    entry.mtimeMs !== file.mtimeMs ||
    entry.ctimeMs !== file.ctimeMs ||
    entry.ino !== file.ino ||
    entry.maxAgeSeconds !== maxAgeSeconds
  ) {
    if (entry !== undefined) forget(filePath, entry);
    entry = load(filePath, file, contentTypeOf(filePath), maxAgeSeconds);
    if (entry === undefined) return null;
  }
  return entry;
}

/** What a 304 for a static file says, from its stat alone (see {@link staticRevalidation}). */
export interface StaticRevalidation extends FileValidators {
  /** The 304's own headers, flat `[name, value, …]`: send's 200 headers without the Content-* ones, as send's notModified() leaves them. */
  readonly headers: readonly string[];
}

/**
 * The validators of `filePath` and the headers of its 304, computed from
 * its stat (no read, and any size: a 2 MB bundle is revalidated as cheaply
 * as a 2 KB one), or null when the request must go through send: not a
 * regular file, or a dotfile. They are exactly what send would write, so a
 * validator from either path matches the other.
 */
export function staticRevalidation(filePath: string, stats: Stats | undefined | null, maxAgeSeconds = 0): StaticRevalidation | null {
  const file = regularFileStats(filePath, stats);
  if (file === null) return null;
  const etag = weakEtag(file);
  const lastModified = file.mtime.toUTCString();
  return {
    etag,
    lastModified,
    headers: ['Accept-Ranges', 'bytes', 'Cache-Control', cacheControl(maxAgeSeconds), 'Last-Modified', lastModified, 'ETag', etag],
  };
}

/** The file's stat if it is a regular file that is not a dotfile (send denies those); `stats` when the caller has it, else a fresh stat. */
function regularFileStats(filePath: string, stats: Stats | undefined | null): Stats | null {
  if (basename(filePath).charCodeAt(0) === 0x2e /* . */) return null;
  if (stats === undefined || stats === null) {
    try {
      stats = statSync(filePath, { throwIfNoEntry: false });
    } catch {
      return null;
    }
    if (stats === undefined) return null;
  }
  return stats.isFile() ? stats : null;
}

/** The etag package's weak validator for a Stats object, as send writes it. */
function weakEtag(stats: Stats): string {
  return `W/"${stats.size.toString(16)}-${stats.mtime.getTime().toString(16)}"`;
}

/** send's Cache-Control: max-age in whole seconds, clamped to 0 … 1 year. */
function cacheControl(maxAgeSeconds: number): string {
  const maxAge = Math.floor(Math.min(Math.max(0, maxAgeSeconds * 1000), 365 * 24 * 60 * 60 * 1000) / 1000);
  return `public, max-age=${maxAge}`;
}

function forget(filePath: string, entry: CachedFile): void {
  fileCache.delete(filePath);
  fileCacheBytes -= entry.size;
}

function load(filePath: string, stats: Stats, type: string, maxAgeSeconds: number): CachedFile | undefined {
  let body: Buffer;
  try {
    body = readFileSync(filePath);
  } catch {
    return undefined;
  }
  // Changed between the stat and the read: let send deal with it.
  if (body.length !== stats.size) return undefined;
  const entry: CachedFile = {
    size: stats.size,
    mtimeMs: stats.mtimeMs,
    ctimeMs: stats.ctimeMs,
    ino: stats.ino,
    maxAgeSeconds,
    body,
    headers: [
      'Accept-Ranges',
      'bytes',
      'Cache-Control',
      cacheControl(maxAgeSeconds),
      'Last-Modified',
      stats.mtime.toUTCString(),
      'ETag',
      weakEtag(stats),
      'Content-Type',
      type,
      'Content-Length',
      String(stats.size),
    ],
  };
  while (fileCacheBytes + entry.size > STATIC_CACHE_MAX_TOTAL && fileCache.size > 0) {
    const [oldestPath, oldest] = fileCache.entries().next().value as [string, CachedFile];
    forget(oldestPath, oldest);
  }
  fileCache.set(filePath, entry);
  fileCacheBytes += entry.size;
  return entry;
}

function describe(status: number, filePath: string, err: Error): string {
  switch (status) {
    case 404:
      return `The file ${filePath} does not exist (any more).`;
    case 403:
      return 'This file is not served.';
    case 412:
      return 'A precondition (If-Match / If-Unmodified-Since) did not hold.';
    case 416:
      return 'The requested byte range lies outside the file.';
    default:
      return `Cannot read ${filePath}: ${err.message}`;
  }
}

const TITLES: Readonly<Record<number, string>> = {
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  412: 'Precondition Failed',
  416: 'Range Not Satisfiable',
  500: 'Internal Server Error',
};

const FILE_HEADERS = ['Accept-Ranges', 'Cache-Control', 'Content-Length', 'Content-Range', 'Content-Type', 'ETag', 'Last-Modified'];

function writeErrorPage(req: IncomingMessage, res: ServerResponse, error: StaticFileError): void {
  const page = errorPage(error.status, TITLES[error.status] ?? 'Error', error.message);
  // send may have set the file's headers before failing; they would describe
  // a body we are not sending. Headers the gateway set itself stay.
  for (const name of FILE_HEADERS) res.removeHeader(name);
  res.writeHead(error.status, {
    ...error.headers,
    'Content-Type': page.contentType,
    'Content-Length': Buffer.byteLength(page.body),
    'Cache-Control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : page.body);
}
