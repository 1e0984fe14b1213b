import { readProcessStat } from '../../src/platform/processTable';
import type { LeaseHolder, LeaseRevocation } from '../../src/pool/types';

/** The php-cgi the tests run (Debian's package). */
export const phpCgi = process.env.PHP_CGI ?? '/usr/bin/php-cgi';

/** True while the process exists and is not a zombie. */
export function isRunning(pid: number): boolean {
  const stat = readProcessStat(pid);
  return stat !== null && stat.state !== 'Z' && stat.state !== 'X';
}

/** Polls `check` every 10 ms until it returns true; throws with `what` after `timeoutMs`. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A lease holder for tests that records what the pool told it. */
export class RecordingHolder implements LeaseHolder {
  readonly revocations: LeaseRevocation[] = [];
  constructor(readonly description = 'test holder') {}
  revoke(revocation: LeaseRevocation): void {
    this.revocations.push(revocation);
  }
}
