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
  /**
   * Live reload is opt-in for the engine and the CLI (`--live-reload`): it
   * changes the HTML a server sends. The extension turns it on by default
   * (see OPTIONS.liveReload.settingDefault).
   */
  liveReload: false,
  /** Where the live-reload script and its event stream are served (same origin as the app). */
  liveReloadScriptPath: '/.fastcgi-pool/live.js',
  liveReloadEventsPath: '/.fastcgi-pool/live',
  /**
   * A burst of file changes (a formatter on save, `git checkout`) becomes one
   * reload once no change has come for this long (Live Server waits 100 ms
   * too): long enough that a page is not reloaded between two writes of one
   * save (truncate, then write)…
   */
  liveReloadQuietMs: 100,
  /** …or at the latest this long after its first change, so an endless stream of writes still reloads. */
  liveReloadMaxDelayMs: 1_000,
  /**
   * php.ini values every worker gets unless the user's own `ini` sets the
   * same name. Debian's opcache checks a script's timestamp at most every
   * 2 s (`opcache.revalidate_freq=2`): a page reloaded right after a save
   * ran the old code 2 times in 5 in a trial. 0 checks on every request,
   * which costs a stat() per included file.
   */
  workerIni: { 'opcache.revalidate_freq': '0' } as Readonly<Record<string, string>>,
  /** Step debugging: `auto` uses Xdebug when php-cgi loads it by itself; `on` loads it; `off` never. */
  xdebug: 'auto' as 'off' | 'auto' | 'on',
  /** Where the IDE listens for Xdebug (PHP Debug's default). */
  debugClient: '127.0.0.1:9003',
  /**
   * Symbolic links in the document root are followed wherever they lead, as
   * nginx (`disable_symlinks off`), Apache on Debian (`FollowSymLinks`) and
   * `php -S` do: Laravel's `public/storage`, Debian's packaged apps. The
   * dotfile and PHP-source rules apply to where they lead as well.
   * `within-root` refuses one whose real path is outside the document root
   * (stricter, in the spirit of nginx's `disable_symlinks`).
   */
  symlinks: 'follow' as 'follow' | 'within-root',
} as const;
