import { isAbsolute, join, relative } from 'node:path';
import type { PoolServerOptions } from '../gateway/poolServer';
import { detectDocumentRoot } from '../platform/documentRoot';
import { DebugClientSyntaxError, parseDebugClient } from '../dbgp/debugClient';
import type { XdebugSetting } from '../dbgp/xdebugArgs';
import type { SymlinkPolicy } from '../gateway/resolve';
import type { LeakPolicy } from '../pool/types';
import { OPTIONS, optionName } from '../shared/options';

/**
 * The `fastcgiPool.*` settings of one workspace folder, validated. Times are
 * in the units the settings use (seconds, the scan interval in ms).
 */
export interface FolderSettings {
  readonly phpCgiPath: string;
  /** "" = detected: public/, web/ or htdocs/ of the folder, whichever has index.php, else the folder itself; relative paths are relative to the folder. */
  readonly documentRoot: string;
  /** "" = no front controller (unknown paths get a plain 404). */
  readonly frontController: string;
  readonly host: string;
  /** 0 = any free port. */
  readonly port: number;
  readonly minWorkers: number;
  readonly maxWorkers: number;
  readonly maxRequests: number;
  readonly idleTimeout: number;
  readonly busyTimeout: number;
  /** Seconds; 0 = off. */
  readonly slowlogTimeout: number;
  readonly scanInterval: number;
  readonly leakPolicy: LeakPolicy;
  readonly symlinks: SymlinkPolicy;
  readonly ini: Readonly<Record<string, string>>;
  readonly env: Readonly<Record<string, string>>;
  /** Pages reload when a file of the folder is saved or changes on disk. */
  readonly liveReload: boolean;
  readonly xdebug: XdebugSetting;
  /** `HOST:PORT` of the IDE; "" = the ini's `xdebug.client_host`/`client_port`, else 127.0.0.1:9003. */
  readonly debugClient: string;
}

/**
 * The defaults, from the option catalogue in the settings' units (seconds
 * for the idle and busy timeouts); package.json's schema declares the same
 * (the manifest test checks both against the catalogue).
 */
export const SETTING_DEFAULTS: FolderSettings = {
  phpCgiPath: OPTIONS.phpCgi.default,
  documentRoot: OPTIONS.documentRoot.default,
  frontController: OPTIONS.frontController.default ?? '',
  host: OPTIONS.host.default,
  port: OPTIONS.port.default,
  minWorkers: OPTIONS.minWorkers.default,
  maxWorkers: OPTIONS.maxWorkers.default,
  maxRequests: OPTIONS.maxRequests.default,
  idleTimeout: OPTIONS.idleTimeout.default / OPTIONS.idleTimeout.settingScale,
  busyTimeout: OPTIONS.busyTimeout.default / OPTIONS.busyTimeout.settingScale,
  slowlogTimeout: OPTIONS.slowlogTimeout.editorDefault / OPTIONS.slowlogTimeout.settingScale,
  scanInterval: OPTIONS.scanInterval.default,
  leakPolicy: OPTIONS.leakPolicy.default,
  symlinks: OPTIONS.symlinks.default,
  ini: OPTIONS.ini.default,
  env: OPTIONS.env.default,
  liveReload: OPTIONS.liveReload.settingDefault,
  xdebug: OPTIONS.xdebug.default,
  debugClient: OPTIONS.debugClient.default,
};

/**
 * Settings that decide what gets executed, or who can reach it: in an
 * untrusted workspace VS Code ignores their workspace values
 * (`capabilities.untrustedWorkspaces.restrictedConfigurations`).
 */
export const RESTRICTED_SETTINGS: readonly (keyof FolderSettings)[] = [
  'phpCgiPath',
  'documentRoot',
  'frontController',
  'host',
  'ini',
  'env',
  'xdebug',
  'debugClient',
];

/** How far past the configured port we look for a free one. */
export const PORT_FALLBACK_RANGE = 20;

/** The part of `vscode.WorkspaceConfiguration` we read (so this module needs no `vscode`). */
export interface SettingsReader {
  get<T>(section: string): T | undefined;
}

/** Validated settings, plus a line for each value that was ignored and why. */
export interface SettingsResult {
  readonly settings: FolderSettings;
  readonly problems: readonly string[];
}

