import type { ProcessExit } from '../platform/processControl';
import type { LeaseStack } from '../shared/stackTypes';
import { describeExit, describeRequest, formatDuration } from '../shared/text';
import type { Finding, FindingKind, LeaseSnapshot } from './types';

/**
 * One builder per finding kind: its dedupe key, its fields and its sentence.
 * The pool decides when a finding holds and what to do about it; the words
 * and the fields live here, once.
 */

/** A finding before the log numbers it: the key that deduplicates it, and its fields. */
export interface FindingDraft {
  readonly key: string;
  readonly fields: Omit<Finding, 'id' | 'resolution'>;
}

/** The worker a finding is about, as it is when found. */
export interface WorkerFacts {
  readonly id: string;
  readonly pid: number | null;
  readonly exit: ProcessExit | null;
}

/** How a busy worker was found dead: its exit was reaped, or the OS said so first. */
export type DefunctCause =
  | { readonly seen: 'exit'; readonly exit: ProcessExit }
  | {
      readonly seen: 'process-table';
      readonly status: 'zombie' | 'gone';
      /** The pid now belongs to another process. */
      readonly reused: boolean;
      /** The php-cgi behind a wrapper, when it is the one that died. */
      readonly served: { readonly pid: number; readonly comm: string } | null;
    };

/** `defunct-busy`: a worker died while its lease was held (the seed bug). */
export function defunctBusy(
  worker: WorkerFacts,
  lease: LeaseSnapshot,
  cause: DefunctCause,
  found: { detectedAt: number; detectionLatencyMs: number; processState: string | null },
): FindingDraft {
  const served = cause.seen === 'process-table' ? cause.served : null;
  const what =
    cause.seen === 'exit' ? ` ${describeExit(cause.exit)}` : `: ${served ? `its ${served.comm} (pid ${served.pid})` : 'its process'} ${deathOf(cause)}`;
  return draft(`defunct-busy:${lease.id}`, 'defunct-busy', worker, {
    lease,
    exit: cause.seen === 'exit' ? cause.exit : worker.exit,
    processState: found.processState,
    descendant: served ? { pid: served.pid, comm: served.comm, state: found.processState ?? 'gone' } : null,
    detectedAt: found.detectedAt,
    detectionLatencyMs: found.detectionLatencyMs,
    message: `worker ${worker.id} (pid ${worker.pid ?? '?'})${what} while serving ${describeRequest(lease)} (lease ${lease.id}, ${formatDuration(found.detectedAt - lease.acquiredAt)})`,
  });
}

function deathOf(cause: Extract<DefunctCause, { seen: 'process-table' }>): string {
  if (cause.status === 'zombie') return 'is defunct (zombie)';
  return cause.reused ? 'is gone (the pid now belongs to another process)' : 'is gone';
}

/** `holder-gone`: the lease's holder ended without releasing it. */
export function holderGone(worker: WorkerFacts, lease: LeaseSnapshot, processState: string, now: number, detectionLatencyMs: number): FindingDraft {
  return draft(`holder-gone:${lease.id}`, 'holder-gone', worker, {
    lease,
    processState,
    detectionLatencyMs,
    detectedAt: now,
    message: `${lease.holder} ended without releasing lease ${lease.id} on worker ${worker.id} (pid ${worker.pid}) for ${describeRequest(lease)} (held ${formatDuration(now - lease.acquiredAt)})`,
  });
}

/** `busy-timeout`: a lease outlived the busy timeout. */
export function busyTimeout(worker: WorkerFacts, lease: LeaseSnapshot, timeoutMs: number, now: number): FindingDraft {
  return pastTimeout('busy-timeout', 'busy timeout', worker, lease, timeoutMs, now);
}

/** `slow-request`: a lease outlived the slowlog timeout (PHP-FPM's request_slowlog_timeout); the request goes on. */
export function slowRequest(worker: WorkerFacts, lease: LeaseSnapshot, timeoutMs: number, now: number): FindingDraft {
  return pastTimeout('slow-request', 'slowlog timeout', worker, lease, timeoutMs, now);
}

/** A lease that outlived one of the pool's timeouts: detected that long after the timeout fell due. */
function pastTimeout(
  kind: 'busy-timeout' | 'slow-request',
  timeoutName: string,
  worker: WorkerFacts,
  lease: LeaseSnapshot,
  timeoutMs: number,
  now: number,
): FindingDraft {
  return draft(`${kind}:${lease.id}`, kind, worker, {
    lease,
    detectionLatencyMs: now - (lease.acquiredAt + timeoutMs),
    detectedAt: now,
    message: `worker ${worker.id} (pid ${worker.pid ?? '?'}) has been busy with ${describeRequest(lease)} for ${formatDuration(now - lease.acquiredAt)}, past the ${timeoutName} of ${formatDuration(timeoutMs)}`,
  });
}

