import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPoolServer, type PoolServer, type PoolServerOptions } from '../../src/gateway/poolServer';
import { isRunning, phpCgi, sleep, waitFor } from '../support/helpers';
import { isNginxFpmAvailable, startNginxFpm } from '../support/nginxFpm';

// A client that leaves while its script runs, with a real php-cgi: PHP's own
// rules decide how far the script runs (nginx + PHP-FPM and `php -S` behave
// so): a script that called ignore_user_abort(true) runs to its end (what
// WordPress's wp-cron.php and MediaWiki's deferred updates rely on), one that
// did not stops at its next output write. The worker is shown `finishing`
// meanwhile and is idle again afterwards, with no respawn.

let docroot: string;
let outDir: string;
const servers: PoolServer[] = [];

beforeAll(() => {
  docroot = realpathSync(mkdtempSync(join(tmpdir(), 'abort-app-')));
  outDir = realpathSync(mkdtempSync(join(tmpdir(), 'abort-out-')));
  // Works for ?s= seconds, writing output as it goes, and notes its end in ?out=.
  writeFileSync(
    join(docroot, 'job.php'),
    `<?php
ignore_user_abort(true);
$out = $_GET['out'];
file_put_contents($out, "start\\n");
$t0 = microtime(true);
while (microtime(true) - $t0 < (float)($_GET['s'] ?? 1)) {
    echo str_repeat(' ', 8192);
    flush();
    usleep(50000);
}
file_put_contents($out, sprintf("done after %.2f s\\n", microtime(true) - $t0), FILE_APPEND);
`,
  );
  // The same without ignore_user_abort: one line per tick, 40 ticks of 50 ms.
  writeFileSync(
    join(docroot, 'ticks.php'),
    `<?php
$out = $_GET['out'];
for ($i = 0; $i < 40; $i++) {
    file_put_contents($out, "tick $i\\n", FILE_APPEND);
    echo str_repeat('x', 8192), "\\n";
    flush();
    usleep(50000);
}
file_put_contents($out, "done\\n", FILE_APPEND);
`,
  );
  writeFileSync(join(docroot, 'pid.php'), '<?php echo getmypid();');
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop(1_000)));
});

afterAll(() => {
  rmSync(docroot, { recursive: true, force: true });
  rmSync(outDir, { recursive: true, force: true });
});

async function start(pool: PoolServerOptions['pool'] = {}): Promise<PoolServer> {
  const server = await startPoolServer({ documentRoot: docroot, pool: { phpCgi, minWorkers: 1, maxWorkers: 1, ...pool }, gateway: { port: 0 } });
  servers.push(server);
  return server;
}

