import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPlatform, defaultPlatformId, PLATFORM_ENV, runsOn, selectPlatform } from '../../src/platform/platforms';
import { liveStackSupport } from '../../src/platform/phpStack/support';
import { WinTruthReader, type WindowsProcessSource } from '../../src/platform/winTruth';
import { describePlatform, platformLabel } from '../../src/shared/platform';
import { MAC_CAPABILITIES } from '../support/platforms';

describe('choosing the platform implementation', () => {
  it('takes the OS’s own unless FASTCGI_POOL_PLATFORM forces one that can run here', () => {
    expect(defaultPlatformId('linux')).toBe('linux');
    expect(defaultPlatformId('darwin')).toBe('portable-unix');
    expect(defaultPlatformId('freebsd')).toBe('portable-unix');
    expect(defaultPlatformId('win32')).toBe('windows');
    expect(selectPlatform({}, 'linux').id).toBe('linux');
    expect(selectPlatform({ [PLATFORM_ENV]: '' }, 'linux').id).toBe('linux');
    expect(selectPlatform({ [PLATFORM_ENV]: 'portable-unix' }, 'linux').id).toBe('portable-unix');
    expect(selectPlatform({ [PLATFORM_ENV]: 'windows-sim' }, 'darwin').id).toBe('windows-sim');
  });

  it('refuses a name that is no implementation, or one that cannot run on this OS, saying so', () => {
    expect(() => selectPlatform({ [PLATFORM_ENV]: 'macos' }, 'linux')).toThrow(
      'FASTCGI_POOL_PLATFORM=macos is not a platform; use one of linux, portable-unix, windows, windows-sim',
    );
    expect(() => selectPlatform({ [PLATFORM_ENV]: 'windows' }, 'linux')).toThrow('FASTCGI_POOL_PLATFORM=windows cannot run on linux');
    expect(() => selectPlatform({ [PLATFORM_ENV]: 'linux' }, 'darwin')).toThrow(/cannot run on darwin/);
    expect(runsOn('portable-unix', 'win32')).toBe(false);
  });

  it('puts each OS family’s parts together', () => {
    const parts = (id: Parameters<typeof createPlatform>[0]) => {
      const p = createPlatform(id);
      return { truth: p.truth.kind, address: p.transport().addressKind, stopper: p.stopper.constructor.name };
    };
    expect(parts('linux')).toEqual({ truth: 'proc', address: 'unix-socket', stopper: 'GroupStopper' });
    expect(parts('portable-unix')).toEqual({ truth: 'ps', address: 'unix-socket', stopper: 'GroupStopper' });
    expect(parts('windows')).toEqual({ truth: 'win', address: 'loopback-port', stopper: 'TreeStopper' });
    expect(parts('windows-sim')).toEqual({ truth: 'proc', address: 'loopback-port', stopper: 'TreeStopper' });
    expect(createPlatform('windows').guard(false).kind).toBe('job-object');
    expect(createPlatform('portable-unix').guard(false).kind).toBe('none');
  });

  it('claims live PHP stacks only on Linux x86_64 and aarch64', () => {
    const stacks = (os: string, arch: string): boolean => liveStackSupport(os, arch).stacks;
    expect(stacks('linux', 'x64')).toBe(true);
    expect(stacks('linux', 'arm64')).toBe(true);
    expect(stacks('linux', 'ia32')).toBe(false);
    expect(stacks('darwin', 'arm64')).toBe(false);
    expect(stacks('win32', 'x64')).toBe(false);
  });
});

describe('the capability flags, in words', () => {
  const mac = MAC_CAPABILITIES;

  it('says what is checked and what is not, the same in the tooltip and the dashboard', () => {
    expect(platformLabel(mac)).toBe('macOS');
    expect(describePlatform(mac)).toEqual([
      'process truth: one ps call per scan (state, zombies, descendants in the worker’s group)',
      'workers die with the manager (a watchdog that stops them when the manager’s pipe closes)',
      'workers listen on a private unix socket',
      'live PHP stacks: not available here',
    ]);
    expect(platformLabel({ ...mac, os: 'linux' })).toBe('Linux (portable Unix, forced)');
    expect(platformLabel({ ...mac, os: 'linux', implementation: 'windows-sim' })).toBe('Linux (simulating Windows)');
    expect(
      describePlatform({
        ...mac,
        os: 'win32',
        implementation: 'windows',
        processTruth: 'win',
        orphanGuard: 'job-object',
        workerAddress: 'loopback-port',
      }).slice(0, 3),
    ).toEqual([
      'process truth: the Windows process list (alive or gone; no zombies exist there)',
      'workers die with the manager (Windows Job Object); grandchildren are cleaned at the next start',
      'workers listen on a loopback port (php-cgi -b)',
    ]);
    expect(describePlatform({ ...mac, orphanGuard: 'none' })[1]).toBe('workers may outlive a crashed manager; the next start stops them (registry)');
  });
});

