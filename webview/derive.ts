/**
 * Figures the dashboard shows, derived from one snapshot. Pure functions, no
 * DOM: unit-tested in Node. These are views of the data (counts, rates,
 * percentiles, layout), not pool logic: nothing here decides what the pool
 * does.
 */
import type { Finding, LeaseHistoryEntry, LeaseSnapshot, PoolSnapshot, WorkerDebug, WorkerSnapshot, WorkerState } from '../src/pool/types';

/** Rates and latencies are over the last minute. */
const RATE_WINDOW_MS = 60_000;

/**
 * The value at rank ⌈p·n⌉ of ascending values (nearest rank: always a value
 * that occurred). Null for no values.
 */
export function percentile(sortedAscending: readonly number[], p: number): number | null {
  const n = sortedAscending.length;
  if (n === 0) return null;
  const rank = Math.min(n, Math.max(1, Math.ceil(p * n)));
  return sortedAscending[rank - 1] as number;
}

/**
 * Leases finished per second over the last `windowMs` — or over the pool's
 * life if it is younger, so a pool that started 5 s ago does not show a
 * twelfth of its rate.
 */
export function requestsPerSecond(history: readonly LeaseHistoryEntry[], now: number, windowMs: number, startedAt: number | null): number {
  const from = now - windowMs;
  let count = 0;
  // History is oldest first: walk back from the newest.
  for (let i = history.length - 1; i >= 0; i--) {
    const released = (history[i] as LeaseHistoryEntry).releasedAt;
    if (released <= from) break;
    if (released <= now) count++;
  }
  const span = Math.max(1_000, Math.min(windowMs, startedAt === null ? windowMs : now - startedAt));
  return count / (span / 1000);
}

export interface LatencySummary {
  /** How many finished leases the percentiles are over. */
  readonly count: number;
  readonly p50: number | null;
  readonly p99: number | null;
}

/**
 * Request latency inside the pool — from asking for a worker (`queuedAt`,
 * so queueing counts) to the release — for leases that ended in the window.
 * Leaked leases are left out: their end is when the pool noticed, not when
 * the request finished.
 */
export function latency(history: readonly LeaseHistoryEntry[], now: number, windowMs: number): LatencySummary {
  const from = now - windowMs;
  const values: number[] = [];
  for (let i = history.length - 1; i >= 0; i--) {
    const entry = history[i] as LeaseHistoryEntry;
    if (entry.releasedAt <= from) break;
    if (entry.releasedAt > now || entry.outcome === 'leaked') continue;
    values.push(Math.max(0, entry.releasedAt - entry.queuedAt));
  }
  values.sort((a, b) => a - b);
  return { count: values.length, p50: percentile(values, 0.5), p99: percentile(values, 0.99) };
}

/** The headline figures. */
export interface Headline {
  readonly idle: number;
  readonly busy: number;
  /** Busy workers stopped at a breakpoint (not in `busy`). */
  readonly paused: number;
  /** Running the script of a request whose client left: neither leased nor idle. */
  readonly finishing: number;
  readonly error: number;
  readonly starting: number;
  readonly draining: number;
  readonly total: number;
  readonly maxWorkers: number;
  readonly requestsPerSecond: number;
  readonly latency: LatencySummary;
  readonly queueLength: number;
  readonly queueOldestWaitMs: number;
  readonly openFindings: number;
  readonly findings: number;
  /** Workers whose process is gone while the lists hold them. */
  readonly defunct: number;
}

export function headline(snapshot: PoolSnapshot, now: number): Headline {
  const openFindings = snapshot.findings.filter((f) => f.resolution === null).length;
  return {
    idle: snapshot.counts.idle,
    busy: snapshot.counts.busy,
    // A snapshot from an engine older than the debugger has no such count.
    paused: snapshot.counts.paused ?? 0,
    finishing: snapshot.counts.finishing,
    error: snapshot.counts.error,
    starting: snapshot.counts.starting,
    draining: snapshot.counts.draining,
    total: snapshot.counts.total,
    maxWorkers: snapshot.limits.maxWorkers,
    requestsPerSecond: requestsPerSecond(snapshot.history, now, RATE_WINDOW_MS, snapshot.startedAt),
    latency: latency(snapshot.history, now, RATE_WINDOW_MS),
    queueLength: snapshot.queue.length,
    queueOldestWaitMs: snapshot.queue.oldestWaitMs,
    openFindings,
    findings: snapshot.findings.length,
    defunct: snapshot.workers.filter((w) => w.defunct).length,
  };
}

// ---------------------------------------------------------------------------
// Lease timeline

/**
 * How a bar is drawn: a finished lease's outcome, `held` for a lease in
 * progress, `stuck` for a lease still held that a finding names (leaked and
 * still held: its holder is gone, its worker is defunct or past the busy
 * timeout and kept).
 */
export type BarKind = LeaseHistoryEntry['outcome'] | 'held' | 'stuck';

export const BAR_KINDS: readonly BarKind[] = ['ok', 'client-abort', 'worker-died', 'timeout', 'leaked', 'error', 'held', 'stuck'];

