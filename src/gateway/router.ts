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

/**
 * Where a request goes: what {@link resolveRequestSync} decided (a static
 * resolution carries the file's stat), the status JSON, or a refusal.
 */
export type Route = Resolution | StatusRoute | Refusal;

/** What the router needs from the gateway's options. */
export interface RouterOptions {
  readonly documentRoot: string;
  readonly indexFiles: readonly string[];
  readonly frontController: string | null;
  readonly allowedHosts: readonly string[];
  readonly statusPath: string;
  readonly symlinks: SymlinkPolicy;
}

const STATUS: StatusRoute = Object.freeze({ kind: 'status' });
const DUPLICATE_HOST: Refusal = Object.freeze({ kind: 'refused', status: 400, title: 'Bad Request', detail: 'The request has more than one Host header.' });
const HOST_HINTS: readonly string[] = Object.freeze([
  'The pool answers only localhost, 127.0.0.1 and [::1] (and names you add), which protects against DNS rebinding.',
]);

/**
 * Admission and routing, the same for both HTTP fronts so that they cannot
 * disagree: the Host allow-list (against DNS rebinding), one Host header,
 * no TRACE/TRACK/CONNECT, the status path, then the document root. The
 * common case (an allowed Host, a script or a file) allocates nothing here
 * beyond the resolution itself.
 */
export class Router {
  private readonly resolveConfig: ResolveConfig;
  /** The last Host header that passed {@link isHostAllowed}. */
  private lastAllowedHost: string | undefined = undefined;

  constructor(private readonly options: RouterOptions) {
    this.resolveConfig = {
      documentRoot: options.documentRoot,
      indexFiles: options.indexFiles,
      frontController: options.frontController,
      scriptExtension: '.php',
      symlinks: options.symlinks,
    };
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
    if (this.isStatusPath(url)) return STATUS;
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

  private isStatusPath(url: string): boolean {
    const statusPath = this.options.statusPath;
    return url.startsWith(statusPath) && (url.length === statusPath.length || url.charCodeAt(statusPath.length) === 0x3f /* ? */);
  }
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
