import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPoolServer, type PoolServer } from '../../src/gateway/poolServer';
import { phpCgi } from '../support/helpers';

// A Laravel-shaped app as `php artisan storage:link` leaves it:
// public/storage → ../storage/app/public, outside the document root. nginx,
// Apache on Debian and `php -S` follow such links, and so does the pool by
// default; the dotfile and PHP-source rules still apply where they lead.

let app: string;
const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(2048)]);
const servers: PoolServer[] = [];

beforeAll(() => {
  app = realpathSync(mkdtempSync(join(tmpdir(), 'laravel-shaped-')));
  const files: Record<string, string | Buffer> = {
    'public/index.php': '<?php header("Content-Type: text/plain"); echo "routed ", parse_url($_SERVER["REQUEST_URI"], PHP_URL_PATH);',
    'storage/app/public/avatars/me.png': png,
    'storage/app/public/.gitignore': '*\n!.gitignore\n',
    'config/app.php': "<?php return ['key' => 'base64:secret'];",
    '.env': 'APP_KEY=base64:secret',
  };
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(join(app, rel, '..'), { recursive: true });
    writeFileSync(join(app, rel), content);
  }
  symlinkSync('../storage/app/public', join(app, 'public/storage'));
  // Links a careless developer might make: to a dotfile, and to PHP source under another name.
  symlinkSync('../.env', join(app, 'public/env.txt'));
  symlinkSync('../config/app.php', join(app, 'public/config.txt'));
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop(1_000)));
});

afterAll(() => rmSync(app, { recursive: true, force: true }));

async function start(symlinks?: 'follow' | 'within-root'): Promise<PoolServer> {
  const server = await startPoolServer({
    documentRoot: join(app, 'public'),
    pool: { phpCgi, minWorkers: 1, maxWorkers: 1 },
    gateway: { port: 0, ...(symlinks ? { symlinks } : {}) },
  });
  servers.push(server);
  return server;
}

describe("a symlink out of the document root (Laravel's public/storage)", () => {
  it('serves the file through it by default, as nginx does; the app still routes through its front controller', async () => {
    const server = await start();
    const image = await fetch(new URL('storage/avatars/me.png', server.url));
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await image.arrayBuffer()).equals(png)).toBe(true);
    const routed = await fetch(new URL('users/17', server.url));
    expect(await routed.text()).toBe('routed /users/17');
  });

  it('still refuses a dotfile reached through a symlink, and PHP source a link leads to', async () => {
    const server = await start();
    for (const path of ['storage/.gitignore', 'env.txt', 'config.txt']) {
      const res = await fetch(new URL(path, server.url));
      expect(res.status, path).toBe(403);
      expect(await res.text(), path).not.toContain('secret');
    }
  });

  it('refuses it with --symlinks within-root', async () => {
    const server = await start('within-root');
    const res = await fetch(new URL('storage/avatars/me.png', server.url));
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('a symbolic link leads outside the document root');
  });
});
