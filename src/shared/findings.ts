/**
 * What a finding is called, how bad it is, and how it is put in words: one
 * rule for the CLI's stderr line, the log, the Problems panel, the Workers
 * tree and the dashboard, and the sentence the pool itself stores in
 * `Finding.message`.
 *
 * Plain functions without Node or `vscode`: the webview bundles this file.
 */
import type { Finding, FindingKind, PoolSnapshot } from '../pool/types';
import { describeExit, describeRequest, formatDuration, formatRequest } from './text';

/** An error lost a request; a warning is worth a look but cost nobody their response. */
export type FindingSeverity = 'error' | 'warning';

/** What every surface says about one kind of finding. */
export interface FindingKindInfo {
  readonly severity: FindingSeverity;
  /** A few words, for headings and tooltips. */
  readonly title: string;
  /** What it means and what usually causes it; README.md has the long form under the kind's anchor. */
  readonly explanation: string;
}

/** The finding kinds, as the README documents them (its anchors are the kinds). */
export const FINDING_KINDS: Readonly<Record<FindingKind, FindingKindInfo>> = {
  'defunct-busy': {
    severity: 'error',
    title: 'worker died while serving a request',
    explanation:
      'The worker exited, or is a zombie, while its lease was still held: the request it was serving died with it (a segfault, exit in an extension, the OOM killer, kill -9).',
  },
  'holder-gone': {
    severity: 'error',
    title: 'lease outlived its request',
    explanation: 'The HTTP exchange that held the lease ended, or its client disconnected, but the lease was never released: a leak in the manager itself.',
  },
  'busy-timeout': {
    severity: 'warning',
    title: 'request held its worker past the busy timeout',
    explanation: 'An endless loop, a blocking call, or a script stopped in a debugger. The client got 504.',
  },
  'zombie-descendant': {
    severity: 'warning',
    title: 'a process below a worker was never reaped',
    explanation: 'A wrapper script, PHP_FCGI_CHILDREN mode or a script that forks left a <defunct> child behind.',
  },
  'lease-protocol': {
    severity: 'warning',
    title: 'lease released twice, or never issued',
    explanation: 'The second release was ignored and the counts stayed right.',
  },
  'spawn-failing': {
    severity: 'error',
    title: 'workers exit before serving',
    explanation:
      'Every new worker exited before it served a request, usually a broken php.ini, a missing extension or a wrapper script that fails. Requests get 503 with what the last worker wrote to stderr, and the pool retries with a growing delay (up to 10 s) until a worker serves again.',
  },
  'slow-request': {
    severity: 'warning',
    title: 'request ran past the slowlog timeout',
    explanation:
      "The request is still running past the slowlog timeout (like PHP-FPM's request_slowlog_timeout): the finding carries where its PHP stack was and what it waited on. It resolves when the request ends.",
  },
};

/** `error` for a finding that lost requests (`defunct-busy`, `holder-gone`, `spawn-failing`), `warning` for the others. */
export function findingSeverity(kind: FindingKind): FindingSeverity {
  return FINDING_KINDS[kind].severity;
}

/** Open findings of a snapshot (resolved ones stay in it for a while, for the record). */
export function openFindings(snapshot: PoolSnapshot | null): Finding[] {
  return snapshot ? snapshot.findings.filter((finding) => finding.resolution === null) : [];
}

/** The facts a finding's sentence is made of (a finding before the pool stored it has them too). */
export type FindingFacts = Pick<
  Finding,
  'kind' | 'workerId' | 'pid' | 'exit' | 'processState' | 'lease' | 'descendant' | 'detectedAt' | 'detectionLatencyMs' | 'message'
>;

/** How to word it. */
export interface FindingWording {
  /**
   * Name the script the request ran, for surfaces that are not already at
   * it (the CLI, the log, the stored message); the Problems panel shows the
   * finding on the script itself.
   */
  readonly script?: boolean;
}

/**
 * One sentence naming the worker, its pid, what happened to the process, the
 * request and the lease's age when it happened, e.g.
 * `worker w2 (pid 1234) was killed by SIGKILL while serving GET /die (lease L7, 400 ms)`.
 * A `lease-protocol` or `spawn-failing` finding has no worker story: its own message is the sentence.
 */
export function describeFinding(finding: FindingFacts, wording: FindingWording = {}): string {
  const who = `worker ${finding.workerId ?? '?'} (pid ${finding.pid ?? '?'})`;
  const lease = finding.lease;
  const request = lease ? (wording.script ? describeRequest(lease) : formatRequest(lease)) : '';
  const serving = lease ? ` while serving ${request} (lease ${lease.id}, ${formatDuration(leaseAgeWhenItHappened(finding))})` : '';
  switch (finding.kind) {
    case 'defunct-busy':
      return `${who}${defunctHow(finding)}${serving}`;
    case 'holder-gone':
      return `${who} is still leased although its request ended${serving}`;
    case 'busy-timeout':
      return `${who} exceeded the busy timeout${serving}`;
    case 'slow-request':
      return `${who} passed the slowlog timeout${serving}`;
    case 'zombie-descendant': {
      const child = finding.descendant ? `a defunct child (pid ${finding.descendant.pid}, ${finding.descendant.comm})` : 'a defunct child';
      return `${who} left ${child}${serving}`;
    }
    default:
      return finding.message;
  }
}

/** `defunct-busy: worker w2 (pid 1234) …`: the kind first, so a list of them can be filtered by it. */
export function findingLine(finding: FindingFacts, wording: FindingWording = {}): string {
  return `${finding.kind}: ${describeFinding(finding, wording)}`;
}

/** The lease's age at the moment the finding became true (detection minus latency), not when it was noticed. */
export function leaseAgeWhenItHappened(finding: Pick<Finding, 'lease' | 'detectedAt' | 'detectionLatencyMs'>): number {
  if (!finding.lease) return 0;
  return finding.detectedAt - (finding.detectionLatencyMs ?? 0) - finding.lease.acquiredAt;
}

/**
 * What became of a busy worker's process, to follow its name: its exit, or
 * what the process table says (about the php-cgi behind a wrapper script,
 * when that is the one that failed).
 */
function defunctHow(finding: FindingFacts): string {
  if (finding.exit) return ` ${describeExit(finding.exit)}`;
  const state = finding.processState === 'Z' ? 'became a zombie' : 'is gone';
  const served = finding.descendant;
  return served ? `: its ${served.comm} (pid ${served.pid}) ${state}` : ` ${state}`;
}
