import { closeSync, openSync, readSync } from 'node:fs';

/**
 * The CPU time of the pool's workers, read once per lease (its baseline, so
 * that a wait reason can say how much CPU *this* request used). Opening and
 * reading /proc/PID/schedstat afresh costs 30–100 µs here; a kept file
 * descriptor read with pread costs ~3 µs, which a request can afford. A
 * descriptor stays bound to its process: after the process exits, reads
 * fail and the pid is forgotten, so a reused pid is never mixed up.
 *
 * Linux only; elsewhere the only source is `ps` (a process spawn), far too
 * slow per request, so there is no baseline and `cpuMs` counts from the
 * worker's start.
 */
export class CpuClock {
  private readonly files = new Map<number, number>();
  private readonly buffer = Buffer.alloc(96);

  /** CPU time used by the process so far, in ms (nanosecond precise); null if it cannot be read. */
  read(pid: number): number | null {
    if (process.platform !== 'linux') return null;
    let fd = this.files.get(pid);
    if (fd === undefined) {
      try {
        fd = openSync(`/proc/${pid}/schedstat`, 'r');
      } catch {
        return null;
      }
      this.files.set(pid, fd);
    }
    try {
      const length = readSync(fd, this.buffer, 0, this.buffer.length, 0);
      const text = this.buffer.toString('latin1', 0, length);
      const ns = Number(text.slice(0, text.indexOf(' ')));
      return Number.isFinite(ns) ? ns / 1e6 : null;
    } catch {
      this.forget(pid);
      return null;
    }
  }

  forget(pid: number): void {
    const fd = this.files.get(pid);
    if (fd === undefined) return;
    this.files.delete(pid);
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }

  dispose(): void {
    for (const pid of [...this.files.keys()]) this.forget(pid);
  }
}
