/**
 * The one message protocol between the extension host's main thread and the
 * engine thread (the pool, the HTTP front and the reconciler, in a
 * `worker_threads` worker). Both sides import this file; it imports nothing
 * at run time but the action table, so it costs the extension's bundle
 * almost nothing. Modelled on src/shared/dashboardProtocol.ts: typed
 * messages, and a parser per direction that refuses anything else.
 *
 * Main → engine: `start` (once), `call` (an engine action from the table in
 * actions.ts, answered by a `reply` with the same id), `stop` (once).
 * Engine → main: `started` or `start-failed`; `update` (the latest snapshot,
 * when it changed, with the events since the last update, coalesced to a
 * few a second); `reply`; `worker-process` (each worker's pid and process
 * group as it is spawned and reaped, so the main thread can stop them if the
 * thread dies); `fatal` (the thread caught a crash and is cleaning up);
 * `rejected` (it refused a message); `stopped` (every worker reaped; the
 * thread exits next).
 */
import type { GatewayEvent, GatewayOptions } from '../gateway/gateway';
import type { WorkerProcessRecord } from '../platform/processHost';
import type { PoolOptions } from '../pool/options';
import type { PoolEvent, PoolSnapshot } from '../pool/types';
import { OPTIONS, type OptionId } from '../shared/options';
import type { LeaseStack } from '../shared/stackTypes';
import { isEngineActionName, type EngineActionName } from './actions';
import { isWireHistory, type WireHistory } from './historyCodec';
import { fail, hasOnlyKeys, isLeaseStack, isRecord, type Checked } from './validate';

export type { Checked } from './validate';

/** Bumped on any incompatible change; the main thread and the engine thread come from one build, so this guards against a stale bundle. */
export const ENGINE_PROTOCOL_VERSION = 2;

/** Updates (snapshot + events) reach the main thread at most this often by default: five a second. */
export const DEFAULT_UPDATE_INTERVAL_MS = 200;

/**
 * Per-request events (a request's log line, its lease and idle ⇄ busy
 * events: five for a PHP request, one for a static file) forwarded one by
 * one per update by default; the rest are summarised (see outbox.ts).
 * 250 per 200 ms lists every request of a page load with its assets, and
 * some 50 PHP requests a second-fifth under a load test.
 */
export const DEFAULT_PER_REQUEST_EVENTS_PER_UPDATE = 250;

// ---------------------------------------------------------------------------
// Main → engine

/** Which pool events the main thread wants: per-request ones (lease traffic) or only the others. */
export type PoolEventSelection = 'none' | 'lifecycle' | 'all';

/** `PoolServerOptions` without its callbacks: what crosses to the thread. */
export interface EngineStartOptions {
  readonly documentRoot: string;
  readonly pool: Partial<Omit<PoolOptions, 'cwd' | 'workerProcessObserver'>>;
  readonly gateway: Partial<Omit<GatewayOptions, 'documentRoot'>>;
  readonly poolEvents: PoolEventSelection;
  readonly gatewayEvents: boolean;
  /** The least time between two updates. */
  readonly updateIntervalMs: number;
  /** Per-request events forwarded one by one in one update; the rest are summarised. */
  readonly perRequestEventsPerUpdate: number;
}

export interface StartMessage {
  readonly type: 'start';
  readonly protocol: number;
  readonly options: EngineStartOptions;
}

/** One engine action; `args` are checked by the action's own parser in the thread. */
export interface CallMessage {
  readonly type: 'call';
  readonly id: number;
  readonly action: EngineActionName;
  readonly args: readonly unknown[];
}

export interface StopMessage {
  readonly type: 'stop';
  readonly drainMs: number;
}

export type MainToEngineMessage = StartMessage | CallMessage | StopMessage;

// ---------------------------------------------------------------------------
// Engine → main

/** An error as it crosses the channel: enough to rebuild the engine's typed errors on the other side. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  /** The option at fault (an `OptionError`'s), or null. */
  readonly option: OptionId | null;
  /** An errno-like code (a `GatewayListenError`'s `EADDRINUSE`), or null. */
  readonly code: string | null;
}

/** A snapshot as it crosses: its history as the entries added since the previous one, in columns (historyCodec.ts). */
export type WireSnapshot = Omit<PoolSnapshot, 'history'> & { readonly history: WireHistory };

