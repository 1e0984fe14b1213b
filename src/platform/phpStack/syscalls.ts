/**
 * The system calls a PHP worker blocks in, by number, for the two
 * architectures we read (numbers from the kernel's uapi headers:
 * asm/unistd_64.h for x86_64, asm-generic/unistd.h for aarch64; the unit test
 * checks both tables against the headers installed on the machine), and how
 * to find the file descriptor each one waits on.
 */

/** How a system call's arguments name what it waits on. */
export type WaitArgs =
  /** The first argument is the fd (read, recvfrom, connect, accept, flock, …). */
  | 'fd'
  /** poll/ppoll: args 0 and 1 are a `struct pollfd` array in the process's memory and its length. */
  | 'pollfds'
  /** select/pselect6: arg 0 is nfds, args 1 and 2 the read and write `fd_set`s in memory. */
  | 'fdsets'
  /** epoll_wait/epoll_pwait(2): the first argument is an epoll fd; its fdinfo lists the watched fds. */
  | 'epoll'
  /** wait4/waitid: waits for a child process (wait4's first argument is its pid, -1 for any). */
  | 'child'
  /** Nothing to resolve (sleeps, futexes, restarted calls). */
  | 'none';

export interface SyscallInfo {
  name: string;
  args: WaitArgs;
}

type Table = Readonly<Record<number, SyscallInfo>>;

const fd = (name: string): SyscallInfo => ({ name, args: 'fd' });
const none = (name: string): SyscallInfo => ({ name, args: 'none' });

/** x86_64 (arch/x86/entry/syscalls/syscall_64.tbl). */
const X86_64: Table = {
  0: fd('read'),
  1: fd('write'),
  7: { name: 'poll', args: 'pollfds' },
  17: fd('pread64'),
  18: fd('pwrite64'),
  19: fd('readv'),
  20: fd('writev'),
  23: { name: 'select', args: 'fdsets' },
  34: none('pause'),
  35: none('nanosleep'),
  40: fd('sendfile'),
  42: fd('connect'),
  43: fd('accept'),
  44: fd('sendto'),
  45: fd('recvfrom'),
  46: fd('sendmsg'),
  47: fd('recvmsg'),
  61: { name: 'wait4', args: 'child' },
  72: fd('fcntl'),
  73: fd('flock'),
  74: fd('fsync'),
  75: fd('fdatasync'),
  202: none('futex'),
  219: none('restart_syscall'),
  230: none('clock_nanosleep'),
  232: { name: 'epoll_wait', args: 'epoll' },
  247: { name: 'waitid', args: 'none' },
  270: { name: 'pselect6', args: 'fdsets' },
  271: { name: 'ppoll', args: 'pollfds' },
  281: { name: 'epoll_pwait', args: 'epoll' },
  288: fd('accept4'),
  299: fd('recvmmsg'),
  307: fd('sendmmsg'),
  441: { name: 'epoll_pwait2', args: 'epoll' },
};

/** aarch64 (the generic table, include/uapi/asm-generic/unistd.h): no poll, select or epoll_wait, only their p-variants. */
const AARCH64: Table = {
  22: { name: 'epoll_pwait', args: 'epoll' },
  25: fd('fcntl'),
  32: fd('flock'),
  63: fd('read'),
  64: fd('write'),
  65: fd('readv'),
  66: fd('writev'),
  67: fd('pread64'),
  68: fd('pwrite64'),
  71: fd('sendfile'),
  72: { name: 'pselect6', args: 'fdsets' },
  73: { name: 'ppoll', args: 'pollfds' },
  82: fd('fsync'),
  83: fd('fdatasync'),
  95: { name: 'waitid', args: 'none' },
  98: none('futex'),
  101: none('nanosleep'),
  115: none('clock_nanosleep'),
  128: none('restart_syscall'),
  202: fd('accept'),
  203: fd('connect'),
  206: fd('sendto'),
  207: fd('recvfrom'),
  211: fd('sendmsg'),
  212: fd('recvmsg'),
  242: fd('accept4'),
  243: fd('recvmmsg'),
  260: { name: 'wait4', args: 'child' },
  269: fd('sendmmsg'),
  441: { name: 'epoll_pwait2', args: 'epoll' },
};

/** The tables by Node's `process.arch` name. */
export const SYSCALL_TABLES: Readonly<Record<'x64' | 'arm64', Table>> = { x64: X86_64, arm64: AARCH64 };

/** Names a system call number for this machine's architecture; `syscall N` when we do not list it. */
export function lookupSyscall(number: number, arch: string = process.arch): SyscallInfo {
  const table = arch === 'x64' || arch === 'arm64' ? SYSCALL_TABLES[arch] : undefined;
  return table?.[number] ?? { name: `syscall ${number}`, args: 'none' };
}

/**
 * The call a `restart_syscall` goes on with, or null when we cannot tell.
 *
 * A blocking call that a stop interrupts (SIGSTOP … SIGCONT: the stack
 * reader holding a worker still for a read, a debugger, `kill -STOP`)
 * resumes as `restart_syscall`. The original arguments are still in the
 * task's registers, so /proc/PID/syscall shows them beside the new number.
 * Of the calls that restart this way, only poll waits on descriptors. The
 * kernel function the task sleeps in (/proc/PID/wchan) names it: poll's own
 * sleep. So a worker that was reading from a socket when it was stopped
 * still names the socket.
 */
export function restartedSyscall(wchan: string): SyscallInfo | null {
  const fn = wchan.trim().replace(/\.(constprop|isra|part)\.\d+$/, '');
  return fn === 'poll_schedule_timeout' || fn === 'do_sys_poll' || fn === 'do_restart_poll' ? { name: 'poll', args: 'pollfds' } : null;
}
