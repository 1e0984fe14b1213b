import { describeExit } from '../platform/processControl';
import type { LeaseSnapshot, WorkerSnapshot } from '../pool/types';

export { describeExit };

/**
 * Pure text for the projections (tree, status bar, diagnostics, log), kept
 * apart from `vscode` so that it is tested as plain functions.
 */

/** A lease's age: `0.4 s`, `12 s`, `3 min 05 s`, `1 h 02 min`. Tenths only below 10 s, where they matter. */
export function formatAge(ms: number): string {
  const clamped = Math.max(0, ms);
  if (clamped < 10_000) return `${(Math.floor(clamped / 100) / 10).toFixed(1)} s`;
  return formatSeconds(Math.floor(clamped / 1000));
}

/** Whole seconds, for times that tick by (idle time): `0 s`, `12 s`, `3 min 05 s`. */
export function formatWholeAge(ms: number): string {
  return formatSeconds(Math.floor(Math.max(0, ms) / 1000));
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
  return `${Math.floor(seconds / 3600)} h ${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')} min`;
}

/** `GET /api/users`. */
export function formatRequest(lease: Pick<LeaseSnapshot, 'method' | 'uri'>): string {
  return `${lease.method} ${lease.uri}`;
}

/** The tree's worker label: `worker w3 · pid 1234`. */
export function workerLabel(worker: Pick<WorkerSnapshot, 'id' | 'pid'>): string {
  return `worker ${worker.id} · pid ${worker.pid ?? '…'}`;
}

/**
 * The tree's live detail for a worker: a busy one's request and lease age
 * (`GET /slow?ms=3000 · 2.3 s`), an idle one's idle time and accesses
 * (`idle 12 s · 5 req`), otherwise what it is doing.
 */
export function workerDescription(worker: WorkerSnapshot, now: number): string {
  const lease = worker.lease;
  switch (worker.state) {
    case 'busy':
      return lease ? `${formatRequest(lease)} · ${formatAge(now - lease.acquiredAt)}` : `busy · ${worker.accesses} req`;
    case 'idle':
      return `idle ${formatWholeAge(now - worker.lastActiveAt)} · ${worker.accesses} req`;
    case 'starting':
      return `starting · ${formatWholeAge(now - worker.startedAt)}`;
    case 'draining':
      return lease ? `draining · ${formatRequest(lease)} · ${formatAge(now - lease.acquiredAt)}` : `draining · ${worker.accesses} req`;
    case 'error': {
      const why = worker.exitReason ?? 'stopping';
      return worker.exit ? `${why} · ${describeExit(worker.exit).replace(/^was /, '')}` : `${why} · stopping`;
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

/** `1 finding` / `3 findings`. */
export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** `05:50:14`, local time. */
export function clock(epochMs: number): string {
  const d = new Date(epochMs);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** Escapes Markdown punctuation in free text (engine messages, folder names), `$(` included, so no icon or link can be injected. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>$]/g, (c) => `\\${c}`);
}
