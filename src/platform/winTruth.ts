import { execFile } from 'node:child_process';
import type { ProcessReading, ProcessTruthReader } from './platform';
import { judge, type ProcessTruth } from './processState';
import type { ProcessStat } from './processTable';
import { descendantsIn } from './psOutput';
import { parseCimProcessCsv, parseTasklistCsv, POWERSHELL_ARGS, TASKLIST_ARGS } from './winProcessList';

/** Start times on Windows are compared within this much: ours are taken at spawn, Windows's at creation. */
const WINDOWS_START_TOLERANCE_MS = 2_000;

/** How the Windows reader asks the OS; replaced in tests. */
export interface WindowsProcessSource {
  /** `Get-CimInstance Win32_Process` as CSV (see winProcessList.ts). */
  cimList(): Promise<string>;
  /** `tasklist /FO CSV /NH`, the fallback. */
  tasklist(): Promise<string>;
  /** `process.kill(pid, 0)`: OpenProcess, well under a millisecond. */
  isAlive(pid: number): boolean;
  now(): number;
}

/**
 * The process truth on Windows. Every scan asks `kill(pid, 0)` per worker
 * (OpenProcess: cheap) whether it is alive; there are no zombies to find,
 * and while Node holds a direct child's process handle its pid cannot be
 * reused. The process list (PowerShell, ~0.3–1 s to start, so never more
 * often than every `maxListAgeMs`, and at once when a pid is new to it)
 * adds names, parents (descendants) and creation times (identity, for the
 * registry's stale workers).
 */
export class WinTruthReader implements ProcessTruthReader {
  readonly kind = 'win' as const;
  private list: { at: number; stats: ProcessStat[]; byPid: Map<number, ProcessStat>; missing: Set<number>; identity: boolean } | null = null;
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly source: WindowsProcessSource = systemSource(),
    private readonly maxListAgeMs = 10_000,
  ) {}

  async read(pids: readonly number[]): Promise<ProcessReading> {
    const list = this.list;
    // A live pid the last list did not have is new (a worker just started), unless that list was read after it already lived.
    const unseen = (pid: number): boolean => !list?.byPid.has(pid) && !list?.missing.has(pid) && this.source.isAlive(pid);
    const stale = !list || this.source.now() - list.at > this.maxListAgeMs || pids.some(unseen);
    if (stale) {
      await this.refresh();
      if (this.list) for (const pid of pids) if (!this.list.byPid.has(pid)) this.list.missing.add(pid);
    }
    return {
      inspect: (pid, startTime) => this.inspectNow(pid, startTime),
      descendants: (pid) => (this.list ? descendantsIn(this.list.stats, pid).filter((d) => this.source.isAlive(d.pid)) : []),
    };
  }

  inspectNow(pid: number, startTime: number | null): ProcessTruth {
    if (!this.source.isAlive(pid)) return { status: 'gone', reused: false };
    const listed = this.list?.byPid.get(pid);
    if (!listed) return { status: 'alive', stat: { pid, ppid: 0, pgrp: pid, session: 0, state: 'R', startTime: startTime ?? 0, comm: '' } };
    // A list without creation times (tasklist) cannot tell a reused pid: it says alive.
    return judge(listed, this.list?.identity ? startTime : null, (recorded, seen) => Math.abs(recorded - seen) <= WINDOWS_START_TOLERANCE_MS);
  }

  /** Our own children: the time of the spawn, within {@link WINDOWS_START_TOLERANCE_MS} of Windows's creation time. */
  startTimeOf(): Promise<number | null> {
    return Promise.resolve(this.source.now());
  }

  ownStartTime(): number | null {
    return Math.round(this.source.now() - process.uptime() * 1000);
  }

  private refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        let stats: ProcessStat[];
        let identity = true;
        try {
          stats = parseCimProcessCsv(await this.source.cimList());
        } catch {
          stats = parseTasklistCsv(await this.source.tasklist());
          identity = false;
        }
        this.list = { at: this.source.now(), stats, byPid: new Map(stats.map((s) => [s.pid, s])), missing: new Set(), identity };
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }
}

function run(file: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { encoding: 'utf8', windowsHide: true, maxBuffer: 16 * 1024 * 1024, timeout: 30_000 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    );
  });
}

function systemSource(): WindowsProcessSource {
  return {
    cimList: () => run('powershell.exe', POWERSHELL_ARGS),
    tasklist: () => run('tasklist.exe', TASKLIST_ARGS),
    isAlive: (pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === 'EPERM';
      }
    },
    now: () => Date.now(),
  };
}
