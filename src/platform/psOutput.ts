import type { ProcessStat } from './processTable';

/**
 * The columns we ask `ps` for, in the one form that procps (Linux), macOS
 * and the BSDs all accept. `ucomm` (the executable's name, no path, no
 * arguments) goes last because it may contain spaces; macOS's `comm` would
 * be argv[0] with its path. `lstart` is strftime's `%c`, so `ps` runs with
 * LC_ALL=C: "Fri Dec  4 20:24:04 2026".
 */
export const PS_COLUMNS = 'pid=,ppid=,pgid=,stat=,time=,rss=,lstart=,ucomm=';

/**
 * The arguments of one `ps` call for many workers: `-p` selects the pids
 * themselves, `-g` the processes in the groups (macOS: process groups; POSIX
 * and procps: sessions) they lead, i.e. their descendants that did not leave
 * them. Our workers lead both (they are spawned detached: setsid), so the
 * two meanings select the same processes. Selections are OR'ed on every
 * `ps` we know.
 */
export function psArgs(pids: readonly number[]): string[] {
  const list = [...new Set(pids)].join(',');
  return ['-o', PS_COLUMNS, '-p', list, '-g', list];
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

// pid ppid pgid stat time rss Dow Mon DD HH:MM:SS YYYY ucomm
const LINE =
  /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(\d+)\s+[A-Z][a-z]{2}\s+([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})\s+(\d{4})(?:\s+(.*))?$/;

/**
 * Parses the output of `ps -o PS_COLUMNS` (no header). `startTime` is the
 * start in whole seconds since the epoch, read as local time (ps printed
 * it in local time; only equality with a later reading matters). Lines
 * that do not parse are skipped: a process that ends while ps prints it
 * may leave a torn line.
 */
export function parsePsOutput(text: string): ProcessStat[] {
  const stats: ProcessStat[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const month = MONTHS.indexOf(m[7] as string);
    if (month < 0) continue;
    const start = new Date(Number(m[12]), month, Number(m[8]), Number(m[9]), Number(m[10]), Number(m[11]));
    const comm = (m[13] ?? '').trim();
    stats.push({
      pid: Number(m[1]),
      ppid: Number(m[2]),
      pgrp: Number(m[3]),
      session: 0,
      state: (m[4] as string).charAt(0),
      startTime: Math.floor(start.getTime() / 1000),
      // A zombie's name may come in parentheses on some systems: "(php-cgi)".
      comm: comm.startsWith('(') && comm.endsWith(')') ? comm.slice(1, -1) : comm,
      cpuMs: parseCpuTime(m[5] as string),
      rssKiB: Number(m[6]),
    });
  }
  return stats;
}

/**
 * `time` as procps prints it (`[DD-]hh:mm:ss`) or as macOS and the BSDs do
 * (`m:ss.cc`, minutes unbounded); in milliseconds, null if unreadable.
 */
export function parseCpuTime(text: string): number | null {
  const dash = text.indexOf('-');
  const days = dash > 0 ? Number(text.slice(0, dash)) : 0;
  const parts = text.slice(dash + 1).split(':');
  if (parts.length < 2 || parts.length > 3) return null;
  let seconds = 0;
  for (const part of parts) {
    const value = Number(part);
    if (!Number.isFinite(value)) return null;
    seconds = seconds * 60 + value;
  }
  if (!Number.isFinite(days)) return null;
  return Math.round((days * 86_400 + seconds) * 1000);
}

/** All descendants of `pid` among `stats`, breadth first. */
export function descendantsIn(stats: readonly ProcessStat[], pid: number): ProcessStat[] {
  const children = new Map<number, ProcessStat[]>();
  for (const stat of stats) {
    const list = children.get(stat.ppid);
    if (list) list.push(stat);
    else children.set(stat.ppid, [stat]);
  }
  const result: ProcessStat[] = [];
  const seen = new Set<number>([pid]);
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift() as number) ?? []) {
      if (seen.has(child.pid)) continue;
      seen.add(child.pid);
      result.push(child);
      queue.push(child.pid);
    }
  }
  return result;
}
