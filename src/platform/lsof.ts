import { execFile } from 'node:child_process';

/** One TCP socket a process holds. */
export interface TcpSocket {
  readonly fd: number;
  /** Our end, `127.0.0.1:9000`, `[::1]:9000`, `*:9000`. */
  readonly local: string;
  /** The other end of a connection; null for a listening socket. */
  readonly peer: string | null;
  /** `LISTEN`, `ESTABLISHED`, `CLOSE_WAIT`…; null where lsof did not say. */
  readonly tcpState: string | null;
  /** One line for people: `tcp 127.0.0.1:51234 -> 127.0.0.1:3306 (ESTABLISHED)`. */
  readonly description: string;
}

/**
 * The arguments of `lsof -a -nP -p PID -iTCP` in lsof's field output (`-F`),
 * the format it documents for other programs ("OUTPUT FOR OTHER PROGRAMS"):
 * one field a line, its first character naming it — `p` pid, `c` command,
 * `f` fd, `P` protocol, `n` name (the addresses), `T` TCP info (`TST=` the
 * state). `-a` ANDs the selections, `-n`/`-P` keep addresses and ports numeric.
 */
export function lsofArgs(pid: number): string[] {
  return ['-a', '-nP', '-p', String(pid), '-iTCP', '-F', 'pcfPnT'];
}

/**
 * Parses lsof's field output for one process into its TCP sockets. Fields
 * for the process (`p`, `c`) come first, then each file's (`f` starts one).
 */
export function parseLsofFields(text: string): TcpSocket[] {
  const sockets: TcpSocket[] = [];
  let current: { fd: number; protocol: string; name: string; state: string | null } | null = null;
  const flush = (): void => {
    if (!current || current.name === '' || (current.protocol !== '' && current.protocol !== 'TCP')) return;
    const arrow = current.name.indexOf('->');
    const local = arrow >= 0 ? current.name.slice(0, arrow) : current.name;
    const peer = arrow >= 0 ? current.name.slice(arrow + 2) : null;
    const state = current.state;
    sockets.push({ fd: current.fd, local, peer, tcpState: state, description: `tcp ${local}${peer ? ` -> ${peer}` : ''}${state ? ` (${state})` : ''}` });
  };
  for (const line of text.split('\n')) {
    const field = line.charAt(0);
    const value = line.slice(1).replace(/\r$/, '');
    if (field === 'p') {
      flush();
      current = null;
    } else if (field === 'f') {
      flush();
      // Only numbered descriptors are sockets (cwd, txt, mem… are not).
      current = /^\d+$/.test(value) ? { fd: Number(value), protocol: '', name: '', state: null } : null;
    } else if (current && field === 'P') {
      current.protocol = value;
    } else if (current && field === 'n') {
      current.name = value;
    } else if (current && field === 'T' && value.startsWith('ST=')) {
      current.state = value.slice(3);
    }
  }
  flush();
  return sockets;
}

/**
 * The TCP sockets of a process, from `lsof` (macOS ships it; most Linux
 * distributions package it): which database or API a busy worker is
 * talking to, where there is no /proc to read it from. lsof exits 1 when
 * the process holds none: an empty list. Rejects when lsof cannot run.
 */
export function tcpSocketsOf(pid: number, command = 'lsof'): Promise<TcpSocket[]> {
  return new Promise((resolve, reject) => {
    execFile(command, lsofArgs(pid), { encoding: 'utf8', timeout: 10_000 }, (error, stdout, stderr) => {
      // Warnings about file systems it cannot stat are not about our process.
      const problems = stderr
        .split('\n')
        .filter((line) => line.trim() !== '' && !line.includes('WARNING'))
        .join('; ');
      if (!error || (error.code === 1 && problems === '')) resolve(parseLsofFields(stdout));
      else reject(new Error(`lsof failed for pid ${pid}: ${problems || error.message}`));
    });
  });
}
