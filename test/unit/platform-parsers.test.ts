import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lsofArgs, parseLsofFields } from '../../src/platform/lsof';
import { descendantsIn, parseCpuTime, parsePsOutput, psArgs, PS_COLUMNS } from '../../src/platform/psOutput';
import { fileTimeToEpochMs, parseCimProcessCsv, parseCsv, parseTasklistCsv, POWERSHELL_ARGS, processName } from '../../src/platform/winProcessList';

/**
 * The parsers of the other systems' tools, on outputs written from their
 * documented formats (test/fixtures/platform/; the procps one recorded on
 * this machine): macOS `ps` (adv_cmds: cputime `m:ss.cc`, lstart strftime
 * `%c`, ucomm = p_comm), `lsof -F` (its "output for other programs"), and
 * the Windows process list (PowerShell's ConvertTo-Csv, tasklist /FO CSV).
 */
const fixture = (name: string): string => readFileSync(join(__dirname, '../fixtures/platform', name), 'utf8');
/** lstart is local time: the parser must read it back as the same local time. */
const localSeconds = (y: number, mo: number, d: number, h: number, mi: number, s: number): number => Math.floor(new Date(y, mo, d, h, mi, s).getTime() / 1000);

describe('ps (procps on Linux, macOS, the BSDs)', () => {
  it('asks one ps for the workers and the groups they lead, in the columns every ps knows', () => {
    expect(psArgs([5101, 5102, 5101])).toEqual(['-o', PS_COLUMNS, '-p', '5101,5102', '-g', '5101,5102']);
    expect(PS_COLUMNS).toBe('pid=,ppid=,pgid=,stat=,time=,rss=,lstart=,ucomm=');
  });

  it('reads macOS ps: state letters with flags, m:ss.cc CPU time, KiB, lstart, a name with spaces', () => {
    const stats = parsePsOutput(fixture('macos-ps.txt'));
    expect(stats.map((s) => s.pid)).toEqual([5101, 5102, 5200, 5201, 5203, 5204]);
    expect(stats[0]).toEqual({
      pid: 5101,
      ppid: 4242,
      pgrp: 5101,
      session: 0,
      state: 'S',
      startTime: localSeconds(2026, 11, 4, 9, 5, 7),
      comm: 'php-cgi',
      cpuMs: 210,
      rssKiB: 19872,
    });
    expect(stats.find((s) => s.pid === 5203)).toMatchObject({ state: 'Z', comm: 'php-cgi', ppid: 5101 });
    expect(stats.find((s) => s.pid === 5201)?.cpuMs).toBe(754_560);
    expect(stats.find((s) => s.pid === 5204)).toMatchObject({
      state: 'U',
      comm: 'php cgi helper',
      cpuMs: 7_425_670,
      startTime: localSeconds(2026, 10, 30, 23, 59, 59),
    });
  });

  it('reads procps ps (recorded here): hh:mm:ss CPU time and a zombie', () => {
    const stats = parsePsOutput(fixture('linux-procps-ps.txt'));
    expect(stats).toHaveLength(3);
    expect(stats[2]).toEqual({
      pid: 7398,
      ppid: 7397,
      pgrp: 7397,
      session: 0,
      state: 'Z',
      startTime: localSeconds(2026, 11, 4, 20, 40, 28),
      comm: 'sh',
      cpuMs: 0,
      rssKiB: 0,
    });
  });

  it('finds descendants in one reading, breadth first, across groups', () => {
    const stats = parsePsOutput(fixture('macos-ps.txt'));
    expect(descendantsIn(stats, 5200).map((s) => s.pid)).toEqual([5201]);
    expect(descendantsIn(stats, 4242).map((s) => s.pid)).toEqual([5101, 5102, 5200, 5203, 5204, 5201]);
    expect(descendantsIn(stats, 5203)).toEqual([]);
  });

  it('skips what is not a line of ours (a torn line, a header, a bad month) rather than guess', () => {
    const text = [
      '  PID  PPID',
      ' 12 1 12 S 0:00.00 10 Fri Foo  4 09:05:07 2026 x',
      ' 13 1 13 S 0:00.00',
      ' 14 1 14 S 0:00.00 10 Fri Dec  4 09:05:07 2026',
    ].join('\n');
    expect(parsePsOutput(text).map((s) => [s.pid, s.comm])).toEqual([[14, '']]);
  });

  it('reads CPU times in both dialects', () => {
    expect(parseCpuTime('00:00:00')).toBe(0);
    expect(parseCpuTime('01:02:03')).toBe(3_723_000);
    expect(parseCpuTime('2-01:00:00')).toBe(176_400_000);
    expect(parseCpuTime('0:00.05')).toBe(50);
    expect(parseCpuTime('123:45.67')).toBe(7_425_670);
    expect(parseCpuTime('-')).toBeNull();
    expect(parseCpuTime('1:2:3:4')).toBeNull();
  });
});

