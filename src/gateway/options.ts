import { tmpdir } from 'node:os';
import { DEFAULTS } from '../shared/defaults';
import type { OptionSurface } from '../shared/options';
import type { SymlinkPolicy } from './resolve';

/** Settings of the HTTP front server. */
export interface GatewayOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Absolute, real path of the document root. */
  documentRoot: string;
  indexFiles: readonly string[];
  /** nginx's `try_files $uri $uri/ /index.php?$query_string`; null = plain 404. */
  frontController: string | null;
  /** Host names accepted besides localhost, 127.0.0.1 and [::1]. */
  allowedHosts: readonly string[];
  /** Largest request body (413 beyond). */
  maxBodyBytes: number;
  /** Bodies up to this size stay in memory, larger ones go to a temp file. */
  bodyMemoryThreshold: number;
  tempDir: string;
  /** A client that sends no body bytes for this long gets 408. */
  bodyIdleTimeoutMs: number;
  /** A client that has not sent its headers by then is cut off. */
  headersTimeoutMs: number;
  /** Where the pool's snapshot is served as JSON. */
  statusPath: string;
  /** `follow` symbolic links wherever they lead, or refuse those that leave the document root (`within-root`). */
  symlinks: SymlinkPolicy;
  /**
   * Serve simple requests with the lean HTTP/1.1 front (leanHttp.ts) and
   * hand the rest to Node's HTTP server; false = Node's server for all.
   */
  leanHttp: boolean;
  /** How error pages name an option the developer can change: a CLI flag or an extension setting. */
  optionSurface: OptionSurface;
  /**
   * Live reload: HTML pages get `<script src="/.fastcgi-pool/live.js">`
   * before `</body>`, and `/.fastcgi-pool/live` streams reload events for
   * the changes the owner reports (Gateway.liveReload.changed). Off: both
   * paths are a plain 404 and no page is touched.
   */
  liveReload: boolean;
}

/** Defaults: loopback only, nginx-like limits scaled for development (values in src/shared/defaults.ts). */
export const defaultGatewayOptions: Omit<GatewayOptions, 'documentRoot'> = {
  host: DEFAULTS.host,
  port: DEFAULTS.port,
  indexFiles: ['index.php', 'index.html'],
  frontController: DEFAULTS.frontController,
  allowedHosts: [],
  maxBodyBytes: DEFAULTS.maxBodyBytes,
  bodyMemoryThreshold: DEFAULTS.bodyMemoryThreshold,
  tempDir: tmpdir(),
  bodyIdleTimeoutMs: DEFAULTS.bodyIdleTimeoutMs,
  headersTimeoutMs: DEFAULTS.headersTimeoutMs,
  statusPath: DEFAULTS.statusPath,
  leanHttp: true,
  symlinks: DEFAULTS.symlinks,
  optionSurface: 'cli',
  liveReload: DEFAULTS.liveReload,
};
