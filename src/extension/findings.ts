import type { Finding, FindingKind, PoolSnapshot } from '../pool/types';

/** Kinds that mean a request was lost: errors in Problems and red in the tree; the rest are warnings. */
export const ERROR_FINDINGS: ReadonlySet<FindingKind> = new Set<FindingKind>(['defunct-busy', 'holder-gone']);

/** Open findings of a snapshot (resolved ones stay in it for a while, for the record). */
export function openFindings(snapshot: PoolSnapshot | null): Finding[] {
  return snapshot ? snapshot.findings.filter((finding) => finding.resolution === null) : [];
}
