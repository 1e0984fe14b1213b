import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { hasProcfs } from './processTable';

/** Who listens on a TCP port, as far as this system lets us see. */
export type PortHolder =
  /** A process we can name. */
  | { readonly kind: 'process'; readonly pid: number; readonly command: string }
  /** A listener we cannot attribute (another user's process, a container, a system without /proc); `why` says so. */
  | { readonly kind: 'unknown'; readonly why: string };

/** Longest command line quoted in a message. */
const MAX_COMMAND = 160;

/**
 * Finds the process listening on `port`. On Linux: the LISTEN sockets of
 * /proc/net/tcp and tcp6 give the socket's inode, and the process whose
 * /proc/PID/fd links to `socket:[inode]` holds it; its command line comes
 * from /proc/PID/cmdline. Another user's process keeps its fds to itself,
 * so then only its user is known. Elsewhere there is no /proc to read and
 * the answer says it cannot tell.
 */
export function findPortHolder(port: number): PortHolder {
  if (!hasProcfs) return { kind: 'unknown', why: 'this system does not show which process holds a port (only Linux /proc is read)' };
  const listeners = [...listeningSockets('/proc/net/tcp', port), ...listeningSockets('/proc/net/tcp6', port)];
  if (listeners.length === 0)
    return { kind: 'unknown', why: 'no listening socket on that port is visible here (another network namespace, or it was closed meanwhile)' };
  const inodes = new Set(listeners.map((listener) => listener.inode));
  const pid = findSocketOwner(inodes);
  if (pid !== null) return { kind: 'process', pid, command: commandLine(pid) };
  const uid = listeners[0]?.uid ?? -1;
  return { kind: 'unknown', why: `it belongs to ${userName(uid)}, whose processes this user cannot inspect` };
}

/** The holder as one phrase: `pid 1234 (python3 -m http.server 8080)`. */
export function describePortHolder(holder: PortHolder): string {
  return holder.kind === 'process' ? `pid ${holder.pid} (${holder.command})` : `a process this system will not name: ${holder.why}`;
}

interface ListeningSocket {
  inode: string;
  uid: number;
}

/** LISTEN (state 0A) sockets on `port` in a /proc/net/tcp-style table. */
function listeningSockets(table: string, port: number): ListeningSocket[] {
  let text: string;
  try {
    text = readFileSync(table, 'latin1');
  } catch {
    return [];
  }
  const wanted = port.toString(16).toUpperCase().padStart(4, '0');
  const found: ListeningSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode …
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10 || fields[3] !== '0A') continue;
    const local = fields[1] as string;
    if (local.slice(local.lastIndexOf(':') + 1) !== wanted) continue;
    found.push({ inode: fields[9] as string, uid: Number(fields[7]) });
  }
  return found.filter((socket) => socket.inode !== '0');
}

/** The first process with an fd on one of the socket inodes, or null (none we may look at). */
function findSocketOwner(inodes: ReadonlySet<string>): number | null {
  const targets = new Set([...inodes].map((inode) => `socket:[${inode}]`));
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds) {
      try {
        if (targets.has(readlinkSync(`/proc/${entry}/fd/${fd}`))) return Number(entry);
      } catch {
        // closed while we looked
      }
    }
  }
  return null;
}

/** `php-cgi -b 127.0.0.1:8080`, from /proc/PID/cmdline (or its comm for a kernel thread or a process that cleared it). */
function commandLine(pid: number): string {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((arg) => arg.length > 0);
    if (args.length > 0) {
      const text = args.join(' ');
      return text.length > MAX_COMMAND ? `${text.slice(0, MAX_COMMAND - 1)}…` : text;
    }
  } catch {
    // fall through to comm
  }
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** `user www-data (uid 33)`, from /etc/passwd. */
function userName(uid: number): string {
  if (uid < 0) return 'another user';
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (Number(id) === uid && name) return `user ${name} (uid ${uid})`;
    }
  } catch {
    // no passwd to read
  }
  return `uid ${uid}`;
}