export interface TimelineBar {
  readonly leaseId: string;
  readonly workerId: string;
  readonly pid: number | null;
  readonly kind: BarKind;
  readonly method: string;
  readonly uri: string;
  readonly scriptFilename: string;
  readonly clientAddress: string;
  readonly queuedAt: number;
  readonly start: number;
  /** Release, or `now` for a lease still held. */
  readonly end: number;
  /** 0 when unknown or none. */
  readonly firstByteAt: number;
  /** True while the lease is held (it runs to `now`). */
  readonly open: boolean;
  /** A finished lease that the pool still keeps on its worker (policy `keep`): drawn on to `now`, hatched after `releasedAt`. */
  readonly keptUntilNow: boolean;
  /** When the lease ended for its client; null while it is held. */
  readonly releasedAt: number | null;
  /** Findings that name this lease. */
  readonly findingIds: readonly string[];
  /** On a worker whose process is gone. */
  readonly defunct: boolean;
}

export interface TimelineLane {
  readonly workerId: string;
  readonly pid: number | null;
  /** Null for a worker that has left the pool (its leases are still in the window). */
  readonly state: WorkerState | null;
  readonly defunct: boolean;
  /** Sorted by start. */
  readonly bars: readonly TimelineBar[];
}

export interface TimelineModel {
  readonly from: number;
  readonly to: number;
  readonly lanes: readonly TimelineLane[];
  /** Bars per kind, in the window (for the legend and the canvas's text alternative). */
  readonly counts: Readonly<Record<BarKind, number>>;
}

