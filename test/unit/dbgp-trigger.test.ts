/** The Xdebug trigger cookie for one request, and the one-shot "Debug Next Request" matcher. */
import { describe, expect, it } from 'vitest';
import { DebugNextRequest, compilePathGlob } from '../../src/dbgp/requestMatcher';
import { withXdebugTrigger } from '../../src/dbgp/trigger';
import type { ParamList } from '../../src/fastcgi/params';

const base: ParamList = [
  ['REQUEST_METHOD', 'GET'],
  ['REQUEST_URI', '/'],
];

describe('withXdebugTrigger', () => {
  it('creates HTTP_COOKIE when the request has none', () => {
    expect(withXdebugTrigger(base)).toEqual([...base, ['HTTP_COOKIE', 'XDEBUG_TRIGGER=1']]);
  });

  it('appends to an existing cookie, whatever its trailing separators, and leaves the input list alone', () => {
    for (const [cookie, expected] of [
      ['a=1', 'a=1; XDEBUG_TRIGGER=1'],
      ['a=1; b=2', 'a=1; b=2; XDEBUG_TRIGGER=1'],
      ['a=1;', 'a=1; XDEBUG_TRIGGER=1'],
      ['a=1; ', 'a=1; XDEBUG_TRIGGER=1'],
      ['', 'XDEBUG_TRIGGER=1'],
    ]) {
      const params: ParamList = [...base, ['HTTP_COOKIE', cookie], ['HTTP_HOST', 'x']];
      const result = withXdebugTrigger(params);
      expect(result).toEqual([...base, ['HTTP_COOKIE', expected], ['HTTP_HOST', 'x']]);
      expect(params[2]).toEqual(['HTTP_COOKIE', cookie]);
    }
  });

  it('leaves a cookie that already carries the trigger as it is (PHP would keep its first value anyway)', () => {
    const params: ParamList = [['HTTP_COOKIE', 'a=1; XDEBUG_TRIGGER=PHPSTORM']];
    expect(withXdebugTrigger(params)).toBe(params);
    // A longer name is another cookie.
    expect(withXdebugTrigger([['HTTP_COOKIE', 'XDEBUG_TRIGGER_X=1']])).toEqual([['HTTP_COOKIE', 'XDEBUG_TRIGGER_X=1; XDEBUG_TRIGGER=1']]);
  });

  it('url-encodes a trigger value (xdebug.trigger_value) that a cookie cannot carry as is', () => {
    expect(withXdebugTrigger([], 'a b;c')).toEqual([['HTTP_COOKIE', 'XDEBUG_TRIGGER=a%20b%3Bc']]);
  });
});

describe('compilePathGlob', () => {
  const matches = (pattern: string, path: string): boolean => compilePathGlob(pattern).test(path);

  it('* stays within a segment, ** crosses them, ? is one character', () => {
    expect(matches('/api/*', '/api/orders')).toBe(true);
    expect(matches('/api/*', '/api/orders/7')).toBe(false);
    expect(matches('/api/**', '/api/orders/7')).toBe(true);
    expect(matches('/item/?', '/item/7')).toBe(true);
    expect(matches('/item/?', '/item/77')).toBe(false);
  });

  it('a pattern without a leading / matches a trailing part of the path after a /', () => {
    expect(matches('*.php', '/admin/users.php')).toBe(true);
    expect(matches('users.php', '/admin/users.php')).toBe(true);
    expect(matches('sers.php', '/admin/users.php')).toBe(false);
    expect(matches('api/**', '/v2/api/orders/7')).toBe(true);
  });

  it('treats regex characters literally and refuses an empty pattern', () => {
    expect(matches('/a.b(c)', '/a.b(c)')).toBe(true);
    expect(matches('/a.b', '/axb')).toBe(false);
    expect(() => compilePathGlob('  ')).toThrow('the path pattern is empty');
  });
});

describe('DebugNextRequest', () => {
  it('fires once for the next request, then is disarmed', () => {
    const next = new DebugNextRequest(() => 123);
    expect(next.take('/')).toBe(false);
    expect(next.arm()).toEqual({ pattern: null, since: 123 });
    expect(next.take('/favicon.ico')).toBe(true);
    expect(next.armed).toBeNull();
    expect(next.take('/')).toBe(false);
  });

  it('with a glob, waits for the first matching path (query string ignored), telling listeners of each change', () => {
    const next = new DebugNextRequest(() => 5);
    const seen: Array<string | null> = [];
    next.onDidChange((armed) => seen.push(armed === null ? null : (armed.pattern ?? '*next*')));
    next.arm(' /checkout/** ');
    expect(next.take('/assets/app.js')).toBe(false);
    expect(next.take('/?page=/checkout/pay')).toBe(false);
    expect(next.take('/checkout/pay?step=2')).toBe(true);
    expect(next.take('/checkout/pay')).toBe(false);
    next.arm('');
    expect(next.disarm()).toBe(true);
    expect(next.disarm()).toBe(false);
    expect(seen).toEqual(['/checkout/**', null, '*next*', null]);
  });

  it('arming again replaces the pattern; a blank one means the next request', () => {
    const next = new DebugNextRequest();
    next.arm('/a/*');
    next.arm('   ');
    expect(next.armed?.pattern).toBeNull();
    expect(next.take('/b')).toBe(true);
  });
});
