import { readdirSync, readFileSync } from 'node:fs';

/**
 * Runs once around the whole suite. Afterwards it checks that no php-cgi
 * process started by this test run is still alive: every worker the suite
 * spawns inherits FASTCGI_POOL_TEST_RUN from the test process, so the check
 * looks only at our own processes and never at anyone else's.
 */
export default function setup(): () => void {
  const runId = `${process.pid}-${Date.now()}`;
  process.env.FASTCGI_POOL_TEST_RUN = runId;
  return () => {
    const leftovers = findPhpProcessesWithEnv(`FASTCGI_POOL_TEST_RUN=${runId}`);
    if (leftovers.length > 0) {
      throw new Error(`the test run left php processes behind: ${leftovers.join(', ')}`);
    }
  };
}

/** Lists `pid (comm)` of live php processes whose environment holds `entry`. */
export function findPhpProcessesWithEnv(entry: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const comm = readFileSync(`/proc/${name}/comm`, 'utf8').trim();
      if (!comm.startsWith('php')) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue; // already dead, awaiting its reaper
      if (readFileSync(`/proc/${name}/environ`, 'utf8').split('\0').includes(entry)) found.push(`${name} (${comm})`);
    } catch {
      // the process ended while we looked: nothing left behind there
    }
  }
  return found;
}
