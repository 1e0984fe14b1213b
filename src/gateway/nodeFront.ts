import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { NodeHttpIo } from './httpIo';
import type { LiveReload } from './liveReload';
import { serveLiveHtml } from './liveStatic';
import type { ScriptRunner } from './phpExchange';
import type { RequestLog } from './requestLog';
import { sendJson, sendRouteAnswer } from './responder';
import { hasDuplicateHost, type ControlAction, type Router } from './router';
import { serveStatic } from './staticFiles';

/** Settings of the Node front. */
export interface NodeFrontOptions {
  /** A client that has not sent its headers by then is cut off. */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long. */
  keepAliveTimeoutMs: number;
}

/**
 * The HTTP front on Node's own `http` server: every request the lean front
 * does not serve itself (or all, without it): uploads, chunked bodies,
 * ranges, redirects, error pages, the status JSON and every malformed or
 * hostile request, with Node's parser and its error answers.
 */
export class NodeFront {
  readonly server: Server;

  constructor(
    private readonly router: Router,
    private readonly scripts: ScriptRunner,
    private readonly log: RequestLog,
    /** The document served at the status path (its URL carries the query). */
    private readonly status: (url: string) => Promise<unknown>,
    /** Answers a control request (src/gateway/controls.ts). */
    private readonly control: (action: ControlAction, req: IncomingMessage, io: NodeHttpIo) => void,
    options: NodeFrontOptions,
    /** Live reload's server side; null when it is off (the router then never routes to it). */
    private readonly live: LiveReload | null = null,
  ) {
    // 128 KiB of headers: larger than nginx's default so that an oversized
    // single header reaches our FastCGI check and gets an explanatory 431.
    // connectionsCheckingInterval: how often Node enforces headersTimeout (30 s
    // by default, far too lax against a client that trickles its headers).
    this.server = createServer(
      { maxHeaderSize: 128 * 1024, requestTimeout: 0, headersTimeout: options.headersTimeoutMs, connectionsCheckingInterval: 1_000 },
      (req, res) => this.handle(req, res),
    );
    this.server.keepAliveTimeout = options.keepAliveTimeoutMs;
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) return socket.destroy();
      const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      const text = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    });
  }

  /**
   * Node's HTTP parser stops taking new connections by itself (another
   * front sees them first); returns the function that gives it one.
   */
  takeParser(): (socket: Socket) => void {
    const server = this.server;
    const parsers = server.listeners('connection') as Array<(socket: Socket) => void>;
    server.removeAllListeners('connection');
    return (socket) => {
      for (const parser of parsers) parser.call(server, socket);
    };
  }

  /** Every request Node's HTTP server parsed. */
  private handle(req: IncomingMessage, res: ServerResponse): void {
    const startedAt = Date.now();
    const io = new NodeHttpIo(req, res);
    const route = this.router.route(io.method, io.url, req.headers.host, hasDuplicateHost(req.rawHeaders));
    if (route.kind === 'script') {
      // The exchange writes its own line when its response closes.
      this.scripts.run(io, route, startedAt);
      return;
    }
    // Every request gets one access-log line once its response has closed, aborted ones too.
    if (this.log.wanted) res.once('close', () => this.log.request(io, startedAt, null, null, bytesSent(req, res)));
    switch (route.kind) {
      case 'static':
        // An HTML page with live reload on gets its tag; everything else is send's.
        if (this.live !== null && serveLiveHtml(io, route.filePath, route.stats)) return;
        serveStatic(req, res, route.filePath, { stats: route.stats });
        return;
      case 'status':
        this.status(io.url).then(
          (document) => sendJson(io, document),
          (error: unknown) =>
            sendRouteAnswer(io, {
              kind: 'refused',
              status: 500,
              title: 'Internal Server Error',
              detail: `Cannot build the status: ${(error as Error).message}`,
            }),
        );
        return;
      case 'live-script':
        if (this.live) this.live.serveScript(io);
        else sendRouteAnswer(io, { kind: 'not-found' });
        return;
      case 'live-events':
        if (this.live) this.live.openStream(io);
        else sendRouteAnswer(io, { kind: 'not-found' });
        return;
      case 'control':
        this.control(route.action, req, io);
        return;
      default:
        sendRouteAnswer(io, route);
    }
  }
}

/** The body a completed response carried, by its Content-Length (0 for HEAD, a cut response or unknown). */
function bytesSent(req: IncomingMessage, res: ServerResponse): number {
  const length = Number(res.getHeader('content-length'));
  return req.method !== 'HEAD' && res.writableFinished && Number.isFinite(length) ? length : 0;
}
