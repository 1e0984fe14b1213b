/**
 * Which file changes live reload acts on, and how: the rules the CLI's
 * watcher, the editor's save and file-system events, and the gateway share.
 * Plain string work on paths with `/` or `\` separators: no Node, no `vscode`.
 */

/** What the listening pages do: reload, or swap their stylesheets in place. */
export type LiveReloadAction = 'reload' | 'css';

/** Folders whose changes never reload a page: dependencies and version control. */
const LIVE_RELOAD_IGNORED_FOLDERS: readonly string[] = ['vendor', 'node_modules', '.git'];

/**
 * Whether a change to `path` (relative to the watched folder: an absolute
 * path would be judged by the folders above it too) is not worth a reload: it lies in vendor/, node_modules/ or .git/, or is
 * an editor's swap, backup or temporary file (Vim's `.swp` and `4913`, `~`
 * backups, JetBrains' `___jb_tmp___`), which come and go around a real save.
 */
export function isIgnoredForLiveReload(path: string): boolean {
  const segments = path.split(/[\\/]+/).filter((segment) => segment.length > 0);
  if (segments.some((segment) => LIVE_RELOAD_IGNORED_FOLDERS.includes(segment))) return true;
  const name = segments[segments.length - 1] ?? '';
  return name === '' || name === '4913' || name.endsWith('~') || /\.(swp|swx|swo)$/i.test(name) || /___jb_(tmp|old)___$/.test(name);
}

/** `css` when every changed file is a stylesheet, else `reload`. */
export function liveReloadAction(files: readonly string[]): LiveReloadAction {
  return files.length > 0 && files.every((file) => /\.css$/i.test(file)) ? 'css' : 'reload';
}
