import type { Finding } from '../../pool/types';
import { describeExit, formatAge, formatRequest } from '../format';

/**
 * The Problems-panel message of a finding: the kind first (so it can be
 * filtered), then worker, pid, what happened to the process, the request and
 * the lease's age when it happened, e.g.
 * `defunct-busy: worker w2 (pid 1234) was killed by SIGKILL while serving GET /die (lease L7, 0.4 s)`.
 */
export function findingMessage(finding: Finding): string {
  const who = `worker ${finding.workerId ?? '?'} (pid ${finding.pid ?? '?'})`;
  const lease = finding.lease;
  const serving = lease ? ` while serving ${formatRequest(lease)} (lease ${lease.id}, ${formatAge(leaseAgeWhenItHappened(finding))})` : '';
  switch (finding.kind) {
    case 'defunct-busy': {
      const what = finding.exit ? describeExit(finding.exit) : finding.processState === 'Z' ? 'became a zombie' : 'is gone';
      return `defunct-busy: ${who} ${what}${serving}`;
    }
    case 'holder-gone':
      return `holder-gone: ${who} is still leased although its request ended${serving}`;
    case 'busy-timeout':
      return `busy-timeout: ${who} exceeded the busy timeout${serving}`;
    case 'zombie-descendant': {
      const child = finding.descendant ? `a defunct child (pid ${finding.descendant.pid}, ${finding.descendant.comm})` : 'a defunct child';
      return `zombie-descendant: ${who} left ${child}${serving}`;
    }
    case 'lease-protocol':
      return `lease-protocol: ${finding.message}`;
    default:
      return `${String(finding.kind)}: ${finding.message}`;
  }
}

/** The lease's age at the moment the finding became true (detection minus latency), not when we noticed. */
export function leaseAgeWhenItHappened(finding: Finding): number {
  if (!finding.lease) return 0;
  return finding.detectedAt - (finding.detectionLatencyMs ?? 0) - finding.lease.acquiredAt;
}
