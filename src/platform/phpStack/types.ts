/**
 * What the live-stack reader hands to the pool (issue 13). The field names of
 * {@link PhpStackFrame} and {@link WaitReason} are the status JSON's
 * (`"stack": [...]`, `"wait": {...}`) and keep their exact spelling.
 */

/** One PHP frame, as PHP's own backtraces name it. */
export interface PhpStackFrame {
  /** `usleep`, `query`, `{closure}` (8.4: `{closure:/app/a.php:12}`), `{main}`, `include`, `require_once`, `eval`. */
  function: string;
  /** The method's class (for a closure, the class it was defined in); null for plain functions. */
  class: string | null;
  /** How the method was called: `->` on an object, `::` statically; null without a class. */
  type: '->' | '::' | null;
  /** The PHP file running in this frame; null for internal functions. */
  file: string | null;
  /** The line being executed in that file; null for internal functions. */
  line: number | null;
  /** A function of PHP itself or an extension (written in C): no file or line. */
  internal: boolean;
  /** The frame's zend_execute_data address, `0x00007f…`, as FPM's slowlog prints it. */
  address: string;
}

/** Why the reader cannot read stacks of a worker (or at all); one line for the UI. */
export interface StackUnavailable {
  available: false;
  reason: string;
}

/** The reader can read this worker: which PHP it runs and which table it uses. */
export interface StackAvailable {
  available: true;
  /** `8.2.36` (null when the binary does not say, which no PHP 8 build does). */
  phpVersion: string | null;
  /** The table's minor version, `8.2`. */
  phpMinor: string;
  arch: 'x86_64' | 'aarch64';
}

export type StackAvailability = StackAvailable | StackUnavailable;

/** One stack read. */
export type StackReadResult =
  | {
      ok: true;
      /** Innermost first; empty while the worker runs no PHP (idle between requests). */
      frames: PhpStackFrame[];
      /** More frames existed than the limit (64). */
      truncated: boolean;
      /** The worker was running on a CPU and was stopped (SIGSTOP … SIGCONT) for the read. */
      stopped: boolean;
    }
  | {
      ok: false;
      /** One line: why no stack (unavailable, the worker exited, memory that does not look like PHP's). */
      reason: string;
      /** True when the reader as such cannot work here (platform, PHP build, disabled); false for a failure of this one read. */
      unavailable: boolean;
    };

/** What a blocked worker waits on: one of its file descriptors, described. */
export interface WaitTarget {
  kind: 'tcp' | 'udp' | 'unix' | 'file' | 'pipe' | 'epoll' | 'process' | 'other';
  /** One line for people, e.g. `tcp 127.0.0.1:51234 -> 127.0.0.1:3306 (ESTABLISHED)`. */
  description: string;
  /** Sockets: our end, `127.0.0.1:51234` / `[::1]:8080`; unix: the bound path if any. */
  local?: string;
  /** TCP/UDP: the other end, `127.0.0.1:3306`. */
  peer?: string;
  /** TCP: the connection state, `ESTABLISHED`, `SYN_SENT`, … */
  tcpState?: string;
  /** Files: the path (`/proc/PID/fd/N`'s target). */
  path?: string;
}

/** The kernel's view of a busy worker beside its PHP stack. */
export interface WaitReason {
  /** `running` (on or waiting for a CPU), `sleeping` (blocked, interruptible), `disk` (uninterruptible), `stopped`, `zombie`, `gone`, or the kernel's letter. */
  state: string;
  /** The blocking system call by name (`poll`, `read`, `nanosleep`, …); null when running or unknown. */
  syscall: string | null;
  /** The file descriptor it waits on (for poll/select: the first one in its set); null if none. */
  fd: number | null;
  /** What that descriptor is; null if no fd or it could not be resolved. */
  target: WaitTarget | null;
  /** CPU time (user + system) used since the caller's baseline (see readCpuTimeMs), or since the process started. */
  cpuMs: number;
  /**
   * How long the worker has been in this state, as a lower bound: since the
   * reader first saw it in this same wait (same state, system call and
   * arguments, and no context switch in between). 0 on the first sighting;
   * sampling a busy worker once a second keeps it within a second of the truth.
   */
  sinceMs: number;
}
