import { isAbsolute, join } from 'node:path';
import type { PoolServerOptions } from '../gateway/poolServer';
import type { LeakPolicy } from '../pool/types';
import { OPTIONS } from '../shared/options';

/**
 * The `fastcgiPool.*` settings of one workspace folder, validated. Times are
 * in the units the settings use (seconds, the scan interval in ms).
 */
export interface FolderSettings {
  readonly phpCgiPath: string;
  /** "" = the folder itself; relative paths are relative to the folder. */
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
  readonly ini: Readonly<Record<string, string>>;
  readonly env: Readonly<Record<string, string>>;
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
  ini: OPTIONS.ini.default,
  env: OPTIONS.env.default,
};

/**
 * Settings that decide what gets executed, or who can reach it: in an
 * untrusted workspace VS Code ignores their workspace values
 * (`capabilities.untrustedWorkspaces.restrictedConfigurations`).
 */
export const RESTRICTED_SETTINGS: readonly (keyof FolderSettings)[] = ['phpCgiPath', 'documentRoot', 'frontController', 'host', 'ini', 'env'];

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

  let leakPolicy: LeakPolicy = d.leakPolicy;
  const policy = reader.get<unknown>('leakPolicy');
  if (policy === 'reclaim' || policy === 'keep') leakPolicy = policy;
  else if (policy !== undefined && policy !== null) problems.push(`fastcgiPool.leakPolicy must be "reclaim" or "keep"; using "${d.leakPolicy}"`);

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
    ini: map('ini', ['string', 'number', 'boolean']),
    env: map('env', ['string', 'number']),
  };
  if (settings.frontController !== '' && !settings.frontController.startsWith('/')) {
    problems.push(`fastcgiPool.frontController must start with "/" (or be empty for none); using "${d.frontController}"`);
    return { settings: { ...settings, frontController: d.frontController }, problems };
  }
  return { settings, problems };
}

/** The absolute document root: `${workspaceFolder}` is expanded, a relative path is taken from the folder. */
export function resolveDocumentRoot(documentRoot: string, folderPath: string): string {
  const expanded = documentRoot.replaceAll('${workspaceFolder}', folderPath);
  if (expanded === '') return folderPath;
  return isAbsolute(expanded) ? expanded : join(folderPath, expanded);
}

/**
 * Everything `startPoolServer` needs for one folder. The environment is the
 * extension host's with the folder's `env` on top, so that PATH still finds
 * php-cgi; `port` is passed separately because a busy port moves it.
 */
export function toServerOptions(settings: FolderSettings, folderPath: string, port: number, stateDir: string | null): Omit<PoolServerOptions, 'onPoolEvent' | 'onGatewayEvent'> {
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
    },
    gateway: {
      host: settings.host,
      port,
      frontController: settings.frontController === '' ? null : settings.frontController,
      optionSurface: 'settings',
    },
  };
}
