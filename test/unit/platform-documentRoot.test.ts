import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectDocumentRoot } from '../../src/platform/documentRoot';

// Four project layouts (test/fixtures/layouts), each with the folder a PHP
// developer expects to be served, and a folder without any index.php.
const layouts = resolve(__dirname, '../fixtures/layouts');

describe('document root detection', () => {
  it('serves public/ of a Laravel-style project (its app code stays out of reach)', () => {
    expect(detectDocumentRoot(join(layouts, 'laravel'))).toEqual({ path: join(layouts, 'laravel/public'), relative: 'public', indexFile: 'public/index.php' });
  });

  it('serves web/ of a Drupal-style project, even next to a public/ that has no index.php', () => {
    expect(detectDocumentRoot(join(layouts, 'drupal'))).toEqual({ path: join(layouts, 'drupal/web'), relative: 'web', indexFile: 'web/index.php' });
  });

  it('serves htdocs/ of a XAMPP-style project', () => {
    expect(detectDocumentRoot(join(layouts, 'xampp'))).toEqual({ path: join(layouts, 'xampp/htdocs'), relative: 'htdocs', indexFile: 'htdocs/index.php' });
  });

  it('serves a plain folder itself when its index.php is at the top (a public/ of assets does not count)', () => {
    expect(detectDocumentRoot(join(layouts, 'plain'))).toEqual({ path: join(layouts, 'plain'), relative: '', indexFile: 'index.php' });
  });

  it('serves the folder itself, saying no index.php was found, when there is none anywhere', () => {
    const empty = mkdtempSync(join(tmpdir(), 'docroot-empty-'));
    try {
      expect(detectDocumentRoot(empty)).toEqual({ path: empty, relative: '', indexFile: null });
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
