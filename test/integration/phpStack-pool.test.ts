/**
 * Live PHP stacks through the pool (issue 13), with REAL php-cgi workers:
 * requests over HTTP to the fixtures in test/fixtures/php-stack, the stacks
 * read back from `GET /.fastcgi-pool/status?stacks=1`, the canary at pool
 * start (and turning the feature off when the table is wrong), and the
 * findings that carry a stack (busy-timeout, slow-request, defunct-busy).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Gateway } from '../../src/gateway/gateway';
import { startPoolServer, type PoolServer } from '../../src/gateway/poolServer';
import { readProcState } from '../../src/platform/phpStack/procState';
import { ProcessHost } from '../../src/platform/processHost';
import { Pool } from '../../src/pool/pool';
import type { Finding, LeaseSnapshot, PoolEvent, PoolSnapshot } from '../../src/pool/types';
import type { PhpStackFrame } from '../../src/shared/stackTypes';
import { isRunning, phpCgi, sleep, waitFor } from '../support/helpers';
import { PHP_STACK_FIXTURES } from '../support/phpStackWorkers';

const linux = process.platform === 'linux';

/** Frames without their addresses, files relative to the fixtures; closures named as PHP 8.2 and 8.4 both print them. */
function shape(frames: readonly PhpStackFrame[]): string[] {
  return frames.map((frame) => {
    const name = `${frame.class ? `${frame.class}${frame.type}` : ''}${frame.function.replace(/^\{closure:[^}]*\}$/, '{closure}')}()`;
    return frame.internal ? `${name} <internal>` : `${name} ${(frame.file ?? '?').replace(`${PHP_STACK_FIXTURES}/`, '')}:${frame.line}`;
  });
}

type Status = PoolSnapshot & { workers: Array<PoolSnapshot['workers'][number] & { lease: LeaseSnapshot | null }> };

async function status(url: string, stacks = true): Promise<Status> {
  const response = await fetch(`${url}.fastcgi-pool/status${stacks ? '?stacks=1' : ''}`);
  expect(response.status).toBe(200);
  return (await response.json()) as Status;
}

