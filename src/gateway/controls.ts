import type { IncomingMessage } from 'node:http';
import { DebuggerUnavailableError, type Pool } from '../pool/pool';
import { explainOptionError, type OptionSurface } from '../shared/options';
import type { HttpIo } from './httpIo';
import type { ControlAction } from './router';

/**
 * The pool's controls, beside its status JSON, for the command line and
 * scripts (the editor calls the pool directly):
 *
 *     POST /.fastcgi-pool/debug-next[?path=GLOB]   "Debug Next Request": the next PHP request
 *                                                  (whose path matches GLOB) gets the Xdebug trigger
 *     POST /.fastcgi-pool/debug-stop               "Stop Debugging Requests": disarm, end every session
 *
 * Both answer JSON. They change state, so they take POST only, and refuse a
 * request whose `Origin` is another site's: the Host allow-list already
 * stops DNS rebinding, and this stops a page in the developer's browser from
 * posting a form here (curl and scripts send no Origin).
 */
export function answerControl(pool: Pool, action: ControlAction, req: IncomingMessage, io: HttpIo, surface: OptionSurface): void {
  // Nothing here reads a body: drain it, so that the connection can be kept.
  req.resume();
  if (req.method !== 'POST') {
    sendControlJson(io, 405, { error: `${action} changes the pool's state: use POST` }, ['Allow', 'POST']);
    return;
  }
  if (!sameOrigin(req.headers.origin, req.headers.host)) {
    sendControlJson(io, 403, { error: `refused: a request from ${req.headers.origin} may not control the pool` });
    return;
  }
  if (action === 'debug-stop') {
    sendControlJson(io, 200, pool.debugger.stopDebugging());
    return;
  }
  const pattern = new URL(io.url, 'http://pool.invalid').searchParams.get('path');
  try {
    const armed = pool.debugger.arm(pattern);
    sendControlJson(io, 200, { armed: { pattern: armed.pattern, since: armed.since }, trigger: 'XDEBUG_TRIGGER cookie on that one request' });
  } catch (error) {
    if (error instanceof DebuggerUnavailableError) sendControlJson(io, 409, { error: explainOptionError(error, surface), debugger: pool.debugger.snapshot() });
    else if (error instanceof RangeError) sendControlJson(io, 400, { error: error.message });
    else throw error;
  }
}

/** No Origin (curl, scripts), or one naming this very host. */
function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  try {
    return host !== undefined && new URL(origin).host === host.toLowerCase();
  } catch {
    return false; // `null` (a sandboxed page, a file) and garbage
  }
}

function sendControlJson(io: HttpIo, status: number, value: unknown, extraHeaders: string[] = []): void {
  const body = JSON.stringify(value);
  io.writeHead(status, undefined, [
    'Content-Type',
    'application/json',
    'Cache-Control',
    'no-store',
    'Content-Length',
    String(Buffer.byteLength(body)),
    ...extraHeaders,
  ]);
  io.end(body);
}
