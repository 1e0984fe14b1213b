import { mkdirSync, mkdtempSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultResolveConfig, resolveRequest, type ResolveConfig, type Resolution } from '../../src/gateway/resolve';

// A throw-away docroot per run: symlinks, dotfiles and odd names cannot be
// committed portably (git refuses a nested .git/), so they are made here.
let base: string;
let root: string;
let config: ResolveConfig;

beforeAll(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), 'gw-resolve-')));
  root = join(base, 'root');
  const outside = join(base, 'outside');
  const sibling = join(base, 'root-evil'); // shares the root's name as a prefix
  const files: Record<string, string> = {
    'index.php': '<?php',
    'server.php': '<?php',
    'hello.txt': 'hello',
    'ünï.php': '<?php',
    'sub/index.html': '<p>sub',
    'app/index.php': '<?php',
    'htmlonly/index.html': '<p>html',
    'uploads/x.jpg': '<?php echo "pwned";',
    '.env': 'SECRET=1',
    '.git/config': '[core]',
    '.well-known/security.txt': 'Contact: x',
    '.well-known/.hidden': 'no',
    'index.php.bak': '<?php',
    'index.php~': '<?php',
    'index.php.orig': '<?php',
    'index.php.swp': 'x',
    'index.phps': '<?php',
    'index.php.save': '<?php',
    'index.php.old': '<?php',
    '#index.php#': '<?php',
    'UPPER.PHP': '<?php',
    'page.phtml': '<?php',
    'x.php.jpg': 'jpg?',
    'phpunit.xml': '<phpunit/>',
    'composer.phpunit': 'not php',
    's ub/index.html': 'space',
    '%2e': 'literal percent-two-e',
    'a\\b.txt': 'backslash in the name',
    'a.php.php': '<?php',
    'assets/app.css': 'body{}',
  };
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), content);
  }
  mkdirSync(join(root, 'empty'));
  mkdirSync(join(root, 'dir.php'));
  mkdirSync(outside);
  mkdirSync(sibling);
  writeFileSync(join(outside, 'secret.txt'), 'secret');
  writeFileSync(join(outside, 'evil.php'), '<?php');
  writeFileSync(join(sibling, 'f.txt'), 'sibling');
  symlinkSync(outside, join(root, 'link-out'));
  symlinkSync(join(outside, 'evil.php'), join(root, 'evil.php'));
  symlinkSync(join(outside, 'secret.txt'), join(root, 'secret.txt'));
  symlinkSync(join(sibling, 'f.txt'), join(root, 'sibling.txt'));
  symlinkSync(join(root, 'hello.txt'), join(root, 'link-in.txt'));
  symlinkSync(join(root, 'sub'), join(root, 'sub-link'));
  symlinkSync(join(root, 'loop-a'), join(root, 'loop-b'));
  symlinkSync(join(root, 'loop-b'), join(root, 'loop-a'));
  config = defaultResolveConfig(root);
});

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

const r = (target: string, cfg: Partial<ResolveConfig> = {}): Promise<Resolution> => resolveRequest(target, { ...config, ...cfg });

function script(scriptName: string, extra: { pathInfo?: string; documentUri?: string; queryString?: string; requestUri?: string } = {}): Resolution {
  return {
    kind: 'script',
    scriptFilename: root + scriptName,
    scriptName,
    pathInfo: extra.pathInfo ?? '',
    documentUri: extra.documentUri ?? scriptName,
    queryString: extra.queryString ?? '',
    requestUri: extra.requestUri ?? scriptName,
  };
}

const front = (requestUri: string, queryString = ''): Resolution => script('/index.php', { requestUri, queryString });
// A static resolution carries the stat resolve made of the file (so that serving it needs no second one).
const staticFile = (uriPath: string): Resolution => ({
  kind: 'static',
  filePath: root + uriPath,
  uriPath,
  stats: expect.objectContaining({ ino: statSync(root + uriPath).ino }),
});

