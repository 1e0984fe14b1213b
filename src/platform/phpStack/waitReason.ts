import { readFileSync } from 'node:fs';
import { describeFd, epollTargets } from './fdTarget';
import { MemoryReadError, ProcessMemory, type MemoryReader } from './processMemory';
import { describeState, readContextSwitches, readCpuTimeMs, readProcState, readSchedStat, readWithPs } from './procState';
import { lookupSyscall, restartedSyscall, type SyscallInfo } from './syscalls';
import type { WaitReason, WaitTarget } from '../../shared/stackTypes';

/**
 * The wait reason of a worker: its state, the system call it blocks in, the
 * fd that call waits on and what that fd is, the CPU it used since a
 * baseline, and how long it has been like this. Linux reads /proc; other
 * systems get what `ps` tells (state and CPU time).
 */

/** Options for one read. */
export interface WaitReadOptions {
  /** CPU time (from readCpuTimeMs) when the request started; cpuMs is counted from it. */
  cpuBaselineMs?: number;
  /** An open view of the worker's memory, for poll/select fd sets (else one is opened briefly). */
  memory?: MemoryReader | null;
}

/** Most descriptors we look at in a poll or select set. */
const MAX_POLL_FDS = 64;
const MAX_SELECT_FDS = 1024;

/** Remembers what it saw of each worker, so that sinceMs can count across reads. */
export class WaitReasonReader {
  private readonly seen = new Map<number, { key: string; counter: number | null; since: number }>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  read(pid: number, options: WaitReadOptions = {}): WaitReason {
    if (process.platform !== 'linux') return readWaitWithPs(pid, options.cpuBaselineMs);
    const stat = readProcState(pid);
    if (!stat) {
      this.seen.delete(pid);
      return { state: 'gone', syscall: null, fd: null, target: null, cpuMs: 0, sinceMs: 0 };
    }
    const call = stat.state === 'R' ? null : readSyscall(pid);
    let info = call ? lookupSyscall(call.number) : null;
    // A poll that a stop interrupted goes on as restart_syscall, with poll's arguments.
    if (info?.name === 'restart_syscall') info = restartedSyscall(readWchan(pid)) ?? info;
    let fd: number | null = null;
    let target: WaitTarget | null = null;
    if (call && info) ({ fd, target } = resolveTarget(pid, info, call.args, options.memory ?? null));
    const cpuNow = readCpuTimeMs(pid) ?? 0;
    const cpuMs = Math.max(0, Math.round(cpuNow - (options.cpuBaselineMs ?? 0)));
    const key = `${stat.startTime}|${stat.state}|${call ? `${call.number} ${call.args.join(' ')}` : ''}`;
    return { state: describeState(stat.state), syscall: info?.name ?? null, fd, target, cpuMs, sinceMs: this.since(pid, key, stat.state) };
  }

  /** Drops what was remembered of a worker (it exited, or its lease ended). */
  forget(pid: number): void {
    this.seen.delete(pid);
  }

  /**
   * The same wait continues while the key (state, call, arguments) is
   * unchanged and the worker was not switched in the meantime: for a blocked
   * worker, the number of times it was scheduled; for a running one, its
   * voluntary switches (it may be preempted, but it must not have blocked).
   */
  private since(pid: number, key: string, state: string): number {
    const counter = state === 'R' ? (readContextSwitches(pid)?.voluntary ?? null) : (readSchedStat(pid)?.timeslices ?? sumSwitches(pid));
    const now = this.now();
    const previous = this.seen.get(pid);
    if (previous && previous.key === key && counter !== null && previous.counter === counter) return Math.round(now - previous.since);
    this.seen.set(pid, { key, counter, since: now });
    return 0;
  }
}

function sumSwitches(pid: number): number | null {
  const switches = readContextSwitches(pid);
  return switches ? switches.voluntary + switches.involuntary : null;
}

/** `/proc/PID/syscall`: `nr arg0 … arg5 sp pc` while blocked, `running`, or `-1 sp pc` outside a call. */
function readSyscall(pid: number): { number: number; args: bigint[] } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/syscall`, 'latin1').trim();
  } catch {
    return null;
  }
  return parseSyscallLine(text);
}

/** `/proc/PID/wchan`: the kernel function a sleeping task waits in ('' when unreadable). */
function readWchan(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/wchan`, 'latin1');
  } catch {
    return '';
  }
}

