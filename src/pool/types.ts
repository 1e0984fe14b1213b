import type { DebugRelayEvent } from '../dbgp/relayEvents';
import type { ProcessExit } from '../platform/processControl';
import type { PlatformCapabilities } from '../shared/platform';
import type { PhpStackFrame, StackStatus, WaitReason } from '../shared/stackTypes';

/**
 * Where a worker is in its life. `paused` = busy, with its request stopped
 * at a breakpoint of the step debugger (Xdebug), waiting for a human: not
 * stuck, and no timeout runs against it; `finishing` = running the script of
 * a request whose client left: not leased, not idle, until php-cgi is ready
 * for the next request (see {@link AbandonedRequest}); `draining` =
 * finishing its last request before a graceful recycle; `error` = being
 * stopped or already dead and waiting to be reaped (mod_fcgid's error list).
 */
export type WorkerState = 'starting' | 'idle' | 'busy' | 'paused' | 'finishing' | 'draining' | 'error';

/**
 * Why a worker left the pool (or is leaving it). `max-requests`: it served
 * its request limit, ours (`--max-requests`) or php-cgi's own
 * (PHP_FCGI_MAX_REQUESTS), and left cleanly.
 */
export type WorkerExitReason =
  | 'idle-timeout'
  | 'max-requests'
  | 'busy-timeout'
  | 'client-abort'
  | 'crashed'
  | 'killed-by-user'
  | 'recycled-by-user'
  | 'connection-lost'
  | 'pool-stopping'
  /** The extra worker started while another was paused in the debugger, no longer needed. */
  | 'spare-not-needed';

/** What the request that wants a worker is about. */
export interface LeaseRequestInfo {
  method: string;
  /** The request URI as the client sent it. */
  uri: string;
  scriptFilename: string;
  clientAddress: string;
}

/** Why the pool ended a lease that its holder still held. */
export type LeaseRevocation =
  | { kind: 'busy-timeout'; timeoutMs: number }
  | { kind: 'worker-exited'; exit: ProcessExit }
  | { kind: 'worker-retired'; reason: WorkerExitReason }
  /**
   * The worker left on its own after answering its earlier requests (php-cgi's
   * PHP_FCGI_MAX_REQUESTS) before it read this one: nothing of it ran, so the
   * holder may send it to another worker.
   */
  | { kind: 'worker-left'; exit: ProcessExit }
  | { kind: 'pool-stopping' };

/**
 * Who holds a lease: in the gateway, one HTTP exchange. The pool calls
 * `revoke` when it takes the worker back on its own (busy timeout, the worker
 * died, the pool stops), so the holder can answer its client.
 */
export interface LeaseHolder {
  /** A short human description, e.g. `http 127.0.0.1:50312 #42`. */
  readonly description: string;
  revoke(revocation: LeaseRevocation): void;
  /**
   * False once the holder has ended (its HTTP exchange finished or its client
   * went away). A lease still held then has leaked: a `holder-gone` finding.
   */
  isActive?(): boolean;
  /**
   * The lease's worker entered (`true`) or left (`false`) a step-debugging
   * session. While it lasts the pool's busy timeout is suspended, and the
   * holder suspends its own timeouts too; both resume with the time they had
   * left when the session ends.
   */
  debugging?(active: boolean): void;
}

/**
 * How a lease ended. `unreachable`: the holder could not connect to the
 * worker, so nothing was sent (the worker's exit, if it is leaving, decides
 * whether it crashed).
 */
export type LeaseOutcome = 'ok' | 'client-abort' | 'worker-died' | 'unreachable' | 'timeout' | 'leaked' | 'error' | 'pool-stopping';

/** A lease as consumers see it. */
export interface LeaseSnapshot {
  readonly id: string;
  readonly workerId: string;
  readonly method: string;
  readonly uri: string;
  readonly scriptFilename: string;
  readonly clientAddress: string;
  readonly holder: string;
  /** Epoch ms when the request asked for a worker. */
  readonly queuedAt: number;
  /** Epoch ms when it got one. */
  readonly acquiredAt: number;
  /**
   * Only in `GET /.fastcgi-pool/status?stacks=1`, for a worker serving the
   * lease: its PHP stack read just then, innermost first (null when none
   * could be read: `stackError` says why) …
   */
  readonly stack?: readonly PhpStackFrame[] | null;
  /** … what the process waits on … */
  readonly wait?: WaitReason | null;
  /** … and, without a stack, the one-line reason. */
  readonly stackError?: string;
}

