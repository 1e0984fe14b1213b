import { readProcState } from './procState';

/**
 * Holds a CPU-busy worker still while its memory is read. Read while it runs,
 * a stack can come back torn (a frame with no caller, the wrong line): the
 * shared notes measured 20–30 % of reads, and docs/php-stack-layouts.md
 * 61 of 3 000 reads of workers calling functions in a tight loop, against
 * 0 of 3 000 with the stop below.
 *
 * Everything here is synchronous on purpose: between the SIGSTOP and the
 * SIGCONT no other JavaScript can run, so nothing in the pool can observe,
 * signal or forget the stopped worker, and the SIGCONT in `finally` always
 * follows, whatever the read throws. Only a worker that we stopped is
 * continued: one found already stopped (a debugger, a user's kill -STOP) is
 * read as it is and left alone.
 *
 * A worker blocked in a system call (state S or D) does not change its PHP
 * stack while blocked and is read without stopping (see {@link readConsistently}).
 */

/** Signals a process; false when it no longer exists. */
export type Signaller = (pid: number, signal: 'SIGSTOP' | 'SIGCONT') => boolean;

const defaultSignaller: Signaller = (pid, signal) => {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
};

/** Sleeps synchronously for `ms` (fractions allowed) without burning a core. */
const pauseCell = new Int32Array(new SharedArrayBuffer(4));
function pauseSync(ms: number): void {
  Atomics.wait(pauseCell, 0, 0, ms);
}

/** Thrown when the worker could not be brought to a stop in time (it is continued first). */
class StopTimeoutError extends Error {
  constructor(pid: number, timeoutMs: number) {
    super(`worker ${pid} did not stop within ${timeoutMs} ms`);
    this.name = 'StopTimeoutError';
  }
}

/**
 * Runs `read` with process `pid` held still: SIGSTOP, read, SIGCONT.
 *
 * It does not always wait for /proc to say T. A worker on a CPU when the
 * signal arrives is interrupted at once (the kernel kicks its CPU) and shows
 * T within microseconds. A worker that is runnable but waiting for a CPU (on
 * a loaded machine, most of them: measured here with 16 spinning workers on
 * 2 cores, reaching T took a median 43 ms) cannot run any user code before
 * it acts on the pending SIGSTOP, which the kernel delivers before it
 * returns to user mode: its memory is already frozen (so is a worker in an
 * uninterruptible wait, state D). So the state is polled
 * for up to `settleMs` (spinning: a stop takes microseconds) and the read
 * then goes ahead, stopped or frozen. `settleMs` of Infinity waits for T
 * (bounded by `timeoutMs`) for the strict variant.
 */
export function withProcessStopped<T>(pid: number, read: () => T, timeoutMs: number, signal: Signaller = defaultSignaller, settleMs = DEFAULT_SETTLE_MS): T {
  if (!signal(pid, 'SIGSTOP')) throw new Error(`worker ${pid} has exited`);
  try {
    const started = performance.now();
    for (;;) {
      const state = readProcState(pid)?.state;
      if (state === undefined || state === 'Z' || state === 'X') throw new Error(`worker ${pid} has exited`);
      if (state === 'T' || state === 't') break;
      const waited = performance.now() - started;
      // Runnable (R) or in an uninterruptible wait (D): it cannot run user code before it stops.
      if (waited >= settleMs && (state === 'R' || state === 'D')) break;
      if (waited > timeoutMs) throw new StopTimeoutError(pid, timeoutMs);
      // Spin through the settle time (a stop takes microseconds); beyond it (strict waits) pause between polls.
      if (waited >= settleMs) pauseSync(0.05);
    }
    return read();
  } finally {
    signal(pid, 'SIGCONT');
  }
}

/** How long a stop is awaited before a runnable worker is read as frozen (see withProcessStopped). */
const DEFAULT_SETTLE_MS = 0.3;

/**
 * For a worker blocked in a system call: read without stopping it, then
 * check that it did not run meanwhile (same state letter, same number of
 * times scheduled). Returns null when it did run, so the caller reads again
 * with the worker stopped.
 */
export function readConsistently<T>(
  pid: number,
  before: { state: string; timeslices: number | null },
  read: () => T,
  timeslicesOf: (pid: number) => number | null,
): T | null {
  const result = read();
  const after = readProcState(pid);
  if (!after || after.state !== before.state) return null;
  if (before.timeslices !== null && timeslicesOf(pid) !== before.timeslices) return null;
  return result;
}
