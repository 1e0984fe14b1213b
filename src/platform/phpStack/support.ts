/**
 * What this system lets the pool know about a busy worker, decided from the
 * platform and CPU alone (no process is asked): PHP stacks need Linux's
 * /proc on x86_64 or aarch64; wait reasons come from /proc on Linux, from
 * `ps` elsewhere (state and CPU time only, and a process spawn per read),
 * and not at all on Windows. Whether a given php-cgi can be read is decided
 * per binary by the reader (its PHP version and build), and at pool start
 * by the canary.
 *
 * A small function on purpose: a platform capability report (the snapshot's
 * `platform` flags, say) can call it as it is.
 */
export interface LiveStackSupport {
  /** Whether PHP stacks can be read on this system at all. */
  readonly stacks: boolean;
  /** Where wait reasons come from: /proc (cheap), `ps` (a spawn per read), or nowhere. */
  readonly waits: 'proc' | 'ps' | 'none';
  /** Why there are no stacks, one line for the UI; null when they may work. */
  readonly reason: string | null;
}

export function liveStackSupport(platform: string = process.platform, arch: string = process.arch): LiveStackSupport {
  if (platform === 'linux') {
    if (arch === 'x64' || arch === 'arm64') return { stacks: true, waits: 'proc', reason: null };
    return { stacks: false, waits: 'proc', reason: `live PHP stacks are read on x86_64 and aarch64 only (this CPU is ${arch})` };
  }
  const reason = `live PHP stacks need Linux's /proc (this system is ${platform})`;
  return { stacks: false, waits: platform === 'win32' ? 'none' : 'ps', reason };
}