/**
 * `worker.debug` in the status JSON: the worker's Xdebug session as the
 * pool's DBGp relay follows it (src/dbgp's DebugStatus, by the same names).
 * - `running`: PHP runs under the debugger (or the IDE sets breakpoints);
 * - `paused`: stopped at `file`:`line`, waiting for a human;
 * - `stopping`: the script ended; Xdebug waits for the IDE's last word.
 */
export interface WorkerDebug {
  readonly state: 'running' | 'paused' | 'stopping';
  /** Absolute path of the file the engine is in; null before anything says. */
  readonly file: string | null;
  /** 1-based line of the break; null unless paused. */
  readonly line: number | null;
  /** Epoch ms when `state` last changed. */
  readonly since: number;
  /** `unreachable`: the IDE refused, did not answer or hung up; the session is being closed and the request runs on. */
  readonly ide: 'connected' | 'unreachable';
}

/** The request a `finishing` worker still runs although its client left (its lease has ended). */
export interface AbandonedRequest {
  /** The lease as it was when its client left. */
  readonly lease: LeaseSnapshot;
  /** Epoch ms when the client left. */
  readonly abandonedAt: number;
}

/** A worker as consumers see it. */
export interface WorkerSnapshot {
  readonly id: string;
  readonly pid: number | null;
  readonly state: WorkerState;
  /** Requests served (mod_fcgid's "Accesses"). */
  readonly accesses: number;
  /** Epoch ms. */
  readonly startedAt: number;
  /** Epoch ms of the last lease start or end. */
  readonly lastActiveAt: number;
  readonly lease: LeaseSnapshot | null;
  /** While `finishing`: the request whose client left, still running. */
  readonly abandoned: AbandonedRequest | null;
  /** Why it is leaving, once it is (`draining` or `error`). */
  readonly exitReason: WorkerExitReason | null;
  /** How its process ended, once it has. */
  readonly exit: ProcessExit | null;
  /** Open findings about this worker (ids into PoolSnapshot.findings). */
  readonly findingIds: readonly string[];
  /** True when the OS says its process is gone or a zombie while the lists still hold it (policy `keep`). */
  readonly defunct: boolean;
  /** The php-cgi doing the work when `pid` is a wrapper script that did not exec it. */
  readonly servingPid: number | null;
  /** Its step-debugging session, or null when it has none. */
  readonly debug: WorkerDebug | null;
}

/** A worker that has exited and been reaped. */
export interface WorkerExitRecord {
  readonly workerId: string;
  readonly pid: number;
  readonly exit: ProcessExit;
  readonly reason: WorkerExitReason;
  readonly exitedAt: number;
  readonly uptimeMs: number;
  readonly accesses: number;
}

/** What kind of divergence between the lists and the OS (or the lease protocol) a finding reports. */
export type FindingKind = 'defunct-busy' | 'holder-gone' | 'busy-timeout' | 'zombie-descendant' | 'lease-protocol' | 'spawn-failing' | 'slow-request';

/** What the pool does about a leaked lease: repair it, or keep it for inspection. */
export type LeakPolicy = 'reclaim' | 'keep';

/** How a finding stopped being true. */
export interface FindingResolution {
  readonly at: number;
  /** `recovered`: a worker served a request again (a `spawn-failing` finding). */
  readonly how: 'reclaimed' | 'released' | 'worker-killed' | 'worker-exited' | 'pool-stopped' | 'descendant-reaped' | 'recovered';
  readonly detail: string;
}

/**
 * One divergence the reconciler found, with everything a developer needs to
 * act on it: the worker, its process, the lease and when it was noticed.
 */
