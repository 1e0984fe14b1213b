import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readProcessStat } from '../../src/platform/processTable';
import { WorkerRegistry } from '../../src/platform/workerRegistry';
import { listeningUrl, spawnCli, stopCliRuns, keepBusy, killGroups, type CliRun } from '../support/cli';
import { isRunning, phpCgi, sleep, waitFor } from '../support/helpers';
import { noteLatency } from '../support/latencyLog';

const exampleApp = resolve(__dirname, '../../examples/hello-php');

const runs: CliRun[] = [];
const strays: number[] = [];
let scratch: string;

function runCli(args: string[]): CliRun {
  const run = spawnCli(['serve', exampleApp, '--port', '0', '--php-cgi', phpCgi, '--quiet', ...args]);
  runs.push(run);
  return run;
}

async function workerPids(url: string): Promise<number[]> {
  const status = (await (await fetch(new URL('.fastcgi-pool/status', url))).json()) as { workers: Array<{ pid: number }> };
  return status.workers.map((w) => w.pid);
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'stale-test-'));
});

afterEach(async () => {
  await stopCliRuns(runs, 'SIGTERM');
  killGroups(strays);
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('stale workers after the manager is SIGKILLed', () => {
  it('without the parent-death signal: the next start with the same state dir reports them and they are gone', async () => {
    const stateDir = join(scratch, 'no-pdeathsig');
    const first = runCli(['--state-dir', stateDir, '--no-pdeathsig', '--min-workers', '3', '--max-workers', '3']);
    const url = await listeningUrl(first);
    const pids = await workerPids(url);
    strays.push(...pids); // in case the test fails half-way
    expect(pids).toHaveLength(3);
    keepBusy(url);
    await sleep(200);
    first.child.kill('SIGKILL');
    await first.exit;
    // Orphaned (reparented) but alive, still holding their sockets: the case the registry exists
    // for. A parent-death signal, had one been armed, is sent while the kernel reparents them,
    // before the manager's exit is reported; rather than sleep to see none of them die, the
    // second run below must find all three still alive to stop ("cleaned 3").
    for (const pid of pids) {
      expect(readProcessStat(pid)?.ppid).not.toBe(first.child.pid);
      expect(isRunning(pid)).toBe(true);
    }
    const registered = readdirSync(stateDir).filter((name) => name.startsWith('workers-'));
    expect(registered).toEqual([`workers-${first.child.pid}.json`]);

    const second = runCli(['--state-dir', stateDir, '--min-workers', '1']);
    await listeningUrl(second);
    expect(second.stderr).toMatch(/cleaned 3 stale workers left by a previous run \(pids [\d, ]+\)/);
    for (const pid of pids) expect(isRunning(pid)).toBe(false);
    expect(readdirSync(stateDir)).toEqual([`workers-${second.child.pid}.json`]);
    second.child.kill('SIGTERM');
    expect(await second.exit).toBe(0);
    expect(readdirSync(stateDir)).toEqual([]);
  });

  it('with the parent-death signal (the default on Linux) the workers die with the manager', async () => {
    const stateDir = join(scratch, 'pdeathsig');
    const first = runCli(['--state-dir', stateDir, '--min-workers', '2']);
    const url = await listeningUrl(first);
    const pids = await workerPids(url);
    strays.push(...pids);
    keepBusy(url);
    await sleep(200);
    const killedAt = Date.now();
    first.child.kill('SIGKILL');
    await first.exit;
    await waitFor(() => pids.every((pid) => !isRunning(pid)), 'the workers to follow their parent', 2_000);
    noteLatency('every worker gone after the manager was SIGKILLed (pdeathsig or watchdog)', Date.now() - killedAt);
    const second = runCli(['--state-dir', stateDir]);
    await listeningUrl(second);
    expect(second.stderr).not.toContain('stale worker');
  });

  it('a worker busy with a script that never ends dies with its manager too', async () => {
    // php-cgi's SIGTERM only marks it to exit after the running script: hang.php waits for a lock in a
    // loop of sleeps, so with SIGTERM as the parent-death signal its worker outlived the manager.
    const first = spawnCli([
      'serve',
      resolve(__dirname, '../fixtures/php-stack'),
      '--port',
      '0',
      '--php-cgi',
      phpCgi,
      '--quiet',
      '--front-controller',
      'none',
      '--busy-timeout',
      '0',
    ]);
    runs.push(first);
    const url = await listeningUrl(first);
    const hanging = fetch(new URL('hang.php', url)).catch(() => undefined);
    const busy = async (): Promise<number> => ((await (await fetch(new URL('.fastcgi-pool/status', url))).json()) as { counts: { busy: number } }).counts.busy;
    for (let tries = 0; (await busy()) !== 1; tries++) {
      if (tries > 100) throw new Error('hang.php never ran');
      await sleep(20);
    }
    const pids = await workerPids(url);
    strays.push(...pids);
    first.child.kill('SIGKILL');
    await first.exit;
    await waitFor(() => pids.every((pid) => !isRunning(pid)), 'the busy worker to follow its manager', 2_000);
    await hanging;
  });

  it('never touches a registered pid whose start time differs (pid reuse)', async () => {
    const stateDir = join(scratch, 'reuse');
    const bystander = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    const pid = bystander.pid as number;
    strays.push(pid);
    await waitFor(() => readProcessStat(pid) !== null, 'the bystander');
    const startTime = (readProcessStat(pid)?.startTime as number) + 1;
    const registry = new WorkerRegistry(stateDir);
    // A file left by a manager that no longer runs (pid 2^22 + 1 cannot exist on Linux).
    writeFileSync(
      join(stateDir, 'workers-4194305.json'),
      JSON.stringify({ ownerPid: 4194305, ownerStartTime: 1, workers: [{ pid, startTime, pgid: pid, socketPath: join(stateDir, 'gone.sock') }] }),
    );
    const result = await registry.cleanStale();
    expect(result.killed).toEqual([]);
    expect(result.reusedPids).toEqual([pid]);
    expect(isRunning(pid)).toBe(true);
    expect(readdirSync(stateDir).filter((n) => n.endsWith('.json'))).toEqual([]);
    bystander.kill('SIGKILL');
  });

  it("keeps a live manager's registry alone", async () => {
    const stateDir = join(scratch, 'live-owner');
    const registry = new WorkerRegistry(stateDir);
    const bystander = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    const pid = bystander.pid as number;
    strays.push(pid);
    await waitFor(() => readProcessStat(pid) !== null, 'the bystander');
    const own = readProcessStat(process.ppid);
    const file = join(stateDir, `workers-${process.ppid}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        ownerPid: process.ppid,
        ownerStartTime: own?.startTime,
        workers: [{ pid, startTime: readProcessStat(pid)?.startTime, pgid: pid, socketPath: '/nonexistent' }],
      }),
    );
    const result = await registry.cleanStale();
    expect(result.killed).toEqual([]);
    expect(isRunning(pid)).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8')).ownerPid).toBe(process.ppid);
    bystander.kill('SIGKILL');
  });
});

describe('headless surface of findings', () => {
  it('reports a worker that dies mid-request on stderr, in --events and in the status JSON', async () => {
    const events = join(scratch, 'events.ndjson');
    const run = runCli(['--events', events, '--min-workers', '1']);
    const url = await listeningUrl(run);
    const res = await fetch(new URL('die', url)).catch(() => null);
    if (res) await res.text().catch(() => undefined);
    // A lost request is an error, as in the editor's Problems (shared/findings.ts: one severity rule).
    await waitFor(() => run.stderr.includes('error: defunct-busy'), 'the stderr error line', 3_000);
    expect(run.stderr).toMatch(/error: defunct-busy: worker w\d+ \(pid \d+\) was killed by SIGKILL while serving GET \/die \(.*index\.php\)/);
    const status = (await (await fetch(new URL('.fastcgi-pool/status', url))).json()) as {
      findings: Array<{ kind: string; workerId: string; pid: number; lease: { uri: string }; detectedAt: number; resolution: { how: string } | null }>;
      history: Array<{ uri: string; outcome: string }>;
    };
    expect(status.findings).toHaveLength(1);
    expect(status.findings[0]).toMatchObject({ kind: 'defunct-busy', lease: { uri: '/die' }, resolution: { how: 'reclaimed' } });
    expect(status.history.find((h) => h.uri === '/die')?.outcome).toBe('worker-died');
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    const lines = readFileSync(events, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; finding?: { kind: string } });
    expect(lines.filter((e) => e.type === 'finding').map((e) => e.finding?.kind)).toEqual(['defunct-busy']);
  });
});
