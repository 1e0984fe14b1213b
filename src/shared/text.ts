/**
 * The words every surface uses for the same things: how a process ended,
 * how long something took, a request, a count. The CLI, the extension's log,
 * tree, diagnostics and status bar, and the dashboard webview all take their
 * text from here, so a lease age reads the same wherever it is shown.
 *
 * Plain functions without Node or `vscode`: the webview bundles this file.
 */

/**
 * How a process ended. The platform layer's `ProcessExit` is one; the signal
 * is a plain string here so that this file needs no Node types.
 */
export interface ExitStatus {
  readonly code: number | null;
  readonly signal: string | null;
}

/** `was killed by SIGKILL` / `exited with code 255`: follows a subject (`worker w2 (pid 1234) …`). */
export function describeExit(exit: ExitStatus): string {
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code ?? '?'}`;
}

/** `killed by SIGKILL` / `exited with code 255`: stands on its own (`crashed · killed by SIGKILL`). */
export function exitSummary(exit: ExitStatus): string {
  return exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code ?? '?'}`;
}

/** `1 finding` / `3 findings`. */
export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/**
 * A duration: `0 ms`, `840 ms`, `1.2 s`, `42 s`, `3 min 05 s`, `1 h 02 min`.
 * Milliseconds below a second (latencies live there), tenths below 10 s,
 * whole units above. Negative times (clock skew) read as 0; null or NaN as `–`.
 */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '–';
  const clamped = Math.max(0, ms);
  if (clamped < 1_000) return `${Math.round(clamped)} ms`;
  if (clamped < 10_000) return `${(Math.floor(clamped / 100) / 10).toFixed(1)} s`;
  return formatSeconds(Math.floor(clamped / 1_000));
}

/** Whole seconds, for times that tick by once a second (idle time, uptime): `0 s`, `12 s`, `3 min 05 s`. */
export function formatWholeDuration(ms: number): string {
  return formatSeconds(Math.floor(Math.max(0, ms) / 1_000));
}

/** A time window: `1 min`, `15 min`, else as {@link formatDuration} (`90 s`). */
export function formatSpan(ms: number): string {
  return ms >= 60_000 && ms % 60_000 === 0 ? `${ms / 60_000} min` : formatDuration(ms);
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3_600) return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
  return `${Math.floor(seconds / 3_600)} h ${String(Math.floor((seconds % 3_600) / 60)).padStart(2, '0')} min`;
}

/** `14:03:27`, local time. */
export function formatClock(epochMs: number): string {
  const d = new Date(epochMs);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** What a request line is made of (a lease and a history entry are one). */
export interface RequestLine {
  readonly method: string;
  readonly uri: string;
}

/** `GET /api/users?page=2`; past `max` characters it is shortened in the middle, keeping both ends. */
export function formatRequest(request: RequestLine, max = Number.POSITIVE_INFINITY): string {
  const text = `${request.method} ${request.uri}`;
  if (text.length <= max) return text;
  const keep = max - 1;
  return `${text.slice(0, Math.ceil(keep * 0.7))}…${text.slice(text.length - Math.floor(keep * 0.3))}`;
}

/** `GET /api/users (/srv/app/index.php)`: the request and the script it ran, where no location names the script. */
export function describeRequest(request: RequestLine & { readonly scriptFilename: string }): string {
  return `${formatRequest(request)} (${request.scriptFilename})`;
}

/** Where a step-debugging session is: the file (a path, or a URI Xdebug sent) and the line. */
export interface DebugLocation {
  readonly file: string | null;
  readonly line: number | null;
}

/** `Controller.php:42`: the file's name and the line (the full path goes in tooltips). */
function debugPlace(location: DebugLocation): string {
  const file = location.file === null ? '?' : (location.file.split(/[\\/]/).pop() ?? location.file) || location.file;
  return location.line === null ? file : `${file}:${location.line}`;
}

/** `paused at Controller.php:42`. */
export function pausedAt(location: DebugLocation): string {
  return `paused at ${debugPlace(location)}`;
}
