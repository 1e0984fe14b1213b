import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { signalProcessGroup } from './processControl';
import { inspectProcess, readStat } from './processState';

/** One worker as recorded for cleanup after a crash of its manager. */
export interface RegisteredWorker {
  pid: number;
  /** Kernel start time (clock ticks since boot on Linux): with pid, its identity. */
  startTime: number;
  /** The process group we signal (the worker leads its own). */
  pgid: number;
  socketPath: string;
}

interface RegistryFile {
  ownerPid: number;
  ownerStartTime: number | null;
  workers: RegisteredWorker[];
}

/** This process's registry file in a state directory. */
function registryFile(stateDir: string): string {
  return join(stateDir, `workers-${process.pid}.json`);
}

/** What a start-up cleanup found and did. */
export interface StaleCleanup {
  /** Workers of dead owners that were still running and were killed. */
  killed: RegisteredWorker[];
  /** Entries skipped because the pid now belongs to another process. */
  reusedPids: number[];
}

/**
 * A registry of our live workers in a state directory, one file per manager
 * process. If the manager dies without stopping its workers (SIGKILL, an
 * extension-host crash) and nothing else killed them (no parent-death signal
 * on this platform), the next start finds them here and stops them — only
 * when pid *and* start time still match, so a reused pid is never touched.
 */
export class WorkerRegistry {
  private readonly file: string;
  private readonly workers = new Map<number, RegisteredWorker>();
  private readonly ownerStartTime: number | null;

  constructor(readonly stateDir: string) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    this.file = registryFile(stateDir);
    this.ownerStartTime = readStat(process.pid)?.startTime ?? null;
  }

  /**
   * The workers this process's registry in `stateDir` lists. The file is
   * named after the process, not the thread: when an engine thread dies,
   * the main thread of the same process finds its workers here.
   */
  static listOwn(stateDir: string): RegisteredWorker[] {
    try {
      const entry = JSON.parse(readFileSync(registryFile(stateDir), 'utf8')) as RegistryFile;
      return entry.ownerPid === process.pid && Array.isArray(entry.workers) ? entry.workers : [];
    } catch {
      return [];
    }
  }

  /** Deletes this process's registry file in `stateDir` (its workers are known to be gone). */
  static removeOwn(stateDir: string): void {
    rmSync(registryFile(stateDir), { force: true });
  }

  /** Kills workers left by managers that are no longer running. */
  async cleanStale(): Promise<StaleCleanup> {
    const result: StaleCleanup = { killed: [], reusedPids: [] };
    let names: string[];
    try {
      names = readdirSync(this.stateDir);
    } catch {
      return result;
    }
    for (const name of names) {
      if (!/^workers-\d+\.json$/.test(name)) continue;
      const path = join(this.stateDir, name);
      let entry: RegistryFile;
      try {
        entry = JSON.parse(readFileSync(path, 'utf8')) as RegistryFile;
      } catch {
        rmSync(path, { force: true });
        continue;
      }
      if (entry.ownerPid === process.pid) continue;
      if (inspectProcess(entry.ownerPid, entry.ownerStartTime).status === 'alive') continue; // another live manager's workers
      for (const worker of entry.workers) {
        const truth = inspectProcess(worker.pid, worker.startTime);
        if (truth.status === 'alive') {
          signalProcessGroup(worker.pgid, 'SIGKILL');
          result.killed.push(worker);
        } else if (truth.status === 'gone' && truth.reused) {
          result.reusedPids.push(worker.pid);
        }
        // A zombie is already dead: only its new parent (init) can reap it.
        rmSync(worker.socketPath, { force: true });
      }
      rmSync(path, { force: true });
    }
    // Wait (briefly) until the killed ones are really gone, so the caller can
    // say "gone" and mean it; their reaper is init, not us.
    const deadline = Date.now() + 2_000;
    while (result.killed.some((w) => inspectProcess(w.pid, w.startTime).status === 'alive') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    return result;
  }

  add(worker: RegisteredWorker): void {
    this.workers.set(worker.pid, worker);
    this.write();
  }

  remove(pid: number): void {
    if (this.workers.delete(pid)) this.write();
  }

  /** Deletes this manager's file (a clean stop). */
  close(): void {
    this.workers.clear();
    rmSync(this.file, { force: true });
  }

  private write(): void {
    const data: RegistryFile = { ownerPid: process.pid, ownerStartTime: this.ownerStartTime, workers: [...this.workers.values()] };
    // Write then rename: a crash mid-write must not leave a torn file.
    const temp = `${this.file}.tmp`;
    writeFileSync(temp, JSON.stringify(data), { mode: 0o600 });
    renameSync(temp, this.file);
  }
}
