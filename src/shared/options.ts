/**
 * The engine's options, each once: its id, the CLI flag and the extension
 * setting that set it, and its default (from {@link DEFAULTS}). The CLI's
 * parser and `--help`, the extension's settings and package.json's schema
 * (a manifest test checks it) read their names and defaults from here.
 *
 * Engine errors name the option at fault by id ({@link OptionError}), never
 * by a flag: the CLI adds the flag, the extension the setting.
 *
 * Plain data without Node or `vscode`.
 */
import { DEFAULTS } from './defaults';

/** How a value is written on the command line. */
export type OptionKind = 'text' | 'integer' | 'duration' | 'size' | 'choice' | 'pairs' | 'switch';

/** One option of the engine. */
export interface OptionSpec {
  /** The CLI's flag; null where the CLI takes the value otherwise (the document root is its argument). */
  readonly flag: `--${string}` | null;
  /** The extension's setting; null where the extension has none. */
  readonly setting: `fastcgiPool.${string}` | null;
  /** The engine's default, in the engine's units (ms, bytes); null for "none". */
  readonly default: string | number | boolean | null | Readonly<Record<string, string>>;
  /** The extension's default, in the engine's units, where it differs from the engine's (and the CLI's). */
  readonly editorDefault?: number;
  readonly kind: OptionKind;
  /** Engine units per setting unit, where they differ: 1000 for a setting in seconds of a value in ms. */
  readonly settingScale?: number;
  /** The setting's default where the editor's differs from the engine's (live reload: on in the editor, opt-in on the command line). */
  readonly settingDefault?: string | number | boolean;
}

export const OPTIONS = {
  /** '' = detected in the current folder (CLI) or the workspace folder (extension): public/, web/, htdocs/ or the folder itself, whichever has index.php. */
  documentRoot: { flag: null, setting: 'fastcgiPool.documentRoot', default: '', kind: 'text' },
  phpCgi: { flag: '--php-cgi', setting: 'fastcgiPool.phpCgiPath', default: DEFAULTS.phpCgi, kind: 'text' },
  host: { flag: '--host', setting: 'fastcgiPool.host', default: DEFAULTS.host, kind: 'text' },
  port: { flag: '--port', setting: 'fastcgiPool.port', default: DEFAULTS.port, kind: 'integer' },
  minWorkers: { flag: '--min-workers', setting: 'fastcgiPool.minWorkers', default: DEFAULTS.minWorkers, kind: 'integer' },
  maxWorkers: { flag: '--max-workers', setting: 'fastcgiPool.maxWorkers', default: DEFAULTS.maxWorkers, kind: 'integer' },
  maxRequests: { flag: '--max-requests', setting: 'fastcgiPool.maxRequests', default: DEFAULTS.maxRequests, kind: 'integer' },
  idleTimeout: { flag: '--idle-timeout', setting: 'fastcgiPool.idleTimeout', default: DEFAULTS.idleTimeoutMs, kind: 'duration', settingScale: 1_000 },
  busyTimeout: { flag: '--busy-timeout', setting: 'fastcgiPool.busyTimeout', default: DEFAULTS.busyTimeoutMs, kind: 'duration', settingScale: 1_000 },
  queueTimeout: { flag: '--queue-timeout', setting: null, default: DEFAULTS.queueTimeoutMs, kind: 'duration' },
  maxQueue: { flag: '--max-queue', setting: null, default: DEFAULTS.maxQueue, kind: 'integer' },
  maxBody: { flag: '--max-body', setting: null, default: DEFAULTS.maxBodyBytes, kind: 'size' },
  /** null = no front controller: the CLI writes it `none`, the setting leaves it empty. */
  frontController: { flag: '--front-controller', setting: 'fastcgiPool.frontController', default: DEFAULTS.frontController, kind: 'text' },
  leakPolicy: { flag: '--leak-policy', setting: 'fastcgiPool.leakPolicy', default: DEFAULTS.leakPolicy, kind: 'choice' },
  symlinks: { flag: '--symlinks', setting: 'fastcgiPool.symlinks', default: DEFAULTS.symlinks, kind: 'choice' },
  scanInterval: { flag: '--scan-interval', setting: 'fastcgiPool.scanInterval', default: DEFAULTS.scanIntervalMs, kind: 'duration' },
  /** 0 = off: the CLI's default (as PHP-FPM's); the editor's is 5 s. */
  slowlogTimeout: {
    flag: '--slowlog-timeout',
    setting: 'fastcgiPool.slowlogTimeout',
    default: DEFAULTS.slowlogTimeoutMs,
    editorDefault: DEFAULTS.editorSlowlogTimeoutMs,
    kind: 'duration',
    settingScale: 1_000,
  },
  ini: { flag: '--ini', setting: 'fastcgiPool.ini', default: {}, kind: 'pairs' },
  env: { flag: '--env', setting: 'fastcgiPool.env', default: {}, kind: 'pairs' },
  liveReload: { flag: '--live-reload', setting: 'fastcgiPool.liveReload', default: DEFAULTS.liveReload, kind: 'switch', settingDefault: true },
  xdebug: { flag: '--xdebug', setting: 'fastcgiPool.xdebug', default: DEFAULTS.xdebug, kind: 'choice' },
  /** `HOST:PORT`, `[IPv6]:PORT` or a bare port. */
  debugClient: { flag: '--debug-client', setting: 'fastcgiPool.debugClient', default: DEFAULTS.debugClient, kind: 'text' },
} as const satisfies Readonly<Record<string, OptionSpec>>;

/** One option's id, e.g. `phpCgi`. */
export type OptionId = keyof typeof OPTIONS;

/** Where an option is named: on the command line, or in the extension's settings. */
export type OptionSurface = 'cli' | 'settings';

/** `--php-cgi` or `fastcgiPool.phpCgiPath`; null where that surface has no name for it. */
export function optionName(option: OptionId, surface: OptionSurface): string | null {
  const spec: OptionSpec = OPTIONS[option];
  return surface === 'cli' ? spec.flag : spec.setting;
}

/** The default as the extension's setting holds it: in its unit, `''` for none. */
export function settingDefault(option: OptionId): unknown {
  const spec: OptionSpec = OPTIONS[option];
  if (spec.settingDefault !== undefined) return spec.settingDefault;
  const value = spec.editorDefault ?? spec.default;
  if (value === null) return '';
  if (typeof value === 'number' && spec.settingScale) return value / spec.settingScale;
  return value;
}

/**
 * An error the user fixes by changing one option (or null: not one
 * option's fault). The message says what is wrong and what to do, in words
 * that end where the surface's name for the option fits: see {@link explainOptionError}.
 */
export class OptionError extends Error {
  constructor(
    message: string,
    readonly option: OptionId | null,
  ) {
    super(message);
    this.name = 'OptionError';
  }
}

/** The error's message with the surface's name of the option at fault: `… or set the path to php-cgi (--php-cgi)`. */
export function explainOptionError(error: OptionError, surface: OptionSurface): string {
  const name = error.option ? optionName(error.option, surface) : null;
  return name ? `${error.message} (${name})` : error.message;
}
