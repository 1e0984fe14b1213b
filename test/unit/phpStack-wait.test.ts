/**
 * The pure parts of the wait reason: the system-call tables (checked against
 * the kernel headers installed here), /proc/PID/syscall lines, the address
 * format of /proc/net/tcp, `ps` CPU times.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeAddress } from '../../src/platform/phpStack/fdTarget';
import { SYSCALL_TABLES, lookupSyscall, restartedSyscall } from '../../src/platform/phpStack/syscalls';
import { parsePsTime } from '../../src/platform/phpStack/procState';
import { parseSyscallLine } from '../../src/platform/phpStack/waitReason';

/** `#define __NR_name N` and `#define __NR3264_name N` (+ `__NR_name __NR3264_name`) from a uapi header. */
function syscallNumbers(header: string): Map<string, number> {
  const text = readFileSync(header, 'latin1');
  const numbers = new Map<string, number>();
  const aliases = new Map<string, string>();
  for (const match of text.matchAll(/^#define __NR(?:3264)?_(\w+)\s+(\d+)\s*$/gm)) numbers.set(match[1] as string, Number(match[2]));
  for (const match of text.matchAll(/^#define __NR_(\w+)\s+__NR3264_(\w+)\s*$/gm)) aliases.set(match[1] as string, match[2] as string);
  for (const [name, target] of aliases) {
    const value = numbers.get(target);
    if (value !== undefined) numbers.set(name, value);
  }
  return numbers;
}

const HEADERS = {
  x64: ['/usr/include/x86_64-linux-gnu/asm/unistd_64.h', '/usr/include/asm/unistd_64.h'],
  arm64: ['/usr/include/asm-generic/unistd.h', '/usr/aarch64-linux-gnu/include/asm-generic/unistd.h'],
} as const;

describe('system call tables', () => {
  for (const arch of ['x64', 'arm64'] as const) {
    const header = HEADERS[arch].find((path) => existsSync(path));
    it.skipIf(!header)(`${arch}: every number matches the kernel header (${header ?? 'header not installed: apt-get install linux-libc-dev'})`, () => {
      const numbers = syscallNumbers(header as string);
      const table = SYSCALL_TABLES[arch];
      expect(Object.keys(table).length).toBeGreaterThan(20);
      for (const [number, info] of Object.entries(table)) {
        expect({ name: info.name, number: numbers.get(info.name) }).toEqual({ name: info.name, number: Number(number) });
      }
    });
  }

  it('names the calls PHP blocks in, with how to find their fd', () => {
    expect(lookupSyscall(7, 'x64')).toEqual({ name: 'poll', args: 'pollfds' });
    expect(lookupSyscall(73, 'arm64')).toEqual({ name: 'ppoll', args: 'pollfds' });
    expect(lookupSyscall(45, 'x64')).toEqual({ name: 'recvfrom', args: 'fd' });
    expect(lookupSyscall(232, 'x64').args).toBe('epoll');
    expect(lookupSyscall(9999, 'x64')).toEqual({ name: 'syscall 9999', args: 'none' });
    expect(lookupSyscall(0, 'ppc64')).toEqual({ name: 'syscall 0', args: 'none' });
  });
});

describe('/proc/PID/syscall lines', () => {
  it('reads the number and six arguments of a blocked call', () => {
    expect(parseSyscallLine('7 0x7ffd4c1b2a40 0x1 0xea60 0x0 0x0 0x0 0x7ffd4c1b2a28 0x7f3b1c2e3f4d')).toEqual({
      number: 7,
      args: [0x7ffd4c1b2a40n, 1n, 60000n, 0n, 0n, 0n],
    });
  });

  it('has no call for a running process or one outside a call', () => {
    expect(parseSyscallLine('running')).toBeNull();
    expect(parseSyscallLine('-1 0x7ffd4c1b2a28 0x7f3b1c2e3f4d')).toBeNull();
  });
});

describe('a call that a stop interrupted (restart_syscall)', () => {
  it('is poll when the task sleeps in poll, as /proc/PID/wchan names it', () => {
    // As read on Debian 12's kernel from a php-cgi blocked in fread() on a socket, stopped and continued.
    expect(restartedSyscall('poll_schedule_timeout.constprop.0')).toEqual({ name: 'poll', args: 'pollfds' });
    expect(restartedSyscall('do_sys_poll\n')).toEqual({ name: 'poll', args: 'pollfds' });
  });

  it('is unknown for any other sleep, or when wchan cannot be read', () => {
    for (const wchan of ['do_syscall_64', 'hrtimer_nanosleep', 'futex_wait_queue', '0', '']) expect(restartedSyscall(wchan)).toBeNull();
  });
});

describe('/proc/net addresses', () => {
  it('decodes IPv4 as the kernel prints it on a little-endian machine', () => {
    expect(decodeAddress('0100007F:0CEA', 'LE')).toBe('127.0.0.1:3306');
    expect(decodeAddress('7F000001:0CEA', 'BE')).toBe('127.0.0.1:3306');
  });

  it('decodes IPv6, compressing zeros, and shows IPv4-mapped addresses as IPv4', () => {
    expect(decodeAddress('00000000000000000000000001000000:1F90', 'LE')).toBe('[::1]:8080');
    expect(decodeAddress('0000000000000000FFFF00000100007F:0050', 'LE')).toBe('127.0.0.1:80');
    expect(decodeAddress('B80D0120000000000000000001000000:01BB', 'LE')).toBe('[2001:db8::1]:443');
  });
});

describe('ps CPU times (systems without /proc)', () => {
  it('reads mm:ss.cc, hh:mm:ss and dd-hh:mm:ss', () => {
    expect(parsePsTime('0:01.50')).toBe(1500);
    expect(parsePsTime('01:02:03')).toBe(3723000);
    expect(parsePsTime('2-00:00:01')).toBe(172801000);
  });
});
