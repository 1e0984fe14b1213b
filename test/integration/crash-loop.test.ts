import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPoolServer, type PoolServer } from '../../src/gateway/poolServer';
import type { PoolEvent } from '../../src/pool/types';
import { isRunning, phpCgi, sleep, waitFor } from '../support/helpers';

// A real php-cgi that exits as soon as it starts: a php.ini whose
// opcache.preload names a file that does not exist ("PHP Fatal error:
// Failed opening required …", exit 255), the kind of mistake a developer
// makes in php.ini. Every spawn waits for the crash backoff, on-demand ones
// included, and a request gets a 503 at once that names the cause.

let docroot: string;
const servers: PoolServer[] = [];
const BROKEN_INI = { 'opcache.enable': '1', 'opcache.preload': '/nonexistent/preload.php', 'opcache.preload_user': 'root' };

beforeAll(() => {
  docroot = realpathSync(mkdtempSync(join(tmpdir(), 'crash-loop-')));
  writeFileSync(join(docroot, 'index.php'), '<?php echo "hello";');
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop(1_000)));
});

afterAll(() => rmSync(docroot, { recursive: true, force: true }));

describe('a php-cgi that exits as soon as it starts', () => {
  it('a client polling 20 times a second for 5 s: at most 10 spawns, every answer a 503 naming the exit and the stderr line, with Retry-After', async () => {
    const events: PoolEvent[] = [];
    const server = await startPoolServer({
      documentRoot: docroot,
      pool: { phpCgi, minWorkers: 1, maxWorkers: 4, ini: BROKEN_INI },
      gateway: { port: 0 },
      onPoolEvent: (event) => events.push(event),
    });
    servers.push(server);
    const answers: Array<{ status: number; retryAfter: string | null; body: string }> = [];
    for (const until = Date.now() + 5_000; Date.now() < until;) {
      const res = await fetch(new URL('index.php', server.url));
      answers.push({ status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() });
      await sleep(50);
    }
    const snapshot = server.pool.snapshot();
    expect(answers.length).toBeGreaterThanOrEqual(40);
    expect(snapshot.totals.spawned).toBeLessThanOrEqual(10);
    expect(events.filter((e) => e.type === 'worker-starting').length).toBeLessThanOrEqual(10);
    for (const answer of answers) {
      expect(answer.status).toBe(503);
      expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(answer.body).toMatch(/No PHP worker can start\. Worker w\d+ \(pid \d+\) exited with code 255 before it served a request/);
      expect(answer.body).toContain('PHP Fatal error:  Failed opening required');
    }
    // Nobody waited in the queue for a worker that was not coming.
    expect(snapshot.totals.queueRejected).toBe(0);
    // The snapshot says the same: the finding, the problem, the backoff.
    const failing = snapshot.findings.filter((f) => f.kind === 'spawn-failing');
    expect(failing).toHaveLength(1);
    expect(failing[0]).toMatchObject({ resolution: null, exit: { code: 255, signal: null } });
    expect(failing[0]?.message).toContain('PHP Fatal error:  Failed opening required');
    expect(snapshot.problem).toMatch(
      /^workers exit before serving: worker w\d+ .* exited with code 255 before serving a request; its stderr ends: .*Failed opening required/,
    );
    expect(snapshot.spawnBackoff?.consecutiveCrashes).toBe(snapshot.totals.crashed);
    for (const exit of snapshot.recentExits) expect(isRunning(exit.pid)).toBe(false);
  }, 30_000);

  it('once php.ini is fixed, the next attempt serves, and the finding is resolved', async () => {
    // The first worker is broken, the ones after it are not (as if php.ini was fixed meanwhile).
    const marker = join(docroot, 'broken-once');
    writeFileSync(marker, '');
    const wrapper = join(docroot, 'php-cgi-wrapper.sh');
    writeFileSync(
      wrapper,
      `#!/bin/sh\nif [ -e '${marker}' ]; then rm -f '${marker}'; echo 'PHP Fatal error:  Unable to start the session module' >&2; exit 1; fi\nexec '${phpCgi}' "$@"\n`,
      { mode: 0o755 },
    );
    const server = await startPoolServer({ documentRoot: docroot, pool: { phpCgi: wrapper, minWorkers: 1, maxWorkers: 2 }, gateway: { port: 0 } });
    servers.push(server);
    const first = await fetch(new URL('index.php', server.url));
    expect(first.status).toBe(503);
    expect(await first.text()).toContain('PHP Fatal error:  Unable to start the session module');
    await waitFor(() => server.pool.snapshot().counts.idle === 1, 'the next attempt to bring a worker up', 5_000);
    const second = await fetch(new URL('index.php', server.url));
    expect(second.status).toBe(200);
    expect(await second.text()).toBe('hello');
    const snapshot = server.pool.snapshot();
    expect(snapshot.problem).toBeNull();
    expect(snapshot.spawnBackoff).toBeNull();
    expect(snapshot.findings.find((f) => f.kind === 'spawn-failing')?.resolution).toMatchObject({ how: 'recovered' });
  });
});
