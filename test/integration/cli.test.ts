import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listeningUrl, spawnCli, stopCliRuns, type CliRun } from '../support/cli';
import { isRunning, phpCgi, sleep } from '../support/helpers';

const exampleApp = resolve(__dirname, '../../examples/hello-php');

const running: CliRun[] = [];
let scratch: string;

function runCli(args: string[], env?: NodeJS.ProcessEnv): CliRun {
  const run = spawnCli(args, env);
  running.push(run);
  return run;
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'cli-test-'));
});

afterEach(() => stopCliRuns(running, 'SIGKILL'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('fastcgi-pool serve', () => {
  it('serves the example app, reports status JSON, and leaves nothing running after SIGTERM', async () => {
    const events = join(scratch, 'events.ndjson');
    const run = runCli(['serve', exampleApp, '--port', '0', '--php-cgi', phpCgi, '--min-workers', '2', '--events', events]);
    const url = await listeningUrl(run);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);

    const home = await fetch(url);
    expect(home.status).toBe(200);
    const status = (await (await fetch(new URL('.fastcgi-pool/status', url))).json()) as {
      workers: Array<{ id: string; pid: number; state: string; accesses: number; startedAt: number; lease: unknown }>;
    };
    expect(status.workers.length).toBeGreaterThanOrEqual(2);
    for (const worker of status.workers) {
      expect(worker).toMatchObject({ id: expect.any(String), pid: expect.any(Number), state: 'idle', accesses: expect.any(Number), startedAt: expect.any(Number), lease: null });
    }
    const pids = status.workers.map((w) => w.pid);
    for (const pid of pids) expect(isRunning(pid)).toBe(true);

    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    for (const pid of pids) expect(isRunning(pid)).toBe(false);
    expect(run.stderr).toContain('no workers left running');

    const lines = readFileSync(events, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { type: string; time: string });
    expect(lines.some((e) => e.type === 'worker-ready')).toBe(true);
    expect(lines.some((e) => e.type === 'lease-acquired')).toBe(true);
    expect(lines.some((e) => e.type === 'request')).toBe(true);
    expect(lines.every((e) => typeof e.time === 'string')).toBe(true);
  });

  it('names the flag and the install command when php-cgi is missing, and spawns nothing', async () => {
    const run = runCli(['serve', exampleApp, '--port', '0', '--php-cgi', '/nonexistent/php-cgi']);
    expect(await run.exit).toBe(2);
    expect(run.stderr).toMatch(/php-cgi not found: "\/nonexistent\/php-cgi"/);
    expect(run.stderr).toContain('apt-get install php-cgi');
    expect(run.stderr).toContain('--php-cgi');
    expect(run.stdout).not.toContain('Listening');
  });

  it('gives a clear error for a busy port and stops the workers it started', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const run = runCli(['serve', exampleApp, '--port', String(port), '--php-cgi', phpCgi]);
      expect(await run.exit).toBe(2);
      expect(run.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
    } finally {
      blocker.close();
    }
  });

  it('rejects bad options with a message that says what to change', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['serve', '--max-workers', 'lots'], /--max-workers takes a whole number/],
      [['serve', '--min-workers', '5', '--max-workers', '2'], /--min-workers \(5\) cannot exceed --max-workers \(2\)/],
      [['serve', '--busy-timeout', 'soon'], /--busy-timeout takes a time/],
      [['serve', '/definitely/not/here', '--port', '0'], /document root not found: \/definitely\/not\/here/],
      [['serve', '--bogus'], /Unknown option '--bogus'/],
    ];
    for (const [args, message] of cases) {
      const run = runCli(args);
      expect(await run.exit, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(message);
    }
  });

  it('keeps a V8 code cache per command in its temp folder, and survives a corrupt one', async () => {
    const tmp = mkdtempSync(join(scratch, 'cache-'));
    const env = { ...process.env, TMPDIR: tmp };
    const cacheFiles = (): string[] => {
      const dirs = readdirSync(tmp).filter((name) => name.startsWith('fastcgi-pool-code-cache-'));
      return dirs.flatMap((dir) => readdirSync(join(tmp, dir)).map((file) => join(tmp, dir, file)));
    };
    expect(await runCli(['--help'], env).exit).toBe(0);
    const [cache] = cacheFiles();
    expect(cache).toMatch(/cli-other-v\d+.*\.bin$/);
    const size = statSync(cache as string).size;
    expect(size).toBeGreaterThan(1_000);
    // Used as it is: not written again.
    const before = statSync(cache as string).mtimeMs;
    expect(await runCli(['--help'], env).exit).toBe(0);
    expect(statSync(cache as string).mtimeMs).toBe(before);
    // Garbage is rejected by V8, the command still works, and a good cache replaces it.
    writeFileSync(cache as string, Buffer.alloc(size, 7));
    const run = runCli(['--help'], env);
    expect(await run.exit).toBe(0);
    expect(run.stdout).toContain('Usage: fastcgi-pool serve');
    expect(readFileSync(cache as string).equals(Buffer.alloc(size, 7))).toBe(false);
    // serve has its own.
    const serve = runCli(['serve', exampleApp, '--port', '0', '--php-cgi', phpCgi], env);
    await listeningUrl(serve);
    serve.child.kill('SIGTERM');
    expect(await serve.exit).toBe(0);
    expect(cacheFiles().some((file) => /cli-serve-/.test(file))).toBe(true);
  });
});

