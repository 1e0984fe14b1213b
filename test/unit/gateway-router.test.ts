import { mkdtempSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultGatewayOptions } from '../../src/gateway/gateway';
import { hasDuplicateHost, Router, type RouterOptions } from '../../src/gateway/router';

// The router both HTTP fronts share: admission in a fixed order (one Host,
// an allowed Host, no TRACE/TRACK/CONNECT), the status path, then resolve
// against a real document root.

let root: string;
let options: RouterOptions;

beforeAll(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'gw-router-')));
  writeFileSync(join(root, 'index.php'), '<?php');
  writeFileSync(join(root, 'hello.txt'), 'hello');
  options = { ...defaultGatewayOptions, documentRoot: root };
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('Router.route', () => {
  it('routes a script and a static file as resolve does; the static route carries the file’s stat', () => {
    const router = new Router(options);
    expect(router.route('GET', '/index.php?a=1', 'localhost', false)).toMatchObject({ kind: 'script', scriptName: '/index.php', queryString: 'a=1' });
    const file = router.route('GET', '/hello.txt', 'localhost', false);
    expect(file).toMatchObject({ kind: 'static', filePath: join(root, 'hello.txt') });
    expect(file.kind === 'static' ? file.stats.ino : null).toBe(statSync(join(root, 'hello.txt')).ino);
  });

  it("routes the pool's controls beside the status path, and nothing else in that folder", () => {
    const router = new Router(options);
    expect(router.route('POST', '/.fastcgi-pool/debug-next?path=%2Fapi%2F**', 'localhost', false)).toEqual({ kind: 'control', action: 'debug-next' });
    expect(router.route('POST', '/.fastcgi-pool/debug-stop', 'localhost', false)).toEqual({ kind: 'control', action: 'debug-stop' });
    expect(router.route('GET', '/.fastcgi-pool/status', 'localhost', false)).toEqual({ kind: 'status' });
    expect(router.route('GET', '/.fastcgi-pool/debug-nextx', 'localhost', false).kind).not.toBe('control');
    // A foreign Host is refused before any control.
    expect(router.route('POST', '/.fastcgi-pool/debug-next', 'evil.example', false)).toMatchObject({ kind: 'refused', status: 421 });
  });

  it('answers a duplicate Host with 400 before it looks at the Host', () => {
    const router = new Router(options);
    expect(router.route('GET', '/index.php', 'evil.example', true)).toMatchObject({
      kind: 'refused',
      status: 400,
      detail: 'The request has more than one Host header.',
    });
    expect(router.route('TRACE', '/index.php', 'localhost', true)).toMatchObject({ kind: 'refused', status: 400 });
  });

  it('refuses a foreign Host with 421, also right after an allowed one (the remembered Host is only a shortcut)', () => {
    const router = new Router(options);
    expect(router.route('GET', '/index.php', 'localhost:8080', false).kind).toBe('script');
    expect(router.route('GET', '/index.php', 'localhost:8080', false).kind).toBe('script');
    const refused = router.route('GET', '/index.php', 'evil.example', false);
    expect(refused).toMatchObject({
      kind: 'refused',
      status: 421,
      title: 'Misdirected Request',
      detail: 'The Host header "evil.example" is not allowed here.',
    });
    expect(refused.kind === 'refused' ? refused.hints?.join(' ') : '').toMatch(/DNS rebinding/);
    expect(router.route('GET', '/index.php', undefined, false)).toMatchObject({
      kind: 'refused',
      status: 421,
      detail: 'The Host header "" is not allowed here.',
    });
    expect(router.route('GET', '/index.php', 'localhost:8080', false).kind).toBe('script');
  });

  it('accepts the names added to the allow-list', () => {
    const router = new Router({ ...options, allowedHosts: ['myapp.test'] });
    expect(router.route('GET', '/index.php', 'myapp.test', false).kind).toBe('script');
    expect(router.route('GET', '/index.php', 'other.test', false)).toMatchObject({ status: 421 });
  });

  it.each(['TRACE', 'TRACK', 'CONNECT'])('refuses %s with 405, after the Host check', (method) => {
    const router = new Router(options);
    expect(router.route(method, '/index.php', 'localhost', false)).toMatchObject({ kind: 'refused', status: 405, detail: `${method} is not supported.` });
    expect(router.route(method, '/index.php', 'evil.example', false)).toMatchObject({ kind: 'refused', status: 421 });
  });

  it('knows the status path, with or without a query, and nothing that merely starts like it', () => {
    const router = new Router(options);
    expect(router.route('GET', '/.fastcgi-pool/status', 'localhost', false)).toEqual({ kind: 'status' });
    expect(router.route('GET', '/.fastcgi-pool/status?pretty=1', 'localhost', false)).toEqual({ kind: 'status' });
    expect(router.route('GET', '/.fastcgi-pool/statusx', 'localhost', false)).toMatchObject({ kind: 'forbidden' });
    expect(router.route('GET', '/.fastcgi-pool/status/', 'localhost', false)).toMatchObject({ kind: 'forbidden' });
    expect(new Router({ ...options, statusPath: '/_status' }).route('GET', '/_status', 'localhost', false)).toEqual({ kind: 'status' });
  });

  it('turns a file system failure while resolving into a 500 refusal that names the target', () => {
    // A NUL in the root makes every stat() throw (not a "missing" error).
    const router = new Router({ ...options, documentRoot: `${root}\0broken` });
    expect(router.route('GET', '/hello.txt', 'localhost', false)).toMatchObject({
      kind: 'refused',
      status: 500,
      detail: expect.stringMatching(/^Cannot resolve \/hello\.txt: /),
    });
  });
});

describe('hasDuplicateHost', () => {
  it.each<[string[], boolean]>([
    [[], false],
    [['Host', 'localhost'], false],
    [['Host', 'localhost', 'X-Host', 'evil.example', 'Hostname', 'x'], false],
    [['Host', 'localhost', 'HOST', 'evil.example'], true],
    [['host', 'a', 'Accept', '*/*', 'hOsT', 'a'], true],
  ])('%j → %s', (rawHeaders, expected) => {
    expect(hasDuplicateHost(rawHeaders)).toBe(expected);
  });
});