/** Reads and validates one folder's settings; a bad value falls back to its default, with a problem line. */
export function readSettings(reader: SettingsReader): SettingsResult {
  const problems: string[] = [];
  const d = SETTING_DEFAULTS;
  const string = (key: keyof FolderSettings, fallback: string): string => {
    const value = reader.get<unknown>(key);
    if (value === undefined || value === null) return fallback;
    if (typeof value === 'string') return value.trim();
    problems.push(`fastcgiPool.${key} must be a string; using "${fallback}"`);
    return fallback;
  };
  const integer = (key: keyof FolderSettings, fallback: number, min: number, max: number): number => {
    const value = reader.get<unknown>(key);
    if (value === undefined || value === null) return fallback;
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
    problems.push(`fastcgiPool.${key} must be a whole number from ${min} to ${max}; using ${fallback}`);
    return fallback;
  };
  const map = (key: 'ini' | 'env', allowed: readonly string[]): Record<string, string> => {
    const value = reader.get<unknown>(key);
    if (value === undefined || value === null) return {};
    if (typeof value !== 'object' || Array.isArray(value)) {
      problems.push(`fastcgiPool.${key} must be an object of names and values; ignoring it`);
      return {};
    }
    const result: Record<string, string> = {};
    for (const [name, raw] of Object.entries(value as Record<string, unknown>)) {
      if (!allowed.includes(typeof raw)) {
        problems.push(`fastcgiPool.${key}.${name} must be a ${allowed.join(' or ')}; ignoring it`);
        continue;
      }
      // php -d takes 1/0 for booleans; "true" would be read as a string.
      result[name] = typeof raw === 'boolean' ? (raw ? '1' : '0') : String(raw);
    }
    return result;
  };

  const boolean = (key: keyof FolderSettings, fallback: boolean): boolean => {
    const value = reader.get<unknown>(key);
    if (value === undefined || value === null) return fallback;
    if (typeof value === 'boolean') return value;
    problems.push(`fastcgiPool.${key} must be true or false; using ${fallback}`);
    return fallback;
  };

  let leakPolicy: LeakPolicy = d.leakPolicy;
  const policy = reader.get<unknown>('leakPolicy');
  if (policy === 'reclaim' || policy === 'keep') leakPolicy = policy;
  else if (policy !== undefined && policy !== null) problems.push(`fastcgiPool.leakPolicy must be "reclaim" or "keep"; using "${d.leakPolicy}"`);

  let xdebug: XdebugSetting = d.xdebug;
  const xdebugValue = reader.get<unknown>('xdebug');
  if (xdebugValue === 'off' || xdebugValue === 'auto' || xdebugValue === 'on') xdebug = xdebugValue;
  else if (xdebugValue !== undefined && xdebugValue !== null) problems.push(`fastcgiPool.xdebug must be "off", "auto" or "on"; using "${d.xdebug}"`);
  let debugClient = string('debugClient', d.debugClient);
  if (debugClient !== '') {
    try {
      parseDebugClient(debugClient);
    } catch (error) {
      if (!(error instanceof DebugClientSyntaxError)) throw error;
      problems.push(`fastcgiPool.debugClient: ${error.message}; using "${d.debugClient}"`);
      debugClient = d.debugClient;
    }
  }
  let symlinks: SymlinkPolicy = d.symlinks;
  const mode = reader.get<unknown>('symlinks');
  if (mode === 'follow' || mode === 'within-root') symlinks = mode;
  else if (mode !== undefined && mode !== null) problems.push(`fastcgiPool.symlinks must be "follow" or "within-root"; using "${d.symlinks}"`);

  let minWorkers = integer('minWorkers', d.minWorkers, 0, 64);
  const maxWorkers = integer('maxWorkers', d.maxWorkers, 1, 64);
  if (minWorkers > maxWorkers) {
    problems.push(`fastcgiPool.minWorkers (${minWorkers}) is above fastcgiPool.maxWorkers (${maxWorkers}); using ${maxWorkers}`);
    minWorkers = maxWorkers;
  }
  const settings: FolderSettings = {
    phpCgiPath: string('phpCgiPath', d.phpCgiPath) || d.phpCgiPath,
    documentRoot: string('documentRoot', d.documentRoot),
    frontController: string('frontController', d.frontController),
    host: string('host', d.host) || d.host,
    port: integer('port', d.port, 0, 65535),
    minWorkers,
    maxWorkers,
    maxRequests: integer('maxRequests', d.maxRequests, 0, 1_000_000),
    idleTimeout: integer('idleTimeout', d.idleTimeout, 0, 86_400),
    busyTimeout: integer('busyTimeout', d.busyTimeout, 0, 86_400),
    slowlogTimeout: integer('slowlogTimeout', d.slowlogTimeout, 0, 86_400),
    scanInterval: integer('scanInterval', d.scanInterval, 0, 60_000),
    leakPolicy,
    symlinks,
    ini: map('ini', ['string', 'number', 'boolean']),
    env: map('env', ['string', 'number']),
    liveReload: boolean('liveReload', d.liveReload),
    xdebug,
    debugClient,
  };
  if (settings.frontController !== '' && !settings.frontController.startsWith('/')) {
    problems.push(`fastcgiPool.frontController must start with "/" (or be empty for none); using "${d.frontController}"`);
    return { settings: { ...settings, frontController: d.frontController }, problems };
  }
  return { settings, problems };
}

