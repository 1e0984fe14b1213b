import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listeningUrl, spawnCli, stopCliRuns, type CliRun } from '../support/cli';
import { isRunning, phpCgi, waitFor } from '../support/helpers';

const exampleApp = resolve(__dirname, '../../examples/hello-php');
const stackFixtures = resolve(__dirname, '../fixtures/php-stack');

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

  it.skipIf(process.platform !== 'linux')('prints the PHP stack under a slow-request and a busy-timeout warning, one frame a line, as PHP-FPM\'s slowlog', async () => {
    const run = runCli(['serve', stackFixtures, '--port', '0', '--php-cgi', phpCgi, '--front-controller', 'none', '--slowlog-timeout', '1s', '--busy-timeout', '2500ms', '-q']);
    const url = await listeningUrl(run);
    // The canary runs once the pool has been quiet for a moment.
    for (let tries = 0; ; tries++) {
      const status = (await (await fetch(new URL('.fastcgi-pool/status', url))).json()) as { stacks: { state: string; reason: string | null } };
      if (status.stacks.state === 'on') break;
      if (tries > 200) throw new Error(`live stacks not on: ${JSON.stringify(status.stacks)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((await fetch(new URL('hang.php', url))).status).toBe(504);
    await waitFor(() => /warning: busy-timeout: .*\n( {2}.*\n)+/.test(run.stderr), 'the busy-timeout warning and its stack');
    const frames = (kind: string): string[] => {
      const lines = run.stderr.split('\n');
      const at = lines.findIndex((line) => line.startsWith(`warning: ${kind}: `));
      const block: string[] = [];
      for (const line of lines.slice(at + 1)) {
        if (!line.startsWith('  ')) break;
        block.push(line);
      }
      return block;
    };
    const hang = [
      /^ {2}wait: sleeping in (clock_)?nanosleep\(\)( for [\d.]+ m?s)?; \d+ ms CPU$/,
      /^ {2}\[0x[0-9a-f]{16}\] usleep\(\) <internal>$/,
      new RegExp(`^  \\[0x[0-9a-f]{16}\\] waitForLock\\(\\) ${stackFixtures}/hang\\.php:6$`),
      new RegExp(`^  \\[0x[0-9a-f]{16}\\] buildReport\\(\\) ${stackFixtures}/hang\\.php:12$`),
      new RegExp(`^  \\[0x[0-9a-f]{16}\\] \\{main\\}\\(\\) ${stackFixtures}/hang\\.php:16$`),
    ];
    for (const kind of ['slow-request', 'busy-timeout']) {
      const block = frames(kind);
      expect(block, `${kind}:\n${run.stderr}`).toHaveLength(hang.length);
      block.forEach((line, i) => expect(line, kind).toMatch(hang[i] as RegExp));
    }
    expect(run.stderr).toMatch(/^warning: slow-request: worker w\d+ \(pid \d+\) passed the slowlog timeout while serving GET \/hang\.php \(.*hang\.php\) \(lease L\d+, 1\.\d s\)$/m);
  });

  it('rejects bad options with a message that says what to change', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['serve', '--max-workers', 'lots'], /--max-workers takes a whole number/],
      [['serve', '--min-workers', '5', '--max-workers', '2'], /--min-workers \(5\) cannot exceed --max-workers \(2\)/],
      [['serve', '--busy-timeout', 'soon'], /--busy-timeout takes a time/],
      [['serve', '--slowlog-timeout', 'later'], /--slowlog-timeout takes a time/],
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
