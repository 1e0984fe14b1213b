import { readFileSync, readlinkSync } from 'node:fs';
import { endianness } from 'node:os';
import type { WaitTarget } from '../../shared/stackTypes';

/**
 * What one file descriptor of a process is, from /proc alone:
 * /proc/PID/fd/N names a file, or `socket:[inode]`, whose addresses are in
 * the process's own network namespace's /proc/PID/net/{tcp,tcp6,udp,udp6,unix}.
 */

/** The kernel's TCP state numbers (include/net/tcp_states.h). */
const TCP_STATES = [
  '',
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
  'NEW_SYN_RECV',
];

/** Describes fd `fd` of process `pid`; null when it is not open (or not ours to see). */
export function describeFd(pid: number, fd: number): WaitTarget | null {
  let link: string;
  try {
    link = readlinkSync(`/proc/${pid}/fd/${fd}`);
  } catch {
    return null;
  }
  const socket = /^socket:\[(\d+)\]$/.exec(link);
  if (socket) return describeSocket(pid, Number(socket[1])) ?? { kind: 'other', description: `socket (inode ${socket[1]})` };
  if (link.startsWith('pipe:[')) return { kind: 'pipe', description: `pipe ${link.slice(5)}` };
  if (link === 'anon_inode:[eventpoll]') return { kind: 'epoll', description: 'epoll instance' };
  if (link.startsWith('/')) return { kind: 'file', description: link, path: link };
  return { kind: 'other', description: link };
}

/** The fds an epoll instance watches, from /proc/PID/fdinfo/EPFD (`tfd: N …` lines). */
export function epollTargets(pid: number, epfd: number): number[] {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/fdinfo/${epfd}`, 'latin1');
  } catch {
    return [];
  }
  return [...text.matchAll(/^tfd:\s*(\d+)/gm)].map((match) => Number(match[1]));
}

/** Finds the socket with `inode` in the process's network tables. */
function describeSocket(pid: number, inode: number): WaitTarget | null {
  for (const [file, kind] of [
    ['tcp', 'tcp'],
    ['tcp6', 'tcp'],
    ['udp', 'udp'],
    ['udp6', 'udp'],
  ] as const) {
    const row = findInetRow(readNetTable(pid, file), inode);
    if (!row) continue;
    const local = decodeAddress(row.local);
    const peer = decodeAddress(row.remote);
    if (kind === 'tcp') {
      const tcpState = TCP_STATES[row.state] ?? `state ${row.state}`;
      const description = tcpState === 'LISTEN' ? `tcp listening on ${local}` : `tcp ${local} -> ${peer} (${tcpState})`;
      return { kind, description, local, peer, tcpState };
    }
    return { kind, description: `udp ${local} -> ${peer}`, local, peer };
  }
  const unix = findUnixPath(readNetTable(pid, 'unix'), inode);
  if (unix !== undefined) {
    return unix ? { kind: 'unix', description: `unix socket ${unix}`, local: unix } : { kind: 'unix', description: 'unix socket (unnamed)' };
  }
  return null;
}

function readNetTable(pid: number, name: string): string {
  try {
    return readFileSync(`/proc/${pid}/net/${name}`, 'latin1');
  } catch {
    return '';
  }
}

interface InetRow {
  local: string;
  remote: string;
  state: number;
}

/** `sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …` */
function findInetRow(table: string, inode: number): InetRow | null {
  const wanted = String(inode);
  for (const line of table.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[9] !== wanted) continue;
    return { local: fields[1] as string, remote: fields[2] as string, state: parseInt(fields[3] as string, 16) };
  }
  return null;
}

/** `Num RefCount Protocol Flags Type St Inode [Path]`: the path ('' if unnamed), or undefined if absent. */
function findUnixPath(table: string, inode: number): string | undefined {
  const wanted = String(inode);
  for (const line of table.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[6] === wanted) return fields[7] ?? '';
  }
  return undefined;
}

/**
 * Decodes `0100007F:0CEA` (IPv4) or 32 hex digits `:port` (IPv6). The kernel
 * prints each 32-bit word of the address in host byte order, so on a
 * little-endian machine every group of 4 bytes is reversed; the port is a
 * plain hex number.
 */
export function decodeAddress(text: string, hostEndianness: 'LE' | 'BE' = endianness()): string {
  const [hexAddress = '', hexPort = '0'] = text.split(':');
  const port = parseInt(hexPort, 16);
  const bytes = Buffer.from(hexAddress, 'hex');
  if (hostEndianness === 'LE') for (let i = 0; i + 4 <= bytes.length; i += 4) bytes.subarray(i, i + 4).reverse();
  if (bytes.length === 4) return `${[...bytes].join('.')}:${port}`;
  if (bytes.length === 16) {
    // IPv4-mapped (::ffff:a.b.c.d) reads best as the IPv4 address it is.
    if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return `${[...bytes.subarray(12)].join('.')}:${port}`;
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
    return `[${compressIpv6(groups)}]:${port}`;
  }
  return text;
}

/** `0:0:0:0:0:0:0:1` → `::1` (the longest run of zero groups becomes `::`). */
function compressIpv6(groups: string[]): string {
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < groups.length;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > bestLength && j - i > 1) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLength).join(':')}`;
}
