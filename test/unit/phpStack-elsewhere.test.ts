/**
 * Away from Linux (macOS, Windows): the stack reader says in one line why
 * there is no stack, and the wait reason still gives what `ps` knows. The
 * platform is faked; `ps` is the real one (procps answers the same
 * `-o stat=,time=` as macOS's).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastCgiConnection } from '../../src/fastcgi';
import { PhpStackReader, readCpuTimeMs, runCanary } from '../../src/platform/phpStack';
import { waitFor } from '../support/helpers';

const realPlatform = process.platform;
let child: ChildProcess | null = null;

function pretend(platform: NodeJS.Platform): void {
  Object.defineProperty(process, 'platform', { value: platform, configurable: true });
}

beforeEach(() => pretend('darwin'));
afterEach(() => {
  pretend(realPlatform);
  child?.kill('SIGKILL');
  child = null;
});

describe.skipIf(realPlatform === 'win32')('live stacks elsewhere than Linux', () => {
  it('reads no stack and says why, in one line', () => {
    const reader = new PhpStackReader();
    const reason = "live PHP stacks need Linux's /proc (this system is darwin)";
    expect(reader.unavailableReason).toBe(reason);
    expect(reader.availability(process.pid)).toEqual({ available: false, reason });
    expect(reader.readStack(process.pid)).toEqual({ ok: false, reason, unavailable: true });
  });

  it('fails the canary at once, without a request, with the reason as its log line', async () => {
    const reader = new PhpStackReader();
    const untouched = new Proxy({} as FastCgiConnection, {
      get: () => {
        throw new Error('no request may be sent');
      },
    });
    const outcome = await runCanary({ connection: untouched, pid: process.pid, scriptPath: '/nowhere/canary.php', reader });
    expect(outcome).toEqual({
      ok: false,
      reason: "live PHP stacks need Linux's /proc (this system is darwin)",
      message: "live PHP stacks need Linux's /proc (this system is darwin)",
      frames: null,
      requestEnded: true,
    });
  });

  it('still gives the state and CPU time of a worker from ps', async () => {
    child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const pid = child.pid as number;
    const reader = new PhpStackReader();
    await waitFor(() => reader.waits.read(pid).state === 'sleeping', 'ps to see the child asleep');
    const wait = reader.sample(pid, { cpuBaselineMs: 0 }).wait;
    expect(wait).toEqual({ state: 'sleeping', syscall: null, fd: null, target: null, cpuMs: expect.any(Number), sinceMs: 0 });
    expect(readCpuTimeMs(pid)).toBeGreaterThanOrEqual(0);
    expect(reader.waits.read(999_999_999).state).toBe('gone');
  });
});
