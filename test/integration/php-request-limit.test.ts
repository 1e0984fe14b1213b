import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPoolServer, type PoolServer, type PoolServerOptions } from '../../src/gateway/poolServer';
import { phpCgi, waitFor } from '../support/helpers';

// A worker that exits right after its last answer is never taken for a
// crash. php-cgi's own request limit (PHP_FCGI_MAX_REQUESTS, which users set
// and which is 500 by default on Windows) makes it close its connection and
// exit right after the END_REQUEST of its last request; Node often reaps
// that exit before it has read the answer. Through a wrapper that sets the
// limit (the pool itself starts php-cgi with 0, no limit), and with our own
// recycling (--max-requests 1): 200 requests at 4 at a time, 0 errors, 0
// findings, no crash counted.

let docroot: string;
let bin: string;
const servers: PoolServer[] = [];

beforeAll(() => {
  docroot = realpathSync(mkdtempSync(join(tmpdir(), 'request-limit-')));
  bin = realpathSync(mkdtempSync(join(tmpdir(), 'request-limit-bin-')));
  writeFileSync(
    join(docroot, 'page.php'),
    '<?php header("Content-Type: text/plain"); echo "served by ", getmypid(), "\\n", str_repeat("x", (int)($_GET["n"] ?? 100));',
  );
  // A fatal error makes php-cgi's own exit code 255 at its limit: still no crash.
  writeFileSync(join(docroot, 'fatal.php'), '<?php undefined_function();');
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop(1_000)));
});

afterAll(() => {
  rmSync(docroot, { recursive: true, force: true });
  rmSync(bin, { recursive: true, force: true });
});

/** A php-cgi whose own request limit is `limit`. */
function limitedPhpCgi(limit: number): string {
  const wrapper = join(bin, `php-cgi-max-${limit}`);
  writeFileSync(wrapper, `#!/bin/sh\nPHP_FCGI_MAX_REQUESTS=${limit}\nexport PHP_FCGI_MAX_REQUESTS\nexec '${phpCgi}' "$@"\n`, { mode: 0o755 });
  return wrapper;
}

async function start(pool: PoolServerOptions['pool']): Promise<PoolServer> {
  const server = await startPoolServer({ documentRoot: docroot, pool: { phpCgi, minWorkers: 1, maxWorkers: 4, ...pool }, gateway: { port: 0 } });
  servers.push(server);
  return server;
}

/** `total` requests, `concurrency` at a time; the statuses that were not 200, and the pids that served. */
async function load(server: PoolServer, total: number, concurrency: number, path: (i: number) => string): Promise<{ failures: string[]; pids: Set<string> }> {
  const failures: string[] = [];
  const pids = new Set<string>();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const res = await fetch(new URL(path(i), server.url));
        const text = await res.text();
        if (res.status === 200 && text.startsWith('served by')) pids.add(text.split('\n')[0] as string);
        else if (!path(i).startsWith('fatal')) failures.push(`${res.status} ${text.slice(0, 200)}`);
      }
    }),
  );
  return { failures, pids };
}

async function settled(server: PoolServer): Promise<void> {
  await waitFor(
    () => {
      const s = server.pool.snapshot();
      return s.counts.busy === 0 && s.counts.error === 0 && s.counts.starting === 0;
    },
    'every recycled worker to be reaped',
    10_000,
  );
}

describe('a worker that leaves after its last answer', () => {
  for (const limit of [5, 1]) {
    it(`PHP_FCGI_MAX_REQUESTS=${limit}: 200 requests at 4 at a time, 0 errors, 0 findings, no crash`, async () => {
      const server = await start({ phpCgi: limitedPhpCgi(limit) });
      const { failures, pids } = await load(server, 200, 4, (i) => `page.php?i=${i}&n=${(i * 997) % 20_000}`);
      await settled(server);
      const snapshot = server.pool.snapshot();
      expect(failures).toEqual([]);
      expect(snapshot.findings).toEqual([]);
      expect(snapshot.totals.crashed).toBe(0);
      expect(snapshot.spawnBackoff).toBeNull();
      // Each worker served its limit (or fewer, the last ones) and left on its own: a recycle.
      expect(pids.size).toBeGreaterThanOrEqual(Math.floor(200 / limit) - 4);
      expect(snapshot.recentExits.every((exit) => exit.reason === 'max-requests' && exit.exit.signal === null)).toBe(true);
    }, 60_000);
  }

  it('exits with the status of a fatal error it served: still a recycle, and the next request is served', async () => {
    const server = await start({ phpCgi: limitedPhpCgi(2), maxWorkers: 1 });
    const page = await fetch(new URL('page.php', server.url));
    expect(page.status).toBe(200);
    await page.text();
    const fatal = await fetch(new URL('fatal.php', server.url));
    expect(fatal.status).toBe(500);
    await fatal.text();
    await waitFor(() => server.pool.snapshot().recentExits.length === 1, 'the worker to leave at its limit');
    // (php-cgi may exit with a script's exit status, e.g. 255 after a fatal error: the code says nothing.)
    expect(server.pool.snapshot().recentExits[0]).toMatchObject({ reason: 'max-requests', exit: { signal: null } });
    expect(server.pool.snapshot().totals.crashed).toBe(0);
    expect((await fetch(new URL('page.php', server.url))).status).toBe(200);
  });

  it('our own recycling (max requests 1): 200 requests at 4 at a time, 0 errors, 0 findings', async () => {
    const server = await start({ maxRequests: 1 });
    const { failures } = await load(server, 200, 4, (i) => `page.php?i=${i}`);
    await settled(server);
    const snapshot = server.pool.snapshot();
    expect(failures).toEqual([]);
    expect(snapshot.findings).toEqual([]);
    expect(snapshot.totals.crashed).toBe(0);
  }, 60_000);
});
