import { spawnSync } from 'node:child_process';
import { classifyXdebugProbe, type XdebugAvailability } from '../../src/dbgp/xdebugDetect';
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

/**
 * Whether `php-cgi` has Xdebug, decided synchronously (a test file must know
 * before it declares its tests whether to skip them), with the product's own
 * reading of `php-cgi -d zend_extension=xdebug -v`.
 */
export function xdebugAvailabilitySync(env: NodeJS.ProcessEnv = process.env): XdebugAvailability {
  const probe = spawnSync(phpCgi, ['-d', 'zend_extension=xdebug', '-v'], { env, encoding: 'utf8', timeout: 10_000 });
  if (probe.error) return { kind: 'missing', detail: `cannot run ${phpCgi}: ${probe.error.message}` };
  return classifyXdebugProbe(probe.stdout, probe.stderr);
}
