/**
 * Recognising a PHP build from its executable alone, and finding where an
 * executable is loaded: the refusals (ZTS, debug, unknown version, other
 * CPUs) on images built here, the load bias on this very Node process.
 */
import { realpathSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ELF_MACHINE, readElfImage, type ElfImage } from '../../src/platform/phpStack/elf';
import { deviceName, findLoadBias, parseMaps } from '../../src/platform/phpStack/loadBias';
import { identifyPhpBuild } from '../../src/platform/phpStack/phpBuild';
import { ProcessMemory } from '../../src/platform/phpStack/processMemory';

function image(options: { rodata?: string; symbols?: string[]; machine?: number; egSize?: number }): ElfImage {
  const symbols = new Map((options.symbols ?? ['executor_globals']).map((name) => [name, { value: 0x56ad00, size: options.egSize ?? 1800 }]));
  return {
    machine: options.machine ?? ELF_MACHINE.x86_64,
    type: 3,
    firstLoad: { vaddr: 0, offset: 0 },
    symbols,
    rodata: Buffer.from(options.rodata ?? '\0junk\0API420220829,NTS\0X-Powered-By: PHP/8.2.36\0API20220829,NTS\0', 'latin1'),
  };
}

describe('identifyPhpBuild', () => {
  it('takes the engine API number from ZEND_MODULE_BUILD_ID (not the Zend extension one) and the version from X-Powered-By', () => {
    const verdict = identifyPhpBuild(image({}), '/usr/bin/php-cgi8.2');
    expect(verdict.ok && { ...verdict.build, minor: verdict.layout.phpMinor }).toEqual({
      version: '8.2.36',
      apiNo: 20220829,
      arch: 'x86_64',
      executorGlobals: { value: 0x56ad00, size: 1800 },
      minor: '8.2',
    });
    const arm = identifyPhpBuild(image({ machine: ELF_MACHINE.aarch64, rodata: 'X-Powered-By: PHP/8.4.27\0API20240924,NTS\0' }), 'php');
    expect(arm.ok && [arm.layout.phpMinor, arm.layout.arch]).toEqual(['8.4', 'aarch64']);
  });

  const refusals: Array<[string, Parameters<typeof image>[0], RegExp]> = [
    ['a thread-safe build by its symbols', { symbols: ['executor_globals_offset'], rodata: 'API20220829,TS\0' }, /thread-safe \(ZTS\) build/],
    ['a thread-safe build by its build id', { rodata: 'X-Powered-By: PHP/8.3.1\0API20230831,TS\0' }, /^PHP 8\.3\.1 is a thread-safe/],
    ['a debug build', { rodata: 'X-Powered-By: PHP/8.2.1\0API20220829,NTS,debug\0' }, /^PHP 8\.2\.1 is a debug build/],
    [
      'an unknown PHP version',
      { rodata: 'X-Powered-By: PHP/8.5.0\0API20250925,NTS\0' },
      /^PHP 8\.5\.0 \(engine API 20250925\) has no layout table; tables exist for PHP 8\.1, 8\.2, 8\.3, 8\.4$/,
    ],
    ['a version that contradicts its API number', { rodata: 'X-Powered-By: PHP/8.3.1\0API20220829,NTS\0' }, /says PHP 8\.3\.1 but carries engine API 20220829/],
    ['another CPU', { machine: 21 }, /no PHP layout tables for this CPU \(ELF machine 21\)/],
    ['a binary without the build id', { rodata: 'nothing here' }, /cannot tell which PHP version/],
    ['a binary that is not PHP', { symbols: [] }, /exports no executor_globals symbol/],
    ['an executor_globals too small for the table', { egSize: 64 }, /executor_globals is only 64 bytes/],
  ];
  for (const [what, options, reason] of refusals) {
    it(`refuses ${what} in one line`, () => {
      const verdict = identifyPhpBuild(image(options), '/usr/bin/php-cgi');
      expect(verdict.ok).toBe(false);
      expect(verdict.ok ? '' : verdict.reason).toMatch(reason);
      expect(verdict.ok ? '' : verdict.reason).not.toContain('\n');
    });
  }
});

describe.skipIf(process.platform !== 'linux')('load bias', () => {
  it('parses /proc/PID/maps lines, paths with spaces and (deleted) included', () => {
    const maps = parseMaps(
      '55d0c0a00000-55d0c0a2b000 r--p 00000000 fd:01 1234567   /usr/bin/php cgi (deleted)\n7ffd1000-7ffd2000 rw-p 00000000 00:00 0   [stack]\n',
    );
    expect(maps[0]).toEqual({
      start: 0x55d0c0a00000,
      end: 0x55d0c0a2b000,
      perms: 'r--p',
      offset: 0,
      device: 'fd:01',
      inode: 1234567,
      path: '/usr/bin/php cgi (deleted)',
    });
    expect(maps[1]?.path).toBe('[stack]');
    expect(deviceName(0xfd01)).toBe('fd:01');
    expect(deviceName(2049)).toBe('08:01');
  });

  it('finds where this Node binary is loaded: its ELF header is there in memory', () => {
    const exe = realpathSync('/proc/self/exe');
    const elf = readElfImage(exe, []);
    const bias = findLoadBias(process.pid, statSync('/proc/self/exe'), elf.firstLoad.vaddr);
    expect(bias).not.toBeNull();
    const memory = ProcessMemory.open(process.pid);
    try {
      expect(memory.read((bias as number) + elf.firstLoad.vaddr, 4, 'the ELF header').readUInt32BE(0)).toBe(0x7f454c46);
      expect(() => memory.read(0x1000, 8, 'the first page')).toThrow(/the first page: address 0x0000000000001000 is not mapped/);
    } finally {
      memory.close();
    }
  });

  it('says clearly when a process does not exist', () => {
    expect(() => ProcessMemory.open(999_999_999)).toThrow('process 999999999 does not exist');
  });
});