describe('the Windows process truth (with a recorded process list)', () => {
  const csv = readFileSync(join(__dirname, '../fixtures/platform/windows-cim.csv'), 'utf8');
  const tasklist = readFileSync(join(__dirname, '../fixtures/platform/windows-tasklist.csv'), 'utf8');
  /** A fake Windows: pids alive by OpenProcess, a clock, and counters of list reads. */
  function fakeWindows(alive: number[], options: { cimFails?: boolean } = {}) {
    const calls = { cim: 0, tasklist: 0 };
    let now = 1_765_015_523_450 + 100;
    const source: WindowsProcessSource = {
      cimList: () => {
        calls.cim++;
        return options.cimFails ? Promise.reject(new Error('powershell.exe ENOENT')) : Promise.resolve(csv);
      },
      tasklist: () => {
        calls.tasklist++;
        return Promise.resolve(tasklist);
      },
      isAlive: (pid) => alive.includes(pid),
      now: () => now,
    };
    return { source, calls, alive, advance: (ms: number) => (now += ms) };
  }

  it('alive by OpenProcess, identity from the creation time within 2 s, descendants from the list', async () => {
    const win = fakeWindows([7344, 7412, 7420, 7428]);
    const reader = new WinTruthReader(win.source);
    const reading = await reader.read([7412, 7420]);
    const created = 1_765_015_523_450;
    expect(reading.inspect(7412, created + 1_500)).toMatchObject({ status: 'alive', stat: { comm: 'php-cgi', ppid: 7344 } });
    expect(reading.inspect(7412, created + 5_000)).toEqual({ status: 'gone', reused: true });
    expect(reading.descendants(7420).map((d) => d.pid)).toEqual([7428]);
    // Exited since the list was read: OpenProcess says so at once.
    win.alive.splice(win.alive.indexOf(7428), 1);
    expect(reading.inspect(7428, null)).toEqual({ status: 'gone', reused: false });
    expect(reading.descendants(7420)).toEqual([]);
    expect(win.calls).toEqual({ cim: 1, tasklist: 0 });
  });

  it('reads the list again only when it is old or a live pid is new to it', async () => {
    const win = fakeWindows([7412, 9999]);
    const reader = new WinTruthReader(win.source, 10_000);
    await reader.read([7412]);
    await reader.read([7412]);
    expect(win.calls.cim).toBe(1);
    await reader.read([7412, 9999]); // a new worker
    expect(win.calls.cim).toBe(2);
    await reader.read([7412, 9999]); // still not listed (not ours to see): not read again for it
    expect(win.calls.cim).toBe(2);
    win.advance(10_001);
    await reader.read([7412]);
    expect(win.calls.cim).toBe(3);
  });

  it('without PowerShell, falls back to tasklist, which cannot tell a reused pid: it claims no identity', async () => {
    const win = fakeWindows([7412], { cimFails: true });
    const reader = new WinTruthReader(win.source);
    const reading = await reader.read([7412]);
    expect(win.calls).toEqual({ cim: 1, tasklist: 1 });
    expect(reading.inspect(7412, 123)).toMatchObject({ status: 'alive', stat: { comm: 'php-cgi' } });
  });

  it('records the spawn time as a new child’s start, and approximates its own', async () => {
    const win = fakeWindows([]);
    const reader = new WinTruthReader(win.source);
    expect(await reader.startTimeOf()).toBe(1_765_015_523_550);
    expect(reader.ownStartTime()).toBeLessThanOrEqual(1_765_015_523_550);
  });
});
