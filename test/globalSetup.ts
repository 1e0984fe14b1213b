import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { LATENCY_LOG } from './support/latencyLog';

/**
 * Runs once around the whole suite. Afterwards it checks that no php-cgi
 * process (nor a pool's watchdog) started by this test run is still alive:
 * every worker the suite spawns inherits FASTCGI_POOL_TEST_RUN from the
 * test process, so the check looks only at our own processes and never at
 * anyone else's.
 */
export default function setup(): () => void {
  // Each vitest project (vitest.config.mts) runs this setup: they share one run id.
  if (latencyLogBytes() > 1024 * 1024) rmSync(LATENCY_LOG, { force: true });
  const runId = (process.env.FASTCGI_POOL_TEST_RUN ??= `${process.pid}-${Date.now()}`);
  return () => {
    const leftovers = findPhpProcessesWithEnv(`FASTCGI_POOL_TEST_RUN=${runId}`);
    if (leftovers.length > 0) {
      throw new Error(`the test run left processes behind: ${leftovers.join(', ')}`);
    }
  };
}

/** Lists `pid (comm)` of live php processes (and pool watchdogs) whose environment holds `entry`. */
export function findPhpProcessesWithEnv(entry: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const comm = readFileSync(`/proc/${name}/comm`, 'utf8').trim();
      const watchdog = comm === 'sh' && readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').includes('fastcgi-pool-watchdog');
      if (!comm.startsWith('php') && !watchdog) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue; // already dead, awaiting its reaper
      if (readFileSync(`/proc/${name}/environ`, 'utf8').split('\0').includes(entry)) found.push(`${name} (${comm})`);
    } catch {
      // the process ended while we looked: nothing left behind there
    }
  }
  return found;
}

/** The latency notes are kept across runs (each tagged with its run id), within reason. */
function latencyLogBytes(): number {
  try {
    return statSync(LATENCY_LOG).size;
  } catch {
    return 0;
  }
}
