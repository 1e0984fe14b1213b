/**
 * The one message protocol between the dashboard's host (the WebviewPanel in
 * the extension) and its webview. Both sides import this file; it imports
 * nothing at run time, so it bundles into the browser script as well as into
 * the extension.
 *
 * Host → webview: `snapshot` (the whole pool, at most four a second) and
 * `event` (a new finding, the result of an intent). Webview → host: `ready`
 * and the intents. The webview holds no pool logic: it draws snapshots and
 * asks; the host checks every intent here — its shape, then that it names
 * something the current snapshot shows — before it acts.
 */
import type { Finding, LeaseSnapshot, PoolSnapshot } from '../pool/types';
import type { LeaseStack } from './stackTypes';

/** The WebviewPanel's view type: `registerWebviewPanelSerializer` and `onWebviewPanel:` use it. */
export const DASHBOARD_VIEW_TYPE = 'fastcgiPool.dashboard';

/** The panel's title. */
export const DASHBOARD_TITLE = 'FastCGI Pool Dashboard';

/** Bumped on any incompatible change; the webview says which one it speaks in `ready`. */
export const DASHBOARD_PROTOCOL_VERSION = 1;

/** Snapshots reach the webview at most this often (four a second), and it renders at most this often. */
export const DASHBOARD_MIN_UPDATE_INTERVAL_MS = 250;

// ---------------------------------------------------------------------------
// Host → webview

/** Which pool a dashboard shows: in the extension, one workspace folder's. */
export interface DashboardSourceInfo {
  /** Stable across window reloads (a folder URI); kept in the webview state for the serializer. */
  readonly key: string;
  /** For people: the folder's name. */
  readonly label: string;
}

/** The pool as it is now; `snapshot` is null while no pool runs for the source. */
export interface SnapshotMessage {
  readonly type: 'snapshot';
  readonly protocol: number;
  readonly source: DashboardSourceInfo;
  readonly snapshot: PoolSnapshot | null;
  /**
   * Where each busy worker is: the pool's last read of its PHP stack and
   * wait reason, by lease id (the lease timeline shows it on hover). Absent
   * when none was read; a finished lease's stack, if any, is on its finding.
   */
  readonly stacks?: Readonly<Record<string, LeaseStack>>;
}

/** The webview intents, by name. */
export type IntentType = 'kill' | 'recycle' | 'releaseLease' | 'openScript' | 'revealWorker';

/** Something that happened, for the webview to announce (the next snapshot carries its effect). */
export type DashboardEvent =
  /** The pool found a divergence just now: flash it, announce it to screen readers. */
  | { readonly kind: 'finding'; readonly finding: Finding }
  /** How an intent went: refused by validation, done, or failed. */
  | { readonly kind: 'intent-result'; readonly requestId: number; readonly intent: IntentType; readonly ok: boolean; readonly message: string };

export interface EventMessage {
  readonly type: 'event';
  readonly event: DashboardEvent;
}

/** Everything the host posts to the webview. */
export type HostToWebviewMessage = SnapshotMessage | EventMessage;

// ---------------------------------------------------------------------------
// Webview → host

/** The webview's script has loaded and listens: send a fresh snapshot now. */
export interface ReadyMessage {
  readonly type: 'ready';
  readonly protocol: number;
}

/** Every intent carries a number chosen by the webview, echoed in its `intent-result`. */
interface IntentBase {
  readonly requestId: number;
}

export interface KillIntent extends IntentBase {
  readonly type: 'kill';
  readonly workerId: string;
}
export interface RecycleIntent extends IntentBase {
  readonly type: 'recycle';
  readonly workerId: string;
}
export interface ReleaseLeaseIntent extends IntentBase {
  readonly type: 'releaseLease';
  readonly leaseId: string;
}
export interface OpenScriptIntent extends IntentBase {
  readonly type: 'openScript';
  /** An absolute SCRIPT_FILENAME the snapshot shows. */
  readonly path: string;
  /** 1-based, where known. */
  readonly line?: number;
}
export interface RevealWorkerIntent extends IntentBase {
  readonly type: 'revealWorker';
  readonly workerId: string;
}

export type DashboardIntent = KillIntent | RecycleIntent | ReleaseLeaseIntent | OpenScriptIntent | RevealWorkerIntent;

/** An intent before the webview numbers it. */
export type DashboardIntentRequest = DashboardIntent extends infer I ? (I extends DashboardIntent ? Omit<I, 'requestId'> : never) : never;