/**
 * The finding with the worker's PHP stack and wait reason, when one was read
 * while the finding's lease ran (a stack of an earlier lease says nothing
 * about this one): `stackAgeMs` says how long before the detection.
 */
export function withStack(finding: FindingDraft, read: LeaseStack | null | undefined): FindingDraft {
  const lease = finding.fields.lease;
  if (!read || !lease || read.leaseId !== lease.id || (read.stack === null && read.wait === null)) return finding;
  const stack = read.stack === null ? {} : { stack: read.stack, stackAgeMs: Math.max(0, finding.fields.detectedAt - read.sampledAt) };
  const wait = read.wait === null ? {} : { wait: read.wait };
  return { key: finding.key, fields: { ...finding.fields, ...stack, ...wait } };
}

/** `zombie-descendant`: a process under a worker died and nobody reaped it. */
export function zombieDescendant(
  worker: WorkerFacts,
  descendant: { readonly pid: number; readonly startTime: number; readonly comm: string; readonly state: string },
  processState: string,
  lease: LeaseSnapshot | null,
  now: number,
  detectionLatencyMs: number,
): FindingDraft {
  return draft(`zombie-descendant:${descendant.pid}:${descendant.startTime}`, 'zombie-descendant', worker, {
    descendant: { pid: descendant.pid, comm: descendant.comm, state: descendant.state },
    processState,
    lease,
    detectionLatencyMs,
    detectedAt: now,
    message: `${descendant.comm} (pid ${descendant.pid}), a descendant of worker ${worker.id} (pid ${worker.pid}), is defunct: its parent has not reaped it`,
  });
}

/** `lease-protocol`: a lease released twice, or one this pool never issued (`worker` null then). */
export function leaseProtocol(worker: WorkerFacts | null, lease: LeaseSnapshot, problem: 'double-release' | 'unknown-lease', now: number): FindingDraft {
  return draft(`lease-protocol:${lease.id}:${now}:${Math.random()}`, 'lease-protocol', worker, {
    lease,
    detectionLatencyMs: 0,
    detectedAt: now,
    message:
      problem === 'double-release'
        ? `lease ${lease.id} was released a second time by ${lease.holder}; the second release was ignored and the counts are unchanged`
        : `${lease.holder} released lease ${lease.id}, which this pool never issued; ignored`,
  });
}

/** Why the last worker failed before it served anything: its exit (or a failed launch) and what it wrote to stderr. */
export interface StartFailure {
  readonly workerId: string;
  readonly pid: number | null;
  /** Null when the process could not even be started. */
  readonly exit: ProcessExit | null;
  /** The launch error, when there was no process. */
  readonly error: string | null;
  /** The last lines it wrote to stderr ('' for none). */
  readonly stderr: string;
  /** Epoch ms. */
  readonly at: number;
}

/** `worker w5 (pid 1234) exited with code 1 before serving a request; its stderr ends: PHP Fatal error: …`. */
export function describeStartFailure(failure: StartFailure): string {
  const who = `worker ${failure.workerId}${failure.pid !== null ? ` (pid ${failure.pid})` : ''}`;
  const what = failure.exit
    ? `${who} ${describeExit(failure.exit)} before serving a request`
    : `${who} could not be started: ${failure.error ?? 'unknown error'}`;
  return failure.stderr ? `${what}; its stderr ends: ${failure.stderr.replaceAll('\n', ' | ')}` : `${what}; it wrote nothing to stderr`;
}

/**
 * `spawn-failing`: workers exit before they serve anything, and none is
 * alive. About the pool rather than one worker (that worker is gone), so
 * `workerId` is null; `pid` and `exit` are the last failed worker's.
 */
export function spawnFailing(failure: StartFailure, consecutive: number): FindingDraft {
  return draft('spawn-failing', 'spawn-failing', null, {
    pid: failure.pid,
    exit: failure.exit,
    detectedAt: failure.at,
    detectionLatencyMs: 0,
    message: `workers exit before serving (${consecutive} in a row): ${describeStartFailure(failure)}`,
  });
}

/** The common fields, in the order the status JSON has always had them. */
function draft(
  key: string,
  kind: FindingKind,
  worker: WorkerFacts | null,
  given: Partial<Omit<Finding, 'id' | 'kind' | 'resolution'>> & { message: string; detectedAt: number },
): FindingDraft {
  const { detectedAt, ...fields } = given;
  return {
    key,
    fields: {
      kind,
      workerId: worker?.id ?? null,
      pid: worker?.pid ?? null,
      exit: worker?.exit ?? null,
      processState: null,
      lease: null,
      descendant: null,
      detectionLatencyMs: null,
      detectedAt,
      ...fields,
    },
  };
}