/** Sends a GET on a raw socket and hangs up `afterMs` later (the request has reached its worker by then). */
async function hangUpAfter(port: number, target: string, afterMs: number): Promise<void> {
  const socket: Socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.on('data', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(`GET ${target} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
  await sleep(afterMs);
  socket.destroy();
}

const outFile = (name: string): string => join(outDir, `${name}-${Date.now()}-${Math.random().toString(36).slice(2)}.txt`);
const read = (file: string): string => (existsSync(file) ? readFileSync(file, 'utf8') : '');
/** The job's own measure of how long it ran, from its `done after X s` line. */
const duration = (file: string): number => Number(/done after ([\d.]+) s/.exec(read(file))?.[1] ?? NaN);

describe('a client that leaves while its script runs', () => {
  it('an ignore_user_abort(true) job runs to its end; its worker is shown finishing it, then idle again, warm', async () => {
    const server = await start();
    const pid = Number(await (await fetch(new URL('pid.php', server.url))).text());
    const out = outFile('job');
    await hangUpAfter(server.port, `/job.php?s=1.5&out=${encodeURIComponent(out)}`, 50);
    await waitFor(() => server.pool.snapshot().counts.finishing === 1, 'the worker to be shown finishing');
    const during = server.pool.snapshot();
    expect(during.counts).toMatchObject({ busy: 0, idle: 0, finishing: 1 });
    expect(during.workers[0]).toMatchObject({
      pid,
      state: 'finishing',
      lease: null,
      abandoned: { lease: { method: 'GET', uri: expect.stringContaining('/job.php?s=1.5') } },
    });
    expect(during.history.at(-1)?.outcome).toBe('client-abort');
    expect(read(out)).toBe('start\n');
    await waitFor(() => read(out).includes('done after'), 'the job to finish', 10_000);
    expect(duration(out)).toBeGreaterThanOrEqual(1.5);
    await waitFor(() => server.pool.snapshot().counts.idle === 1, 'the worker to be idle again');
    const after = server.pool.snapshot();
    expect(after.workers[0]).toMatchObject({ pid, state: 'idle', abandoned: null });
    expect(after.totals).toMatchObject({ spawned: 1, exited: 0, crashed: 0 });
    expect(after.findings).toEqual([]);
    expect(Number(await (await fetch(new URL('pid.php', server.url))).text())).toBe(pid);
  });

  it('a script without it stops at its next output write, and its worker is idle again at once', async () => {
    const server = await start();
    const pid = server.pool.snapshot().workers[0]?.pid as number;
    const out = outFile('ticks');
    await hangUpAfter(server.port, `/ticks.php?out=${encodeURIComponent(out)}`, 300);
    await waitFor(() => server.pool.snapshot().counts.idle === 1, 'the worker to be idle again', 5_000);
    const ticks = read(out)
      .split('\n')
      .filter((line) => line.startsWith('tick')).length;
    // It ran until the client left (~6 ticks of 50 ms), then stopped at its next write: never the 40 ticks, never "done".
    expect(ticks).toBeGreaterThan(0);
    expect(ticks).toBeLessThan(40);
    expect(read(out)).not.toContain('done');
    await sleep(300);
    expect(
      read(out)
        .split('\n')
        .filter((line) => line.startsWith('tick')).length,
    ).toBe(ticks);
    expect(server.pool.snapshot().workers[0]).toMatchObject({ pid, state: 'idle' });
    expect(isRunning(pid)).toBe(true);
  });

  it('300 aborted requests at 16 at a time: no respawn storm, every worker idle again when the scripts end, nothing killed', async () => {
    const server = await start({ minWorkers: 2, maxWorkers: 4, queueTimeoutMs: 30_000 });
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < 300) {
          next++;
          await hangUpAfter(server.port, `/ticks.php?out=${encodeURIComponent(outFile('burst'))}`, 20);
        }
      }),
    );
    await waitFor(
      () => {
        const counts = server.pool.snapshot().counts;
        return counts.busy === 0 && counts.finishing === 0 && server.pool.snapshot().queue.length === 0;
      },
      'the abandoned scripts to end',
      30_000,
    );
    const snapshot = server.pool.snapshot();
    expect(snapshot.totals.spawned).toBeLessThanOrEqual(4);
    expect(snapshot.totals).toMatchObject({ exited: 0, crashed: 0, busyTimeouts: 0 });
    expect(snapshot.counts).toMatchObject({ idle: snapshot.totals.spawned, error: 0 });
    expect(snapshot.findings).toEqual([]);
    for (const worker of snapshot.workers) expect(isRunning(worker.pid as number)).toBe(true);
    expect(snapshot.history.every((entry) => entry.outcome === 'client-abort')).toBe(true);
  }, 60_000);

  it('only the busy timeout ends an ignore_user_abort job that runs on for too long', async () => {
    const server = await start({ busyTimeoutMs: 800 });
    const pid = server.pool.snapshot().workers[0]?.pid as number;
    const out = outFile('long');
    await hangUpAfter(server.port, `/job.php?s=30&out=${encodeURIComponent(out)}`, 50);
    await waitFor(() => !isRunning(pid), 'the worker to be killed at the busy timeout', 5_000);
    expect(read(out)).toBe('start\n');
    const finding = server.pool.snapshot().findings.find((f) => f.kind === 'busy-timeout');
    expect(finding?.resolution?.detail).toBe('its client had left; the worker was killed and replaced');
    await waitFor(() => server.pool.snapshot().counts.idle === 1, 'a replacement');
  });
});

describe.skipIf(!isNginxFpmAvailable())('the same job under nginx + PHP-FPM (the reference)', () => {
  it('runs to its end too after its client left', async () => {
    const nginx = await startNginxFpm({ documentRoot: docroot, workers: 1 });
    try {
      const out = outFile('nginx-job');
      await hangUpAfter(nginx.port, `/job.php?s=1.5&out=${encodeURIComponent(out)}`, 50);
      await waitFor(() => read(out).includes('done after'), 'the job to finish under PHP-FPM', 10_000);
      expect(duration(out)).toBeGreaterThanOrEqual(1.5);
    } finally {
      await nginx.stop();
    }
  });
});