describe('resolveRequest: scripts and PATH_INFO', () => {
  it('runs an existing script with the raw query', async () => {
    expect(await r('/server.php?a=1&b=%20x')).toEqual(script('/server.php', { queryString: 'a=1&b=%20x', requestUri: '/server.php?a=1&b=%20x' }));
  });

  it('splits PATH_INFO after the first .php segment; DOCUMENT_URI keeps it (nginx)', async () => {
    expect(await r('/index.php/a/b%20c?q=1')).toEqual(
      script('/index.php', { pathInfo: '/a/b c', documentUri: '/index.php/a/b c', queryString: 'q=1', requestUri: '/index.php/a/b%20c?q=1' }),
    );
  });

  it('gives PATH_INFO "/" for a trailing slash', async () => {
    expect(await r('/server.php/')).toEqual(script('/server.php', { pathInfo: '/', documentUri: '/server.php/', requestUri: '/server.php/' }));
  });

  it('normalises PATH_INFO before the split (nginx: //, .., %2f)', async () => {
    expect(await r('/index.php//a//b')).toMatchObject({ kind: 'script', pathInfo: '/a/b', documentUri: '/index.php/a/b' });
    expect(await r('/index.php/a/../b')).toMatchObject({ kind: 'script', pathInfo: '/b' });
    expect(await r('/index.php/a/..')).toMatchObject({ kind: 'script', pathInfo: '/', documentUri: '/index.php/' });
    expect(await r('/%C3%BCn%C3%AF.php/p%2Fq')).toMatchObject({ kind: 'script', scriptName: '/ünï.php', pathInfo: '/p/q' });
  });

  it('leaving the script through .. in PATH_INFO re-routes the request', async () => {
    // /server.php/../x is /x: not a script any more, so the front controller.
    expect(await r('/server.php/%2e%2e/x')).toEqual(front('/server.php/%2e%2e/x'));
  });

  it('runs unicode script names, raw UTF-8 decoded from percent-escapes', async () => {
    expect(await r('/%C3%BCn%C3%AF.php')).toEqual(script('/ünï.php', { requestUri: '/%C3%BCn%C3%AF.php' }));
  });

  it('decodes an encoded dot of the extension (/server%2Ephp)', async () => {
    expect(await r('/server%2Ephp')).toEqual(script('/server.php', { requestUri: '/server%2Ephp' }));
  });

  it('a missing script is 404, never the front controller', async () => {
    expect(await r('/nope.php')).toEqual({ kind: 'not-found' });
    expect(await r('/nope.php/x?y=1')).toEqual({ kind: 'not-found' });
  });

  it('NEVER runs an upload: /uploads/x.jpg/y.php is the missing script y.php', async () => {
    expect(await r('/uploads/x.jpg/y.php')).toEqual({ kind: 'not-found' });
    expect(await r('/uploads/x.jpg/.php')).toMatchObject({ kind: 'forbidden' });
    expect(await r('/uploads/x.jpg%2Fy.php')).toEqual({ kind: 'not-found' });
  });

  it('a directory named like a script is 404 (nginx: !-f)', async () => {
    expect(await r('/dir.php')).toEqual({ kind: 'not-found' });
    expect(await r('/dir.php/')).toEqual({ kind: 'not-found' });
  });

  it('takes the first .php followed by / or the end (nginx split regex)', async () => {
    expect(await r('/a.php.php')).toEqual(script('/a.php.php'));
    expect(await r('/a.php.php/x')).toEqual(script('/a.php.php', { pathInfo: '/x', documentUri: '/a.php.php/x', requestUri: '/a.php.php/x' }));
  });

  it('the extension match is case-sensitive; an upper-case .PHP file is refused, not run', async () => {
    expect(await r('/UPPER.PHP')).toMatchObject({ kind: 'forbidden' });
    expect(await r('/server.PHP')).toEqual(front('/server.PHP'));
  });

  it('a ;param or %3F after .php is not a script path (nginx falls back)', async () => {
    expect(await r('/server.php;x')).toEqual(front('/server.php;x'));
    expect(await r('/hello.txt%3Fx=1')).toEqual(front('/hello.txt%3Fx=1'));
  });
});

