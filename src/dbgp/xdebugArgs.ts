/**
 * `--xdebug off|auto|on` (setting `fastcgiPool.xdebug`): whether the workers
 * run with the step debugger, and the `-d` arguments that point them at the
 * pool's DBGp relay instead of straight at the IDE.
 */
import { DEFAULT_DEBUG_CLIENT, type DebugClientAddress } from './debugClient';
import type { XdebugAvailability } from './xdebugDetect';

export type XdebugSetting = 'off' | 'auto' | 'on';

export const XDEBUG_SETTINGS: readonly XdebugSetting[] = ['off', 'auto', 'on'];

/** Reads `--xdebug`; throws with the allowed values. */
export function parseXdebugSetting(text: string): XdebugSetting {
  const value = text.trim().toLowerCase();
  if ((XDEBUG_SETTINGS as readonly string[]).includes(value)) return value as XdebugSetting;
  throw new Error(`--xdebug must be one of ${XDEBUG_SETTINGS.join(', ')} (got "${text}")`);
}

/** How to get Xdebug, for messages: Debian's package first, PECL everywhere else. */
export const XDEBUG_INSTALL_HINT = 'install it: Debian/Ubuntu `sudo apt-get install php-xdebug`, elsewhere `pecl install xdebug`';

/** `--xdebug on` with a php-cgi that has no Xdebug. */
export class XdebugUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XdebugUnavailableError';
  }
}

export type XdebugDecision =
  | { enabled: false; reason: string }
  | {
      enabled: true;
      /** Add `-d zend_extension=xdebug`: installed but not enabled for php-cgi. */
      loadExtension: boolean;
      version: string;
    };

/**
 * Whether workers debug. `auto` uses Xdebug when php-cgi loads it already;
 * `on` loads it when it is installed, and throws {@link XdebugUnavailableError}
 * when it is missing or too old.
 */
export function decideXdebug(setting: XdebugSetting, availability: XdebugAvailability, phpCgi: string): XdebugDecision {
  if (setting === 'off') return { enabled: false, reason: 'Xdebug is off (--xdebug off)' };
  if (availability.kind === 'missing') {
    if (setting === 'auto') return { enabled: false, reason: `${phpCgi} has no Xdebug; to debug requests, ${XDEBUG_INSTALL_HINT}` };
    throw new XdebugUnavailableError(
      `--xdebug on: ${phpCgi} has no Xdebug (${availability.detail}). To debug requests, ${XDEBUG_INSTALL_HINT}; ` +
        `or use --xdebug auto (setting fastcgiPool.xdebug) to run without it.`,
    );
  }
  if (!/^[3-9]\./.test(availability.version)) {
    const reason = `${phpCgi} has Xdebug ${availability.version}; the pool speaks to Xdebug 3 or later (${XDEBUG_INSTALL_HINT})`;
    if (setting === 'auto') return { enabled: false, reason };
    throw new XdebugUnavailableError(`--xdebug on: ${reason}`);
  }
  if (availability.kind === 'loaded') return { enabled: true, loadExtension: false, version: availability.version };
  if (setting === 'auto') {
    return { enabled: false, reason: `Xdebug ${availability.version} is installed but not enabled for ${phpCgi}; --xdebug on loads it for the workers` };
  }
  return { enabled: true, loadExtension: true, version: availability.version };
}

type IniValues = Readonly<Record<string, string | number | boolean>>;

export interface XdebugWorkerArgs {
  /** `-d` arguments to put AFTER the user's own ini arguments (the later `-d` of a name wins). */
  args: string[];
  /** What the user's ini changes about debugging, for the log. */
  notes: string[];
  /** The `XDEBUG_TRIGGER` value a triggered request must carry (`xdebug.trigger_value`, else `1`). */
  triggerValue: string;
}

function iniText(value: string | number | boolean | undefined): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
}

/**
 * The workers' Xdebug arguments for a decision that enabled it. The user's
 * `xdebug.mode` and `xdebug.start_with_request` are kept when given; the
 * client address is always the relay's (and discovery off, which would
 * otherwise send Xdebug to the browser's address, past the relay).
 */
export function xdebugWorkerArgs(decision: Extract<XdebugDecision, { enabled: true }>, relayPort: number, userIni: IniValues = {}): XdebugWorkerArgs {
  const args: string[] = [];
  const notes: string[] = [];
  const set = (name: string, value: string): void => {
    args.push('-d', `${name}=${value}`);
  };
  if (decision.loadExtension) set('zend_extension', 'xdebug');

  const mode = iniText(userIni['xdebug.mode']);
  if (mode === undefined) set('xdebug.mode', 'debug');
  else if (!mode.split(',').some((part) => part.trim() === 'debug')) {
    notes.push(`xdebug.mode=${mode} from your ini has no "debug": requests will not be debugged`);
  }
  const start = iniText(userIni['xdebug.start_with_request']);
  if (start === undefined) set('xdebug.start_with_request', 'trigger');
  else if (start === 'yes' || start === '1') notes.push(`xdebug.start_with_request=${start} from your ini: every request opens a debug session`);

  set('xdebug.client_host', '127.0.0.1');
  set('xdebug.client_port', String(relayPort));
  set('xdebug.discover_client_host', '0');

  const triggerValue = (iniText(userIni['xdebug.trigger_value']) ?? '').split(',')[0].trim() || '1';
  return { args, notes, triggerValue };
}

/**
 * The IDE address: `--debug-client` when given, else the `xdebug.client_host`
 * and `xdebug.client_port` of the user's ini (they were meant for the IDE; the
 * workers now talk to the relay), else 127.0.0.1:9003.
 */
export function resolveDebugClient(explicit: DebugClientAddress | null | undefined, userIni: IniValues = {}): DebugClientAddress {
  if (explicit) return { ...explicit };
  const host = iniText(userIni['xdebug.client_host'])?.trim();
  const portText = iniText(userIni['xdebug.client_port'])?.trim();
  const port = portText !== undefined && /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  return {
    host: host || DEFAULT_DEBUG_CLIENT.host,
    port: port >= 1 && port <= 65535 ? port : DEFAULT_DEBUG_CLIENT.port,
  };
}
