import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listeningUrl, spawnCli, stopCliRuns, type CliRun } from '../support/cli';
import { isRunning, phpCgi, sleep, waitFor } from '../support/helpers';

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
      expect(worker).toMatchObject({
        id: expect.any(String),
        pid: expect.any(Number),
        state: 'idle',
        accesses: expect.any(Number),
        startedAt: expect.any(Number),
        lease: null,
      });
    }
    const pids = status.workers.map((w) => w.pid);
    for (const pid of pids) expect(isRunning(pid)).toBe(true);

    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    for (const pid of pids) expect(isRunning(pid)).toBe(false);
    expect(run.stderr).toContain('no workers left running');

    const lines = readFileSync(events, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; time: string });
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

  it('gives a clear error for a busy port, naming the pid and command that hold it, and stops the workers it started', async () => {
    // The blocker is this test process: its pid and command line are what the message must name.
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const run = runCli(['serve', exampleApp, '--port', String(port), '--php-cgi', phpCgi]);
      expect(await run.exit).toBe(2);
      expect(run.stderr).toContain(`port ${port} on 127.0.0.1 is already in use by pid ${process.pid} (${process.execPath}`);
      expect(run.stderr).toContain('(--port)');
    } finally {
      blocker.close();
    }
  });

  it('without DOCROOT serves the public/ it detects in the current folder, and says so', async () => {
    const project = mkdtempSync(join(scratch, 'laravel-'));
    cpSync(resolve(__dirname, '../fixtures/layouts/laravel'), project, { recursive: true });
    const run = spawnCli(['serve', '--port', '0', '--php-cgi', phpCgi], process.env, project);
    running.push(run);
    const url = await listeningUrl(run);
    expect(await (await fetch(url)).text()).toBe('laravel');
    await waitFor(() => run.stderr.includes('document root'), 'the document root line');
    expect(run.stderr).toContain(`document root ${join(project, 'public')} (detected: public/index.php)`);
  });

  it('--live-reload with a public/ document root watches the project above it: app code outside public/ reloads too', async () => {
    const project = mkdtempSync(join(scratch, 'laravel-live-'));
    cpSync(resolve(__dirname, '../fixtures/layouts/laravel'), project, { recursive: true });
    const run = runCli(['serve', join(project, 'public'), '--port', '0', '--php-cgi', phpCgi, '--live-reload']);
    const url = new URL(await listeningUrl(run));
    await waitFor(() => run.stderr.includes('live reload: watching'), 'the watcher to start');
    expect(run.stderr).toContain(`live reload: watching ${project} (`);
    const events = await eventStream(Number(url.port));
    try {
      await waitFor(() => events.text().includes('event: hello'), 'the hello event');
      writeFileSync(join(project, 'app/Http/Kernel.php'), '<?php\n// edited\n');
      await waitFor(() => events.names().includes('reload'), 'a reload for app/Http/Kernel.php', 10_000);
      expect(events.text()).toContain('"files":["app/Http/Kernel.php"]');
    } finally {
      events.socket.destroy();
    }
  });

  it('--live-reload: a change under the project reloads the open pages; vendor/, node_modules/ and .git/ do not', async () => {
    const project = mkdtempSync(join(scratch, 'live-'));
    cpSync(exampleApp, project, { recursive: true });
    for (const ignored of ['vendor/acme', 'node_modules/pkg', '.git']) mkdirSync(join(project, ignored), { recursive: true });
    const run = runCli(['serve', project, '--port', '0', '--php-cgi', phpCgi, '--live-reload']);
    const url = new URL(await listeningUrl(run));
    await waitFor(() => run.stderr.includes('live reload: watching'), 'the watcher to start');
    expect(run.stderr).toMatch(/live reload: watching .* \(\d+ folders; not vendor\/, node_modules\/, \.git\/\)/);
    const page = await (await fetch(url)).text();
    expect(page).toContain('<script src="/.fastcgi-pool/live.js" async></script></body>');

    const events = await eventStream(Number(url.port));
    try {
      await waitFor(() => events.text().includes('event: hello'), 'the hello event');
      const next = async (what: string): Promise<string> => {
        const before = events.names().length;
        await waitFor(() => events.names().length > before, what, 10_000);
        return events.names().slice(before).join(' ');
      };
      // A PHP change reloads.
      writeFileSync(join(project, 'src/pages/home.php'), readFileSync(join(project, 'src/pages/home.php'), 'utf8') + '\n<p>edited</p>\n');
      expect(await next('a reload for src/pages/home.php')).toBe('reload');
      // Changes in ignored folders, then a stylesheet: had the ignored ones counted, the burst would be a reload.
      writeFileSync(join(project, 'vendor/acme/lib.php'), '<?php');
      writeFileSync(join(project, 'node_modules/pkg/index.js'), '');
      writeFileSync(join(project, '.git/index'), 'x');
      writeFileSync(join(project, 'assets/style.css'), readFileSync(join(project, 'assets/style.css'), 'utf8') + '\nbody { color: red; }\n');
      expect(await next('a css event for assets/style.css')).toBe('css');
      // A folder created after the start is watched too (a git checkout, a new module).
      mkdirSync(join(project, 'src/modules/blog'), { recursive: true });
      writeFileSync(join(project, 'src/modules/blog/post.php'), '<?php');
      expect(await next('a reload for a file in a new folder')).toBe('reload');
      expect(events.text()).toContain('"files":["assets/style.css"]');
    } finally {
      events.socket.destroy();
    }
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    expect(run.stderr).toMatch(/live reload: reload \(1 page\) after src\/pages\/home\.php changed/);
  });

  it.skipIf(process.platform !== 'linux')(
    "prints the PHP stack under a slow-request and a busy-timeout warning, one frame a line, as PHP-FPM's slowlog",
    async () => {
      const run = runCli([
        'serve',
        stackFixtures,
        '--port',
        '0',
        '--php-cgi',
        phpCgi,
        '--front-controller',
        'none',
        '--slowlog-timeout',
        '1s',
        '--busy-timeout',
        '2500ms',
        '-q',
      ]);
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
      expect(run.stderr).toMatch(
        /^warning: slow-request: worker w\d+ \(pid \d+\) passed the slowlog timeout while serving GET \/hang\.php \(.*hang\.php\) \(lease L\d+, 1\.\d s\)$/m,
      );
    },
  );

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

/** A raw connection to the live-reload event stream, with the names of the events received. */
function eventStream(port: number): Promise<{ socket: ReturnType<typeof connect>; text: () => string; names: () => string[] }> {
  return new Promise((ready, fail) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (data: Buffer) => (text += data.toString('utf8')));
    socket.on('error', fail);
    socket.on('connect', () => {
      socket.write(`GET /.fastcgi-pool/live HTTP/1.1\r\nHost: localhost:${port}\r\n\r\n`);
      ready({ socket, text: () => text, names: () => [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1] as string).filter((name) => name !== 'hello') });
    });
  });
}

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
