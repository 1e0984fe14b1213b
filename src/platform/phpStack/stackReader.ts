import { readlinkSync, statSync, type Stats } from 'node:fs';
import { ElfError, readElfImage } from './elf';
import { walkPhpStack } from './frameWalker';
import type { PhpLayout } from './layoutTypes';
import { findLoadBias } from './loadBias';
import { identifyPhpBuild, PHP_SYMBOLS, type BuildVerdict } from './phpBuild';
import { MemoryReadError, ProcessMemory, describeOpenError, hex } from './processMemory';
import { readProcState, readSchedStat } from './procState';
import { readConsistently, withProcessStopped } from './stopForRead';
import type { StackAvailability, StackReadResult, WaitReason } from '../../shared/stackTypes';
import { WaitReasonReader, type WaitReadOptions } from './waitReason';

/**
 * Reads the live PHP stack of the pool's own php-cgi workers (Linux; no
 * native addon, no ptrace syscall, no PHP extension): the worker's ELF
 * dynamic symbols give `executor_globals`, /proc/PID/maps its load address,
 * /proc/PID/mem the engine's frames.
 *
 * Caches: per executable (device, inode, size, mtime: its symbols, its PHP
 * build and table, read once), per worker pid (start time and executable:
 * the run-time address of executor_globals and an open /proc/PID/mem).
 * A pid whose start time or executable changed (reused, or setpriv exec'd
 * php-cgi) is resolved afresh.
 */

/** Options for {@link PhpStackReader}. */
export interface PhpStackReaderOptions {
  /** Frames read at most (the rest is reported as truncated). Default 64. */
  maxFrames?: number;
  /** How long to wait for a running worker to stop for a read. Default 200 ms. */
  stopTimeoutMs?: number;
  /**
   * How long a SIGSTOP is awaited before a runnable worker is read as frozen
   * (see withProcessStopped); Infinity waits for state T. Default 0.3 ms.
   */
  stopSettleMs?: number;
  /**
   * Replaces the table chosen for a build. For tests that need a wrong table
   * (the canary must then turn the feature off); nothing else should set it.
   */
  layoutOverride?: (layout: PhpLayout) => PhpLayout;
}

/** A stack and a wait reason read together (the wait first, before any stop). */
export interface StackSample {
  stack: StackReadResult;
  wait: WaitReason;
}

type Resolved =
  | { ok: true; availability: StackAvailability & { available: true }; layout: PhpLayout; memory: ProcessMemory; executorGlobals: number }
  | { ok: false; reason: string };

interface WorkerEntry {
  startTime: number;
  exeKey: string;
  resolved: Resolved;
}

const DEFAULT_MAX_FRAMES = 64;
const DEFAULT_STOP_TIMEOUT_MS = 200;
/** Every this many reads, workers that have exited are dropped (and their memory closed). */
const PRUNE_EVERY = 32;

export class PhpStackReader {
  /** The wait-reason side, sharing this reader's open worker memory. */
  readonly waits = new WaitReasonReader();
  private readonly maxFrames: number;
  private readonly stopTimeoutMs: number;
  private readonly executables = new Map<string, { verdict: BuildVerdict; firstLoadVaddr: number; path: string }>();
  private readonly workers = new Map<number, WorkerEntry>();
  private disabledReason: string | null = null;
  private reads = 0;

  constructor(private readonly options: PhpStackReaderOptions = {}) {
    this.maxFrames = options.maxFrames ?? DEFAULT_MAX_FRAMES;
    this.stopTimeoutMs = options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
  }

  /** Why no stack can be read anywhere (platform, or disabled by the canary); null when stacks may work. */
  get unavailableReason(): string | null {
    if (process.platform !== 'linux') return `live PHP stacks need Linux's /proc (this system is ${process.platform})`;
    return this.disabledReason;
  }

  /** Turns stack reading off for good, e.g. when the canary's frames came back wrong. */
  disable(reason: string): void {
    this.disabledReason ??= reason;
    for (const pid of [...this.workers.keys()]) this.forget(pid);
  }

  /** Whether this worker's stack can be read, and with which PHP table; resolves and caches it. */
  availability(pid: number): StackAvailability {
    const global = this.unavailableReason;
    if (global) return { available: false, reason: global };
    const state = readProcState(pid);
    if (!state || state.state === 'Z' || state.state === 'X') return { available: false, reason: `worker ${pid} has exited` };
    const resolved = this.resolve(pid, state.startTime);
    return resolved.ok ? resolved.availability : { available: false, reason: resolved.reason };
  }

