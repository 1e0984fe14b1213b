/**
 * The engine's defaults, defined once. The pool, the gateway, the CLI's
 * `--help` and parser, the extension's settings and package.json's
 * configuration schema all take their defaults from here (a manifest test
 * checks package.json against these values).
 *
 * In the spirit of mod_fcgid and nginx, scaled for a laptop.
 */
export const DEFAULTS = {
  minWorkers: 1,
  maxWorkers: 4,
  /** 0 = never recycle after a number of requests. */
  maxRequests: 0,
  idleTimeoutMs: 60_000,
  /** nginx's fastcgi_read_timeout; PHP's own max_execution_time is 30 s. */
  busyTimeoutMs: 60_000,
  /** mod_fcgid waits up to ~64 s silently; a developer wants an answer sooner. */
  queueTimeoutMs: 10_000,
  maxQueue: 256,
  /** Between SIGTERM and SIGKILL when a worker is stopped. */
  stopGraceMs: 3_000,
  maintenanceIntervalMs: 1_000,
  scanIntervalMs: 1_000,
  leakPolicy: 'reclaim' as 'reclaim' | 'keep',
  /** PHP-FPM's request_slowlog_timeout: off on the command line (as in FPM) … */
  slowlogTimeoutMs: 0,
  /** … and 5 s in the editor, where a stack in Problems is what the developer came for. */
  editorSlowlogTimeoutMs: 5_000,
  historySize: 1_000,
  readyProbeTimeoutMs: 2_000,
  phpCgi: 'php-cgi',
  host: '127.0.0.1',
  port: 8080,
  frontController: '/index.php' as string | null,
  maxBodyBytes: 64 * 1024 * 1024,
  bodyMemoryThreshold: 1024 * 1024,
  bodyIdleTimeoutMs: 30_000,
  headersTimeoutMs: 20_000,
  keepAliveTimeoutMs: 5_000,
  statusPath: '/.fastcgi-pool/status',
  abortGraceMs: 250,
} as const;
