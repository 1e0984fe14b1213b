/**
 * Stopping a process for a read (src/platform/phpStack/stopForRead.ts) on
 * real processes: a sleeping one and a spinning shell loop. The read runs
 * while the process cannot run, and SIGCONT always follows, also when the
 * read throws.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { readProcState } from '../../src/platform/phpStack/procState';
import { withProcessStopped } from '../../src/platform/phpStack/stopForRead';
import { waitFor } from '../support/helpers';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

function start(command: string, args: string[]): number {
  const child = spawn(command, args, { stdio: 'ignore' });
  children.push(child);
  return child.pid as number;
}

const stateOf = (pid: number): string => readProcState(pid)?.state ?? 'gone';

describe.skipIf(process.platform !== 'linux')('withProcessStopped', () => {
  it('reads a sleeping process while it is stopped (T), then continues it', async () => {
    const pid = start('sleep', ['30']);
    await waitFor(() => stateOf(pid) === 'S', 'sleep to sleep');
    const during = withProcessStopped(pid, () => stateOf(pid), 1_000, undefined, Infinity);
    expect(during).toBe('T');
    await waitFor(() => stateOf(pid) === 'S', 'sleep to be continued');
  });

  it('holds a spinning process still for the read: its CPU time does not move', async () => {
    const pid = start('sh', ['-c', 'while :; do :; done']);
    await waitFor(() => stateOf(pid) === 'R', 'the loop to spin');
    for (let i = 0; i < 10; i++) {
      const [before, after] = withProcessStopped(
        pid,
        () => {
          const first = readProcState(pid)?.cpuTicks ?? 0;
          // Ten clock ticks (10 ms): a spinner left running gains several meanwhile (2-3 per 50 ms
          // measured on this loaded 2-core VM).
          const spinUntil = performance.now() + 100;
          while (performance.now() < spinUntil);
          return [first, readProcState(pid)?.cpuTicks ?? 0];
        },
        1_000,
      );
      // At most one: the stopped task may still be leaving the CPU in the kernel (no user code runs)
      // when the first read lands, and those microseconds can cross a tick boundary (seen once in CI).
      expect(after - before).toBeLessThanOrEqual(1);
      expect(stateOf(pid)).not.toBe('T');
    }
  });

  it('continues the process when the read throws', async () => {
    const pid = start('sleep', ['30']);
    await waitFor(() => stateOf(pid) === 'S', 'sleep to sleep');
    expect(() =>
      withProcessStopped(
        pid,
        () => {
          throw new Error('read failed');
        },
        1_000,
      ),
    ).toThrow('read failed');
    await waitFor(() => stateOf(pid) === 'S', 'sleep to be continued');
  });

  it('refuses a process that does not exist', () => {
    expect(() => withProcessStopped(999_999_999, () => 1, 100)).toThrow(/has exited/);
  });
});
