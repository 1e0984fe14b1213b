import { statSync } from 'node:fs';
import { join } from 'node:path';

/** The folders a PHP project keeps its public entry point in, in the order they are tried. */
export const DOCUMENT_ROOT_CANDIDATES: readonly string[] = ['public', 'web', 'htdocs'];

/** Where a folder's app is served from, and why. */
export interface DetectedDocumentRoot {
  /** Absolute path of the document root. */
  readonly path: string;
  /** Relative to the folder: `public`, `web`, `htdocs`, or `''` for the folder itself. */
  readonly relative: string;
  /** The entry point that decided it (`public/index.php`), or null when none was found and the folder itself is served. */
  readonly indexFile: string | null;
}

/**
 * Zero configuration for a plain folder: Laravel and Symfony serve
 * `public/`, Drupal and Craft `web/`, XAMPP-style projects `htdocs/`. The
 * first of them with an `index.php` is the document root; else the folder
 * itself (with its own `index.php` or without any).
 */
export function detectDocumentRoot(folder: string): DetectedDocumentRoot {
  for (const candidate of DOCUMENT_ROOT_CANDIDATES) {
    if (isFile(join(folder, candidate, 'index.php'))) return { path: join(folder, candidate), relative: candidate, indexFile: `${candidate}/index.php` };
  }
  return { path: folder, relative: '', indexFile: isFile(join(folder, 'index.php')) ? 'index.php' : null };
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