/** Everything the webview posts to the host. */
export type WebviewToHostMessage = ReadyMessage | DashboardIntent;

// ---------------------------------------------------------------------------
// Webview state (vscode.getState/setState), read back by the panel serializer

/** What the webview keeps across hide/show and window reloads. No pool data: a fresh snapshot follows `ready`. */
export interface DashboardViewState {
  readonly v: 1;
  /** The source's key, so a restored panel finds its pool again; null before the first snapshot. */
  readonly sourceKey: string | null;
  /** The lease timeline's span. */
  readonly windowMs: number;
}

/** The timeline spans the webview offers. */
export const TIMELINE_WINDOWS_MS: readonly number[] = [60_000, 5 * 60_000, 15 * 60_000];
export const DEFAULT_TIMELINE_WINDOW_MS = 5 * 60_000;

// ---------------------------------------------------------------------------
// Validation

/** Worker and lease ids as the pool issues them (`w3`, `L812`), with room for other engines. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const MAX_PATH_LENGTH = 4096;
const MAX_LINE = 10_000_000;

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

const fail = (error: string): { ok: false; error: string } => ({ ok: false, error });

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Exactly these keys (the optional ones may be missing): extra fields are refused, not ignored. */
function hasOnlyKeys(value: Record<string, unknown>, required: readonly string[], optional: readonly string[] = []): string | null {
  for (const key of required) if (!(key in value)) return `missing "${key}"`;
  for (const key of Object.keys(value)) if (!required.includes(key) && !optional.includes(key)) return `unexpected "${key}"`;
  return null;
}

function isRequestId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

/** An absolute path: POSIX `/…` or Windows `C:\…`; no NUL, no newline. */
function isAbsolutePath(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 1 &&
    value.length <= MAX_PATH_LENGTH &&
    !/[\0\r\n]/.test(value) &&
    (value.startsWith('/') || /^[A-Za-z]:[\\/]/.test(value))
  );
}

/**
 * Checks the shape of a message from the webview. The webview runs our own
 * script, but it renders data that came from HTTP clients (URIs, paths), so
 * the host treats what it posts as untrusted input.
 */
export function parseWebviewMessage(raw: unknown): Checked<WebviewToHostMessage> {
  if (!isRecord(raw)) return fail('not an object');
  const type = raw.type;
  switch (type) {
    case 'ready': {
      const bad = hasOnlyKeys(raw, ['type', 'protocol']);
      if (bad) return fail(`ready: ${bad}`);
      if (!isRequestId(raw.protocol)) return fail('ready: protocol must be a non-negative integer');
      return { ok: true, value: { type, protocol: raw.protocol } };
    }
    case 'kill':
    case 'recycle':
    case 'revealWorker': {
      const bad = hasOnlyKeys(raw, ['type', 'requestId', 'workerId']);
      if (bad) return fail(`${type}: ${bad}`);
      if (!isRequestId(raw.requestId)) return fail(`${type}: requestId must be a non-negative integer`);
      if (!isId(raw.workerId)) return fail(`${type}: workerId is not a worker id`);
      return { ok: true, value: { type, requestId: raw.requestId, workerId: raw.workerId } };
    }
    case 'releaseLease': {
      const bad = hasOnlyKeys(raw, ['type', 'requestId', 'leaseId']);
      if (bad) return fail(`releaseLease: ${bad}`);
      if (!isRequestId(raw.requestId)) return fail('releaseLease: requestId must be a non-negative integer');
      if (!isId(raw.leaseId)) return fail('releaseLease: leaseId is not a lease id');
      return { ok: true, value: { type, requestId: raw.requestId, leaseId: raw.leaseId } };
    }
    case 'openScript': {
      const bad = hasOnlyKeys(raw, ['type', 'requestId', 'path'], ['line']);
      if (bad) return fail(`openScript: ${bad}`);
      if (!isRequestId(raw.requestId)) return fail('openScript: requestId must be a non-negative integer');
      if (!isAbsolutePath(raw.path)) return fail('openScript: path must be an absolute file path');
      if (raw.line === undefined) return { ok: true, value: { type, requestId: raw.requestId, path: raw.path } };
      if (typeof raw.line !== 'number' || !Number.isInteger(raw.line) || raw.line < 1 || raw.line > MAX_LINE) {
        return fail('openScript: line must be a positive integer');
      }
      return { ok: true, value: { type, requestId: raw.requestId, path: raw.path, line: raw.line } };
    }
    default:
      return fail(`unknown message type ${JSON.stringify(typeof type === 'string' ? type.slice(0, 40) : typeof type)}`);
  }
}

