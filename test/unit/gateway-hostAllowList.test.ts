import { describe, expect, it } from 'vitest';
import { isHostAllowed } from '../../src/gateway/hostAllowList';

describe('isHostAllowed', () => {
  const allowed = ['myapp.test', '*.example.test', 'pinned.test:8443', 'MixedCase.Test'];

  it.each([
    'localhost',
    'localhost:8080',
    'LOCALHOST:8080',
    'app.localhost',
    'a.b.localhost:3000',
    '127.0.0.1',
    '127.0.0.1:8080',
    '127.1.2.3',
    '127.255.255.255:1',
    '[::1]',
    '[::1]:8080',
    'myapp.test',
    'MYAPP.test:8080',
    'api.example.test',
    'a.b.example.test:99',
    'pinned.test:8443',
    'mixedcase.test',
  ])('allows %s', (host) => {
    expect(isHostAllowed(host, allowed)).toBe(true);
  });

  it.each<[string | undefined, string]>([
    [undefined, 'missing'],
    ['', 'empty'],
    ['evil.example', 'another name'],
    ['localhost.evil.example', 'localhost as a prefix'],
    ['evillocalhost', 'localhost as a suffix without a dot'],
    ['localhost.', 'trailing dot'],
    ['.localhost', 'empty label'],
    ['a..localhost', 'empty inner label'],
    ['0.0.0.0', '0.0.0.0'],
    ['0.0.0.0:8080', '0.0.0.0 with port'],
    ['128.0.0.1', 'not loopback'],
    ['127.0.0.256', 'octet out of range'],
    ['127.0.0', 'three octets'],
    ['127.1', 'short form'],
    ['0177.0.0.1', 'octal'],
    ['127.000.000.001', 'leading zeros'],
    ['2130706433', 'integer form'],
    ['[::2]', 'other IPv6'],
    ['[::ffff:127.0.0.1]', 'mapped IPv4'],
    ['[::1', 'unclosed bracket'],
    ['[::1]x', 'junk after bracket'],
    ['localhost:', 'empty port'],
    ['localhost:99999', 'port out of range'],
    ['localhost:80:80', 'two ports'],
    ['localhost:8o', 'non-digit port'],
    ['user@localhost', 'userinfo'],
    ['localhost@evil.example', 'userinfo trick'],
    ['localhost evil', 'space'],
    ['localhost,evil.example', 'two hosts'],
    ['localhost/x', 'path'],
    ['example.test', 'wildcard does not match its apex'],
    ['evil-example.test', 'wildcard suffix without dot'],
    ['pinned.test', 'pinned name without its port'],
    ['pinned.test:8080', 'pinned name on another port'],
    ['x_y.example.test:80:', 'bad port'],
  ])('refuses %j (%s)', (host) => {
    expect(isHostAllowed(host, allowed)).toBe(false);
  });

  it('configured names are optional', () => {
    expect(isHostAllowed('myapp.test', [])).toBe(false);
    expect(isHostAllowed('localhost:1234', [])).toBe(true);
  });

  it('ignores unusable configured entries instead of matching everything', () => {
    expect(isHostAllowed('evil.example', ['', ' ', '*', '[', ':80'])).toBe(false);
  });
});
