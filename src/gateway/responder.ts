import { errorPage } from './errorPages';
import type { HttpIo } from './httpIo';
import type { Route } from './router';

/**
 * The gateway's own answers, written the same way through either front:
 * error pages, redirects, the status JSON.
 */

/** An error page, or a cut connection if the response has already begun. */
export function sendError(io: HttpIo, status: number, title: string, detail: string, hints?: readonly string[], extraHeaders?: Record<string, string>): void {
  if (io.headersSent) {
    io.cut();
    return;
  }
  const page = errorPage(status, title, detail, hints);
  const headers = ['Content-Type', page.contentType, 'Content-Length', String(Buffer.byteLength(page.body)), 'Cache-Control', 'no-store'];
  if (extraHeaders) for (const name of Object.keys(extraHeaders)) headers.push(name, extraHeaders[name] as string);
  io.writeHead(status, undefined, headers);
  io.end(page.body);
}

/** A JSON document that must not be cached (the pool's status). */
export function sendJson(io: HttpIo, value: unknown): void {
  const body = JSON.stringify(value);
  io.writeHead(200, undefined, ['Content-Type', 'application/json', 'Cache-Control', 'no-store', 'Content-Length', String(Buffer.byteLength(body))]);
  io.end(body);
}

/** A route that is answered without a file or a worker: a redirect or an error page. */
export type AnsweredRoute = Exclude<
  Route,
  { kind: 'static' } | { kind: 'script' } | { kind: 'status' } | { kind: 'live-script' } | { kind: 'live-events' } | { kind: 'control' }
>;

/** Answers a route the router settled by itself. */
export function sendRouteAnswer(io: HttpIo, route: AnsweredRoute): void {
  switch (route.kind) {
    case 'redirect':
      io.writeHead(301, undefined, ['Location', route.location, 'Content-Length', '0']);
      io.end();
      return;
    case 'not-found':
      sendError(io, 404, 'Not Found', `Nothing at ${io.url} in the document root.`);
      return;
    case 'forbidden':
      sendError(io, 403, 'Forbidden', route.reason);
      return;
    case 'bad-request':
      sendError(io, 400, 'Bad Request', route.reason);
      return;
    case 'refused':
      sendError(io, route.status, route.title, route.detail, route.hints);
      return;
  }
}
