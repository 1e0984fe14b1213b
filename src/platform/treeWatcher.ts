import { readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join, relative, sep } from 'node:path';

/** Watches a folder tree; see {@link watchTree}. */
export interface TreeWatcher {
  /** Folders watched (Linux: one inotify watch each). */
  readonly folders: number;
  close(): void;
}

export interface TreeWatchOptions {
  /** A path (relative to the root, `/`-separated) whose changes are not reported; an ignored folder is not watched at all. */
  readonly ignore: (relativePath: string) => boolean;
  /** A folder could not be watched (the inotify limit, permissions); said once per folder. */
  readonly onError?: (folder: string, error: Error) => void;
}

/**
 * Reports every file created, changed or removed under `root`, as a path
 * relative to it (`/`-separated), except those `ignore` rejects.
 *
 * macOS and Windows watch a tree natively (`fs.watch(root, { recursive:
 * true })`: one FSEvents stream or one ReadDirectoryChangesW). On Linux,
 * Node 20's recursive mode puts an inotify watch on every file and folder,
 * vendor/ and node_modules/ included (tens of thousands in a Composer
 * project, past many systems' inotify limit), stats each one, and reports
 * every existing file as changed when it starts. So on Linux one
 * non-recursive watch per folder is kept instead, ignored folders are
 * never entered, and a folder created later (a `git checkout`) is watched
 * as it appears, its files reported.
 */
export function watchTree(root: string, onChange: (relativePath: string) => void, options: TreeWatchOptions): TreeWatcher {
  if (process.platform === 'darwin' || process.platform === 'win32') return watchNatively(root, onChange, options);
  return new FolderWatchers(root, onChange, options);
}

function watchNatively(root: string, onChange: (relativePath: string) => void, options: TreeWatchOptions): TreeWatcher {
  const watcher = watch(root, { recursive: true, persistent: false }, (_event, filename) => {
    if (filename === null) return;
    const path = filename.split(sep).join('/');
    if (!options.ignore(path)) onChange(path);
  });
  watcher.on('error', (error) => options.onError?.(root, error));
  return { folders: 1, close: () => watcher.close() };
}

/** One non-recursive watch per folder of the tree (Linux). */
class FolderWatchers implements TreeWatcher {
  private readonly watchers = new Map<string, FSWatcher>();
  private closed = false;

  constructor(
    private readonly root: string,
    private readonly onChange: (relativePath: string) => void,
    private readonly options: TreeWatchOptions,
  ) {
    this.add(root, false);
  }

  get folders(): number {
    return this.watchers.size;
  }

  close(): void {
    this.closed = true;
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  /** Watches `folder` and the folders below it; `report`: its files are new (a folder that appeared), so say so. */
  private add(folder: string, report: boolean): void {
    if (this.closed || this.watchers.has(folder)) return;
    let watcher: FSWatcher;
    try {
      watcher = watch(folder, { persistent: false }, (_event, name) => {
        if (name !== null) this.changed(join(folder, name));
      });
    } catch (error) {
      this.options.onError?.(folder, error as Error);
      return;
    }
    watcher.on('error', (error) => {
      watcher.close();
      this.watchers.delete(folder);
      this.options.onError?.(folder, error);
    });
    this.watchers.set(folder, watcher);
    let entries;
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(folder, entry.name);
      const rel = this.relativePath(path);
      if (this.options.ignore(rel)) continue;
      if (entry.isDirectory()) this.add(path, report);
      else if (report) this.onChange(rel);
    }
  }

  private changed(path: string): void {
    const rel = this.relativePath(path);
    if (this.options.ignore(rel)) return;
    let isFolder = false;
    try {
      isFolder = statSync(path).isDirectory();
    } catch {
      // Removed or renamed away: a removed folder's watches go, a removed file is a change.
      this.remove(path);
    }
    if (isFolder) this.add(path, true);
    else this.onChange(rel);
  }

  /** Stops watching a folder that went away, and every folder below it. */
  private remove(path: string): void {
    const prefix = path + sep;
    for (const [folder, watcher] of this.watchers) {
      if (folder === path || folder.startsWith(prefix)) {
        watcher.close();
        this.watchers.delete(folder);
      }
    }
  }

  private relativePath(path: string): string {
    return relative(this.root, path).split(sep).join('/');
  }
}
