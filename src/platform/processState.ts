import { execFileSync } from 'node:child_process';
import { hasProcfs, readProcessStat, type ProcessStat } from './processTable';
import { parsePsOutput, PS_COLUMNS } from './psOutput';

/** What the operating system says about a process we believe is ours. */
export type ProcessTruth =
  | { status: 'alive'; stat: ProcessStat }
  | { status: 'zombie'; stat: ProcessStat }
  /** No such pid, or the pid now belongs to another process (start time differs). */
  | { status: 'gone'; reused: boolean };

/**
 * The verdict on what a reader saw for a pid (null: not there). Identity is
 * pid *and* start time: a pid may be reused by an unrelated process, which
 * must never be mistaken for our worker (or killed as one). `kill(pid, 0)`
 * cannot tell a zombie from a live process, so the state letter decides.
 * `sameStart` compares start times in the reader's unit (exact, except on
 * Windows where the recorded one is approximate).
 */
export function judge(
  stat: ProcessStat | null,
  startTime: number | null,
  sameStart: (recorded: number, seen: number) => boolean = (a, b) => a === b,
): ProcessTruth {
  if (!stat) return { status: 'gone', reused: false };
  if (startTime !== null && !sameStart(startTime, stat.startTime)) return { status: 'gone', reused: true };
  if (stat.state === 'Z' || stat.state === 'X') return { status: 'zombie', stat };
  return { status: 'alive', stat };
}

/** {@link judge} on this system's usual reading (/proc on Linux, `ps` elsewhere). */
export function inspectProcess(pid: number, startTime: number | null): ProcessTruth {
  return judge(readStat(pid), startTime);
}

/** Reads one process's stat: /proc on Linux, one `ps` call elsewhere (macOS). */
export function readStat(pid: number): ProcessStat | null {
  if (hasProcfs) return readProcessStat(pid);
  return readStatWithPs(pid);
}

/** One `ps` for one pid, synchronously; null when it is not there (or `ps` cannot run). */
function readStatWithPs(pid: number): ProcessStat | null {
  try {
    const out = execFileSync('ps', ['-o', PS_COLUMNS, '-p', String(pid)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    return parsePsOutput(out)[0] ?? null;
  } catch {
    return null;
  }
}
