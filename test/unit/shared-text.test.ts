import { describe, expect, it } from 'vitest';
import {
  describeExit,
  describeRequest,
  exitSummary,
  formatClock,
  formatDuration,
  formatRequest,
  formatSpan,
  formatWholeDuration,
  plural,
} from '../../src/shared/text';

describe('shared text', () => {
  it('says how a process ended, after a subject or on its own', () => {
    expect(describeExit({ code: null, signal: 'SIGSEGV' })).toBe('was killed by SIGSEGV');
    expect(describeExit({ code: 255, signal: null })).toBe('exited with code 255');
    expect(describeExit({ code: null, signal: null })).toBe('exited with code ?');
    expect(exitSummary({ code: null, signal: 'SIGKILL' })).toBe('killed by SIGKILL');
    expect(exitSummary({ code: 0, signal: null })).toBe('exited with code 0');
  });

  it('counts with the right number', () => {
    expect(plural(0, 'worker')).toBe('0 workers');
    expect(plural(1, 'finding')).toBe('1 finding');
    expect(plural(3, 'stale worker')).toBe('3 stale workers');
  });

  it('words a duration with the precision that matters at its size', () => {
    const cases: Array<[number, string]> = [
      [0, '0 ms'],
      [0.4, '0 ms'],
      [400, '400 ms'],
      [999.6, '1000 ms'],
      [1_000, '1.0 s'],
      [1_599, '1.5 s'],
      [9_999, '9.9 s'],
      [10_000, '10 s'],
      [59_999, '59 s'],
      [60_000, '1 min 00 s'],
      [185_000, '3 min 05 s'],
      [3_600_000, '1 h 00 min'],
      [3_720_000, '1 h 02 min'],
      [-50, '0 ms'],
    ];
    for (const [ms, text] of cases) expect(formatDuration(ms), String(ms)).toBe(text);
    expect(formatDuration(null)).toBe('–');
    expect(formatDuration(Number.NaN)).toBe('–');
  });

  it('words a ticking time in whole seconds, and a time window in minutes when it is whole', () => {
    expect(formatWholeDuration(999)).toBe('0 s');
    expect(formatWholeDuration(12_999)).toBe('12 s');
    expect(formatWholeDuration(62_000)).toBe('1 min 02 s');
    expect(formatWholeDuration(-1)).toBe('0 s');
    expect(formatSpan(60_000)).toBe('1 min');
    expect(formatSpan(900_000)).toBe('15 min');
    expect(formatSpan(90_000)).toBe('1 min 30 s');
    expect(formatSpan(30_000)).toBe('30 s');
  });

  it('writes local clock times with two digits each', () => {
    const t = new Date(2026, 0, 2, 3, 4, 5).getTime();
    expect(formatClock(t)).toBe('03:04:05');
  });

  it('writes a request line, shortened in the middle when asked, and with its script where no location names it', () => {
    expect(formatRequest({ method: 'GET', uri: '/api/users?page=2' })).toBe('GET /api/users?page=2');
    const long = formatRequest({ method: 'POST', uri: `/upload/${'a'.repeat(100)}/end` }, 30);
    expect(long).toHaveLength(30);
    expect(long.startsWith('POST /upload/')).toBe(true);
    expect(long.endsWith('/end')).toBe(true);
    expect(long).toContain('…');
    expect(formatRequest({ method: 'GET', uri: '/short' }, 30)).toBe('GET /short');
    expect(describeRequest({ method: 'GET', uri: '/die', scriptFilename: '/srv/app/index.php' })).toBe('GET /die (/srv/app/index.php)');
  });
});
