// The apps of the page-load benchmark (bench/pages.mjs): the example app, the
// heavier one and WordPress, each copied into a fresh world-readable temp dir
// (apache serves as www-data) with every file's mtime set to one time in the
// past. WordPress also needs a database, which start() runs and remove() stops.
//
// The mtime matters: nginx and apache send Last-Modified and an ETag but no
// Cache-Control, so Chrome keeps their files "heuristically fresh" for 10 % of
// their age and, on a reload, takes them from its cache without asking; we
// send max-age=0 and Chrome revalidates each one; php -S sends no validator
// and Chrome fetches each one again. With mtimes that grow older during the
// run, the first two would drift from revalidating to not asking at all.
import { chmodSync, cpSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { writeHeavyAssets } from '../apps/heavy/assets.mjs';
import { startWordPress, wordpressMissing, wordpressVersions, writeWordPress } from '../apps/wordpress/setup.mjs';

const REPO = resolve(import.meta.dirname, '../..');

export const PAGE_APPS = {
  hello: {
    label: 'hello-php',
    source: join(REPO, 'examples/hello-php'),
    /** The document root inside the copy. */
    docroot: '.',
    pages: ['/', '/hello/world', '/form'],
    quickPages: ['/'],
  },
  heavy: {
    label: 'heavy',
    source: join(REPO, 'bench/apps/heavy'),
    docroot: 'public',
    pages: ['/'],
    quickPages: ['/'],
    /** Not copied: the asset generator itself and the notes. */
    skip: ['assets.mjs', 'README.md'],
    generate: (copy) => writeHeavyAssets(join(copy, 'public')),
  },
  wordpress: {
    label: 'WordPress',
    /** No source to copy as it is: generate() resolves the package's symlinks into the copy. */
    docroot: 'wordpress',
    // The front page (the blog's index) and the sample post, through its pretty permalink.
    pages: ['/', '/hello-world/'],
    quickPages: ['/'],
    /** Why it cannot run here (null when it can): the run skips it, saying why. */
    missing: wordpressMissing,
    /** More lines for the report's versions. */
    versions: wordpressVersions,
    generate: writeWordPress,
    start: startWordPress,
  },
};

/** Every file and directory under `dir`. */
function walk(dir, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    out.push(path);
    if (entry.isDirectory()) walk(path, out);
  }
  return out;
}

/** Copies `app` into `dir`, stamps every file with `mtime`; returns { files, bytes }. */
function fill(app, dir, mtime) {
  const skip = new Set(app.skip ?? []);
  // No dotfiles (hello-php's .env holds a fake secret that no server may serve).
  if (app.source) cpSync(app.source, dir, { recursive: true, filter: (src) => !basename(src).startsWith('.') && !skip.has(basename(src)) });
  app.generate?.(dir);
  let files = 0;
  let bytes = 0;
  for (const path of [dir, ...walk(dir)]) {
    const stats = statSync(path);
    chmodSync(path, stats.isDirectory() ? 0o755 : 0o644);
    if (stats.isFile()) {
      files++;
      bytes += stats.size;
    }
  }
  for (const path of [dir, ...walk(dir)]) utimesSync(path, mtime, mtime);
  return { files, bytes };
}

/**
 * Copies app `id` into a temp dir. Returns { dir, docroot, files, bytes, start, remove }.
 * `mtime` (a Date) is given to every file and directory. start() runs what the
 * app needs besides its files, if anything; remove() stops that (even when
 * start() failed or is still running) and deletes the copy.
 */
export function createPageApp(id, { mtime }) {
  const app = PAGE_APPS[id];
  if (!app) throw new Error(`unknown app ${id}; known: ${Object.keys(PAGE_APPS).join(', ')}`);
  const dir = mkdtempSync(join(tmpdir(), `fcgi-pages-${id}-`));
  let counts;
  try {
    counts = fill(app, dir, mtime);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const stops = [];
  let removing = null;
  const remove = async () => {
    try {
      for (const stop of stops.splice(0).reverse()) await stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  return {
    dir,
    docroot: join(dir, app.docroot),
    ...counts,
    start: async () => app.start?.(dir, (stop) => stops.push(stop)),
    // Once only: Ctrl+C's handler and the run's own clean-up may both call it.
    remove: () => (removing ??= remove()),
  };
}
