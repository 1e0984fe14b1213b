import { randomBytes } from 'node:crypto';
import { DEFAULTS } from '../shared/defaults';
import { liveReloadAction, type LiveReloadAction } from '../shared/liveReload';
import type { HttpIo, HttpIoClient } from './httpIo';
import { cspBlockOf, growContentLength, HtmlInjector, isInjectableResponse, isPageRequest, rawHeader } from './liveInject';
import { LIVE_RELOAD_CLIENT } from './liveReloadClient';

/** What the status JSON says about live reload (`gateway.liveReload`). */
export interface LiveReloadStatus {
  readonly enabled: true;
  /** Pages listening right now (open event streams). */
  readonly clients: number;
  /** Reload and stylesheet events sent since the start. */
  readonly reloads: number;
  readonly stylesheetSwaps: number;
  /** Pages left alone because their Content-Security-Policy forbids even a same-origin script; the latest per path. */
  readonly blockedByCsp: readonly { readonly path: string; readonly directive: string; readonly policy: string; readonly at: number }[];
}

/** What live reload tells its owner (the gateway turns these into gateway events). */
export type LiveReloadNotice =
  | { readonly type: 'broadcast'; readonly action: LiveReloadAction; readonly files: readonly string[]; readonly clients: number }
  | { readonly type: 'blocked-by-csp'; readonly path: string; readonly directive: string; readonly policy: string };

/** Timing of the coalescing; the defaults are DEFAULTS.liveReloadQuietMs and liveReloadMaxDelayMs. */
export interface LiveReloadTiming {
  readonly quietMs: number;
  readonly maxDelayMs: number;
}

/** Paths remembered as blocked by CSP (the oldest go first). */
const MAX_BLOCKED_PATHS = 50;
/** A comment line on every open stream this often, so a proxy in between (a forwarded port) does not close it as idle. */
const HEARTBEAT_MS = 25_000;

/**
 * Live reload's server side: the pages listening on `/.fastcgi-pool/live`
 * (Server-Sent Events), the changes reported by a watcher (the CLI's, or the
 * editor's saves), and the pages whose CSP keeps it out.
 *
 * Changes are coalesced: a burst (a formatter rewriting on save, a `git
 * checkout`, 20 saves in 100 ms) becomes one event once no change has come
 * for `quietMs`, or `maxDelayMs` after its first change. A burst of
 * stylesheets only is a `css` event (the pages swap their stylesheets in
 * place); anything else is a `reload`.
 */
export class LiveReload {
  /** Names this run of the server: a page that reconnects to another run reloads. */
  readonly run = randomBytes(6).toString('hex');
  readonly script = Buffer.from(LIVE_RELOAD_CLIENT, 'utf8');
  private readonly clients = new Set<LiveStream>();
  private readonly pending = new Set<string>();
  private firstPendingAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly blocked = new Map<string, { path: string; directive: string; policy: string; at: number }>();
  private reloads = 0;
  private stylesheetSwaps = 0;
  private closed = false;

  constructor(
    private readonly notify: (notice: LiveReloadNotice) => void = () => undefined,
    private readonly timing: LiveReloadTiming = { quietMs: DEFAULTS.liveReloadQuietMs, maxDelayMs: DEFAULTS.liveReloadMaxDelayMs },
  ) {}

  /** Files changed (absolute paths, or relative ones): the listening pages reload, or swap stylesheets, once the burst is over. */
  changed(files: Iterable<string>): void {
    if (this.closed) return;
    const now = Date.now();
    if (this.pending.size === 0) this.firstPendingAt = now;
    for (const file of files) this.pending.add(file);
    if (this.pending.size === 0) return;
    if (this.timer !== null) clearTimeout(this.timer);
    const due = Math.min(now + this.timing.quietMs, this.firstPendingAt + this.timing.maxDelayMs);
    this.timer = setTimeout(() => this.flush(), Math.max(0, due - now));
    this.timer.unref();
  }

  /** Serves the event stream to one page, until it leaves or the server closes. */
  openStream(io: HttpIo): void {
    io.writeHead(200, undefined, ['Content-Type', 'text/event-stream; charset=utf-8', 'Cache-Control', 'no-store', 'X-Accel-Buffering', 'no']);
    if (io.method === 'HEAD' || this.closed) {
      io.end();
      return;
    }
    const stream = new LiveStream(io, this.clients);
    // retry: how soon the browser reconnects after the server went away (a restart).
    stream.send(`retry: 500\nevent: hello\ndata: ${JSON.stringify({ run: this.run })}\n\n`);
    this.clients.add(stream);
    this.heartbeat ??= setInterval(() => this.beat(), HEARTBEAT_MS).unref();
  }

