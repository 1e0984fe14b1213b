import { spawn, type ChildProcess } from 'node:child_process';
import type { OrphanGuardHandle } from './platform';

/**
 * The watchdog, in POSIX sh: it reads `+PGID` / `-PGID` lines from the
 * manager on stdin and keeps the list of live worker groups. When stdin
 * reaches EOF — the manager exited, however it exited: the kernel closes
 * its end of the pipe even after a SIGKILL — it sends SIGTERM (then
 * SIGCONT, for a stopped one) to every group still listed, waits up to
 * 1 s for them to go (an idle php-cgi exits at once on SIGTERM; a busy one
 * only after its script, which may never end), SIGKILLs what is left, and
 * exits. A clean stop releases every group
 * first, so EOF then finds nothing to do.
 *
 * `kill -0` on a group whose members are only zombies still succeeds, so
 * an orphan that init is slow to reap costs the watchdog the full 1 s and
 * a no-op SIGKILL, nothing more.
 */
const SCRIPT = `
groups=''
while IFS= read -r line; do
  case $line in
    +*) groups="$groups \${line#+}" ;;
    -*) gone=\${line#-}; kept=''
        for g in $groups; do [ "$g" = "$gone" ] || kept="$kept $g"; done
        groups=$kept ;;
  esac
done
[ -n "$groups" ] || exit 0
for g in $groups; do kill -s TERM -- "-$g" 2>/dev/null; kill -s CONT -- "-$g" 2>/dev/null; done
tries=0
while [ $tries -lt 10 ]; do
  left=''
  for g in $groups; do kill -s 0 -- "-$g" 2>/dev/null && left="$left $g"; done
  [ -n "$left" ] || exit 0
  sleep 0.1 2>/dev/null || sleep 1
  tries=$((tries + 1))
done
for g in $left; do kill -s KILL -- "-$g" 2>/dev/null; done
exit 0
`;

/** The watchdog's argv[0], so that `ps` (and a test) can tell it apart from any other sh. */
export const WATCHDOG_NAME = 'fastcgi-pool-watchdog';

/**
 * Workers die with the manager where there is no parent-death signal
 * (macOS, the BSDs): one small `sh` per pool run, detached into its own
 * session (a Ctrl+C or a group kill aimed at the manager must not take it
 * along), holding the read end of a pipe whose only write end is ours.
 * It does not keep Node's event loop alive.
 */
export class Watchdog implements OrphanGuardHandle {
  readonly kind = 'watchdog' as const;
  readonly wrapper = null;
  private readonly child: ChildProcess;
  /** pid → the group the watchdog was told to stop. */
  private readonly groups = new Map<number, number>();
  private closed = false;

  constructor(shell = '/bin/sh') {
    this.child = spawn(shell, ['-c', SCRIPT, WATCHDOG_NAME], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
      // sleep and kill are all it needs; of our environment only our own
      // namespace goes along (it marks the processes a test run started).
      env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', ...ownNamespace(process.env) },
    });
    // A watchdog that died (killed by hand) makes our writes fail with EPIPE: the
    // registry still covers the workers, so this is not worth a crash.
    this.child.stdin?.on('error', () => undefined);
    this.child.on('error', () => undefined);
    this.child.unref();
    (this.child.stdin as { unref?: () => void } | null)?.unref?.();
  }

  /** The watchdog's pid (for tests and diagnostics). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  adopt(pid: number, pgid: number): void {
    this.groups.set(pid, pgid);
    this.send(`+${pgid}`);
  }

  release(pid: number): void {
    const pgid = this.groups.get(pid);
    if (pgid === undefined) return;
    this.groups.delete(pid);
    this.send(`-${pgid}`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.child.stdin?.end();
  }

  private send(line: string): void {
    if (this.closed || !this.child.stdin?.writable) return;
    this.child.stdin.write(`${line}\n`);
  }
}

function ownNamespace(env: NodeJS.ProcessEnv): Record<string, string> {
  const own: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (name.startsWith('FASTCGI_POOL_') && value !== undefined) own[name] = value;
  return own;
}
