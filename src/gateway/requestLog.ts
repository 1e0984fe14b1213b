import type { Disposable } from '../pool/types';
import type { LiveReloadAction } from '../shared/liveReload';
import type { HttpIo } from './httpIo';

/** nginx's status for a request whose client closed the connection before the response began. */
const CLIENT_CLOSED_REQUEST = 499;

/** What the gateway tells its consumers (the CLI log, the extension). */
export type GatewayEvent =
  | { type: 'request'; method: string; uri: string; status: number; durationMs: number; workerId: string | null; leaseId: string | null; bytes: number }
  | { type: 'php-stderr'; workerId: string; leaseId: string; scriptFilename: string; method: string; uri: string; text: string }
  /** Live reload told the listening pages to reload (or swap stylesheets) for these changed files. */
  | { type: 'live-reload'; action: LiveReloadAction; files: readonly string[]; clients: number }
  /** A page was served without live reload: its Content-Security-Policy forbids even a same-origin script (or EventSource). */
  | { type: 'live-reload-blocked'; path: string; directive: string; policy: string }
  | RequestsSummarizedEvent;

/**
 * Requests that happened but were not reported one by one: the engine
 * thread forwards each request's events up to a budget per update and
 * counts the rest (src/engineThread/outbox.ts). The in-process gateway
 * never emits it.
 */
export interface RequestsSummarizedEvent {
  type: 'requests-summarized';
  /** Requests whose `request` event was not forwarded. */
  requests: number;
  /** Those requests by status code. */
  byStatus: Record<string, number>;
  /** Lease and idle ⇄ busy events not forwarded either. */
  leaseEvents: number;
  /** The time they span, in ms. */
  spanMs: number;
}

/** Options of {@link RequestLog.listen}. */
export interface GatewayListenOptions {
  /**
   * Whether the listener also gets the per-request `request` events (the
   * access log); default true. The CLI without an access log (`--quiet`,
   * no `--events`) still wants PHP's stderr, but not an event per request.
   */
  requests?: boolean;
}

/**
 * The gateway's events: the access log both fronts and the PHP exchange
 * write to, and the scripts' error output. With no one listening to
 * request events none is built, so an unobserved request costs no event
 * object (and a cached static file goes out in one prepared write).
 */
export class RequestLog {
  private readonly listeners = new Set<(event: GatewayEvent) => void>();
  private readonly requestListeners = new Set<(event: GatewayEvent) => void>();

  /** Subscribes to the events. */
  listen(listener: (event: GatewayEvent) => void, options: GatewayListenOptions = {}): Disposable {
    this.listeners.add(listener);
    if (options.requests ?? true) this.requestListeners.add(listener);
    return {
      dispose: () => {
        this.listeners.delete(listener);
        this.requestListeners.delete(listener);
      },
    };
  }

  /** Someone listens to request events. */
  get wanted(): boolean {
    return this.requestListeners.size > 0;
  }

  emit(event: GatewayEvent): void {
    for (const listener of event.type === 'request' ? this.requestListeners : this.listeners) {
      try {
        listener(event);
      } catch {
        // A consumer's bug must not break serving.
      }
    }
  }

  /**
   * One request, once its response has closed: the status `io` wrote, or
   * {@link CLIENT_CLOSED_REQUEST} when the client left before a response
   * head went out.
   */
  request(io: HttpIo, startedAt: number, workerId: string | null, leaseId: string | null, bytes = 0): void {
    if (this.requestListeners.size === 0) return;
    const status = io.headersSent ? io.statusCode : CLIENT_CLOSED_REQUEST;
    this.emit({ type: 'request', method: io.method, uri: io.url, status, durationMs: Date.now() - startedAt, workerId, leaseId, bytes });
  }
}