/** `w10` after `w9`: ids compare by their number where they have one. */
export function compareWorkerIds(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** Which findings name which lease id. */
function findingsByLease(findings: readonly Finding[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const finding of findings) {
    if (!finding.lease) continue;
    const list = map.get(finding.lease.id);
    if (list) list.push(finding.id);
    else map.set(finding.lease.id, [finding.id]);
  }
  return map;
}

/**
 * One lane per worker in the pool (in the snapshot's order), then one per
 * departed worker that has leases in the window; each lease a bar from
 * acquire to release, clipped to nothing (bars outside the window are left
 * out, not clipped: the drawing clips).
 */
export function timeline(snapshot: PoolSnapshot, now: number, windowMs: number): TimelineModel {
  const from = now - windowMs;
  const byLease = findingsByLease(snapshot.findings);
  const openFindingLeases = new Set<string>();
  for (const finding of snapshot.findings) if (finding.resolution === null && finding.lease) openFindingLeases.add(finding.lease.id);

  const lanes = new Map<string, { workerId: string; pid: number | null; state: WorkerState | null; defunct: boolean; bars: TimelineBar[] }>();
  const workersById = new Map<string, WorkerSnapshot>();
  for (const worker of snapshot.workers) {
    workersById.set(worker.id, worker);
    lanes.set(worker.id, { workerId: worker.id, pid: worker.pid, state: worker.state, defunct: worker.defunct, bars: [] });
  }
  const counts = Object.fromEntries(BAR_KINDS.map((k) => [k, 0])) as Record<BarKind, number>;
  const departed: string[] = [];
  const laneFor = (workerId: string, pid: number | null) => {
    let lane = lanes.get(workerId);
    if (!lane) {
      lane = { workerId, pid, state: null, defunct: false, bars: [] };
      lanes.set(workerId, lane);
      departed.push(workerId);
    }
    return lane;
  };

  const finishedIds = new Set<string>();
  for (let i = snapshot.history.length - 1; i >= 0; i--) {
    const entry = snapshot.history[i] as LeaseHistoryEntry;
    finishedIds.add(entry.id);
    const worker = workersById.get(entry.workerId);
    // Kept by policy `keep`: ended for its client, still on its worker.
    const kept = worker?.lease?.id === entry.id;
    if (entry.releasedAt < from && !kept) continue;
    if (entry.acquiredAt > now) continue;
    const bar: TimelineBar = {
      ...barFields(entry, entry.workerId, entry.pid),
      kind: entry.outcome,
      end: kept ? now : entry.releasedAt,
      firstByteAt: entry.firstByteAt,
      open: false,
      keptUntilNow: kept,
      releasedAt: entry.releasedAt,
      findingIds: byLease.get(entry.id) ?? [],
      defunct: kept && worker?.defunct === true,
    };
    laneFor(entry.workerId, entry.pid).bars.push(bar);
    counts[bar.kind]++;
  }
  for (const worker of snapshot.workers) {
    const lease = worker.lease;
    if (!lease || finishedIds.has(lease.id)) continue;
    const stuck = worker.defunct || openFindingLeases.has(lease.id);
    const bar: TimelineBar = {
      ...barFields(lease, worker.id, worker.pid),
      kind: stuck ? 'stuck' : 'held',
      end: now,
      firstByteAt: 0,
      open: true,
      keptUntilNow: false,
      releasedAt: null,
      findingIds: byLease.get(lease.id) ?? [],
      defunct: worker.defunct,
    };
    laneFor(worker.id, worker.pid).bars.push(bar);
    counts[bar.kind]++;
  }

  departed.sort(compareWorkerIds);
  const ordered = [...snapshot.workers.map((w) => w.id), ...departed].map((id) => lanes.get(id)!);
  for (const lane of ordered) lane.bars.sort((a, b) => a.start - b.start);
  return { from, to: now, lanes: ordered, counts };
}

function barFields(
  lease: Pick<LeaseSnapshot, 'id' | 'method' | 'uri' | 'scriptFilename' | 'clientAddress' | 'queuedAt' | 'acquiredAt'>,
  workerId: string,
  pid: number | null,
) {
  return {
    leaseId: lease.id,
    workerId,
    pid,
    method: lease.method,
    uri: lease.uri,
    scriptFilename: lease.scriptFilename,
    clientAddress: lease.clientAddress,
    queuedAt: lease.queuedAt,
    start: lease.acquiredAt,
  };
}

/**
 * The bar at time `t` in a lane (bars sorted by start), allowing `slackMs`
 * either side so that a one-pixel bar can be hovered; the nearest one wins.
 */
export function barAt(bars: readonly TimelineBar[], t: number, slackMs: number): TimelineBar | null {
  // Binary search: the last bar starting at or before t + slack.
  let lo = 0;
  let hi = bars.length - 1;
  let last = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((bars[mid] as TimelineBar).start <= t + slackMs) {
      last = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  let best: TimelineBar | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  // Bars in one lane do not overlap (one lease per worker at a time), but a
  // kept lease can: look back a few.
  for (let i = last; i >= 0 && i >= last - 8; i--) {
    const bar = bars[i] as TimelineBar;
    const distance = t < bar.start ? bar.start - t : t > bar.end ? t - bar.end : 0;
    if (distance <= slackMs && distance < bestDistance) {
      best = bar;
      bestDistance = distance;
      if (distance === 0) break;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------
// Worker table and findings list

export interface WorkerRow {
  readonly id: string;
  readonly pid: number | null;
  readonly servingPid: number | null;
  readonly state: WorkerState;
  readonly defunct: boolean;
  readonly accesses: number;
  readonly ageMs: number;
  readonly lease: LeaseSnapshot | null;
  /** While `finishing`: the lease of the request whose client left, still running. */
  readonly abandoned: LeaseSnapshot | null;
  readonly leaseAgeMs: number | null;
  /** The worker's lease is named by an open finding (leaked, still held). */
  readonly leaseStuck: boolean;
  readonly openFindings: number;
  readonly exitReason: string | null;
  /** Its step-debugging session: paused at file:line, running, stopping; null without one. */
  readonly debug: WorkerDebug | null;
}

export function workerRows(snapshot: PoolSnapshot, now: number): WorkerRow[] {
  const stuckLeases = new Set<string>();
  for (const f of snapshot.findings) if (f.resolution === null && f.lease) stuckLeases.add(f.lease.id);
  return snapshot.workers.map((w) => ({
    id: w.id,
    pid: w.pid,
    servingPid: w.servingPid,
    state: w.state,
    defunct: w.defunct,
    accesses: w.accesses,
    ageMs: Math.max(0, now - w.startedAt),
    lease: w.lease,
    abandoned: w.abandoned?.lease ?? null,
    leaseAgeMs: w.lease ? Math.max(0, now - w.lease.acquiredAt) : null,
    leaseStuck: w.lease !== null && (w.defunct || stuckLeases.has(w.lease.id)),
    openFindings: w.findingIds.length,
    exitReason: w.exitReason,
    debug: w.debug ?? null,
  }));
}

export interface FindingRow {
  readonly finding: Finding;
  readonly open: boolean;
  /** A worker in the pool still holds the finding's lease: "Release lease" applies. */
  readonly leaseHeld: boolean;
  /** The worker is still in the pool: "Reveal" applies. */
  readonly workerPresent: boolean;
  /** How long the lease has been held (open) or was held until resolution, where known. */
  readonly heldMs: number | null;
}

/** Open findings first, then newest first. */
export function findingRows(snapshot: PoolSnapshot, now: number): FindingRow[] {
  const heldLeases = new Set<string>();
  const present = new Set<string>();
  for (const w of snapshot.workers) {
    present.add(w.id);
    if (w.lease) heldLeases.add(w.lease.id);
  }
  return snapshot.findings
    .map((finding) => {
      const open = finding.resolution === null;
      const until = open ? now : (finding.resolution as NonNullable<Finding['resolution']>).at;
      return {
        finding,
        open,
        leaseHeld: finding.lease !== null && heldLeases.has(finding.lease.id),
        workerPresent: finding.workerId !== null && present.has(finding.workerId),
        heldMs: finding.lease ? Math.max(0, until - finding.lease.acquiredAt) : null,
      };
    })
    .sort((a, b) => Number(b.open) - Number(a.open) || b.finding.detectedAt - a.finding.detectedAt);
}
