import { DEFAULTS } from '../shared/defaults';
import { isHostAllowed } from './hostAllowList';
import { resolveRequestSync, type ResolveConfig, type Resolution, type SymlinkPolicy } from './resolve';

/** A request refused before it reaches the document root, with what its error page says. */
export interface Refusal {
  kind: 'refused';
  status: number;
  title: string;
  detail: string;
  hints?: readonly string[];
}

/** Asks for the pool's status JSON. */
export interface StatusRoute {
  kind: 'status';
}

/** Asks for live reload's script (`/.fastcgi-pool/live.js`) or its event stream (`/.fastcgi-pool/live`). */
export interface LiveReloadRoute {
  kind: 'live-script' | 'live-events';
}

/** One of the pool's controls beside the status path: `debug-next` ("Debug Next Request"), `debug-stop`. */
export interface ControlRoute {
  kind: 'control';
  action: ControlAction;
}

export type ControlAction = 'debug-next' | 'debug-stop';

const CONTROLS: Readonly<Record<ControlAction, ControlRoute>> = Object.freeze({
  'debug-next': Object.freeze({ kind: 'control', action: 'debug-next' }),
  'debug-stop': Object.freeze({ kind: 'control', action: 'debug-stop' }),
});

/**
 * Where a request goes: what {@link resolveRequestSync} decided (a static
 * resolution carries the file's stat), the status JSON, live reload's
 * script or event stream, one of the pool's controls, or a refusal.
 */
export type Route = Resolution | StatusRoute | LiveReloadRoute | ControlRoute | Refusal;

/** What the router needs from the gateway's options. */
export interface RouterOptions {
  readonly documentRoot: string;
  readonly indexFiles: readonly string[];
  readonly frontController: string | null;
  readonly allowedHosts: readonly string[];
  readonly statusPath: string;
  /** Serve live reload's script and events; without it their paths are a plain 404, never the app's front controller. */
  readonly liveReload: boolean;
  readonly symlinks: SymlinkPolicy;
}

const STATUS: StatusRoute = Object.freeze({ kind: 'status' });
const LIVE_SCRIPT: LiveReloadRoute = Object.freeze({ kind: 'live-script' });
const LIVE_EVENTS: LiveReloadRoute = Object.freeze({ kind: 'live-events' });
const NOT_FOUND: Route = Object.freeze({ kind: 'not-found' });
const DUPLICATE_HOST: Refusal = Object.freeze({ kind: 'refused', status: 400, title: 'Bad Request', detail: 'The request has more than one Host header.' });
const HOST_HINTS: readonly string[] = Object.freeze([
  'The pool answers only localhost, 127.0.0.1 and [::1] (and names you add), which protects against DNS rebinding.',
]);

/**
 * Admission and routing, the same for both HTTP fronts so that they cannot
 * disagree: the Host allow-list (against DNS rebinding), one Host header,
 * no TRACE/TRACK/CONNECT, the status path, live reload's paths, then the
 * document root. The
 * common case (an allowed Host, a script or a file) allocates nothing here
 * beyond the resolution itself.
 */
export class Router {
  private readonly resolveConfig: ResolveConfig;
  /** The last Host header that passed {@link isHostAllowed}. */
  private lastAllowedHost: string | undefined = undefined;
  /** The status path's folder (`/.fastcgi-pool/`): the controls live there too. */
  private readonly controlPrefix: string;

  constructor(private readonly options: RouterOptions) {
    this.resolveConfig = {
      documentRoot: options.documentRoot,
      indexFiles: options.indexFiles,
      frontController: options.frontController,
      scriptExtension: '.php',
      symlinks: options.symlinks,
    };
    this.controlPrefix = options.statusPath.slice(0, options.statusPath.lastIndexOf('/') + 1);
  }

  /**
   * Where the request goes. `duplicateHost`: it carried more than one Host
   * header (RFC 9112 §3.2: a server MUST answer 400; nginx: "client sent
   * duplicate host header").
   */
  route(method: string, url: string, host: string | undefined, duplicateHost: boolean): Route {
    if (duplicateHost) return DUPLICATE_HOST;
    if (!this.hostAllowed(host)) {
      return { kind: 'refused', status: 421, title: 'Misdirected Request', detail: `The Host header "${host ?? ''}" is not allowed here.`, hints: HOST_HINTS };
    }
    if (method === 'TRACE' || method === 'TRACK' || method === 'CONNECT') {
      return { kind: 'refused', status: 405, title: 'Method Not Allowed', detail: `${method} is not supported.` };
    }
    if (isPath(url, this.options.statusPath)) return STATUS;
    const control = this.controlAt(url);
    if (control !== null) return control;
    // Both live paths start with /.fastcgi-pool/live: one test keeps other requests on the fast path.
    if (url.startsWith(DEFAULTS.liveReloadEventsPath)) {
      const live = isPath(url, DEFAULTS.liveReloadScriptPath) ? LIVE_SCRIPT : isPath(url, DEFAULTS.liveReloadEventsPath) ? LIVE_EVENTS : null;
      if (live !== null) {
        if (!this.options.liveReload) return NOT_FOUND;
        if (method !== 'GET' && method !== 'HEAD')
          return { kind: 'refused', status: 405, title: 'Method Not Allowed', detail: `${method} is not supported here; live reload answers GET.` };
        return live;
      }
    }
    try {
      return resolveRequestSync(url, this.resolveConfig);
    } catch (error) {
      return { kind: 'refused', status: 500, title: 'Internal Server Error', detail: `Cannot resolve ${url}: ${(error as Error).message}` };
    }
  }

  /** Every request of a client carries the same Host and the check is pure, so the last accepted value is remembered. */
  private hostAllowed(host: string | undefined): boolean {
    if (host === this.lastAllowedHost && host !== undefined) return true;
    if (!isHostAllowed(host, this.options.allowedHosts)) return false;
    this.lastAllowedHost = host;
    return true;
  }

  /** `/.fastcgi-pool/debug-next?path=…`: the control, or null (one prefix comparison for every other URL). */
  private controlAt(url: string): ControlRoute | null {
    const prefix = this.controlPrefix;
    if (prefix.length < 2 || !url.startsWith(prefix)) return null;
    const end = url.indexOf('?', prefix.length);
    const name = url.slice(prefix.length, end < 0 ? url.length : end);
    return name === 'debug-next' || name === 'debug-stop' ? CONTROLS[name] : null;
  }
}

/** Whether the request target is `path`, with or without a query. */
function isPath(url: string, path: string): boolean {
  return url.startsWith(path) && (url.length === path.length || url.charCodeAt(path.length) === 0x3f); /* ? */
}

/** Whether a request's raw headers (`[name, value, …]`) carry more than one Host. */
export function hasDuplicateHost(rawHeaders: readonly string[]): boolean {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length === 4 && name.toLowerCase() === 'host' && ++count > 1) return true;
  }
  return false;
}