describe('resolveRequest: front controller', () => {
  it('routes missing paths with the original query (try_files ... /index.php?$query_string)', async () => {
    expect(await r('/no/such/route?x=y&z=%41')).toEqual(front('/no/such/route?x=y&z=%41', 'x=y&z=%41'));
    expect(await r('/no/such/route')).toEqual(front('/no/such/route'));
    expect(await r('/nonexist?')).toEqual(front('/nonexist?'));
  });

  it('a file name with a trailing slash does not exist (nginx)', async () => {
    expect(await r('/hello.txt/')).toEqual(front('/hello.txt/'));
  });

  it('a missing backup name still reaches the front controller', async () => {
    expect(await r('/gone.php.bak')).toEqual(front('/gone.php.bak'));
  });

  it('without a front controller a missing path is 404', async () => {
    expect(await r('/no/such/route', { frontController: null })).toEqual({ kind: 'not-found' });
  });

  it('a missing front controller script is 404', async () => {
    expect(await r('/x', { frontController: '/missing.php' })).toEqual({ kind: 'not-found' });
  });

  it('a non-script front controller (SPA shell) is served as a file', async () => {
    expect(await r('/deep/link?x=1', { frontController: '/sub/index.html' })).toEqual(staticFile('/sub/index.html'));
  });

  it('the #fragment is cut from path and query but kept in REQUEST_URI (nginx)', async () => {
    expect(await r('/server.php?x#y')).toEqual(script('/server.php', { queryString: 'x', requestUri: '/server.php?x#y' }));
    expect(await r('/server.php#frag?x=1')).toEqual(script('/server.php', { requestUri: '/server.php#frag?x=1' }));
  });

  it('QUERY_STRING is everything after the first ?, undecoded', async () => {
    expect(await r('/server.php?a=b?c=d&e=%00')).toMatchObject({ queryString: 'a=b?c=d&e=%00' });
  });
});

describe('resolveRequest: static files and directories', () => {
  it('serves an existing file', async () => {
    expect(await r('/hello.txt?v=2')).toEqual(staticFile('/hello.txt'));
    expect(await r('/assets/app.css')).toEqual(staticFile('/assets/app.css'));
  });

  it('redirects a directory without its slash, keeping a non-empty query', async () => {
    expect(await r('/sub')).toEqual({ kind: 'redirect', location: '/sub/' });
    expect(await r('/app?z=1')).toEqual({ kind: 'redirect', location: '/app/?z=1' });
    expect(await r('/sub?')).toEqual({ kind: 'redirect', location: '/sub/' });
  });

  it('percent-encodes the redirect so it cannot turn into //host or \\host', async () => {
    expect(await r('/s%20ub')).toEqual({ kind: 'redirect', location: '/s%20ub/' });
  });

  it('runs index.php of a directory with SCRIPT_NAME /dir/index.php (nginx)', async () => {
    expect(await r('/app/?z=1')).toEqual(script('/app/index.php', { queryString: 'z=1', requestUri: '/app/?z=1' }));
    expect(await r('/')).toEqual(script('/index.php', { requestUri: '/' }));
  });

  it('serves index.html when there is no index.php', async () => {
    expect(await r('/sub/')).toEqual(staticFile('/sub/index.html'));
    expect(await r('/sub/.')).toEqual(staticFile('/sub/index.html'));
    expect(await r('/sub//')).toEqual(staticFile('/sub/index.html'));
  });

  it('follows the configured index order', async () => {
    expect(await r('/htmlonly/', { indexFiles: ['index.php'] })).toMatchObject({ kind: 'forbidden' });
    expect(await r('/', { indexFiles: ['index.html', 'index.php'] })).toEqual(script('/index.php', { requestUri: '/' }));
  });

  it('a directory without an index is 403, as nginx answers (not the front controller)', async () => {
    expect(await r('/empty/')).toMatchObject({ kind: 'forbidden', reason: expect.stringContaining('no index file') });
  });

  it('a literal %2e file is reachable only as %252e (decoded once)', async () => {
    expect(await r('/%252e')).toEqual(staticFile('/%2e'));
    expect(await r('/%252e%252e/server.php')).toEqual({ kind: 'not-found' });
    expect(await r('/%252e%252e/hello.txt')).toEqual(front('/%252e%252e/hello.txt'));
  });

  it('a backslash is an ordinary byte in a name', async () => {
    expect(await r('/a%5Cb.txt')).toEqual(staticFile('/a\\b.txt'));
    expect(await r('/a\\b.txt')).toEqual(staticFile('/a\\b.txt'));
    expect(await r('/sub\\..\\server.php')).toEqual({ kind: 'not-found' });
    expect(await r('/sub%5C..%5Chello.txt')).toEqual(front('/sub%5C..%5Chello.txt'));
  });

  it('symlinks inside the root are followed', async () => {
    expect(await r('/link-in.txt')).toEqual(staticFile('/link-in.txt'));
    expect(await r('/sub-link/')).toEqual(staticFile('/sub-link/index.html'));
  });

  it('x.php.jpg is refused as a file (a PHP name with a suffix)', async () => {
    expect(await r('/x.php.jpg')).toMatchObject({ kind: 'forbidden' });
  });

  it('names that merely contain "php" are served', async () => {
    expect(await r('/phpunit.xml')).toEqual(staticFile('/phpunit.xml'));
    expect(await r('/composer.phpunit')).toEqual(staticFile('/composer.phpunit'));
  });

  it('a symlink loop is treated as missing', async () => {
    expect(await r('/loop-a')).toEqual(front('/loop-a'));
  });
});