/** The absolute document root: `${workspaceFolder}` is expanded, a relative path is taken from the folder, an empty one is detected. */
export function resolveDocumentRoot(documentRoot: string, folderPath: string): string {
  return documentRootOf(documentRoot, folderPath).path;
}

/** What a folder serves and why: the setting's folder, or the one detected when the setting is empty. */
export interface ServedRoot {
  /** Absolute. */
  readonly path: string;
  /** As shown: relative to the folder (`public`), `''` for the folder itself, or absolute when outside it. */
  readonly shown: string;
  /** Detected (the setting is empty), and which index.php decided it (null: none found, the folder itself). */
  readonly detected: { readonly indexFile: string | null } | null;
}

/** The document root for the setting's value (see {@link resolveDocumentRoot}), with how it was chosen. */
export function documentRootOf(documentRoot: string, folderPath: string): ServedRoot {
  const expanded = documentRoot.replaceAll('${workspaceFolder}', folderPath);
  if (expanded === '') {
    const found = detectDocumentRoot(folderPath);
    return { path: found.path, shown: found.relative, detected: { indexFile: found.indexFile } };
  }
  const path = isAbsolute(expanded) ? expanded : join(folderPath, expanded);
  const inside = relative(folderPath, path);
  return { path, shown: inside === '' || (!inside.startsWith('..') && !isAbsolute(inside)) ? inside : path, detected: null };
}

/**
 * Everything `startPoolServer` needs for one folder. The environment is the
 * extension host's with the folder's `env` on top, so that PATH still finds
 * php-cgi; `port` is passed separately because a busy port moves it.
 */
export function toServerOptions(
  settings: FolderSettings,
  folderPath: string,
  port: number,
  stateDir: string | null,
): Omit<PoolServerOptions, 'onPoolEvent' | 'onGatewayEvent'> {
  return {
    documentRoot: resolveDocumentRoot(settings.documentRoot, folderPath),
    pool: {
      phpCgi: settings.phpCgiPath,
      minWorkers: settings.minWorkers,
      maxWorkers: settings.maxWorkers,
      maxRequests: settings.maxRequests,
      idleTimeoutMs: settings.idleTimeout * OPTIONS.idleTimeout.settingScale,
      busyTimeoutMs: settings.busyTimeout * OPTIONS.busyTimeout.settingScale,
      slowlogTimeoutMs: settings.slowlogTimeout * OPTIONS.slowlogTimeout.settingScale,
      ini: settings.ini,
      env: { ...process.env, ...settings.env },
      scanIntervalMs: settings.scanInterval,
      leakPolicy: settings.leakPolicy,
      stateDir,
      xdebug: settings.xdebug,
      debugClient: settings.debugClient === '' ? null : settings.debugClient,
    },
    gateway: {
      host: settings.host,
      port,
      frontController: settings.frontController === '' ? null : settings.frontController,
      symlinks: settings.symlinks,
      optionSurface: 'settings',
      liveReload: settings.liveReload,
    },
  };
}

/** `public/ (detected: public/index.php)`, `the folder itself (no index.php found)`, `web/ (from fastcgiPool.documentRoot)`. */
export function servedRootText(root: ServedRoot): string {
  const where = root.shown === '' ? 'the folder itself' : isAbsolute(root.shown) ? root.shown : `${root.shown}/`;
  if (root.detected === null) return `${where} (from ${optionName('documentRoot', 'settings')})`;
  return root.detected.indexFile ? `${where} (detected: ${root.detected.indexFile})` : `${where} (no index.php found)`;
}

/**
 * The `php` executables that other PHP extensions are configured with
 * (`php.validate.executablePath`, built into VS Code; `php.executablePath`,
 * used by several PHP extensions): php-cgi is usually installed beside php.
 */
export function phpExecutablePaths(php: SettingsReader): string[] {
  const paths: string[] = [];
  for (const key of ['validate.executablePath', 'executablePath']) {
    const value = php.get<unknown>(key);
    if (typeof value === 'string' && value.trim() !== '') paths.push(value.trim());
  }
  return paths;
}