  /**
   * Reads the worker's PHP stack, innermost frame first. A worker running on
   * a CPU is stopped for the read and continued at once; a blocked one is
   * read as it is (and stopped only if it ran during the read).
   */
  readStack(pid: number): StackReadResult {
    const global = this.unavailableReason;
    if (global) return { ok: false, reason: global, unavailable: true };
    if (++this.reads % PRUNE_EVERY === 0) this.pruneExited();
    const state = readProcState(pid);
    if (!state || state.state === 'Z' || state.state === 'X') {
      this.forget(pid);
      return { ok: false, reason: `worker ${pid} has exited`, unavailable: false };
    }
    const resolved = this.resolve(pid, state.startTime);
    if (!resolved.ok) return { ok: false, reason: resolved.reason, unavailable: true };
    const walk = (): ReturnType<typeof walkPhpStack> => walkPhpStack(resolved.memory, resolved.layout, resolved.executorGlobals, { maxFrames: this.maxFrames });
    try {
      if (state.state === 'R') return { ok: true, ...withProcessStopped(pid, walk, this.stopTimeoutMs, undefined, this.options.stopSettleMs), stopped: true };
      if (state.state === 'T' || state.state === 't') return { ok: true, ...walk(), stopped: false };
      const timeslices = readSchedStat(pid)?.timeslices ?? null;
      let quiet: ReturnType<typeof walkPhpStack> | null = null;
      try {
        quiet = readConsistently(pid, { state: state.state, timeslices }, walk, (p) => readSchedStat(p)?.timeslices ?? null);
      } catch (error) {
        if (!(error instanceof MemoryReadError)) throw error;
        // It may have woken and changed its stack under us: read again, held still.
      }
      if (quiet) return { ok: true, ...quiet, stopped: false };
      return { ok: true, ...withProcessStopped(pid, walk, this.stopTimeoutMs, undefined, this.options.stopSettleMs), stopped: true };
    } catch (error) {
      return { ok: false, reason: error instanceof Error ? error.message : String(error), unavailable: false };
    }
  }

  /** The wait reason and the stack of one worker, read in that order. */
  sample(pid: number, options: Omit<WaitReadOptions, 'memory'> = {}): StackSample {
    const entry = this.workers.get(pid);
    const memory = entry?.resolved.ok ? entry.resolved.memory : null;
    const wait = this.waits.read(pid, { ...options, memory });
    return { wait, stack: this.readStack(pid) };
  }

  /** Forgets a worker (it exited): closes its memory and drops what was remembered. */
  forget(pid: number): void {
    const entry = this.workers.get(pid);
    if (entry?.resolved.ok) entry.resolved.memory.close();
    this.workers.delete(pid);
    this.waits.forget(pid);
  }

  dispose(): void {
    for (const pid of [...this.workers.keys()]) this.forget(pid);
    this.executables.clear();
  }

  private pruneExited(): void {
    for (const [pid, entry] of this.workers) {
      const state = readProcState(pid);
      if (!state || state.startTime !== entry.startTime || state.state === 'Z' || state.state === 'X') this.forget(pid);
    }
  }

  private resolve(pid: number, startTime: number): Resolved {
    let exe: Stats;
    try {
      exe = statSync(`/proc/${pid}/exe`);
    } catch (error) {
      return { ok: false, reason: describeOpenError(pid, error as NodeJS.ErrnoException) };
    }
    const exeKey = `${exe.dev}:${exe.ino}:${exe.size}:${exe.mtimeMs}`;
    const cached = this.workers.get(pid);
    if (cached && cached.startTime === startTime && cached.exeKey === exeKey) return cached.resolved;
    if (cached) this.forget(pid);
    const resolved = this.resolveAfresh(pid, exe, exeKey);
    this.workers.set(pid, { startTime, exeKey, resolved });
    return resolved;
  }

  private resolveAfresh(pid: number, exe: Stats, exeKey: string): Resolved {
    const executable = this.executable(pid, exeKey);
    if (!executable.verdict.ok) return { ok: false, reason: executable.verdict.reason };
    const { build } = executable.verdict;
    const layout = this.options.layoutOverride ? this.options.layoutOverride(executable.verdict.layout) : executable.verdict.layout;
    const bias = findLoadBias(pid, exe, executable.firstLoadVaddr);
    if (bias === null) return { ok: false, reason: `${executable.path} is not mapped in worker ${pid}` };
    let memory: ProcessMemory;
    try {
      memory = ProcessMemory.open(pid);
    } catch (error) {
      return { ok: false, reason: (error as Error).message };
    }
    try {
      const magic = memory.read(bias + executable.firstLoadVaddr, 4, 'the executable header');
      if (magic.readUInt32BE(0) !== 0x7f454c46) throw new MemoryReadError(`no ELF header at ${hex(bias)}`);
    } catch (error) {
      memory.close();
      return { ok: false, reason: `cannot find ${executable.path} in worker ${pid}'s memory: ${(error as Error).message}` };
    }
    return {
      ok: true,
      availability: { available: true, phpVersion: build.version, phpMinor: layout.phpMinor, arch: layout.arch },
      layout,
      memory,
      executorGlobals: bias + build.executorGlobals.value,
    };
  }

  private executable(pid: number, exeKey: string): { verdict: BuildVerdict; firstLoadVaddr: number; path: string } {
    const cached = this.executables.get(exeKey);
    if (cached) return cached;
    let path = `/proc/${pid}/exe`;
    try {
      path = readlinkSync(path);
    } catch {
      // keep the /proc name in messages
    }
    let entry: { verdict: BuildVerdict; firstLoadVaddr: number; path: string };
    try {
      const image = readElfImage(`/proc/${pid}/exe`, PHP_SYMBOLS);
      entry = { verdict: identifyPhpBuild(image, path), firstLoadVaddr: image.firstLoad.vaddr, path };
    } catch (error) {
      const reason = error instanceof ElfError ? error.message : `cannot read ${path}: ${(error as Error).message}`;
      entry = { verdict: { ok: false, reason }, firstLoadVaddr: 0, path };
    }
    this.executables.set(exeKey, entry);
    return entry;
  }
}
