import { isAbsolute, relative, sep } from 'node:path';
import type { LeaseSnapshot, WorkerSnapshot } from '../pool/types';
import { exitSummary, formatDuration, formatRequest, formatWholeDuration, pausedAt } from '../shared/text';

/**
 * Text only the editor shows (tree labels, curl lines, Markdown), kept apart
 * from `vscode` so that it is tested as plain functions. Durations, exits,
 * requests and counts are worded in src/shared/text.ts, for every surface.
 */

/** The tree's worker label: `worker w3 · pid 1234`. */
export function workerLabel(worker: Pick<WorkerSnapshot, 'id' | 'pid'>): string {
  return `worker ${worker.id} · pid ${worker.pid ?? '…'}`;
}

/**
 * The tree's live detail for a worker: a busy one's request and lease age
 * (`GET /slow?ms=3000 · 2.3 s`), a paused one's breakpoint first
 * (`paused at Controller.php:42 · GET /orders · 1 min 05 s`), an idle one's idle time and accesses
 * (`idle 12 s · 5 req`), a finishing one's abandoned request and how long
 * ago its client left, otherwise what it is doing.
 */
export function workerDescription(worker: WorkerSnapshot, now: number): string {
  const lease = worker.lease;
  switch (worker.state) {
    case 'busy': {
      // In a debug session (running between breakpoints, or ending): no timeout runs, and it says so.
      const debugging = worker.debug !== null && worker.debug.ide === 'connected' ? 'debugging · ' : '';
      return lease ? `${debugging}${formatRequest(lease)} · ${formatDuration(now - lease.acquiredAt)}` : `${debugging}busy · ${worker.accesses} req`;
    }
    case 'paused': {
      const where = worker.debug ? pausedAt(worker.debug) : 'paused';
      return lease ? `${where} · ${formatRequest(lease)} · ${formatDuration(now - lease.acquiredAt)}` : where;
    }
    case 'idle':
      return `idle ${formatWholeDuration(now - worker.lastActiveAt)} · ${worker.accesses} req`;
    case 'starting':
      return `starting · ${formatWholeDuration(now - worker.startedAt)}`;
    case 'finishing': {
      // Its client left; the script runs on (PHP decides how far) and the worker is neither leased nor idle.
      const abandoned = worker.abandoned;
      return abandoned
        ? `finishing · ${formatRequest(abandoned.lease)} · client left ${formatDuration(now - abandoned.abandonedAt)} ago`
        : `finishing · ${worker.accesses} req`;
    }
    case 'draining':
      return lease ? `draining · ${formatRequest(lease)} · ${formatDuration(now - lease.acquiredAt)}` : `draining · ${worker.accesses} req`;
    case 'error': {
      const why = worker.exitReason ?? 'stopping';
      return worker.exit ? `${why} · ${exitSummary(worker.exit)}` : `${why} · stopping`;
    }
  }
}

/** `:8080 · 2/4 busy`: the pool's port and how many of its maximum workers are busy. */
export function poolSummary(port: number, busy: number, maxWorkers: number): string {
  return `:${port} · ${busy}/${maxWorkers} busy`;
}

/**
 * The request as a curl command line for a POSIX shell. The pool records
 * method and URI, not headers or body, so that is all it can repeat.
 */
export function curlCommand(lease: Pick<LeaseSnapshot, 'method' | 'uri'>, baseUrl: string): string {
  const url = /^https?:\/\//i.test(lease.uri) ? lease.uri : new URL(lease.uri.startsWith('/') ? lease.uri : `/${lease.uri}`, baseUrl).toString();
  const method = lease.method.toUpperCase();
  const parts = ['curl', '-i'];
  if (method === 'HEAD') parts.push('-I');
  else if (method !== 'GET') parts.push('-X', shellQuote(method));
  parts.push(shellQuote(url));
  return parts.join(' ');
}

/** Quotes for sh: only when needed, and with `'\''` for a quote inside. */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Escapes Markdown punctuation in free text (engine messages, folder names), `$(` included, so no icon or link can be injected. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>$]/g, (c) => `\\${c}`);
}

/** A script path relative to the folder when inside it (shorter, and what the developer knows it by). */
export function displayPath(path: string, folderPath: string | null): string {
  if (!path) return '(none)';
  if (!folderPath) return path;
  const rel = relative(folderPath, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split(sep).join('/') : path;
}