export function parseSyscallLine(text: string): { number: number; args: bigint[] } | null {
  const fields = text.split(/\s+/);
  const number = Number(fields[0]);
  if (!Number.isInteger(number) || number < 0 || fields.length < 7) return null;
  return { number, args: fields.slice(1, 7).map((field) => BigInt(field)) };
}

/** The low 32 bits of a register as a signed int (how the kernel reads an `int fd`). */
function int32(value: bigint | undefined): number {
  return Number(BigInt.asIntN(32, value ?? 0n));
}

function asAddress(value: bigint | undefined): number {
  return value === undefined || value > BigInt(Number.MAX_SAFE_INTEGER) ? 0 : Number(value);
}

function resolveTarget(pid: number, info: SyscallInfo, args: bigint[], memory: MemoryReader | null): { fd: number | null; target: WaitTarget | null } {
  switch (info.args) {
    case 'fd': {
      const fd = int32(args[0]);
      return fd < 0 ? { fd: null, target: null } : { fd, target: describeFd(pid, fd) };
    }
    case 'pollfds':
    case 'fdsets': {
      const fds = withMemory(pid, memory, (reader) => (info.args === 'pollfds' ? pollFds(reader, args) : selectFds(reader, args)));
      const fd = fds[0];
      return fd === undefined ? { fd: null, target: null } : { fd, target: describeFd(pid, fd) };
    }
    case 'epoll': {
      const epfd = int32(args[0]);
      const fd = epollTargets(pid, epfd)[0] ?? epfd;
      return { fd, target: describeFd(pid, fd) };
    }
    case 'child': {
      const child = int32(args[0]);
      const description = child === -1 ? 'any child process' : child > 0 ? `child process ${child}` : `child in process group ${-child}`;
      return { fd: null, target: { kind: 'process', description } };
    }
    default:
      return { fd: null, target: null };
  }
}

/** Runs `use` with the given memory view, or one opened for this read only; [] when memory cannot be read. */
function withMemory(pid: number, memory: MemoryReader | null, use: (reader: MemoryReader) => number[]): number[] {
  let opened: ProcessMemory | null = null;
  try {
    const reader = memory ?? (opened = ProcessMemory.open(pid));
    return use(reader);
  } catch (error) {
    if (error instanceof MemoryReadError) return [];
    throw error;
  } finally {
    opened?.close();
  }
}

/** poll(fds, nfds, timeout): `struct pollfd { int fd; short events; short revents; }`, 8 bytes each. */
function pollFds(memory: MemoryReader, args: bigint[]): number[] {
  const count = Math.min(Number(args[1] ?? 0n), MAX_POLL_FDS);
  if (count <= 0) return [];
  const table = memory.read(asAddress(args[0]), count * 8, 'the poll fd set');
  const fds: number[] = [];
  for (let i = 0; i < count; i++) {
    const fd = table.readInt32LE(i * 8);
    if (fd >= 0) fds.push(fd);
  }
  return fds;
}

/** select(nfds, readfds, writefds, …): bitmaps of 64-bit words; readers first, then writers. */
function selectFds(memory: MemoryReader, args: bigint[]): number[] {
  const nfds = Math.min(int32(args[0]), MAX_SELECT_FDS);
  if (nfds <= 0) return [];
  const bytes = Math.ceil(nfds / 64) * 8;
  const fds: number[] = [];
  for (const pointer of [args[1], args[2]]) {
    const address = asAddress(pointer);
    if (address === 0) continue;
    const set = memory.read(address, bytes, 'the select fd set');
    for (let fd = 0; fd < nfds; fd++) if (((set[fd >> 3] as number) >> (fd & 7)) & 1 && !fds.includes(fd)) fds.push(fd);
  }
  return fds;
}

/** macOS and other systems without /proc: `ps` gives the state and CPU time, nothing more. */
function readWaitWithPs(pid: number, cpuBaselineMs: number | undefined): WaitReason {
  const ps = readWithPs(pid);
  if (!ps) return { state: 'gone', syscall: null, fd: null, target: null, cpuMs: 0, sinceMs: 0 };
  const cpuMs = Math.max(0, Math.round(ps.cpuMs - (cpuBaselineMs ?? 0)));
  return { state: describeState(ps.state), syscall: null, fd: null, target: null, cpuMs, sinceMs: 0 };
}
