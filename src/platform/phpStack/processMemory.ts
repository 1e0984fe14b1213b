import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

/**
 * Reads another process's memory through /proc/PID/mem: plain pread() calls,
 * no ptrace syscall and no native addon. The kernel allows it to a process
 * that may ptrace the target: the same user, and under Yama's
 * ptrace_scope=1 (Ubuntu's default) only an ancestor, which the pool is for
 * its own php-cgi children. An unmapped address is EIO, reported as a
 * {@link MemoryReadError} naming what was being read.
 */

/** A read of the worker's memory that failed (unmapped, out of range, or not permitted). */
export class MemoryReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MemoryReadError';
  }
}

/** What the frame walker needs: bounded reads at virtual addresses. */
export interface MemoryReader {
  /** Exactly `length` bytes at `address`, or a {@link MemoryReadError} saying `what` failed. */
  read(address: number, length: number, what: string): Buffer;
}

/**
 * Above this no user-space address exists on x86_64 (47 bits) or aarch64
 * (48 bits, 52 with large virtual addresses); anything higher is garbage.
 */
const MAX_USER_ADDRESS = 2 ** 52;
/** The lowest page is never mapped: small values are garbage too. */
const MIN_USER_ADDRESS = 0x1000;
/** A single read larger than this is a bug or garbage, never a real structure. */
const MAX_READ_BYTES = 1024 * 1024;

/** One open /proc/PID/mem. Close it when done with the process. */
export class ProcessMemory implements MemoryReader {
  private closed = false;

  private constructor(
    readonly pid: number,
    private readonly fd: number,
  ) {}

  /** Opens the process's memory; a clear error when the kernel refuses. */
  static open(pid: number): ProcessMemory {
    try {
      return new ProcessMemory(pid, openSync(`/proc/${pid}/mem`, 'r'));
    } catch (error) {
      throw new MemoryReadError(describeOpenError(pid, error as NodeJS.ErrnoException));
    }
  }

  read(address: number, length: number, what: string): Buffer {
    if (this.closed) throw new MemoryReadError(`memory of process ${this.pid} is closed`);
    checkRange(address, length, what);
    const buffer = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      let count: number;
      try {
        count = readSync(this.fd, buffer, done, length - done, address + done);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EIO' || code === 'EFAULT') throw new MemoryReadError(`${what}: address ${hex(address + done)} is not mapped`);
        if (code === 'ESRCH') throw new MemoryReadError(`${what}: process ${this.pid} has exited`);
        throw new MemoryReadError(`${what}: reading ${hex(address + done)} failed (${code ?? String(error)})`);
      }
      // 0 bytes: the address lies past the end of the mapping, or the process is gone.
      if (count === 0) throw new MemoryReadError(`${what}: address ${hex(address + done)} is not mapped`);
      done += count;
    }
    return buffer;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

/** Rejects addresses no user process can have before any syscall is made. */
export function checkRange(address: number, length: number, what: string): void {
  if (!Number.isSafeInteger(address) || address < MIN_USER_ADDRESS || address + length > MAX_USER_ADDRESS) {
    throw new MemoryReadError(`${what}: ${hex(address)} is not a user-space address`);
  }
  if (!Number.isSafeInteger(length) || length <= 0 || length > MAX_READ_BYTES) {
    throw new MemoryReadError(`${what}: implausible size ${length}`);
  }
}

/** `0x00007f…` with 16 digits, as FPM's slowlog prints frame addresses. */
export function hex(address: number): string {
  return `0x${address.toString(16).padStart(16, '0')}`;
}

/** Reads a 64-bit pointer from a buffer; values beyond 2^53 (never real addresses) become NaN-free errors. */
export function pointerAt(buffer: Buffer, offset: number, what: string): number {
  const value = buffer.readBigUInt64LE(offset);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new MemoryReadError(`${what}: ${value.toString(16)} is not a user-space address`);
  return Number(value);
}

/** The one-line reason for an error opening one of a process's /proc files that need ptrace access. */
export function describeOpenError(pid: number, error: NodeJS.ErrnoException): string {
  if (error.code === 'ENOENT') return `process ${pid} does not exist`;
  if (error.code === 'EACCES' || error.code === 'EPERM') {
    const scope = readPtraceScope();
    const policy = scope === null ? '' : ` (Yama ptrace_scope=${scope}${scope >= 2 ? ': only root may read another process' : ''})`;
    return `not allowed to read the memory of process ${pid}${policy}: the reader must be its parent, as the same user`;
  }
  return `cannot read process ${pid} through /proc: ${error.code ?? error.message}`;
}

function readPtraceScope(): number | null {
  try {
    return Number(readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'latin1').trim());
  } catch {
    return null;
  }
}
