import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { WorkerRegistry } from '../platform/workerRegistry';
import { plural } from '../shared/text';
import type { Logger } from './poolManager';

/**
 * Each folder's pool keeps its stale-worker registry in its own directory
 * under the extension's storage: the registry names its file after the
 * manager's pid, so two pools of one extension host must not share one.
 */
export function poolStateDir(storageRoot: string, folderKey: string): string {
  return join(storageRoot, 'pools', createHash('sha256').update(folderKey).digest('hex').slice(0, 16));
}

/**
 * At activation, stops workers that an earlier extension host left behind
 * (a crash, a reload that did not wait) in every folder's registry, not
 * only in those whose pool is started again. Their pid *and* start time must
 * still match, so a reused pid is never touched (the registry checks).
 */
export async function sweepStaleWorkers(storageRoot: string, log: Logger): Promise<number> {
  let dirs: string[];
  try {
    dirs = readdirSync(join(storageRoot, 'pools'));
  } catch {
    return 0; // never started a pool here
  }
  let killed = 0;
  for (const dir of dirs) {
    try {
      const result = await new WorkerRegistry(join(storageRoot, 'pools', dir)).cleanStale();
      killed += result.killed.length;
      if (result.killed.length > 0) {
        log.info(
          `stopped ${plural(result.killed.length, 'php-cgi worker')} left behind by an earlier session (pids ${result.killed.map((w) => w.pid).join(', ')})`,
        );
      }
    } catch (error) {
      log.warn(`could not check ${dir} for stale workers: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return killed;
}