export interface StartedMessage {
  readonly type: 'started';
  readonly url: string;
  readonly port: number;
  readonly snapshot: WireSnapshot;
  /** Whether the gateway serves live reload (then the main thread reports changed files). */
  readonly liveReload: boolean;
}

export interface StartFailedMessage {
  readonly type: 'start-failed';
  readonly error: WireError;
}

/** A pool event or a gateway event: their `type`s never overlap (checked below), so no wrapper is needed. */
export type EngineEvent = PoolEvent | GatewayEvent;

/**
 * The pool as it is now, and what happened since the last update, in order.
 * `snapshot` is null when it has not changed; when present it already
 * reflects every event of the message, so a projection that reads it on an
 * event never draws the past.
 */
export interface UpdateMessage {
  readonly type: 'update';
  readonly snapshot: WireSnapshot | null;
  readonly events: readonly EngineEvent[];
  /**
   * The last stack read of each busy worker (the engine's once-a-second
   * reads of leases older than a second), present only when that set
   * changed since the last update: a new read, a lease that ended. At most
   * one read per leased worker, so bounded by the pool's size.
   */
  readonly stacks?: readonly LeaseStack[];
}

export type ReplyMessage =
  | { readonly type: 'reply'; readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly type: 'reply'; readonly id: number; readonly ok: false; readonly error: WireError };

export type WorkerProcessMessage =
  | { readonly type: 'worker-process'; readonly change: 'spawned'; readonly worker: WorkerProcessRecord }
  | { readonly type: 'worker-process'; readonly change: 'reaped'; readonly pid: number };

/** The thread caught an exception nobody handled; it kills and reaps its workers, then exits. */
export interface FatalMessage {
  readonly type: 'fatal';
  readonly reason: string;
}

/** The thread refused a message (a bug on the main side, or a stale bundle). */
export interface RejectedMessage {
  readonly type: 'rejected';
  readonly reason: string;
}

/** Every worker has been reaped (or the stop failed, with why); the thread exits next. */
export interface StoppedMessage {
  readonly type: 'stopped';
  readonly error: WireError | null;
}

export type EngineToMainMessage =
  StartedMessage | StartFailedMessage | UpdateMessage | ReplyMessage | WorkerProcessMessage | FatalMessage | RejectedMessage | StoppedMessage;

// ---------------------------------------------------------------------------
// Event types, for the checks and to route events to the right listener

/** Every pool event type; `satisfies` makes the compiler list a new one here. */
const POOL_EVENT_TYPES = {
  'pool-state': true,
  'worker-starting': true,
  'worker-ready': true,
  'worker-state': true,
  'worker-exited': true,
  'worker-stderr': true,
  'spawn-failed': true,
  'spawn-throttled': true,
  'lease-acquired': true,
  'lease-released': true,
  'lease-revoked': true,
  'lease-protocol-error': true,
  'queue-rejected': true,
  'stale-workers-cleaned': true,
  'stacks-status': true,
  finding: true,
  'finding-resolved': true,
  'worker-debug': true,
  'debugger-ready': true,
  'debug-armed': true,
  'debug-relay': true,
} as const satisfies Record<PoolEvent['type'], true>;

const GATEWAY_EVENT_TYPES = {
  request: true,
  'php-stderr': true,
  'live-reload': true,
  'live-reload-blocked': true,
  'requests-summarized': true,
} as const satisfies Record<GatewayEvent['type'], true>;

/** Compile-time: a type both unions used would make `isGatewayEvent` ambiguous. */
type Overlap = Extract<PoolEvent['type'], GatewayEvent['type']>;
const eventTypesAreDisjoint: [Overlap] extends [never] ? true : never = true;
void eventTypesAreDisjoint;

export function isGatewayEvent(event: EngineEvent): event is GatewayEvent {
  return Object.hasOwn(GATEWAY_EVENT_TYPES, event.type);
}

function isEngineEvent(value: unknown): value is EngineEvent {
  if (!isRecord(value) || typeof value.type !== 'string') return false;
  return Object.hasOwn(POOL_EVENT_TYPES, value.type) || Object.hasOwn(GATEWAY_EVENT_TYPES, value.type);
}

// ---------------------------------------------------------------------------
// Validation

const isNonNegativeInteger = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const isPid = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
const POOL_EVENT_SELECTIONS: readonly PoolEventSelection[] = ['none', 'lifecycle', 'all'];
/** A drain longer than a day is a bug, not a wish. */
const MAX_DRAIN_MS = 86_400_000;

