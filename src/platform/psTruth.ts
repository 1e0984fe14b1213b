import { execFile, execFileSync } from 'node:child_process';
import type { ProcessReading, ProcessTruthReader } from './platform';
import { judge, type ProcessTruth } from './processState';
import type { ProcessStat } from './processTable';
import { descendantsIn, parsePsOutput, psArgs, PS_COLUMNS } from './psOutput';

/** `lstart` is strftime's `%c`: only the C locale prints it the way the parser reads it. */
const PS_ENV = { ...process.env, LC_ALL: 'C' };

/**
 * The process truth on Unixes without /proc (macOS, the BSDs), and on Linux
 * when the portable implementation is forced: ONE `ps` call per scan for
 * every worker and the processes in their groups, about 5–10 ms, run
 * asynchronously so that it never blocks request handling. Start times are
 * `lstart` in whole seconds: with the pid, enough to tell a reused pid.
 */
export class PsTruthReader implements ProcessTruthReader {
  readonly kind = 'ps' as const;

  constructor(private readonly command = 'ps') {}

  async read(pids: readonly number[]): Promise<ProcessReading> {
    const stats = pids.length === 0 ? [] : parsePsOutput(await this.run(psArgs(pids)));
    return new PsReading(stats);
  }

  inspectNow(pid: number, startTime: number | null): ProcessTruth {
    let out: string;
    try {
      out = execFileSync(this.command, ['-o', PS_COLUMNS, '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: PS_ENV });
    } catch (error) {
      // Exit status 1 with nothing on stderr: no such process.
      const failed = error as { status?: number; stderr?: string; stdout?: string };
      if (failed.status === 1 && !failed.stderr) out = failed.stdout ?? '';
      else throw error;
    }
    return judge(parsePsOutput(out)[0] ?? null, startTime);
  }

  async startTimeOf(pid: number): Promise<number | null> {
    const out = await this.run(['-o', PS_COLUMNS, '-p', String(pid)]).catch(() => '');
    return parsePsOutput(out)[0]?.startTime ?? null;
  }

  ownStartTime(): number | null {
    try {
      const own = this.inspectNow(process.pid, null);
      return own.status === 'alive' ? own.stat.startTime : null;
    } catch {
      return null;
    }
  }

  /**
   * Runs `ps`. Exit status 1 with an empty stderr means "none of those
   * processes exists" (procps and macOS alike); anything else on stderr, or
   * a `ps` that cannot start, is a failure: the caller must not read it as
   * "every worker is gone".
   */
  private run(args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(this.command, args, { encoding: 'utf8', env: PS_ENV, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (!error) resolve(stdout);
        else if (error.code === 1 && stderr === '') resolve(stdout);
        else reject(new Error(`${this.command} ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
      });
    });
  }
}

/** Every descendant of `pid`, whatever its group, from ONE `ps -A` (for stopping, not for scans). */
export function psDescendants(pid: number, command = 'ps'): Promise<ProcessStat[]> {
  return new Promise((resolve, reject) => {
    execFile(command, ['-A', '-o', PS_COLUMNS], { encoding: 'utf8', env: PS_ENV, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} -A failed: ${stderr.trim() || error.message}`));
      else resolve(descendantsIn(parsePsOutput(stdout), pid));
    });
  });
}

/** What one `ps` call saw. */
class PsReading implements ProcessReading {
  private readonly byPid = new Map<number, ProcessStat>();

  constructor(private readonly stats: readonly ProcessStat[]) {
    for (const stat of stats) this.byPid.set(stat.pid, stat);
  }

  inspect(pid: number, startTime: number | null): ProcessTruth {
    return judge(this.byPid.get(pid) ?? null, startTime);
  }

  descendants(pid: number): ProcessStat[] {
    return descendantsIn(this.stats, pid);
  }
}