/** Polls the status (with stacks) until the lease of `uri` satisfies `ready`; returns that lease. */
async function leaseOf(url: string, uri: string, ready: (lease: LeaseSnapshot) => boolean, timeoutMs = 10_000): Promise<LeaseSnapshot> {
  const deadline = Date.now() + timeoutMs;
  let last: LeaseSnapshot | undefined;
  for (;;) {
    last = (await status(url)).workers.find((w) => w.lease?.uri === uri)?.lease ?? undefined;
    if (last && ready(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for the lease of ${uri}; last seen: ${JSON.stringify(last)}`);
    await sleep(25);
  }
}

/** Requests that stay in flight until the test ends (then aborted: the workers are recycled). */
const inFlight: AbortController[] = [];
function request(url: string, path: string): Promise<Response | null> {
  const controller = new AbortController();
  inFlight.push(controller);
  return fetch(`${url}${path.slice(1)}`, { signal: controller.signal }).catch(() => null);
}

afterEach(() => {
  for (const controller of inFlight.splice(0)) controller.abort();
});

describe.skipIf(!linux)('live PHP stacks through the pool and the status JSON', () => {
  let server: PoolServer;
  const events: PoolEvent[] = [];

  beforeAll(async () => {
    server = await startPoolServer({
      documentRoot: PHP_STACK_FIXTURES,
      pool: { phpCgi, minWorkers: 1, maxWorkers: 6, parentDeathSignal: true },
      gateway: { port: 0, frontController: null },
      onPoolEvent: (event) => events.push(event),
    });
    expect(await server.pool.stacks.whenChecked()).toEqual({ state: 'on', reason: null });
  });

  afterAll(async () => {
    await server?.stop(0);
  });

  it('ran the canary as a request through the pool, counting in nothing, and says so in the status', async () => {
    expect(events.filter((e) => e.type === 'stacks-status')).toEqual([{ type: 'stacks-status', status: { state: 'on', reason: null } }]);
    const plain = await status(server.url, false);
    expect(plain.stacks).toEqual({ state: 'on', reason: null });
    expect(plain.totals.requests).toBe(0);
    expect(plain.history).toEqual([]);
    // The canary's lease went through the lists like any other.
    const pid = (events.find((e) => e.type === 'worker-ready') as Extract<PoolEvent, { type: 'worker-ready' }>).pid;
    expect(events.filter((e) => e.type === 'worker-state' && e.pid === pid).map((e) => (e.type === 'worker-state' ? `${e.from}→${e.to}` : ''))).toEqual([
      'starting→idle',
      'idle→busy',
      'busy→idle',
    ]);
  });

  it('nested calls ending in usleep: every frame, innermost first, and the sleep as the wait', async () => {
    void request(server.url, '/nested.php?us=20000000');
    const lease = await leaseOf(server.url, '/nested.php?us=20000000', (l) => l.wait?.syscall === 'nanosleep' || l.wait?.syscall === 'clock_nanosleep');
    expect(shape(lease.stack ?? [])).toEqual([
      'usleep() <internal>',
      'Repo->query() nested.php:6',
      'Repo->find() nested.php:12',
      'controller() nested.php:18',
      '{main}() nested.php:21',
    ]);
    expect(Object.keys(lease.stack![1]!)).toEqual(['function', 'class', 'file', 'line', 'internal', 'type', 'address']);
    expect(lease.stack![1]).toMatchObject({ function: 'query', class: 'Repo', file: `${PHP_STACK_FIXTURES}/nested.php`, line: 6, internal: false });
    expect(Object.keys(lease.wait!)).toEqual(['state', 'syscall', 'fd', 'target', 'cpuMs', 'sinceMs']);
    expect(lease.wait).toMatchObject({ state: 'sleeping', fd: null, target: null });
    // CPU time of this request, from the lease's baseline: php-cgi needs a few ms to compile and run it.
    expect(lease.wait!.cpuMs).toBeLessThan(1_000);
    expect(lease).not.toHaveProperty('stackError');
    // The plain status carries no stack.
    const plain = (await status(server.url, false)).workers.find((w) => w.lease?.id === lease.id)?.lease;
    expect(plain).toBeDefined();
    expect(plain).not.toHaveProperty('stack');
    expect(plain).not.toHaveProperty('wait');
  });

  it('a CPU loop inside a method: read with the worker stopped for a moment, never left stopped', async () => {
    void request(server.url, '/cpu.php?s=20');
    const lease = await leaseOf(server.url, '/cpu.php?s=20', (l) => (l.stack ?? []).some((f) => f.function === 'spin') && (l.wait?.cpuMs ?? 0) > 200);
    const frames = shape(lease.stack!);
    expect(frames.at(-1)).toBe('{main}() cpu.php:15');
    expect(frames.at(-2)).toMatch(/^Hasher->spin\(\) cpu\.php:(8|9)$/);
    if (frames.length === 3) expect(frames[0]).toBe('microtime() <internal>');
    else expect(frames).toHaveLength(2);
    expect(lease.wait).toMatchObject({ state: 'running', syscall: null });
    const pid = (await status(server.url, false)).workers.find((w) => w.lease?.id === lease.id)!.pid!;
    for (let i = 0; i < 10; i++) {
      const again = (await status(server.url)).workers.find((w) => w.pid === pid)?.lease;
      expect(again?.stack?.some((f) => f.function === 'spin')).toBe(true);
      // The read stopped it (SIGSTOP) and continued it (SIGCONT) before the answer was sent.
      expect(readProcState(pid)?.state).not.toMatch(/^[Tt]$/);
    }
  });

  it('a script blocked reading from a local TCP server that never answers: the wait names the server', async () => {
    const held: Socket[] = [];
    const silent: Server = createServer((socket) => held.push(socket.on('data', () => undefined)));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const uri = `/socket.php?to=127.0.0.1:${port}`;
      void request(server.url, uri);
      const lease = await leaseOf(server.url, uri, (l) => /^p?poll$/.test(l.wait?.syscall ?? ''));
      expect(shape(lease.stack!)).toEqual(['fread() <internal>', 'fetchRemote() socket.php:6', '{main}() socket.php:9']);
      expect(lease.wait).toMatchObject({ state: 'sleeping', target: { kind: 'tcp', peer: `127.0.0.1:${port}`, tcpState: 'ESTABLISHED' } });
      expect(lease.wait!.fd).toBeGreaterThan(2);
      expect(lease.wait!.target!.description).toBe(`tcp ${lease.wait!.target!.local} -> 127.0.0.1:${port} (ESTABLISHED)`);
    } finally {
      for (const socket of held) socket.destroy();
      silent.close();
    }
  });

  it('an included file: frames from two files', async () => {
    void request(server.url, '/include.php?us=20000000');
    const lease = await leaseOf(server.url, '/include.php?us=20000000', (l) => l.stack?.[0]?.function === 'usleep');
    expect(shape(lease.stack!)).toEqual(['usleep() <internal>', 'helper() included.php:4', 'require() included.php:7', '{main}() include.php:3']);
  });

  it('a closure and a static method, named as PHP names them', async () => {
    void request(server.url, '/closure.php?us=20000000');
    const lease = await leaseOf(server.url, '/closure.php?us=20000000', (l) => l.stack?.[0]?.function === 'usleep');
    expect(shape(lease.stack!)).toEqual(['usleep() <internal>', '{closure}() closure.php:11', 'Registry::run() closure.php:6', '{main}() closure.php:10']);
    expect(lease.stack![2]).toMatchObject({ class: 'Registry', type: '::' });
  });

  it('gives a defunct-busy finding the last stack seen before the worker died, with its age', async () => {
    void request(server.url, '/nested.php?us=20000001');
    await leaseOf(server.url, '/nested.php?us=20000001', (l) => l.stack?.[0]?.function === 'usleep');
    // Let the once-a-second schedule read it, then kill the worker from outside.
    const pid = (await status(server.url, false)).workers.find((w) => w.lease?.uri === '/nested.php?us=20000001')!.pid!;
    await sleep(1_600);
    process.kill(pid, 'SIGKILL');
    let finding: Finding | undefined;
    await waitFor(
      () => (finding = server.pool.snapshot().findings.find((f) => f.kind === 'defunct-busy' && f.pid === pid)) !== undefined,
      'the defunct-busy finding',
    );
    expect(shape(finding!.stack!)).toEqual([
      'usleep() <internal>',
      'Repo->query() nested.php:6',
      'Repo->find() nested.php:12',
      'controller() nested.php:18',
      '{main}() nested.php:21',
    ]);
    expect(finding!.stackAgeMs).toBeGreaterThanOrEqual(0);
    expect(finding!.stackAgeMs).toBeLessThan(2_000);
    expect(finding!.wait).toMatchObject({ state: 'sleeping' });
  });
});

describe.skipIf(!linux)('findings that carry the stack of a hanging script', () => {
  it('slow-request past the slowlog timeout, then busy-timeout with the stack of hang.php read just before the kill', async () => {
    const server = await startPoolServer({
      documentRoot: PHP_STACK_FIXTURES,
      pool: { phpCgi, minWorkers: 1, maxWorkers: 2, busyTimeoutMs: 2_500, slowlogTimeoutMs: 1_000 },
      gateway: { port: 0, frontController: null },
    });
    try {
      await server.pool.stacks.whenChecked();
      const answer = await fetch(`${server.url}hang.php`);
      expect(answer.status).toBe(504);
      const findings = server.pool.snapshot().findings;
      const slow = findings.find((f) => f.kind === 'slow-request');
      const timeout = findings.find((f) => f.kind === 'busy-timeout');
      const hang = ['usleep() <internal>', 'waitForLock() hang.php:6', 'buildReport() hang.php:12', '{main}() hang.php:16'];
      expect(shape(slow!.stack!)).toEqual(hang);
      expect(slow!.stackAgeMs).toBe(0);
      expect(slow!.detectedAt - slow!.lease!.acquiredAt).toBeGreaterThanOrEqual(1_000);
      expect(shape(timeout!.stack!)).toEqual(hang);
      expect(timeout!.stackAgeMs).toBe(0);
      expect(timeout!.wait).toMatchObject({ state: 'sleeping' });
      expect(timeout!.resolution?.how).toBe('reclaimed');
      // The worker was killed after the read.
      await waitFor(() => !isRunning(timeout!.pid!), 'the hung worker to be gone');
    } finally {
      await server.stop(0);
    }
  });
});

describe.skipIf(!linux)('the canary with a deliberately wrong layout table', () => {
  it('turns live stacks off with one event and one line; requests are served and wait reasons still read', async () => {
    const options = { cwd: PHP_STACK_FIXTURES, phpCgi, minWorkers: 1, maxWorkers: 2, stateDir: null, ini: {}, env: process.env, parentDeathSignal: true };
    const host = new ProcessHost({
      ...options,
      stackReader: { layoutOverride: (layout) => ({ ...layout, offsets: { ...layout.offsets, egCurrentExecuteData: 496 } }) },
    });
    const pool = new Pool(options, host);
    const events: PoolEvent[] = [];
    pool.onEvent((event) => events.push(event));
    const gateway = new Gateway(pool, { documentRoot: PHP_STACK_FIXTURES, port: 0, frontController: null });
    await pool.start();
    const { url } = await gateway.listen();
    try {
      const status = await pool.stacks.whenChecked();
      expect(status.state).toBe('off');
      expect(status.reason).toMatch(/^live PHP stacks are off: the canary's stack read back wrong \(.+\)$/);
      expect(status.reason).not.toContain('\n');
      expect(events.filter((e) => e.type === 'stacks-status')).toEqual([{ type: 'stacks-status', status }]);
      // Nothing else changed: no finding, no worker lost, and requests are served.
      expect(pool.snapshot().findings).toEqual([]);
      expect((await fetch(`${url}nested.php?us=1000`)).status).toBe(200);
      void request(url, '/nested.php?us=20000000');
      const lease = await leaseOf(url, '/nested.php?us=20000000', (l) => l.wait?.state === 'sleeping');
      expect(lease.stack).toBeNull();
      expect(lease.stackError).toBe(status.reason);
      expect(lease.wait).toMatchObject({ state: 'sleeping', syscall: expect.stringMatching(/nanosleep/) });
    } finally {
      for (const controller of inFlight.splice(0)) controller.abort();
      await gateway.close();
      gateway.closeAllConnections();
      await pool.stop();
    }
  });
});
