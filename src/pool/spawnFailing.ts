import { PoolSpawnFailingError } from './errors';
import { describeStartFailure, spawnFailing, type StartFailure } from './findingBuilder';
import type { PoolFindings } from './findings';
import type { SpawnBackoff } from './spawnBackoff';
import type { Finding } from './types';

/** Lines of a failed worker's stderr worth quoting: the last few, each kept short. */
const QUOTED_LINES = 3;
const QUOTED_LINE_CHARS = 300;

/** The last few non-empty lines of `text`, for a page, a finding and the snapshot. */
function lastLines(text: string): string {
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  return lines
    .slice(-QUOTED_LINES)
    .map((line) => (line.length > QUOTED_LINE_CHARS ? `${line.slice(0, QUOTED_LINE_CHARS - 1)}…` : line))
    .join('\n');
}

/**
 * Workers that fail before serving anything, as the world sees it: the last
 * failure (its exit and the end of its stderr), the `spawn-failing` finding
 * while it lasts, and the error a request gets at once while no worker is
 * alive. The spawn backoff itself is the spawner's; this is what it is told.
 */
export class SpawnFailures {
  private last: StartFailure | null = null;
  private finding: Finding | null = null;

  constructor(private readonly findings: PoolFindings) {}

  /** A worker exited (or could not start) before it served anything. */
  failed(failure: StartFailure, consecutive: number): void {
    this.last = { ...failure, stderr: lastLines(failure.stderr) };
    if (this.finding === null) this.finding = this.findings.report(spawnFailing(this.last, consecutive));
  }

  /** A worker's process could not even be started (and trying again may help). */
  launchFailed(workerId: string, error: string, consecutive: number): void {
    this.failed({ workerId, pid: null, exit: null, error, stderr: '', at: Date.now() }, consecutive);
  }

  /** A worker served a request: whatever was failing works again. */
  served(): void {
    if (this.last === null) return;
    this.last = null;
    const finding = this.finding;
    this.finding = null;
    this.findings.resolve(finding, 'recovered', 'a worker served a request again');
  }

  /** The pool stopped: the finding went with the others (resolveAll). */
  reset(): void {
    this.last = null;
    this.finding = null;
  }

  /** The last failure while the finding is open, else null. */
  get current(): StartFailure | null {
    return this.finding === null ? null : this.last;
  }

  /** The snapshot's `problem` while workers keep failing. */
  problem(): string | null {
    const failure = this.current;
    return failure ? `workers exit before serving: ${describeStartFailure(failure)}` : null;
  }

  /**
   * What a request is told while no worker is up (`upCount` 0: none idle,
   * busy, finishing or draining); null when one is, or nothing is failing.
   * A spawn under way does not count: while workers keep failing it most
   * likely fails too, and waiting for it (35–200 ms of php-cgi start-up
   * here) would make the answer slow; if it comes up, the next request is
   * served.
   */
  error(upCount: number, backoff: SpawnBackoff): PoolSpawnFailingError | null {
    const failure = upCount === 0 ? this.current : null;
    return failure ? new PoolSpawnFailingError(failure, backoff.consecutiveCrashes, Math.max(0, backoff.nextAllowedAt - Date.now())) : null;
  }
}
