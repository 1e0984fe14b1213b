/**
 * The stack reader as an ordinary user, parent of its php-cgi: what the pool
 * is on a developer's machine (the suite itself may run as root, which may
 * read any process). When run as root, this test starts a bundled helper
 * (test/support/phpStackAsUser.ts) as `nobody` through setpriv: it must read
 * its own worker's stack, and be refused another user's worker with a clear
 * reason. As a non-root user the whole suite already is that case.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { createSocketDir, removeSocketDir } from '../../src/platform/spawnWorker';
import { phpCgi } from '../support/helpers';
import { PhpWorkerSet } from '../support/phpStackWorkers';

const isRoot = process.getuid?.() === 0;
const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));
const skipReason =
  process.platform !== 'linux'
    ? 'Linux only'
    : !isRoot
      ? 'not root: the whole suite already reads stacks as an ordinary user'
      : !setpriv
        ? 'no setpriv (util-linux)'
        : null;

const cleanups: Array<() => void | Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe.skipIf(skipReason !== null)(`stack reading as an unprivileged parent (${skipReason ?? 'as nobody'})`, () => {
  it('reads its own php-cgi child and is refused another user’s worker', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'phpstack-user-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    chmodSync(dir, 0o755);
    const bundle = join(dir, 'as-user.cjs');
    await build({
      entryPoints: [resolve(__dirname, '../support/phpStackAsUser.ts')],
      outfile: bundle,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      logLevel: 'warning',
    });
    const script = join(dir, 'nested.php');
    copyFileSync(resolve(__dirname, '../fixtures/php-stack/nested.php'), script);
    chmodSync(script, 0o644);
    chmodSync(bundle, 0o644);

    // A worker of this (root) process, which nobody may not read.
    const socketDir = createSocketDir();
    const workers = new PhpWorkerSet(socketDir, phpCgi);
    cleanups.push(async () => {
      await workers.stopAll(300);
      removeSocketDir(socketDir);
    });
    const foreign = await workers.start();

    const child = spawn(
      setpriv as string,
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        '--',
        process.execPath,
        bundle,
        execFileSync('readlink', ['-f', phpCgi], { encoding: 'utf8' }).trim(),
        script,
        String(foreign.pid),
      ],
      {
        cwd: dir,
        env: { ...process.env, HOME: dir },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    await new Promise<void>((resolvePromise) => child.once('close', () => resolvePromise()));
    const result = JSON.parse(out.trim().split('\n').pop() || `{"error":${JSON.stringify(err)}}`);
    expect(result.error).toBeUndefined();
    expect(result.uid).toBe(65534);
    expect(result.own.stack.ok).toBe(true);
    expect(result.own.stack.frames.map((frame: { function: string }) => frame.function)).toEqual(['usleep', 'query', 'find', 'controller', '{main}']);
    expect(result.own.wait).toMatchObject({ state: 'sleeping', syscall: expect.stringMatching(/nanosleep/) });
    expect(result.foreign).toEqual({ ok: false, unavailable: true, reason: expect.stringMatching(/^not allowed to read the memory of process \d+/) });
  });
});
