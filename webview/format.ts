/** Text for the dashboard: durations, rates, clock times, paths. Pure. */
import type { ProcessExit } from '../src/platform/processControl';

/** `0 ms`, `840 ms`, `1.2 s`, `42 s`, `3 min 05 s`, `1 h 02 min`. */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '–';
  const v = Math.max(0, ms);
  if (v < 1000) return `${Math.round(v)} ms`;
  if (v < 10_000) return `${(Math.floor(v / 100) / 10).toFixed(1)} s`;
  const s = Math.floor(v / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** A timeline span: `1 min`, `15 min`, `90 s`. */
export function formatSpan(ms: number): string {
  return ms >= 60_000 && ms % 60_000 === 0 ? `${ms / 60_000} min` : formatDuration(ms);
}

/** `0`, `0.4`, `12.5`, `130`: a rate with the precision that matters. */
export function formatRate(perSecond: number): string {
  if (perSecond === 0) return '0';
  if (perSecond < 10) return perSecond.toFixed(1);
  return String(Math.round(perSecond));
}

/** `14:03:27` in local time. */
export function formatClock(epochMs: number): string {
  const d = new Date(epochMs);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** The last path segment (`/srv/app/public/index.php` → `index.php`). */
export function basename(path: string): string {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return i >= 0 ? path.slice(i + 1) : path;
}

/** `was killed by SIGSEGV` / `exited with code 255` (the engine's wording). */
export function describeExit(exit: ProcessExit): string {
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code ?? '?'}`;
}

/** `GET /api/users?page=2`, shortened in the middle past `max` characters. */
export function formatRequest(method: string, uri: string, max = 80): string {
  const text = `${method} ${uri}`;
  if (text.length <= max) return text;
  const keep = max - 1;
  return `${text.slice(0, Math.ceil(keep * 0.7))}…${text.slice(text.length - Math.floor(keep * 0.3))}`;
}

/** Human names of the bar kinds, for the legend and the tooltips. */
export const KIND_LABELS: Readonly<Record<string, string>> = {
  ok: 'ok',
  'client-abort': 'client abort',
  'worker-died': 'worker died',
  timeout: 'timeout',
  leaked: 'leaked',
  error: 'error',
  held: 'in progress',
  stuck: 'leaked, still held',
};

/** `3 workers` / `1 worker`. */
export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}
