import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * The few /proc facts about one process that the stack and wait readers
 * need, read as cheaply as possible (each is one small file).
 */

/** From /proc/PID/stat. */
export interface ProcState {
  /** The kernel's state letter: R, S, D, T, t, Z, X, I. */
  state: string;
  /** Start time in clock ticks since boot: with the pid, the process's identity. */
  startTime: number;
  /** utime + stime in clock ticks. */
  cpuTicks: number;
}

/**
 * USER_HZ: /proc reports CPU times in these ticks. It is 100 on every Linux
 * architecture (the kernel fixes it for the user ABI), so Node, which cannot
 * call sysconf(_SC_CLK_TCK), may rely on it.
 */
const CLOCK_TICKS_PER_SECOND = 100;

/** Reads /proc/PID/stat; null when the process does not exist. */
export function readProcState(pid: number): ProcState | null {
  let line: string;
  try {
    line = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // comm may hold spaces and parentheses: the fields start after the last ')'.
  const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime/stime are fields 14/15, starttime 22.
  return {
    state: fields[0] ?? '?',
    cpuTicks: Number(fields[11]) + Number(fields[12]),
    startTime: Number(fields[19]),
  };
}

/** From /proc/PID/schedstat (CONFIG_SCHED_INFO, on in Debian, Ubuntu, Fedora kernels). */
export interface SchedStat {
  /** Time spent on a CPU, in nanoseconds. */
  cpuNs: number;
  /** How many times the task was scheduled onto a CPU. */
  timeslices: number;
}

/** Reads /proc/PID/schedstat; null where the kernel does not provide it. */
export function readSchedStat(pid: number): SchedStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/schedstat`, 'latin1');
  } catch {
    return null;
  }
  const [cpuNs, , timeslices] = text.trim().split(' ').map(Number);
  if (!Number.isFinite(cpuNs) || !Number.isFinite(timeslices)) return null;
  return { cpuNs: cpuNs as number, timeslices: timeslices as number };
}

/** Voluntary and involuntary context switches from /proc/PID/status; null if unreadable. */
export function readContextSwitches(pid: number): { voluntary: number; involuntary: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return null;
  }
  const voluntary = /^voluntary_ctxt_switches:\s*(\d+)/m.exec(text);
  const involuntary = /^nonvoluntary_ctxt_switches:\s*(\d+)/m.exec(text);
  if (!voluntary || !involuntary) return null;
  return { voluntary: Number(voluntary[1]), involuntary: Number(involuntary[1]) };
}

/**
 * CPU time used by the process so far, in milliseconds: nanosecond precise
 * from schedstat where it exists (php-cgi NTS is one thread, so the main
 * thread's time is the process's), else utime + stime at 10 ms resolution.
 * Take one at the start of a request and pass it as the wait reader's
 * baseline to get the CPU used by that request.
 */
export function readCpuTimeMs(pid: number): number | null {
  if (process.platform !== 'linux') return readWithPs(pid)?.cpuMs ?? null;
  const sched = readSchedStat(pid);
  if (sched) return sched.cpuNs / 1e6;
  const state = readProcState(pid);
  return state ? (state.cpuTicks * 1000) / CLOCK_TICKS_PER_SECOND : null;
}

/** The word for a state letter, as the wait reason reports it. */
export function describeState(letter: string): string {
  switch (letter) {
    case 'R':
      return 'running';
    case 'S':
      return 'sleeping';
    case 'D':
      return 'disk';
    case 'T':
    case 't':
      return 'stopped';
    case 'Z':
      return 'zombie';
    case 'X':
      return 'gone';
    case 'I':
      return 'idle';
    default:
      return letter;
  }
}

/**
 * Systems without /proc (macOS): one `ps` gives the state letter and the CPU
 * time; null when the process does not exist.
 */
export function readWithPs(pid: number): { state: string; cpuMs: number } | null {
  let out: string;
  try {
    out = execFileSync('ps', ['-o', 'stat=,time=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
  const [stat = '', time = ''] = out.split(/\s+/);
  if (!stat) return null;
  return { state: stat.charAt(0), cpuMs: parsePsTime(time) };
}

/** `ps -o time`: `[[dd-]hh:]mm:ss[.cc]` → milliseconds. */
export function parsePsTime(text: string): number {
  const [dayPart, clock] = text.includes('-') ? (text.split('-') as [string, string]) : ['0', text];
  let seconds = 0;
  for (const part of clock.split(':').map(Number)) seconds = seconds * 60 + part;
  return Math.round((Number(dayPart) * 86400 + seconds) * 1000);
}
