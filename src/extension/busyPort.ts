import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { findPortHolder } from '../platform/portHolder';
import { findRegisteredProcess, type RegisteredWorker } from '../platform/workerRegistry';

/** Who holds a port the pool wanted, as far as this machine tells. */
export type BusyPortHolder =
  /** Another folder's pool in this window. */
  | { readonly kind: 'own-pool'; readonly folder: string }
  /** A worker of ours whose manager is gone: nobody else will stop it, so the user may. */
  | { readonly kind: 'stale-worker'; readonly pid: number; readonly command: string; readonly worker: RegisteredWorker }
  /** A pool of ours that still runs elsewhere: another window, or `fastcgi-pool serve`. */
  | { readonly kind: 'our-pool'; readonly pid: number; readonly command: string }
  /** Any other process we can name. */
  | { readonly kind: 'process'; readonly pid: number; readonly command: string }
  /** A holder the system will not name (another user's process, no /proc). */
  | { readonly kind: 'unknown'; readonly why: string };

/**
 * Names the process listening on `port` (Linux: /proc), and tells ours from
 * others' through the workers' registries under `storageRoot/pools/*`: a
 * registered worker whose manager has died is one of our own stale workers.
 */
export function explainBusyPort(port: number, storageRoot: string): BusyPortHolder {
  const holder = findPortHolder(port);
  if (holder.kind === 'unknown') return holder;
  if (holder.pid === process.pid) return { kind: 'our-pool', pid: holder.pid, command: holder.command };
  const registered = findRegisteredProcess(registryDirs(storageRoot), holder.pid);
  if (registered?.role === 'worker' && !registered.ownerAlive)
    return { kind: 'stale-worker', pid: holder.pid, command: holder.command, worker: registered.worker };
  if (registered !== null) return { kind: 'our-pool', pid: holder.pid, command: holder.command };
  return { kind: 'process', pid: holder.pid, command: holder.command };
}

/** `port 8080 on 127.0.0.1 is in use by pid 4242 (python3 -m http.server 8080)`, and the like. */
export function describeBusyPort(port: number, host: string, holder: BusyPortHolder): string {
  const where = `port ${port} on ${host}`;
  switch (holder.kind) {
    case 'own-pool':
      return `${where} is used by this window's pool of "${holder.folder}"`;
    case 'stale-worker':
      return `${where} is held by one of our own stale workers (pid ${holder.pid}, ${holder.command}), left behind by an earlier session`;
    case 'our-pool':
      return `${where} is used by another FastCGI pool (pid ${holder.pid}, ${holder.command})`;
    case 'process':
      return `${where} is in use by pid ${holder.pid} (${holder.command})`;
    case 'unknown':
      return `${where} is in use, by a process this system will not name (${holder.why})`;
  }
}

/** Every folder's registry directory of this extension's storage. */
function registryDirs(storageRoot: string): string[] {
  try {
    return readdirSync(join(storageRoot, 'pools')).map((dir) => join(storageRoot, 'pools', dir));
  } catch {
    return [];
  }
}