describe('resolveRequest: hostile matrix', () => {
  const cases: Array<[string, Resolution['kind']]> = [
    // climbing out
    ['/../server.php', 'bad-request'],
    ['/..', 'bad-request'],
    ['/sub/../../hello.txt', 'bad-request'],
    ['/%2e%2e/server.php', 'bad-request'],
    ['/%2E%2E/%2E%2E/etc/passwd', 'bad-request'],
    ['/sub/%2e%2e/%2e%2e/etc/passwd', 'bad-request'],
    ['/index.php/..%2f..%2fetc', 'bad-request'],
    ['/.%2e/hello.txt', 'bad-request'],
    // encodings
    ['/hello%00.txt', 'bad-request'],
    ['/server.php%00.txt', 'bad-request'],
    ['/hel%zzlo.txt', 'bad-request'],
    ['/hello%2', 'bad-request'],
    ['/hello%', 'bad-request'],
    ['/%ff.txt', 'bad-request'],
    ['/%C3%28', 'bad-request'],
    ['/%ED%A0%80.txt', 'bad-request'], // UTF-8 encoded surrogate
    ['/index.php/a%0ab', 'bad-request'],
    ['/x%0d%0aSet-Cookie:%20a=b', 'bad-request'],
    ['/x%7f', 'bad-request'],
    // request-target forms
    ['http://other.example/server.php', 'bad-request'],
    ['HTTPS://localhost/', 'bad-request'],
    ['server.php', 'bad-request'],
    ['*', 'bad-request'],
    ['', 'bad-request'],
    // dotfiles
    ['/.env', 'forbidden'],
    ['/%2eenv', 'forbidden'],
    ['/.git/config', 'forbidden'],
    ['/.git/', 'forbidden'],
    ['/.git', 'forbidden'],
    ['/sub/../.env', 'forbidden'],
    ['/index.php/.env', 'forbidden'],
    ['/.hidden-missing', 'forbidden'],
    ['/.well-known/.hidden', 'forbidden'],
    ['/.php', 'forbidden'],
    // PHP source and backups
    ['/index.php.bak', 'forbidden'],
    ['/index.php~', 'forbidden'],
    ['/index.php.orig', 'forbidden'],
    ['/index.php.swp', 'forbidden'],
    ['/index.phps', 'forbidden'],
    ['/index.php.save', 'forbidden'],
    ['/index.php.old', 'forbidden'],
    ['/%23index.php%23', 'forbidden'],
    ['/.index.php.swp', 'forbidden'],
    ['/page.phtml', 'forbidden'],
    // things that must not crash or escape
    ['/' + 'a'.repeat(5000), 'script'], // ENAMETOOLONG → missing → front controller
    ['/sub/%2e', 'static'],
    ['/.well-known/security.txt', 'static'],
  ];
  it.each(cases)('%s → %s', async (target, kind) => {
    expect((await r(target)).kind).toBe(kind);
  });

  // Symlinks out of the root: followed by default (nginx), refused with `within-root`.
  const outOfRoot: Array<[string, Resolution['kind'], Resolution['kind']]> = [
    ['/link-out/secret.txt', 'static', 'forbidden'],
    ['/link-out/evil.php', 'script', 'forbidden'],
    ['/link-out', 'redirect', 'forbidden'],
    ['/link-out/', 'forbidden', 'forbidden'], // no index file there either way
    ['/evil.php', 'script', 'forbidden'],
    ['/secret.txt', 'static', 'forbidden'],
    ['/sibling.txt', 'static', 'forbidden'],
  ];
  it.each(outOfRoot)('%s → %s (follow), %s (within-root)', async (target, follow, withinRoot) => {
    expect((await r(target)).kind).toBe(follow);
    expect((await r(target, { symlinks: 'within-root' })).kind).toBe(withinRoot);
  });

  it('an invalid path is answered before the file system is touched', async () => {
    // A root that does not exist would make any fs access fail loudly.
    const bogus = { documentRoot: join(base, 'no-such-root') };
    expect((await r('/%00', bogus)).kind).toBe('bad-request');
    expect((await r('/.env', bogus)).kind).toBe('forbidden');
  });

  it('resolves a root given with a trailing slash', async () => {
    expect(await r('/hello.txt', { documentRoot: root + '/' })).toEqual(staticFile('/hello.txt'));
  });
});

