import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { waitFor } from './helpers';

/** The built CLI (`npm test` builds before vitest runs). */
export const cliPath = resolve(__dirname, '../../dist/cli.js');

/** One run of `node dist/cli.js …`, with what it printed so far. */
export interface CliRun {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exit: Promise<number | null>;
}

/** Starts the CLI with `args`; the caller stops it (see {@link stopCliRuns}). */
export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv = process.env, cwd?: string): CliRun {
  const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env, cwd });
  const run: CliRun = { child, stdout: '', stderr: '', exit: new Promise((r) => child.once('exit', (code) => r(code))) };
  child.stdout?.on('data', (d: Buffer) => (run.stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (run.stderr += d.toString()));
  return run;
}

/** Waits for "Listening on URL" and returns the URL; throws with stderr if the CLI exits first. */
export async function listeningUrl(run: CliRun): Promise<string> {
  await waitFor(() => /Listening on (\S+)/.test(run.stdout) || run.child.exitCode !== null, 'the CLI to listen', 10_000);
  const match = /Listening on (\S+)/.exec(run.stdout);
  if (!match) throw new Error(`the CLI did not start: ${run.stderr}`);
  return match[1] as string;
}

/** Stops runs still going with `signal` and waits for each to exit. */
export async function stopCliRuns(runs: CliRun[], signal: NodeJS.Signals): Promise<void> {
  for (const run of runs.splice(0)) {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill(signal);
    await run.exit;
  }
}

/** Keeps three slow requests in flight until the server goes away: its workers are busy when a test kills it. */
export function keepBusy(url: string): void {
  for (let i = 0; i < 3; i++) {
    void (async () => {
      for (;;) {
        try {
          await (await fetch(new URL('slow?ms=300', url))).text();
        } catch {
          return;
        }
      }
    })();
  }
}

/** SIGKILLs the process group of each pid taken from `pids` (workers a test that failed half-way left behind). */
export function killGroups(pids: number[]): void {
  for (const pid of pids.splice(0)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
