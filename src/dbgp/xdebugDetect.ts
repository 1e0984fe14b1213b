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
import { spawn } from 'node:child_process';
import { signalProcessGroup } from '../platform/processControl';
import { findExecutable, pdeathsigWrapper } from '../platform/spawnWorker';

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
  /** Default 5 000 ms (php-cgi -v takes ~20 ms). */
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
  const probe = runProbe(phpCgi, [...iniArgs, '-d', 'zend_extension=xdebug', '-v'], env, options.timeoutMs ?? 5_000);
  cache.set(key, probe);
  probe.catch(() => cache.delete(key));
  return probe;
}

/** Forgets every cached answer (after the user installs Xdebug, say). */
export function clearXdebugDetectionCache(): void {
  cache.clear();
}

/** Most output a probe may write before it is cut off. */
const MAX_OUTPUT = 1024 * 1024;

/**
 * Runs `phpCgi args` and classifies its output. The probe is a process of
 * ours like a worker: in a process group of its own (a wrapper script that
 * starts something is stopped whole), tied to our life on Linux (it must
 * not outlive a manager that dies meanwhile), and killed with its group when
 * it does not answer in time.
 */
function runProbe(phpCgi: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<XdebugAvailability> {
  return new Promise<XdebugAvailability>((resolve, reject) => {
    const unix = process.platform !== 'win32';
    // Through setpriv a missing php-cgi would be setpriv's exit code 127: say it the way spawn does.
    if (findExecutable(phpCgi, env.PATH ?? '') === null) {
      reject(new Error(`cannot run ${phpCgi} -v to look for Xdebug: spawn ${phpCgi} ENOENT`));
      return;
    }
    const wrapper = process.platform === 'linux' ? pdeathsigWrapper() : null;
    const [command, ...prefix] = wrapper ? [...wrapper, phpCgi] : [phpCgi];
    const child = spawn(command as string, [...prefix, ...args], { env, detached: unix, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    let stdout = '';
    let stderr = '';
    let failure: string | null = null;
    const stop = (why: string): void => {
      failure ??= why;
      if (unix && child.pid !== undefined) signalProcessGroup(child.pid, 'SIGKILL');
      else child.kill('SIGKILL');
    };
    const timer = setTimeout(() => stop(`no answer within ${timeoutMs} ms`), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      if (stdout.length > MAX_OUTPUT) stop('too much output');
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr += text;
      if (stderr.length > MAX_OUTPUT) stop('too much output');
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${phpCgi} -v to look for Xdebug: ${error.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      // Whatever the wrapper left in its group goes too.
      if (unix && child.pid !== undefined) signalProcessGroup(child.pid, 'SIGKILL');
      // php-cgi -v exits 0 even when an extension fails to load; anything else means it did not run.
      if (failure !== null) reject(new Error(`cannot run ${phpCgi} -v to look for Xdebug: ${failure}`));
      else if (code !== 0)
        reject(new Error(`cannot run ${phpCgi} -v to look for Xdebug: it ${signal ? `was killed by ${signal}` : `exited with code ${code}`}`));
      else resolve(classifyXdebugProbe(stdout, stderr));
    });
  });
}
