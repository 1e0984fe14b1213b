/**
 * Does this php-cgi have Xdebug? One spawn of `php-cgi -d zend_extension=xdebug -v`
 * answers all three cases, because PHP reports a second load of Xdebug:
 * - "with Xdebug v3…" and "Cannot load Xdebug - it was already loaded" on
 *   stderr: php-cgi loads it by default (its php.ini or conf.d);
 * - "with Xdebug v3…" alone: installed, and our `-d` loaded it;
 * - neither: not installed (or built for another PHP); PHP only warns
 *   "Failed loading Zend extension 'xdebug'" and goes on.
 * The answer is cached per executable, environment and ini overrides.
 */
import { execFile } from 'node:child_process';

export type XdebugAvailability =
  /** php-cgi loads Xdebug by default. */
  | { kind: 'loaded'; version: string }
  /** Installed but not enabled: it loads with `-d zend_extension=xdebug`. */
  | { kind: 'loadable'; version: string }
  /** Not installed, or it cannot load; `detail` is PHP's own message when there is one. */
  | { kind: 'missing'; detail: string };

const VERSION = /with Xdebug v(\d[^\s,]*)/;
const ALREADY_LOADED = /Cannot load Xdebug - it was already loaded/;
const FAILED_LOADING = /Failed loading Zend extension 'xdebug'[^\n]*/;

/** Reads the output of `php-cgi -d zend_extension=xdebug -v`. */
export function classifyXdebugProbe(stdout: string, stderr: string): XdebugAvailability {
  const version = VERSION.exec(stdout)?.[1];
  if (version !== undefined) {
    return ALREADY_LOADED.test(stderr) || ALREADY_LOADED.test(stdout) ? { kind: 'loaded', version } : { kind: 'loadable', version };
  }
  const failure = FAILED_LOADING.exec(stderr) ?? FAILED_LOADING.exec(stdout);
  return { kind: 'missing', detail: failure ? failure[0].trim() : 'php-cgi -v does not list Xdebug' };
}

export interface DetectXdebugOptions {
  /** The workers' environment: PHPRC and PHP_INI_SCAN_DIR choose which ini files php-cgi reads. */
  env?: NodeJS.ProcessEnv;
  /** The user's ini overrides, passed as the workers get them (they may set extension_dir or load Xdebug). */
  ini?: Readonly<Record<string, string | number | boolean>>;
  /** Default 10 000 ms. */
  timeoutMs?: number;
}

const cache = new Map<string, Promise<XdebugAvailability>>();

/** `-d name=value` arguments, booleans as PHP writes them. */
export function iniArguments(ini: Readonly<Record<string, string | number | boolean>>): string[] {
  const args: string[] = [];
  for (const [name, value] of Object.entries(ini)) args.push('-d', `${name}=${typeof value === 'boolean' ? (value ? '1' : '0') : String(value)}`);
  return args;
}

/**
 * Tells whether `phpCgi` has Xdebug (see the file comment). Rejects only when
 * php-cgi itself cannot run (not found, not executable, timed out); a failed
 * attempt is not cached.
 */
export function detectXdebug(phpCgi: string, options: DetectXdebugOptions = {}): Promise<XdebugAvailability> {
  const env = options.env ?? process.env;
  const iniArgs = iniArguments(options.ini ?? {});
  const key = JSON.stringify([phpCgi, env.PHPRC ?? null, env.PHP_INI_SCAN_DIR ?? null, iniArgs]);
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const probe = new Promise<XdebugAvailability>((resolve, reject) => {
    execFile(
      phpCgi,
      [...iniArgs, '-d', 'zend_extension=xdebug', '-v'],
      { env, timeout: options.timeoutMs ?? 10_000, maxBuffer: 1024 * 1024, windowsHide: true },
      (error, stdout, stderr) => {
        // php-cgi -v exits 0 even when an extension fails to load; any error here means it did not run.
        if (error) reject(new Error(`cannot run ${phpCgi} -v to look for Xdebug: ${error.message}`));
        else resolve(classifyXdebugProbe(stdout, stderr));
      },
    );
  });
  cache.set(key, probe);
  probe.catch(() => cache.delete(key));
  return probe;
}

/** Forgets every cached answer (after the user installs Xdebug, say). */
export function clearXdebugDetectionCache(): void {
  cache.clear();
}