export interface Finding {
  readonly id: string;
  readonly kind: FindingKind;
  readonly workerId: string | null;
  readonly pid: number | null;
  /** How the worker's process ended, where it has. */
  readonly exit: ProcessExit | null;
  /** The kernel's state letter when it was seen (Z for a zombie), where known. */
  readonly processState: string | null;
  /** The lease involved, if any, as it was when found. */
  readonly lease: LeaseSnapshot | null;
  /** A defunct descendant (zombie-descendant), or the php-cgi behind a wrapper. */
  readonly descendant: { readonly pid: number; readonly comm: string; readonly state: string } | null;
  /** Epoch ms when the reconciler noticed. */
  readonly detectedAt: number;
  /** From when it became true (exit, holder end, timeout) to detection, where known. */
  readonly detectionLatencyMs: number | null;
  /** One readable sentence naming pid, signal, request and script. */
  readonly message: string;
  /** Null while the finding still holds. */
  readonly resolution: FindingResolution | null;
  /**
   * The PHP stack of the worker, innermost first, where one was read:
   * just before a busy-timeout kill, when a slow-request was noticed, and for
   * a defunct-busy the last one seen before the worker died.
   */
  readonly stack?: readonly PhpStackFrame[];
  /** How long before `detectedAt` that stack was read (0: just then). */
  readonly stackAgeMs?: number;
  /** What the worker was waiting on when the stack was read. */
  readonly wait?: WaitReason;
}

/** A finished lease, for the dashboard and the status endpoint. */
export interface LeaseHistoryEntry {
  readonly id: string;
  readonly workerId: string;
  readonly pid: number | null;
  readonly method: string;
  readonly uri: string;
  readonly scriptFilename: string;
  readonly clientAddress: string;
  readonly queuedAt: number;
  readonly acquiredAt: number;
  /** 0 when no response byte arrived. */
  readonly firstByteAt: number;
  readonly releasedAt: number;
  readonly outcome: 'ok' | 'client-abort' | 'worker-died' | 'timeout' | 'leaked' | 'error';
}

/** The pool's own state. */
export type PoolState = 'stopped' | 'starting' | 'running' | 'stopping' | 'failed';

/** Counts per list. */
export interface WorkerCounts {
  readonly starting: number;
  readonly idle: number;
  readonly busy: number;
  /** Busy workers stopped at a breakpoint (not counted in `busy`). */
  readonly paused: number;
  /** Workers still running the script of a request whose client left (see `finishing`). */
  readonly finishing: number;
  readonly draining: number;
  readonly error: number;
  readonly total: number;
}

/** The effective settings of a pool, as shown to consumers. */
export interface PoolLimits {
  readonly minWorkers: number;
  readonly maxWorkers: number;
  readonly maxRequests: number;
  readonly idleTimeoutMs: number;
  readonly busyTimeoutMs: number;
  readonly queueTimeoutMs: number;
  readonly maxQueue: number;
}

/**
 * The pool's step debugger (`--xdebug`, `--debug-client`), in the snapshot.
 * `status`: `off` (--xdebug off); `detecting` while start-up asks php-cgi;
 * `enabled`: workers debug through the relay; `unavailable`: `auto` found no
 * usable Xdebug (`reason` says why, `xdebug` what php-cgi has).
 */
export interface DebuggerSnapshot {
  readonly status: 'off' | 'detecting' | 'enabled' | 'unavailable';
  /** What php-cgi has: Xdebug `loaded` by its own ini, `loadable` (installed, not enabled), `missing`; null when not asked. */
  readonly xdebug: 'loaded' | 'loadable' | 'missing' | null;
  readonly version: string | null;
  /** Why workers do not debug, when they do not. */
  readonly reason: string | null;
  /** Where the IDE listens, `HOST:PORT`. */
  readonly ide: string;
  /** The loopback port of the pool's DBGp relay, while it listens. */
  readonly relayPort: number | null;
  /** "Debug Next Request": the glob the next request's path must match (null: any), since when; null when not armed. */
  readonly armed: { readonly pattern: string | null; readonly since: number } | null;
  /** What the ini overrides change about debugging. */
  readonly notes: readonly string[];
}