/** What the engine checks of a start message. The values themselves are the engine's to check (it names the option at fault). */
function checkStartOptions(raw: unknown): Checked<EngineStartOptions> {
  if (!isRecord(raw)) return fail('start: options must be an object');
  const bad = hasOnlyKeys(raw, ['documentRoot', 'pool', 'gateway', 'poolEvents', 'gatewayEvents', 'updateIntervalMs', 'perRequestEventsPerUpdate']);
  if (bad) return fail(`start: options: ${bad}`);
  if (typeof raw.documentRoot !== 'string' || raw.documentRoot === '') return fail('start: documentRoot must be a non-empty string');
  if (!isRecord(raw.pool)) return fail('start: pool must be an object');
  if (!isRecord(raw.gateway)) return fail('start: gateway must be an object');
  if ('workerProcessObserver' in raw.pool) return fail("start: pool.workerProcessObserver is the thread's own");
  if (!POOL_EVENT_SELECTIONS.includes(raw.poolEvents as PoolEventSelection))
    return fail(`start: poolEvents must be one of ${POOL_EVENT_SELECTIONS.join(', ')}`);
  if (typeof raw.gatewayEvents !== 'boolean') return fail('start: gatewayEvents must be a boolean');
  if (!isNonNegativeInteger(raw.updateIntervalMs) || raw.updateIntervalMs > 60_000) return fail('start: updateIntervalMs must be an integer from 0 to 60000');
  if (!isNonNegativeInteger(raw.perRequestEventsPerUpdate)) return fail('start: perRequestEventsPerUpdate must be a non-negative integer');
  return { ok: true, value: raw as unknown as EngineStartOptions };
}

/**
 * Checks a message from the main thread. Both sides come from one build,
 * but a message that does not parse is refused with a reason rather than
 * half-understood: the engine owns processes.
 */
export function parseMainMessage(raw: unknown): Checked<MainToEngineMessage> {
  if (!isRecord(raw)) return fail('not an object');
  switch (raw.type) {
    case 'start': {
      const bad = hasOnlyKeys(raw, ['type', 'protocol', 'options']);
      if (bad) return fail(`start: ${bad}`);
      if (raw.protocol !== ENGINE_PROTOCOL_VERSION)
        return fail(`start: protocol ${String(raw.protocol)} is not ${ENGINE_PROTOCOL_VERSION} (a stale engine bundle?)`);
      const options = checkStartOptions(raw.options);
      if (!options.ok) return options;
      return { ok: true, value: { type: 'start', protocol: ENGINE_PROTOCOL_VERSION, options: options.value } };
    }
    case 'call': {
      const bad = hasOnlyKeys(raw, ['type', 'id', 'action', 'args']);
      if (bad) return fail(`call: ${bad}`);
      if (!isNonNegativeInteger(raw.id)) return fail('call: id must be a non-negative integer');
      if (!isEngineActionName(raw.action))
        return fail(`call: unknown action ${JSON.stringify(typeof raw.action === 'string' ? raw.action.slice(0, 40) : typeof raw.action)}`);
      if (!Array.isArray(raw.args)) return fail('call: args must be an array');
      return { ok: true, value: { type: 'call', id: raw.id, action: raw.action, args: raw.args } };
    }
    case 'stop': {
      const bad = hasOnlyKeys(raw, ['type', 'drainMs']);
      if (bad) return fail(`stop: ${bad}`);
      if (!isNonNegativeInteger(raw.drainMs) || raw.drainMs > MAX_DRAIN_MS) return fail('stop: drainMs must be a non-negative integer (ms, at most a day)');
      return { ok: true, value: { type: 'stop', drainMs: raw.drainMs } };
    }
    default:
      return fail(`unknown message type ${JSON.stringify(typeof raw.type === 'string' ? raw.type.slice(0, 40) : typeof raw.type)}`);
  }
}

const OPTION_IDS = new Set<string>(Object.keys(OPTIONS));

function isWireError(value: unknown): value is WireError {
  return (
    isRecord(value) &&
    typeof value.name === 'string' &&
    typeof value.message === 'string' &&
    (value.option === null || (typeof value.option === 'string' && OPTION_IDS.has(value.option))) &&
    (value.code === null || typeof value.code === 'string')
  );
}

