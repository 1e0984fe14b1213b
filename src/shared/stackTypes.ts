/**
 * Live PHP stacks and wait reasons (issue 13): what the reader in
 * src/platform/phpStack hands to the pool, and what the pool shows its
 * consumers (the status JSON, findings, the CLI, the extension, the
 * dashboard). The field names of {@link PhpStackFrame} and {@link WaitReason}
 * are the status JSON's (`"stack": [...]`, `"wait": {...}`) and keep their
 * exact spelling. No Node import: the webview bundles this file.
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

/**
 * One read of a leased worker, as the pool keeps and shows it: the last one
 * per worker (read on the once-a-second schedule or on demand), or a fresh
 * one for `GET /.fastcgi-pool/status?stacks=1` and "Show Stack".
 */
export interface LeaseStack {
  /** The lease that was running when it was read. */
  readonly leaseId: string;
  readonly workerId: string;
  /** The process read (the php-cgi behind a wrapper script, where there is one). */
  readonly pid: number;
  /** Epoch ms of the read. */
  readonly sampledAt: number;
  /** Innermost first; null when no stack could be read (`stackError` says why). */
  readonly stack: readonly PhpStackFrame[] | null;
  /** More frames existed than were read (64). */
  readonly truncated: boolean;
  /** One line: why there is no stack (the platform, the PHP build, the canary, the worker exited). */
  readonly stackError: string | null;
  /** Null where the system tells nothing (Windows). */
  readonly wait: WaitReason | null;
}

/**
 * Whether the pool reads PHP stacks: `checking` until the canary request at
 * pool start has run, then `on`, or `off` with the one-line reason (the
 * platform, an unknown PHP build, a canary that read back wrong). Wait
 * reasons are read either way, where the system gives them.
 */
export interface StackStatus {
  readonly state: 'checking' | 'on' | 'off';
  readonly reason: string | null;
}

/** A frame with its fields in the status JSON's order: function, class, file, line, internal, then type and address. */
export function canonicalFrame(frame: PhpStackFrame): PhpStackFrame {
  return {
    function: frame.function,
    class: frame.class,
    file: frame.file,
    line: frame.line,
    internal: frame.internal,
    type: frame.type,
    address: frame.address,
  };
}
