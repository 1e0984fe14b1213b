import type { AddressInfo, Socket } from 'node:net';
import { describePortHolder, findPortHolder, type PortHolder } from '../platform/portHolder';
import type { Pool } from '../pool/pool';
import type { Disposable } from '../pool/types';
import { DEFAULTS } from '../shared/defaults';
import { OptionError } from '../shared/options';
import { answerControl } from './controls';
import { SERVER_SOFTWARE } from './cgiParams';
import { LeanHttpFront } from './leanHttp';
import { LiveReload, type LiveReloadNotice } from './liveReload';
import { NodeFront } from './nodeFront';
import { defaultGatewayOptions, type GatewayOptions } from './options';
import { ScriptRunner } from './phpExchange';
import { RequestLog, type GatewayEvent, type GatewayListenOptions } from './requestLog';
import { Router } from './router';
import { statusDocument, wantsStacks } from './statusDocument';

export { defaultGatewayOptions, type GatewayOptions } from './options';
export type { GatewayEvent } from './requestLog';

/** The port is taken, or the address cannot be bound; `option` is the one to change (`host` when the address does not exist here). */
export class GatewayListenError extends OptionError {
  constructor(
    message: string,
    readonly code: string | undefined,
    /** Who listens on the port, for EADDRINUSE (as far as the system tells). */
    readonly holder: PortHolder | null = null,
  ) {
    super(message, code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' ? 'host' : 'port');
    this.name = 'GatewayListenError';
  }
}

/**
 * The HTTP side of a pool: routes each request to a static file or to a PHP
 * script run by a leased worker, streaming the response with backpressure.
 * It builds the parts and owns their lifetime: the router (admission and
 * resolve), the script runner (one PHP exchange per request), the Node
 * front and, in front of it, the lean front; both fronts share the router,
 * the runner and the request log, and know nothing of each other.
 */
export class Gateway {
  readonly options: GatewayOptions;
  private readonly log = new RequestLog();
  private readonly scripts: ScriptRunner;
  private readonly node: NodeFront;
  /** Null when options.leanHttp is false. */
  private readonly lean: LeanHttpFront | null = null;
  /**
   * Live reload's server side, null when options.liveReload is false. Its
   * owner (the CLI's watcher, the editor's saves) reports changed files to
   * `liveReload.changed()`.
   */
  readonly liveReload: LiveReload | null = null;

  constructor(
    readonly pool: Pool,
    options: Partial<GatewayOptions> & { documentRoot: string },
  ) {
    this.options = { ...defaultGatewayOptions, ...options };
    const router = new Router(this.options);
    this.scripts = new ScriptRunner(pool, this.options, this.log, {
      serverName: 'localhost',
      serverAddr: this.options.host,
      serverPort: this.options.port,
      serverSoftware: SERVER_SOFTWARE,
      documentRoot: this.options.documentRoot,
      scheme: 'http',
    });
    if (this.options.liveReload) {
      this.liveReload = new LiveReload((notice) => this.log.emit(liveReloadEvent(notice)));
      this.scripts.live = this.liveReload;
    }
    const keepAliveTimeoutMs = DEFAULTS.keepAliveTimeoutMs;
    const control = (action: Parameters<typeof answerControl>[1], req: Parameters<typeof answerControl>[2], io: Parameters<typeof answerControl>[3]): void =>
      answerControl(pool, action, req, io, this.options.optionSurface);
    this.node = new NodeFront(
      router,
      this.scripts,
      this.log,
      (url) => this.status(url),
      control,
      { headersTimeoutMs: this.options.headersTimeoutMs, keepAliveTimeoutMs },
      this.liveReload,
    );
    if (this.options.leanHttp) {
      // Every connection goes to the lean front first; Node's parser gets
      // those the lean front hands over.
      const lean = new LeanHttpFront(router, this.scripts, this.log, this.node.takeParser(), {
        keepAliveTimeoutMs,
        bodyMemoryThreshold: this.options.bodyMemoryThreshold,
        maxBodyBytes: this.options.maxBodyBytes,
      });
      this.node.server.on('connection', (socket: Socket) => lean.accept(socket));
      this.lean = lean;
    }
  }

  /** Subscribes to gateway events (`requests: false`: all but the per-request access log events). */
  onEvent(listener: (event: GatewayEvent) => void, options?: GatewayListenOptions): Disposable {
    return this.log.listen(listener, options);
  }

  /** Starts listening; a busy port rejects with {@link GatewayListenError}. */
  listen(): Promise<{ host: string; port: number; url: string }> {
    const server = this.node.server;
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        const where = `${this.options.host}:${this.options.port}`;
        // Say who holds a busy port: "in use" alone sends people hunting with lsof.
        const holder = error.code === 'EADDRINUSE' ? findPortHolder(this.options.port) : null;
        const message =
          holder !== null
            ? `port ${this.options.port} on ${this.options.host} is already in use by ${describePortHolder(holder)}: stop it, or choose another port, or 0 for any free one`
            : error.code === 'EACCES'
              ? `no permission to listen on ${where}: ports below 1024 need privileges, choose another port`
              : `cannot listen on ${where}: ${error.message}`;
        reject(new GatewayListenError(message, error.code, holder));
      };
      server.once('error', onError);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', onError);
        const address = server.address() as AddressInfo;
        this.scripts.serverInfo = { ...this.scripts.serverInfo, serverPort: address.port, serverAddr: address.address };
        const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        resolve({ host: address.address, port: address.port, url: `http://${host}:${address.port}/` });
      });
    });
  }

  /** Stops accepting connections and closes idle ones; in-flight requests finish, and live reload's event streams end at once. */
  close(): Promise<void> {
    const server = this.node.server;
    return new Promise((resolve) => {
      server.close(() => resolve());
      // An open event stream never ends by itself: it would hold the port until the drain period is over.
      this.liveReload?.close();
      this.lean?.closeIdle();
      server.closeIdleConnections();
    });
  }

  /** Cuts every connection, in-flight or idle (used after the drain period). */
  closeAllConnections(): void {
    this.lean?.destroyAll();
    this.node.server.closeAllConnections();
  }

  /** The status JSON: the pool's snapshot and where the gateway serves, with live reload's state (`?stacks=1`: with the busy workers' PHP stacks). */
  private status(url: string): Promise<unknown> {
    const gateway = {
      documentRoot: this.options.documentRoot,
      port: this.scripts.serverInfo.serverPort,
      liveReload: this.liveReload?.status() ?? { enabled: false },
    };
    return statusDocument(this.pool, gateway, wantsStacks(url));
  }
}

function liveReloadEvent(notice: LiveReloadNotice): GatewayEvent {
  return notice.type === 'broadcast'
    ? { type: 'live-reload', action: notice.action, files: notice.files, clients: notice.clients }
    : { type: 'live-reload-blocked', path: notice.path, directive: notice.directive, policy: notice.policy };
}