describe('resolveRequest: symlinks followed, the name rules applied to where they lead', () => {
  // A Laravel-shaped app (public/storage → ../storage/app/public) in a
  // folder under a hidden one (~/.work/app), with links that lead to names
  // the rules refuse.
  let app: string;
  let pub: string;
  beforeAll(() => {
    app = join(base, '.work', 'app');
    pub = join(app, 'public');
    const files: Record<string, string> = {
      'public/index.php': '<?php',
      'storage/app/public/avatars/me.png': 'png',
      '.env': 'APP_KEY=secret',
      '.ssh/id_rsa': 'key',
      'config/app.php': '<?php return [];',
      'notes.txt': 'notes',
      'storage/app/public/.gitignore': '*',
    };
    for (const [rel, content] of Object.entries(files)) {
      mkdirSync(join(app, rel, '..'), { recursive: true });
      writeFileSync(join(app, rel), content);
    }
    symlinkSync('../storage/app/public', join(pub, 'storage'));
    symlinkSync('../.env', join(pub, 'env.txt'));
    symlinkSync('../.ssh', join(pub, 'keys'));
    symlinkSync('../config/app.php', join(pub, 'config.txt'));
    symlinkSync('../notes.txt', join(pub, 'run.php'));
    symlinkSync('../config/app.php', join(pub, 'app.php'));
  });
  const at = (target: string): Promise<Resolution> => resolveRequest(target, defaultResolveConfig(pub));

  it("serves a file through a link out of the root (Laravel's storage:link), under a hidden folder of its own", async () => {
    expect(await at('/storage/avatars/me.png')).toMatchObject({
      kind: 'static',
      filePath: join(pub, 'storage/avatars/me.png'),
      uriPath: '/storage/avatars/me.png',
    });
    expect((await at('/app.php')).kind).toBe('script');
  });

  it('refuses a link that leads to a dotfile or into a hidden folder', async () => {
    expect(await at('/env.txt')).toMatchObject({ kind: 'forbidden', reason: expect.stringContaining('".env", a hidden path segment') });
    expect(await at('/keys/id_rsa')).toMatchObject({ kind: 'forbidden', reason: expect.stringContaining('".ssh"') });
    expect((await at('/keys/')).kind).toBe('forbidden');
    // The requested path's own dot segments are refused as ever.
    expect((await at('/storage/.gitignore')).kind).toBe('forbidden');
  });

  it('refuses a link that serves PHP source, or runs a file that is not PHP', async () => {
    expect(await at('/config.txt')).toMatchObject({ kind: 'forbidden', reason: expect.stringContaining('"app.php", which looks like PHP source') });
    expect(await at('/run.php')).toMatchObject({ kind: 'forbidden', reason: expect.stringContaining('"notes.txt", which is not a .php file') });
  });

  it('within-root refuses them all, and the rest as before', async () => {
    const strict = (target: string): Promise<Resolution> => resolveRequest(target, { ...defaultResolveConfig(pub), symlinks: 'within-root' });
    expect(await strict('/storage/avatars/me.png')).toMatchObject({ kind: 'forbidden', reason: 'a symbolic link leads outside the document root' });
    expect((await strict('/index.php')).kind).toBe('script');
  });
});
