import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename, dirname } from 'node:path';
import send from 'send';
import { errorPage } from './errorPages';

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