describe('lsof -F (macOS and Linux)', () => {
  it('asks for one process, TCP only, numeric, in field output', () => {
    expect(lsofArgs(5201)).toEqual(['-a', '-nP', '-p', '5201', '-iTCP', '-F', 'pcfPnT']);
  });

  it('reads connections, IPv6, listeners and half-open states', () => {
    expect(parseLsofFields(fixture('macos-lsof-F.txt'))).toEqual([
      { fd: 9, local: '127.0.0.1:52001', peer: '127.0.0.1:3306', tcpState: 'ESTABLISHED', description: 'tcp 127.0.0.1:52001 -> 127.0.0.1:3306 (ESTABLISHED)' },
      { fd: 10, local: '[::1]:52002', peer: '[::1]:6379', tcpState: 'CLOSE_WAIT', description: 'tcp [::1]:52002 -> [::1]:6379 (CLOSE_WAIT)' },
      { fd: 11, local: '*:9000', peer: null, tcpState: 'LISTEN', description: 'tcp *:9000 (LISTEN)' },
      {
        fd: 12,
        local: '192.168.1.20:52003',
        peer: '93.184.216.34:443',
        tcpState: 'SYN_SENT',
        description: 'tcp 192.168.1.20:52003 -> 93.184.216.34:443 (SYN_SENT)',
      },
    ]);
  });

  it('ignores files that are not numbered descriptors and anything that is not TCP', () => {
    const text = ['p1', 'cnode', 'fcwd', 'n/home', 'f3', 'PUDP', 'n127.0.0.1:5353', 'f4', 'PTCP', 'n127.0.0.1:1->127.0.0.1:2', ''].join('\r\n');
    expect(parseLsofFields(text)).toEqual([
      { fd: 4, local: '127.0.0.1:1', peer: '127.0.0.1:2', tcpState: null, description: 'tcp 127.0.0.1:1 -> 127.0.0.1:2' },
    ]);
    expect(parseLsofFields('')).toEqual([]);
  });
});

describe('the Windows process list', () => {
  it('asks PowerShell for CIM processes as CSV, with the creation time as a FILETIME (no locale, no wmic)', () => {
    const command = POWERSHELL_ARGS.at(-1) as string;
    expect(command).toContain('Get-CimInstance -ClassName Win32_Process');
    expect(command).toContain('ToFileTimeUtc()');
    expect(command).toContain('ConvertTo-Csv -NoTypeInformation');
    expect(POWERSHELL_ARGS.join(' ')).not.toMatch(/wmic/i);
  });

  it('reads Get-CimInstance Win32_Process | ConvertTo-Csv: parents, names without .exe, creation times, quoted names', () => {
    const stats = parseCimProcessCsv(fixture('windows-cim.csv'));
    expect(stats.map((s) => s.pid)).toEqual([0, 4, 6120, 7344, 7412, 7420, 7428, 7500]);
    expect(stats.find((s) => s.pid === 7412)).toEqual({
      pid: 7412,
      ppid: 7344,
      pgrp: 7412,
      session: 0,
      state: 'R',
      startTime: Date.UTC(2025, 11, 6, 10, 5, 23, 450),
      comm: 'php-cgi',
      rssKiB: 21_344,
    });
    expect(stats.find((s) => s.pid === 0)?.startTime).toBe(0);
    expect(stats.find((s) => s.pid === 7500)?.comm).toBe('a "quoted", name');
    // A wrapper (cmd.exe) and the php-cgi it started: the tree the reconciler walks.
    expect(descendantsIn(stats, 7344).map((s) => [s.pid, s.comm])).toEqual([
      [7412, 'php-cgi'],
      [7420, 'cmd'],
      [7500, 'a "quoted", name'],
      [7428, 'php-cgi'],
    ]);
  });

  it('reads the columns by their header, in any order', () => {
    const csv = '"Name","CreationDate","ProcessId","ParentProcessId","WorkingSetSize"\n"php-cgi.exe","","9","8","2048"\n';
    expect(parseCimProcessCsv(csv)).toEqual([{ pid: 9, ppid: 8, pgrp: 9, session: 0, state: 'R', startTime: 0, comm: 'php-cgi', rssKiB: 2 }]);
    expect(() => parseCimProcessCsv('"Name","Handle"\n"x","1"\n')).toThrow(/ProcessId/);
  });

  it('falls back to tasklist /FO CSV /NH: names, pids and memory in any digit grouping, no parents', () => {
    const stats = parseTasklistCsv(fixture('windows-tasklist.csv'));
    expect(stats.map((s) => [s.pid, s.comm, s.rssKiB])).toEqual([
      [0, 'System Idle Process', 8],
      [4, 'System', 140],
      [7344, 'node', 64_000],
      [7412, 'php-cgi', 21_344],
      [7428, 'php-cgi', 21_192],
    ]);
    expect(stats.every((s) => s.ppid === 0 && s.startTime === 0)).toBe(true);
  });

  it('parses CSV the RFC 4180 way and FILETIMEs exactly', () => {
    expect(parseCsv('a,"b ""c""",,"d,e"\r\n\r\n"f"')).toEqual([['a', 'b "c"', '', 'd,e'], ['f']]);
    expect(fileTimeToEpochMs('116444736000000000')).toBe(0);
    expect(fileTimeToEpochMs('134094891234500000')).toBe(1_765_015_523_450);
    expect(fileTimeToEpochMs('')).toBeNull();
    expect(processName('PHP-CGI.EXE')).toBe('PHP-CGI');
  });
});
