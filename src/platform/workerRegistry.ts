import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Platform, PlatformId } from './platform';
import { signalProcessGroup } from './processControl';
import { inspectProcess } from './processState';
import { createPlatform, defaultPlatformId, isPlatformId, runsOn, selectPlatform } from './platforms';

/** One worker as recorded for cleanup after a crash of its manager. */
export interface RegisteredWorker {
  pid: number;
  /** Start time in the unit of the platform's truth reader (see ProcessStat.startTime): with pid, its identity. */
  startTime: number;
  /** The process group we signal on Unix (the worker leads its own). */
  pgid: number;
  /** Where it listened: a socket path (removed at cleanup) or `127.0.0.1:PORT`. */
  socketPath: string;
}

interface RegistryFile {
  ownerPid: number;
  ownerStartTime: number | null;
  /** The implementation that wrote it: its start times and its way of stopping. Absent in files of older versions. */
  platform?: PlatformId;
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
 * extension-host crash: deactivate() never runs) and nothing else killed
 * them (no parent-death signal or watchdog, or one that failed), the next
 * start finds them here and stops them — only when pid *and* start time
 * still match, so a reused pid is never touched. Each file says which
 * platform implementation wrote it: its start times are in that one's unit,
 * and its workers are stopped its way (a process group on Unix, a tree
 * kill on Windows).
 */
export class WorkerRegistry {
  private readonly file: string;
  private readonly workers = new Map<number, RegisteredWorker>();
  private readonly ownerStartTime: number | null;

  constructor(
    readonly stateDir: string,
    private readonly platform: Platform = selectPlatform(),
  ) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    this.file = registryFile(stateDir);
    this.ownerStartTime = platform.truth.ownStartTime();
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
    const waits: Array<Promise<void>> = [];
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
      const writer = this.platformOf(entry);
      // Written on another OS (a shared folder): its start times mean nothing here.
      if (!writer) continue;
      let cleaned: Awaited<ReturnType<WorkerRegistry['cleanFile']>>;
      try {
        cleaned = await this.cleanFile(entry, writer);
      } catch {
        continue; // the process table could not be read: try again at the next start
      }
      if (cleaned === 'owner-alive') continue; // another live manager's workers
      result.killed.push(...cleaned.killed);
      result.reusedPids.push(...cleaned.reusedPids);
      for (const worker of entry.workers) if (worker.socketPath.startsWith('/')) rmSync(worker.socketPath, { force: true });
      rmSync(path, { force: true });
      if (cleaned.killed.length > 0) waits.push(untilGone(writer, cleaned.killed));
    }
    // Wait (briefly) until the killed ones are really gone, so the caller can
    // say "gone" and mean it; their reaper is init, not us.
    await Promise.all(waits);
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

  private async cleanFile(entry: RegistryFile, writer: Platform): Promise<StaleCleanup | 'owner-alive'> {
    if (writer.truth.inspectNow(entry.ownerPid, entry.ownerStartTime).status === 'alive') return 'owner-alive';
    const result: StaleCleanup = { killed: [], reusedPids: [] };
    const reading = await writer.truth.read(entry.workers.map((w) => w.pid));
    for (const worker of entry.workers) {
      const truth = reading.inspect(worker.pid, worker.startTime);
      if (truth.status === 'alive') {
        await writer.stopper.killStale(worker.pid, worker.pgid);
        result.killed.push(worker);
      } else if (truth.status === 'gone' && truth.reused) {
        result.reusedPids.push(worker.pid);
      }
      // A zombie is already dead: only its new parent (init) can reap it.
    }
    return result;
  }

  /** The implementation that wrote a file, if it can run here (files of older versions: this OS's usual one). */
  private platformOf(entry: RegistryFile): Platform | null {
    const id = entry.platform !== undefined && isPlatformId(entry.platform) ? entry.platform : defaultPlatformId();
    if (id === this.platform.id) return this.platform;
    return runsOn(id) ? createPlatform(id) : null;
  }

  private write(): void {
    const data: RegistryFile = { ownerPid: process.pid, ownerStartTime: this.ownerStartTime, platform: this.platform.id, workers: [...this.workers.values()] };
    // Write then rename: a crash mid-write must not leave a torn file.
    const temp = `${this.file}.tmp`;
    writeFileSync(temp, JSON.stringify(data), { mode: 0o600 });
    renameSync(temp, this.file);
  }
}

/** A process the registries know: one of our workers, or a pool manager (with whether it still runs). */
export type RegisteredProcess =
  | { readonly role: 'worker'; readonly worker: RegisteredWorker; readonly ownerPid: number; readonly ownerAlive: boolean; readonly stateDir: string }
  | { readonly role: 'manager'; readonly ownerPid: number; readonly stateDir: string };

/**
 * Looks `pid` up in the registries of these state directories (read only):
 * a worker whose pid *and* start time still match, or a manager that owns a
 * registry. A worker whose manager is gone is a stale one: nobody will stop
 * it but us.
 */
export function findRegisteredProcess(stateDirs: readonly string[], pid: number): RegisteredProcess | null {
  for (const stateDir of stateDirs) {
    let names: string[];
    try {
      names = readdirSync(stateDir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!/^workers-\d+\.json$/.test(name)) continue;
      let entry: RegistryFile;
      try {
        entry = JSON.parse(readFileSync(join(stateDir, name), 'utf8')) as RegistryFile;
      } catch {
        continue;
      }
      const ownerAlive = inspectProcess(entry.ownerPid, entry.ownerStartTime).status === 'alive';
      if (entry.ownerPid === pid && ownerAlive) return { role: 'manager', ownerPid: pid, stateDir };
      const worker = entry.workers.find((w) => w.pid === pid);
      if (worker && inspectProcess(worker.pid, worker.startTime).status === 'alive')
        return { role: 'worker', worker, ownerPid: entry.ownerPid, ownerAlive, stateDir };
    }
  }
  return null;
}

/**
 * Stops a stale worker found by {@link findRegisteredProcess}: SIGTERM to
 * its process group, SIGKILL after `graceMs`, and resolves once it is gone
 * (true) or still there after the kill (false). Its pid and start time are
 * checked first, so a reused pid is never signalled.
 */
export async function stopRegisteredWorker(worker: RegisteredWorker, graceMs = 1_000): Promise<boolean> {
  const alive = (): boolean => inspectProcess(worker.pid, worker.startTime).status === 'alive';
  if (!alive()) return true;
  signalProcessGroup(worker.pgid, 'SIGTERM');
  for (const [signal, waitMs] of [
    [null, graceMs],
    ['SIGKILL', 2_000],
  ] as const) {
    if (signal !== null && alive()) signalProcessGroup(worker.pgid, signal);
    const deadline = Date.now() + waitMs;
    while (alive() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    if (!alive()) return true;
  }
  return false;
}

/** Polls until none of `workers` is alive (up to 2 s). */
async function untilGone(platform: Platform, workers: readonly RegisteredWorker[]): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (Date.now() < deadline) {
    const reading = await platform.truth.read(workers.map((w) => w.pid)).catch(() => null);
    if (!reading || workers.every((w) => reading.inspect(w.pid, w.startTime).status !== 'alive')) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