/** An immutable picture of the whole pool at one moment. */
export interface PoolSnapshot {
  /** Grows with every change; equal versions mean equal snapshots. */
  readonly version: number;
  readonly takenAt: number;
  readonly state: PoolState;
  /**
   * Set when `state` is `failed`, or while workers exit before serving
   * (a `spawn-failing` finding is open): what the last one said.
   */
  readonly problem: string | null;
  readonly startedAt: number | null;
  readonly limits: PoolLimits;
  readonly counts: WorkerCounts;
  readonly workers: readonly WorkerSnapshot[];
  readonly queue: { readonly length: number; readonly oldestWaitMs: number };
  readonly spawnBackoff: { readonly consecutiveCrashes: number; readonly delayMs: number } | null;
  readonly totals: {
    readonly requests: number;
    readonly spawned: number;
    readonly exited: number;
    readonly crashed: number;
    readonly queueRejected: number;
    readonly busyTimeouts: number;
  };
  /** The last workers that exited, oldest first (at most 20). */
  readonly recentExits: readonly WorkerExitRecord[];
  /** Open findings, and resolved ones until they age out (newest last). */
  readonly findings: readonly Finding[];
  /** Finished leases, oldest first (a bounded ring, 1 000 by default). */
  readonly history: readonly LeaseHistoryEntry[];
  readonly leakPolicy: LeakPolicy;
  /** What the pool can and cannot check on this OS (null: a host that does not say, e.g. a test's fake). */
  readonly platform: PlatformCapabilities | null;
  readonly debugger: DebuggerSnapshot;
  /** Whether live PHP stacks are read, and if not, why (one line). */
  readonly stacks: StackStatus;
}

/** Everything the pool tells its consumers, as one discriminated union. */
export type PoolEvent =
  | { type: 'pool-state'; state: PoolState; problem: string | null }
  | { type: 'worker-starting'; workerId: string }
  | { type: 'worker-ready'; workerId: string; pid: number }
  | { type: 'worker-state'; workerId: string; pid: number | null; from: WorkerState; to: WorkerState; reason: WorkerExitReason | null }
  | { type: 'worker-exited'; workerId: string; pid: number; exit: ProcessExit; reason: WorkerExitReason; uptimeMs: number; accesses: number }
  | { type: 'worker-stderr'; workerId: string; pid: number; text: string }
  | { type: 'spawn-failed'; workerId: string; error: string; code: string | null }
  | { type: 'spawn-throttled'; delayMs: number; consecutiveCrashes: number }
  | { type: 'lease-acquired'; lease: LeaseSnapshot; waitedMs: number }
  | { type: 'lease-released'; lease: LeaseSnapshot; outcome: LeaseOutcome; heldMs: number }
  | { type: 'lease-revoked'; lease: LeaseSnapshot; revocation: LeaseRevocation }
  | { type: 'lease-protocol-error'; leaseId: string; workerId: string | null; problem: 'double-release' | 'unknown-lease'; holder: string }
  | { type: 'queue-rejected'; reason: 'queue-full' | 'queue-timeout'; waitedMs: number; uri: string }
  | { type: 'stale-workers-cleaned'; killed: number[]; reusedPids: number[]; stateDir: string }
  | { type: 'stacks-status'; status: StackStatus }
  | { type: 'finding'; finding: Finding }
  | { type: 'finding-resolved'; finding: Finding }
  /** A worker's debug session began, changed (running, paused at file:line, stopping) or ended (null). */
  | { type: 'worker-debug'; workerId: string; pid: number; debug: WorkerDebug | null }
  /** Start-up decided whether workers debug (see {@link DebuggerSnapshot}). */
  | { type: 'debugger-ready'; debugger: DebuggerSnapshot }
  /** "Debug Next Request" was armed, or disarmed (taken by a request, or stopped). */
  | { type: 'debug-armed'; armed: DebuggerSnapshot['armed'] }
  /** What the relay says that is worth a log line: an IDE that cannot be reached, a session's end… */
  | { type: 'debug-relay'; event: DebugRelayEvent };

/** A listener registration that can be undone. */
export interface Disposable {
  dispose(): void;
}
