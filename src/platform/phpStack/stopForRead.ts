import { readProcState } from './procState';

/**
 * Holds a CPU-busy worker still while its memory is read. Read while it runs,
 * a stack comes back inconsistent 20–30 % of the time (a frame with no
 * caller, the wrong line; measured in docs/…/xdebug-and-stacks-facts); with
 * SIGSTOP, read, SIGCONT it was right 98 times out of 98.
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
export class StopTimeoutError extends Error {
  constructor(pid: number, timeoutMs: number) {
    super(`worker ${pid} did not stop within ${timeoutMs} ms`);
    this.name = 'StopTimeoutError';
  }
}

/**
 * Runs `read` with process `pid` stopped: SIGSTOP, wait until /proc says T,
 * read, SIGCONT. The wait polls the state, first by spinning (a stop on
 * another CPU takes microseconds), then in 50 µs pauses (a runnable worker
 * queued behind others stops only when the scheduler next runs it).
 */
export function withProcessStopped<T>(pid: number, read: () => T, timeoutMs: number, signal: Signaller = defaultSignaller): T {
  if (!signal(pid, 'SIGSTOP')) throw new Error(`worker ${pid} has exited`);
  try {
    const deadline = performance.now() + timeoutMs;
    for (let polls = 0; ; polls++) {
      const state = readProcState(pid)?.state;
      if (state === undefined || state === 'Z' || state === 'X') throw new Error(`worker ${pid} has exited`);
      if (state === 'T' || state === 't') break;
      if (performance.now() > deadline) throw new StopTimeoutError(pid, timeoutMs);
      if (polls >= 20) pauseSync(0.05);
    }
    return read();
  } finally {
    signal(pid, 'SIGCONT');
  }
}

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
