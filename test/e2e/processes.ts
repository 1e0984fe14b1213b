import { readFileSync, readdirSync } from 'node:fs';
import { readProcessStat } from '../../src/platform/processTable';

/**
 * Finds the processes of one e2e run. code-server is started with
 * FASTCGI_POOL_E2E_RUN=<run id>, and everything below it inherits that
 * variable: the extension host, and the php-cgi workers it spawns (which live
 * in their own process groups, so killing code-server's group does not reach
 * them). A process whose parent chain leads to code-server counts too, in
 * case a worker was started with a scrubbed environment.
 */
export interface RunProcess {
  pid: number;
  comm: string;
}

export function listRunProcesses(marker: string, rootPid: number | null): RunProcess[] {
  const found: RunProcess[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    const stat = readProcessStat(pid);
    if (!stat || stat.state === 'Z' || stat.state === 'X') continue; // gone, or dead and awaiting its reaper
    if (hasEnvEntry(pid, marker) || (rootPid !== null && descendsFrom(pid, rootPid))) {
      found.push({ pid, comm: stat.comm });
    }
  }
  return found;
}

/** The live php-cgi (or php) processes of the run. */
export function listRunPhpProcesses(marker: string, rootPid: number | null): RunProcess[] {
  return listRunProcesses(marker, rootPid).filter((p) => p.comm.startsWith('php'));
}

/** True while the process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  const stat = readProcessStat(pid);
  return stat !== null && stat.state !== 'Z' && stat.state !== 'X';
}

export function describe(processes: RunProcess[]): string {
  return processes.map((p) => `${p.pid} (${p.comm})`).join(', ');
}

function hasEnvEntry(pid: number, entry: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(entry);
  } catch {
    return false; // ended while we looked, or not ours to read
  }
}

function descendsFrom(pid: number, ancestor: number): boolean {
  let current = pid;
  for (let depth = 0; depth < 64 && current > 1; depth++) {
    if (current === ancestor) return true;
    const stat = readProcessStat(current);
    if (!stat) return false;
    current = stat.ppid;
  }
  return false;
}