/** A snapshot's envelope. Its contents are the engine's own output, not checked field by field: that would cost the main thread what the thread saves it. */
function isSnapshot(value: unknown): value is WireSnapshot {
  return (
    isRecord(value) && isNonNegativeInteger(value.version) && typeof value.state === 'string' && Array.isArray(value.workers) && isWireHistory(value.history)
  );
}

function isWorkerProcessRecord(value: unknown): value is WorkerProcessRecord {
  return (
    isRecord(value) &&
    isPid(value.pid) &&
    isPid(value.pgid) &&
    (value.startTime === null || isNonNegativeInteger(value.startTime)) &&
    typeof value.socketPath === 'string'
  );
}

/**
 * Checks a message from the engine thread: every envelope and every field
 * the main thread acts on (pids it may kill, ids it resolves, errors it
 * rebuilds, each event's type); snapshots and events by their envelope.
 */
export function parseEngineMessage(raw: unknown): Checked<EngineToMainMessage> {
  if (!isRecord(raw)) return fail('not an object');
  switch (raw.type) {
    case 'started':
      if (typeof raw.url !== 'string' || !isPid(raw.port) || raw.port > 65_535 || !isSnapshot(raw.snapshot) || typeof raw.liveReload !== 'boolean')
        return fail('started: needs url, port, snapshot and liveReload');
      return { ok: true, value: { type: 'started', url: raw.url, port: raw.port, snapshot: raw.snapshot, liveReload: raw.liveReload } };
    case 'start-failed':
      if (!isWireError(raw.error)) return fail('start-failed: error is not a wire error');
      return { ok: true, value: { type: 'start-failed', error: raw.error } };
    case 'update': {
      if (raw.snapshot !== null && !isSnapshot(raw.snapshot)) return fail('update: snapshot must be a pool snapshot or null');
      if (!Array.isArray(raw.events)) return fail('update: events must be an array');
      for (const event of raw.events as unknown[]) if (!isEngineEvent(event)) return fail('update: an event of an unknown type');
      if (raw.stacks === undefined) return { ok: true, value: { type: 'update', snapshot: raw.snapshot, events: raw.events as EngineEvent[] } };
      if (!Array.isArray(raw.stacks) || !(raw.stacks as unknown[]).every(isLeaseStack)) return fail('update: stacks must be a list of stack reads');
      return { ok: true, value: { type: 'update', snapshot: raw.snapshot, events: raw.events as EngineEvent[], stacks: raw.stacks as LeaseStack[] } };
    }
    case 'reply':
      if (!isNonNegativeInteger(raw.id)) return fail('reply: id must be a non-negative integer');
      if (raw.ok === true) return { ok: true, value: { type: 'reply', id: raw.id, ok: true, result: raw.result } };
      if (raw.ok === false && isWireError(raw.error)) return { ok: true, value: { type: 'reply', id: raw.id, ok: false, error: raw.error } };
      return fail('reply: needs ok: true with a result, or ok: false with a wire error');
    case 'worker-process':
      if (raw.change === 'spawned' && isWorkerProcessRecord(raw.worker))
        return { ok: true, value: { type: 'worker-process', change: 'spawned', worker: raw.worker } };
      if (raw.change === 'reaped' && isPid(raw.pid)) return { ok: true, value: { type: 'worker-process', change: 'reaped', pid: raw.pid } };
      return fail('worker-process: needs change spawned with a worker, or reaped with a pid');
    case 'fatal':
    case 'rejected':
      if (typeof raw.reason !== 'string') return fail(`${raw.type}: reason must be a string`);
      return { ok: true, value: { type: raw.type, reason: raw.reason } };
    case 'stopped':
      if (raw.error !== null && !isWireError(raw.error)) return fail('stopped: error must be a wire error or null');
      return { ok: true, value: { type: 'stopped', error: raw.error } };
    default:
      return fail(`unknown message type ${JSON.stringify(typeof raw.type === 'string' ? raw.type.slice(0, 40) : typeof raw.type)}`);
  }
}

/** An error (or anything thrown) as it crosses the channel. */
export function toWireError(error: unknown): WireError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), option: null, code: null };
  const fields = error as Error & { option?: unknown; code?: unknown };
  const option = typeof fields.option === 'string' && OPTION_IDS.has(fields.option) ? (fields.option as OptionId) : null;
  return { name: error.name, message: error.message, option, code: typeof fields.code === 'string' ? fields.code : null };
}
