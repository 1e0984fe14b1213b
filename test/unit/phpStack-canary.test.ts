/**
 * The canary check and the slowlog formatter on frames built here; the
 * canary against a real php-cgi is in test/integration/phpStack.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { CANARY_SOURCE, checkCanaryFrames } from '../../src/platform/phpStack/canary';
import { formatSlowlogStack, frameName } from '../../src/shared/slowlogFormat';
import type { PhpStackFrame } from '../../src/shared/stackTypes';

const script = '/tmp/fcgi-pool-x/fastcgi-pool-canary.php';
const lineOf = (marker: string): number => CANARY_SOURCE.split('\n').findIndex((line) => line.endsWith(`// canary:${marker}`)) + 1;

function frame(partial: Partial<PhpStackFrame>): PhpStackFrame {
  return { function: 'f', class: null, type: null, file: script, line: 1, internal: false, address: '0x00007f0000001000', ...partial };
}

function goodFrames(closureName = '{closure}'): PhpStackFrame[] {
  return [
    frame({ function: 'fread', file: null, line: null, internal: true }),
    frame({ function: 'hold', class: 'FastCgiPoolCanary', type: '::', line: lineOf('hold') }),
    frame({ function: 'enter', class: 'FastCgiPoolCanary', type: '->', line: lineOf('enter') }),
    frame({ function: closureName, line: lineOf('closure') }),
    frame({ function: 'fastcgi_pool_canary', line: lineOf('function') }),
    frame({ function: '{main}', line: lineOf('main') }),
  ];
}

describe('checkCanaryFrames', () => {
  it('accepts the canary’s chain, with PHP 8.4’s closure names too', () => {
    expect(checkCanaryFrames(goodFrames(), script)).toEqual({ ok: true });
    expect(checkCanaryFrames(goodFrames(`{closure:${script}:25}`), script)).toEqual({ ok: true });
    expect(checkCanaryFrames(goodFrames())).toEqual({ ok: true });
  });

  const mutations: Array<[string, (frames: PhpStackFrame[]) => void, RegExp]> = [
    ['a missing frame', (frames) => frames.pop(), /read 5 frames, the canary has 6/],
    [
      'a wrong function name',
      (frames) => Object.assign(frames[4] as PhpStackFrame, { function: 'fastcgi_pool_canar' }),
      /^frame 4: expected fastcgi_pool_canary\(\)/,
    ],
    ['a wrong class', (frames) => Object.assign(frames[1] as PhpStackFrame, { class: 'Other' }), /^frame 1: .*read Other::hold\(\)/],
    ['-> read as ::', (frames) => Object.assign(frames[2] as PhpStackFrame, { type: '::' }), /^frame 2: expected FastCgiPoolCanary->enter\(\)/],
    ['a wrong line', (frames) => Object.assign(frames[5] as PhpStackFrame, { line: 30 }), /^frame 5: .*\(line\)$/],
    ['a wrong file', (frames) => Object.assign(frames[3] as PhpStackFrame, { file: '/elsewhere/fastcgi-pool-canary.php' }), /^frame 3: .*\(file\)$/],
    ['an internal frame with a line', (frames) => Object.assign(frames[0] as PhpStackFrame, { line: 3 }), /an internal function has no file or line/],
    ['a user frame marked internal', (frames) => Object.assign(frames[5] as PhpStackFrame, { internal: true }), /^frame 5:/],
  ];
  for (const [what, mutate, reason] of mutations) {
    it(`rejects ${what}, saying which frame`, () => {
      const frames = goodFrames();
      mutate(frames);
      const verdict = checkCanaryFrames(frames, script);
      expect(verdict.ok).toBe(false);
      expect(verdict.ok ? '' : verdict.reason).toMatch(reason);
    });
  }
});

describe('slowlog format', () => {
  it('prints one frame a line as PHP-FPM’s slowlog does', () => {
    const frames = [
      frame({ function: 'usleep', file: null, line: null, internal: true, address: '0x00007f0a49e141c0' }),
      frame({ function: 'query', class: 'Repo', type: '->', file: '/app/slow.php', line: 3, address: '0x00007f0a49e14140' }),
      frame({ function: 'run', class: 'Registry', type: '::', file: '/app/slow.php', line: 6, address: '0x00007f0a49e14080' }),
      frame({ function: '{main}', file: '/app/slow.php', line: 9, address: '0x00007f0a49e14020' }),
    ];
    expect(formatSlowlogStack(frames, { indent: '  ', truncated: true })).toEqual([
      '  [0x00007f0a49e141c0] usleep() <internal>',
      '  [0x00007f0a49e14140] Repo->query() /app/slow.php:3',
      '  [0x00007f0a49e14080] Registry::run() /app/slow.php:6',
      '  [0x00007f0a49e14020] {main}() /app/slow.php:9',
      '  ... (more frames not read)',
    ]);
    expect(frameName({ function: 'x', class: 'C', type: null })).toBe('C::x');
  });
});
