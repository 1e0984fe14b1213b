import { readFileSync, type Stats } from 'node:fs';

/**
 * Where the kernel loaded a process's executable. A position-independent
 * php-cgi (Debian builds PIE) lands at a random base each start, so a
 * symbol's run-time address is that bias plus its link-time value.
 *
 * The executable's mappings are recognised in /proc/PID/maps by device and
 * inode (the path may read "… (deleted)" after a package upgrade); the one at
 * file offset 0 starts where the segment at vaddr `firstLoadVaddr` went.
 */

/** One line of /proc/PID/maps. */
export interface Mapping {
  start: number;
  end: number;
  perms: string;
  offset: number;
  /** `major:minor` in hex, as the kernel prints it. */
  device: string;
  inode: number;
  path: string;
}

/** Parses /proc/PID/maps text. */
export function parseMaps(text: string): Mapping[] {
  const mappings: Mapping[] = [];
  for (const line of text.split('\n')) {
    const match = /^([0-9a-f]+)-([0-9a-f]+)\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+:[0-9a-f]+)\s+(\d+)\s*(.*)$/.exec(line);
    if (!match) continue;
    mappings.push({
      start: parseInt(match[1] as string, 16),
      end: parseInt(match[2] as string, 16),
      perms: match[3] as string,
      offset: parseInt(match[4] as string, 16),
      device: match[5] as string,
      inode: Number(match[6]),
      path: match[7] as string,
    });
  }
  return mappings;
}

/** The kernel's `major:minor` spelling of a stat() device number (glibc's encoding). */
export function deviceName(dev: number): string {
  const value = BigInt(dev);
  const major = ((value >> 8n) & 0xfffn) | ((value >> 32n) & ~0xfffn);
  const minor = (value & 0xffn) | ((value >> 12n) & ~0xffn);
  return `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}`;
}

/**
 * The load bias of the executable `exe` (its stat) in process `pid`, or
 * null when no mapping of it at file offset 0 is found.
 */
export function findLoadBias(pid: number, exe: Stats, firstLoadVaddr: number): number | null {
  const mappings = parseMaps(readFileSync(`/proc/${pid}/maps`, 'latin1'));
  const device = deviceName(exe.dev);
  const candidates = mappings.filter((mapping) => mapping.inode === exe.ino && mapping.offset === 0);
  // Some file systems (overlayfs) show another device in maps than stat() does: an exact device
  // match wins, else the inode alone (the caller then checks for the ELF magic at the bias).
  const mapping = candidates.find((candidate) => candidate.device === device) ?? candidates[0];
  return mapping ? mapping.start - firstLoadVaddr : null;
}