  /** Serves live.js. */
  serveScript(io: HttpIo): void {
    io.writeHead(200, undefined, ['Content-Type', 'text/javascript; charset=utf-8', 'Cache-Control', 'no-cache', 'Content-Length', String(this.script.length)]);
    io.end(this.script);
  }

  /**
   * The injector for a script's response, or null when the page is left
   * alone: not a page load, not uncompressed inline HTML, or a CSP that
   * forbids even a same-origin script (then remembered for the status JSON).
   * `flatHeaders` is the response's header list: a Content-Length in it is
   * raised by the tag's length.
   */
  injectorFor(io: HttpIo, status: number, flatHeaders: string[], listenPort: number): HtmlInjector | null {
    // A HEAD gets the headers its GET would (a Content-Length that counts the tag).
    if (!isPageRequest(io.method === 'HEAD' ? 'GET' : io.method, io.rawHeaders) || !isInjectableResponse(status, flatHeaders)) return null;
    const path = pathOf(io.url);
    const block = cspBlockOf(flatHeaders, rawHeader(io.rawHeaders, 'host'), listenPort);
    if (block !== null) {
      this.blockedByCsp(path, block.directive, block.policy);
      return null;
    }
    this.notBlocked(path);
    growContentLength(flatHeaders);
    return new HtmlInjector();
  }

  /** A page was left alone because its CSP forbids the script; remembered for the status JSON, told once per path and policy. */
  blockedByCsp(path: string, directive: string, policy: string): void {
    const known = this.blocked.get(path);
    this.blocked.delete(path);
    this.blocked.set(path, { path, directive, policy, at: Date.now() });
    if (this.blocked.size > MAX_BLOCKED_PATHS) this.blocked.delete(this.blocked.keys().next().value as string);
    if (known?.policy !== policy) this.notify({ type: 'blocked-by-csp', path, directive, policy });
  }

  /** A page with this path was injected after all: its policy no longer blocks it. */
  notBlocked(path: string): void {
    if (this.blocked.size > 0) this.blocked.delete(path);
  }

  status(): LiveReloadStatus {
    return {
      enabled: true,
      clients: this.clients.size,
      reloads: this.reloads,
      stylesheetSwaps: this.stylesheetSwaps,
      blockedByCsp: [...this.blocked.values()],
    };
  }

  /** Ends every event stream (so the server can close at once) and drops what is pending. */
  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    this.timer = this.heartbeat = null;
    this.pending.clear();
    for (const stream of [...this.clients]) stream.end();
    this.clients.clear();
  }

  private flush(): void {
    this.timer = null;
    if (this.pending.size === 0) return;
    const files = [...this.pending];
    this.pending.clear();
    const action = liveReloadAction(files);
    if (action === 'css') this.stylesheetSwaps++;
    else this.reloads++;
    const message = `event: ${action}\ndata: ${JSON.stringify({ files: files.slice(0, 20) })}\n\n`;
    for (const stream of this.clients) stream.send(message);
    this.notify({ type: 'broadcast', action, files, clients: this.clients.size });
  }

  private beat(): void {
    if (this.clients.size === 0) {
      if (this.heartbeat !== null) clearInterval(this.heartbeat);
      this.heartbeat = null;
      return;
    }
    for (const stream of this.clients) stream.send(': ping\n\n');
  }
}

/** The request target without its query. */
function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

/** One page's open event stream: the HttpIo's client, so that it leaves the set when the page goes. */
class LiveStream implements HttpIoClient {
  constructor(
    private readonly io: HttpIo,
    private readonly set: Set<LiveStream>,
  ) {
    io.attach(this);
  }

  send(text: string): void {
    // A slow page only buffers a few events; there is nothing to wait for.
    this.io.write(Buffer.from(text, 'utf8'));
  }

  end(): void {
    this.set.delete(this);
    if (!this.io.completed) this.io.end();
  }

  onClientClose(): void {
    this.set.delete(this);
  }

  resumeOutput(): void {}
}
