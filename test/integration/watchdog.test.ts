import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PLATFORM_ENV } from '../../src/platform/platforms';
import { listChildren } from '../../src/platform/processTable';
import { Watchdog, WATCHDOG_NAME } from '../../src/platform/watchdog';
import type { PlatformCapabilities } from '../../src/shared/platform';
import { listeningUrl, spawnCli, stopCliRuns, keepBusy, killGroups, type CliRun } from '../support/cli';
import { isRunning, phpCgi, sleep, waitFor } from '../support/helpers';
import { noteLatency } from '../support/latencyLog';

/**
 * The portable Unix implementation (macOS, the BSDs) has no parent-death
 * signal: a watchdog stops the workers when the manager's pipe closes.
 * Here the manager is the CLI, forced to that implementation, SIGKILLed:
 * deactivate() / a signal handler never run, as when an extension host is
 * killed.
 */
const exampleApp = resolve(__dirname, '../../examples/hello-php');
const runs: CliRun[] = [];
const strays: number[] = [];
let scratch: string;

function runPortable(args: string[]): CliRun {
  const run = spawnCli(['serve', exampleApp, '--port', '0', '--php-cgi', phpCgi, '--quiet', ...args], { ...process.env, [PLATFORM_ENV]: 'portable-unix' });
  runs.push(run);
  return run;
}

async function status(url: string): Promise<{ workers: Array<{ pid: number }>; platform: PlatformCapabilities }> {
  return (await (await fetch(new URL('.fastcgi-pool/status', url))).json()) as { workers: Array<{ pid: number }>; platform: PlatformCapabilities };
}

/** The manager's watchdog: its child whose argv[0] names it. */
function watchdogOf(managerPid: number): number | undefined {
  return listChildren(managerPid).find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(WATCHDOG_NAME);
    } catch {
      return false;
    }
  });
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'watchdog-test-'));
});

afterEach(async () => {
  await stopCliRuns(runs, 'SIGTERM');
  killGroups(strays);
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the watchdog (portable Unix: no parent-death signal)', () => {
  it('the manager SIGKILLed: no php-cgi alive 2 s later; the next start finds nothing left to kill and removes the dead registry', async () => {
    const stateDir = join(scratch, 'killed-manager');
    const first = runPortable(['--state-dir', stateDir, '--min-workers', '3', '--max-workers', '3']);
    const url = await listeningUrl(first);
    const { workers, platform } = await status(url);
    expect(platform).toMatchObject({ implementation: 'portable-unix', processTruth: 'ps', pdeathsig: false, orphanGuard: 'watchdog' });
    const pids = workers.map((w) => w.pid);
    strays.push(...pids);
    expect(pids).toHaveLength(3);
    const watchdog = watchdogOf(first.child.pid as number);
    expect(watchdog).toBeDefined();
    keepBusy(url);
    await sleep(200);
    const killedAt = Date.now();
    first.child.kill('SIGKILL');
    await first.exit;
    await waitFor(() => pids.every((pid) => !isRunning(pid)), 'every php-cgi to be gone', 2_000);
    noteLatency('watchdog: 3 busy workers gone after the manager was SIGKILLed', Date.now() - killedAt);
    await waitFor(() => !isRunning(watchdog as number), 'the watchdog to exit', 3_000);
    // The registry still lists them (the manager could not clean up); the next start checks.
    expect(readdirSync(stateDir)).toEqual([`workers-${first.child.pid}.json`]);
    const second = runPortable(['--state-dir', stateDir]);
    await listeningUrl(second);
    expect(second.stderr).not.toContain('stale worker');
    expect(readdirSync(stateDir)).toEqual([`workers-${second.child.pid}.json`]);
  });

  it('a watchdog that was itself killed: the workers outlive the manager, and the next start cleans what the registry lists', async () => {
    const stateDir = join(scratch, 'killed-watchdog');
    const first = runPortable(['--state-dir', stateDir, '--min-workers', '2', '--max-workers', '2']);
    const url = await listeningUrl(first);
    const pids = (await status(url)).workers.map((w) => w.pid);
    strays.push(...pids);
    const watchdog = watchdogOf(first.child.pid as number) as number;
    process.kill(watchdog, 'SIGKILL');
    await waitFor(() => !isRunning(watchdog), 'the watchdog to die');
    first.child.kill('SIGKILL');
    await first.exit;
    for (const pid of pids) expect(isRunning(pid)).toBe(true);
    const second = runPortable(['--state-dir', stateDir]);
    await listeningUrl(second);
    expect(second.stderr).toMatch(/cleaned 2 stale workers left by a previous run \(pids [\d, ]+\)/);
    for (const pid of pids) expect(isRunning(pid)).toBe(false);
  });

  it('stops only the groups it still holds when its pipe closes', async () => {
    const group = (): number => {
      const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
      child.unref();
      strays.push(child.pid as number);
      return child.pid as number;
    };
    const [kept, released] = [group(), group()];
    const dog = new Watchdog();
    dog.adopt(kept, kept);
    dog.adopt(released, released);
    dog.release(released);
    dog.close();
    await waitFor(() => !isRunning(kept), 'the held group to be stopped', 3_000);
    await waitFor(() => !isRunning(dog.pid as number), 'the watchdog to exit', 3_000);
    expect(isRunning(released)).toBe(true);
  });
});
