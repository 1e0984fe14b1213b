/**
 * Text only the dashboard shows: rates, file names, the bar kinds' names.
 * Durations, clock times, exits, requests and counts come from
 * src/shared/text.ts, worded as everywhere else.
 */

/** `0`, `0.4`, `12.5`, `130`: a rate with the precision that matters. */
export function formatRate(perSecond: number): string {
  if (perSecond === 0) return '0';
  if (perSecond < 10) return perSecond.toFixed(1);
  return String(Math.round(perSecond));
}

/** The last path segment (`/srv/app/public/index.php` → `index.php`). */
export function basename(path: string): string {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return i >= 0 ? path.slice(i + 1) : path;
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