/** The leases a snapshot shows anywhere: held by workers, finished, named by findings. */
function* leasesIn(snapshot: PoolSnapshot): Iterable<Pick<LeaseSnapshot, 'id' | 'scriptFilename'>> {
  for (const worker of snapshot.workers) if (worker.lease) yield worker.lease;
  for (const entry of snapshot.history) yield entry;
  for (const finding of snapshot.findings) if (finding.lease) yield finding.lease;
}

/**
 * Checks an intent against the pool as it is now: the worker must be in the
 * snapshot, the lease must be held by one of its workers, and a script must
 * be one that a lease in the snapshot ran — so the webview cannot ask the
 * host to open an arbitrary file or to act on a stale id.
 */
export function checkIntent(intent: DashboardIntent, snapshot: PoolSnapshot | null): Checked<DashboardIntent> {
  if (!snapshot) return fail('no pool is running');
  switch (intent.type) {
    case 'kill':
    case 'recycle':
    case 'revealWorker': {
      const worker = snapshot.workers.find((w) => w.id === intent.workerId);
      if (!worker) return fail(`worker ${intent.workerId} is no longer in the pool`);
      if (intent.type !== 'revealWorker' && worker.state === 'error' && !worker.defunct) {
        return fail(`worker ${intent.workerId} is already stopping`);
      }
      return { ok: true, value: intent };
    }
    case 'releaseLease': {
      const holder = snapshot.workers.find((w) => w.lease?.id === intent.leaseId);
      if (!holder) return fail(`lease ${intent.leaseId} is no longer held`);
      return { ok: true, value: intent };
    }
    case 'openScript': {
      for (const lease of leasesIn(snapshot)) if (lease.scriptFilename === intent.path) return { ok: true, value: intent };
      // A paused worker's breakpoint may be in another file than the script its request started.
      for (const worker of snapshot.workers) if (worker.debug?.file === intent.path) return { ok: true, value: intent };
      return fail('that script is not part of the pool snapshot');
    }
  }
}

/** What the webview expects of a snapshot before it draws it (the host is trusted; this guards against garbage). */
function looksLikeSnapshot(value: unknown): value is PoolSnapshot {
  return (
    isRecord(value) &&
    typeof value.version === 'number' &&
    typeof value.takenAt === 'number' &&
    Array.isArray(value.workers) &&
    Array.isArray(value.history) &&
    Array.isArray(value.findings) &&
    isRecord(value.counts) &&
    isRecord(value.queue) &&
    isRecord(value.limits)
  );
}

/** The webview's check of what arrives on `window.onmessage`. */
export function parseHostMessage(raw: unknown): HostToWebviewMessage | null {
  if (!isRecord(raw)) return null;
  if (raw.type === 'snapshot') {
    const source = raw.source;
    if (!isRecord(source) || typeof source.key !== 'string' || typeof source.label !== 'string') return null;
    if (typeof raw.protocol !== 'number') return null;
    if (raw.snapshot !== null && !looksLikeSnapshot(raw.snapshot)) return null;
    if (raw.stacks !== undefined && !isRecord(raw.stacks)) return null;
    return raw as unknown as SnapshotMessage;
  }
  if (raw.type === 'event' && isRecord(raw.event)) {
    const event = raw.event;
    if (event.kind === 'finding' && isRecord(event.finding) && typeof event.finding.id === 'string') return raw as unknown as EventMessage;
    if (event.kind === 'intent-result' && isRequestId(event.requestId) && typeof event.ok === 'boolean' && typeof event.message === 'string') {
      return raw as unknown as EventMessage;
    }
  }
  return null;
}

/** Reads back the webview state (from `getState()` or the serializer); anything odd becomes the defaults. */
export function parseDashboardViewState(raw: unknown): DashboardViewState {
  const fallback: DashboardViewState = { v: 1, sourceKey: null, windowMs: DEFAULT_TIMELINE_WINDOW_MS };
  if (!isRecord(raw) || raw.v !== 1) return fallback;
  return {
    v: 1,
    sourceKey: typeof raw.sourceKey === 'string' && raw.sourceKey.length <= MAX_PATH_LENGTH ? raw.sourceKey : null,
    windowMs: typeof raw.windowMs === 'number' && TIMELINE_WINDOWS_MS.includes(raw.windowMs) ? raw.windowMs : DEFAULT_TIMELINE_WINDOW_MS,
  };
}