describe('fastcgi-pool serve: stopping whatever the clients do', () => {
  it('SIGTERM with clients that never read their responses: exits within the stop grace, workers reaped, port free', async () => {
    const docroot = join(scratch, 'stop-docroot');
    mkdirSync(docroot);
    writeFileSync(join(docroot, 'big.php'), '<?php $chunk = str_repeat("x", 65536); for ($i = 0; $i < 256; $i++) echo $chunk;');
    writeFileSync(join(docroot, 'big.bin'), Buffer.alloc(32 * 1024 * 1024, 7));
    writeFileSync(join(docroot, 'pid.php'), '<?php echo getmypid();');
    writeFileSync(join(docroot, 'asset.txt'), Buffer.alloc(200 * 1024, 'a'));
    const run = runCli(['serve', docroot, '--port', '0', '--php-cgi', phpCgi, '--min-workers', '2', '-q']);
    const url = new URL(await listeningUrl(run));
    const port = Number(url.port);
    const pids = ((await (await fetch(new URL('.fastcgi-pool/status', url))).json()) as { workers: Array<{ pid: number }> }).workers.map((w) => w.pid);
    await (await fetch(new URL('asset.txt', url))).arrayBuffer(); // from now on served from memory, whole
    // Clients that ask for large responses and never read them (a suspended curl, a paused tab): a
    // PHP page and a file still being written, and 20 pipelined small files written in full to a
    // socket they do not drain; and one client that read its response and keeps its connection open.
    const stalled = [['/big.php'], ['/big.bin'], Array<string>(20).fill('/asset.txt')].map((paths) => {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write(paths.map((path) => `GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`).join(''));
      socket.pause();
      return socket;
    });
    const idle = connect(port, '127.0.0.1');
    idle.on('error', () => undefined);
    const idleClosed = new Promise<void>((resolve) => idle.once('close', () => resolve()));
    await new Promise<void>((resolve) => {
      idle.once('data', () => resolve());
      idle.write('GET /pid.php HTTP/1.1\r\nHost: localhost\r\n\r\n');
    });
    await sleep(500); // the server writes what the sockets take, then waits on the clients
    const stopAt = Date.now();
    run.child.kill('SIGTERM');
    await idleClosed; // an idle keep-alive connection is closed at once
    const closedIdleAfter = Date.now() - stopAt;
    expect(await run.exit).toBe(0);
    const stoppedAfter = Date.now() - stopAt;
    // The stop contract (3 s grace by default), not a speed: before, a client that did not read kept the CLI alive for 15–20 s.
    expect(closedIdleAfter).toBeLessThan(1_000);
    expect(stoppedAfter).toBeLessThan(3_000 + 2_000);
    for (const pid of pids) expect(isRunning(pid)).toBe(false);
    await expect(portTaken(port)).resolves.toBe(false);
    for (const socket of stalled) socket.destroy();
  }, 20_000);
});

/** Whether something still listens on 127.0.0.1:`port`. */
function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
