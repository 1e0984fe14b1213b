/**
 * "Debug Next Request": arms a one-shot trigger for the next request, or the
 * next one whose path matches a glob the user typed. The gateway asks
 * {@link DebugNextRequest.take} for every request; the first that matches
 * gets the Xdebug trigger (see trigger.ts) and the matcher disarms itself.
 */
import { Listeners, type Disposable } from './listeners';

/**
 * A URL-path glob: `*` any characters but `/`, `**` any characters, `?` one
 * character but `/`; everything else literal, case-sensitive. A pattern that
 * starts with `/` must match the whole path; any other pattern may match any
 * trailing part of it that starts after a `/` (so `*.php` matches
 * `/admin/users.php`, and `api/**` matches `/v2/api/orders/7`).
 */
export function compilePathGlob(pattern: string): RegExp {
  const trimmed = pattern.trim();
  if (trimmed === '') throw new Error('the path pattern is empty');
  let source = '';
  for (let i = 0; i < trimmed.length; i++) {
    const c = trimmed[i];
    if (c === '*' && trimmed[i + 1] === '*') {
      source += '.*';
      i++;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(trimmed.startsWith('/') ? `^${source}$` : `(?:^|/)${source}$`);
}

/** The path part of a request target: no query string, no fragment. */
function pathOf(target: string): string {
  const cut = target.search(/[?#]/);
  return cut < 0 ? target : target.slice(0, cut);
}

export interface ArmedTrigger {
  /** The glob as typed, or null for "the next request, whatever it is". */
  pattern: string | null;
  /** When it was armed (epoch ms). */
  since: number;
}

export class DebugNextRequest {
  private armedWith: { trigger: ArmedTrigger; regex: RegExp | null } | null = null;
  private readonly listeners = new Listeners<[armed: ArmedTrigger | null]>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Arms the trigger; `pattern` blank or absent means the next request.
   * Arming again replaces the previous pattern.
   */
  arm(pattern?: string | null): ArmedTrigger {
    const text = pattern?.trim() ? pattern.trim() : null;
    const regex = text === null ? null : compilePathGlob(text);
    const trigger: ArmedTrigger = { pattern: text, since: this.now() };
    this.armedWith = { trigger, regex };
    this.listeners.emit(trigger);
    return trigger;
  }

  /** Disarms without triggering ("Stop Debugging Requests"). Returns whether it was armed. */
  disarm(): boolean {
    if (this.armedWith === null) return false;
    this.armedWith = null;
    this.listeners.emit(null);
    return true;
  }

  get armed(): ArmedTrigger | null {
    return this.armedWith?.trigger ?? null;
  }

  /**
   * For each request (its path or whole target, e.g. `/orders/7?x=1`): true
   * for the one that should be debugged, and then the matcher is disarmed.
   */
  take(requestTarget: string): boolean {
    const armed = this.armedWith;
    if (armed === null) return false;
    if (armed.regex !== null && !armed.regex.test(pathOf(requestTarget))) return false;
    this.armedWith = null;
    this.listeners.emit(null);
    return true;
  }

  /** Told the new state on arm, disarm and take. */
  onDidChange(listener: (armed: ArmedTrigger | null) => void): Disposable {
    return this.listeners.add(listener);
  }
}
