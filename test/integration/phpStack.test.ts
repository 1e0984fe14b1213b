/**
 * Live PHP stacks of REAL php-cgi workers (started as the pool starts them,
 * each with one request in flight), read through /proc by
 * src/platform/phpStack, with their wait reasons. Every worker is stopped by
 * process group in afterEach; the suite's teardown checks none is left.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FastCgiConnection } from '../../src/fastcgi';
import { PhpStackReader, formatSlowlogStack, readCpuTimeMs, runCanary, writeCanaryScript, type PhpStackFrame } from '../../src/platform/phpStack';
import { readProcState } from '../../src/platform/phpStack/procState';
import { createSocketDir, removeSocketDir } from '../../src/platform/spawnWorker';
import { phpCgi, sleep, waitFor } from '../support/helpers';
import { PHP_STACK_FIXTURES, PhpWorkerSet } from '../support/phpStackWorkers';

const linux = process.platform === 'linux';
let socketDir: string;
let workers: PhpWorkerSet;
const readers: PhpStackReader[] = [];

beforeAll(() => {
  socketDir = createSocketDir();
  workers = new PhpWorkerSet(socketDir, phpCgi);
});

afterEach(async () => {
  for (const reader of readers.splice(0)) reader.dispose();
  await workers.stopAll(0);
});

afterAll(() => removeSocketDir(socketDir));

function newReader(options: ConstructorParameters<typeof PhpStackReader>[0] = {}): PhpStackReader {
  const reader = new PhpStackReader(options);
  readers.push(reader);
  return reader;
}

/** Frames without their addresses (which change every run), files relative to the fixtures. */
function shape(frames: readonly PhpStackFrame[]): string[] {
  return frames.map((frame) => {
    const name = `${frame.class ? `${frame.class}${frame.type}` : ''}${frame.function}()`;
    return frame.internal ? `${name} <internal>` : `${name} ${(frame.file ?? '?').replace(`${PHP_STACK_FIXTURES}/`, '')}:${frame.line}`;
  });
}

/** Waits until the worker blocks in `syscall` (a sleep or a poll), i.e. it reached the line under test. */
async function blockedIn(reader: PhpStackReader, pid: number, syscall: RegExp): Promise<void> {
  await waitFor(() => {
    const wait = reader.waits.read(pid);
    return wait.state === 'sleeping' && syscall.test(wait.syscall ?? '');
  }, `worker ${pid} to block in ${syscall}`);
}

function readFrames(reader: PhpStackReader, pid: number): { frames: PhpStackFrame[]; stopped: boolean } {
  const result = reader.readStack(pid);
  if (!result.ok) throw new Error(`stack read failed: ${result.reason}`);
  return { frames: result.frames, stopped: result.stopped };
}

describe.skipIf(!linux)('live PHP stacks of real php-cgi workers', () => {
  it('reads nested calls ending in usleep, blocked in a sleep (no stop needed)', async () => {
    const reader = newReader();
    const { worker } = await workers.busy('nested.php');
    await blockedIn(reader, worker.pid, /nanosleep/);
    expect(reader.availability(worker.pid)).toMatchObject({ available: true, phpMinor: '8.2' });
    const { frames, stopped } = readFrames(reader, worker.pid);
    expect(stopped).toBe(false);
    expect(shape(frames)).toEqual([
      'usleep() <internal>',
      'Repo->query() nested.php:6',
      'Repo->find() nested.php:12',
      'controller() nested.php:18',
      '{main}() nested.php:21',
    ]);
    expect(frames[0]).toMatchObject({ function: 'usleep', class: null, file: null, line: null, internal: true });
    expect(frames[1]).toMatchObject({ function: 'query', class: 'Repo', type: '->', file: `${PHP_STACK_FIXTURES}/nested.php`, line: 6, internal: false });
    expect(formatSlowlogStack(frames)[1]).toMatch(/^\[0x[0-9a-f]{16}\] Repo->query\(\) \/.*nested\.php:6$/);
  });

  it('reads a CPU loop inside a method by stopping the worker, and always continues it', async () => {
    const reader = newReader();
    const { worker } = await workers.busy('cpu.php');
    await waitFor(() => {
      const result = reader.readStack(worker.pid);
      return result.ok && result.frames.some((frame) => frame.function === 'spin');
    }, 'the worker to spin in Hasher->spin()');
    let stoppedReads = 0;
    for (let i = 0; i < 20; i++) {
      const { frames, stopped } = readFrames(reader, worker.pid);
      if (stopped) stoppedReads++;
      const outer = shape(frames).slice(-2);
      expect(outer[1]).toBe('{main}() cpu.php:15');
      expect(outer[0]).toMatch(/^Hasher->spin\(\) cpu\.php:(8|9)$/);
      if (frames.length === 3) expect(shape(frames)[0]).toBe('microtime() <internal>');
      else expect(frames).toHaveLength(2);
      expect(readProcState(worker.pid)?.state).not.toMatch(/^[Tt]$/);
    }
    // A spinning worker is in state R at (almost) every read, so (almost) every read stopped it.
    expect(stoppedReads).toBeGreaterThan(10);
    const before = readCpuTimeMs(worker.pid) ?? 0;
    await waitFor(() => (readCpuTimeMs(worker.pid) ?? 0) > before + 20, 'the worker to go on spinning after the reads');
    const wait = reader.waits.read(worker.pid);
    expect(wait.state).toBe('running');
    expect(wait.syscall).toBeNull();
  });

  it('shows the local TCP server a script waits on in poll, with the frames of the read', async () => {
    const held: Socket[] = [];
    const server: Server = createServer((socket) => held.push(socket.on('data', () => undefined)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const reader = newReader();
      const { worker } = await workers.busy('socket.php', `to=127.0.0.1:${port}`);
      const baseline = readCpuTimeMs(worker.pid) ?? 0;
      await blockedIn(reader, worker.pid, /^p?poll$/);
      const { stack, wait } = reader.sample(worker.pid, { cpuBaselineMs: baseline });
      expect(wait).toMatchObject({ state: 'sleeping', syscall: process.arch === 'arm64' ? 'ppoll' : 'poll' });
      expect(wait.target).toMatchObject({ kind: 'tcp', peer: `127.0.0.1:${port}`, tcpState: 'ESTABLISHED' });
      expect(wait.target?.description).toBe(`tcp ${wait.target?.local} -> 127.0.0.1:${port} (ESTABLISHED)`);
      expect(wait.fd).toBeGreaterThan(2);
      expect(wait.cpuMs).toBeGreaterThanOrEqual(0);
      expect(stack.ok && shape(stack.frames)).toEqual(['fread() <internal>', 'fetchRemote() socket.php:6', '{main}() socket.php:9']);
      // The same wait seen again: sinceMs counts from the first sighting.
      await sleep(120);
      expect(reader.waits.read(worker.pid).sinceMs).toBeGreaterThanOrEqual(100);
      if (process.arch === 'x64') {
        // Stopped and continued (as a read of a running worker does), poll goes on as restart_syscall
        // with its own arguments: the wait still names the server.
        process.kill(worker.pid, 'SIGSTOP');
        await waitFor(() => readProcState(worker.pid)?.state === 'T', 'the worker to stop');
        process.kill(worker.pid, 'SIGCONT');
        await waitFor(() => readFileSync(`/proc/${worker.pid}/syscall`, 'latin1').startsWith('219 '), 'poll to go on as restart_syscall (219)');
        const after = reader.waits.read(worker.pid);
        expect(after).toMatchObject({ state: 'sleeping', syscall: 'poll', fd: wait.fd });
        expect(after.target).toMatchObject({ kind: 'tcp', peer: `127.0.0.1:${port}`, tcpState: 'ESTABLISHED' });
      }
    } finally {
      for (const socket of held) socket.destroy();
      server.close();
    }
  });

  it('reads frames from two files through a require', async () => {
    const reader = newReader();
    const { worker } = await workers.busy('include.php');
    await blockedIn(reader, worker.pid, /nanosleep/);
    expect(shape(readFrames(reader, worker.pid).frames)).toEqual([
      'usleep() <internal>',
      'helper() included.php:4',
      'require() included.php:7',
      '{main}() include.php:3',
    ]);
  });

  it('names a closure and a static method as PHP does', async () => {
    const reader = newReader();
    const { worker } = await workers.busy('closure.php');
    await blockedIn(reader, worker.pid, /nanosleep/);
    const frames = readFrames(reader, worker.pid).frames;
    expect(shape(frames).map((line) => line.replace(/\{closure:[^}]*\}/, '{closure}'))).toEqual([
      'usleep() <internal>',
      '{closure}() closure.php:11',
      'Registry::run() closure.php:6',
      '{main}() closure.php:10',
    ]);
    expect(frames[2]).toMatchObject({ class: 'Registry', type: '::' });
  });

  it('reads a worker someone else stopped as it is, and leaves it stopped', async () => {
    const reader = newReader();
    const { worker } = await workers.busy('nested.php');
    await blockedIn(reader, worker.pid, /nanosleep/);
    process.kill(worker.pid, 'SIGSTOP');
    try {
      await waitFor(() => readProcState(worker.pid)?.state === 'T', 'the worker to stop');
      const result = reader.readStack(worker.pid);
      expect(result).toMatchObject({ ok: true, stopped: false });
      expect(result.ok && result.frames[1]?.function).toBe('query');
      expect(readProcState(worker.pid)?.state).toBe('T');
    } finally {
      process.kill(worker.pid, 'SIGCONT');
    }
  });

  it('reads an idle worker (between requests) as an empty stack', async () => {
    const reader = newReader();
    const worker = await workers.start();
    await waitFor(
      () => reader.waits.read(worker.pid).syscall === 'accept' || reader.waits.read(worker.pid).syscall === 'accept4',
      'the worker to wait for a connection',
    );
    expect(reader.readStack(worker.pid)).toEqual({ ok: true, frames: [], truncated: false, stopped: false });
  });

  it('says in one line why a process that is not PHP cannot be read', async () => {
    const reader = newReader();
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await waitFor(() => readProcState(child.pid as number) !== null, 'sleep to start');
      await sleep(20); // past the exec
      const availability = reader.availability(child.pid as number);
      expect(availability).toEqual({ available: false, reason: expect.stringMatching(/exports no executor_globals symbol/) });
      expect(reader.readStack(child.pid as number)).toMatchObject({ ok: false, unavailable: true });
      expect(reader.readStack(999_999_999)).toEqual({ ok: false, reason: 'worker 999999999 has exited', unavailable: false });
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe.skipIf(!linux)('the canary', () => {
  async function canaryOn(reader: PhpStackReader): Promise<Awaited<ReturnType<typeof runCanary>>> {
    const scriptPath = writeCanaryScript(socketDir);
    const worker = await workers.start();
    const connection = await FastCgiConnection.connect(worker.address, { timeoutMs: 5_000 });
    try {
      return await runCanary({ connection, pid: worker.pid, scriptPath, reader });
    } finally {
      connection.destroy();
    }
  }

  it('passes with the right table, through an ordinary FastCGI request', async () => {
    const reader = newReader();
    const outcome = await canaryOn(reader);
    expect(outcome.ok ? 'passed' : outcome.message).toBe('passed');
    expect(outcome.requestEnded).toBe(true);
    expect(outcome.frames?.map((frame) => frame.function)).toEqual([
      'fread',
      'hold',
      'enter',
      expect.stringMatching(/^\{closure/),
      'fastcgi_pool_canary',
      '{main}',
    ]);
    expect(reader.unavailableReason).toBeNull();
  });

  for (const [what, wrong] of [
    ['EG(current_execute_data) off by 8', { egCurrentExecuteData: 496 }],
    ['op_array.filename of another PHP version', { fnFilename: 144 }],
    ['This (call type) misplaced', { exThisTypeInfo: 44 }],
  ] as const) {
    it(`turns the feature off with one line when the table is wrong (${what})`, async () => {
      const reader = newReader({ layoutOverride: (layout) => ({ ...layout, offsets: { ...layout.offsets, ...wrong } }) });
      const outcome = await canaryOn(reader);
      expect(outcome.ok).toBe(false);
      if (outcome.ok) return;
      expect(outcome.message).toMatch(/^live PHP stacks are off: the canary's stack read back wrong \(.+\)$/);
      expect(outcome.message).not.toContain('\n');
      expect(outcome.requestEnded).toBe(true);
      expect(reader.unavailableReason).toBe(outcome.message);
      const { worker } = await workers.busy('nested.php');
      expect(reader.readStack(worker.pid)).toEqual({ ok: false, reason: outcome.message, unavailable: true });
      expect(reader.availability(worker.pid)).toEqual({ available: false, reason: outcome.message });
    });
  }

  it('continues a CPU-busy worker even when the read inside the stop fails', async () => {
    // IS_STRING off by one: every string check fails, so every read throws while the worker is stopped.
    const reader = newReader({ layoutOverride: (layout) => ({ ...layout, constants: { ...layout.constants, isString: 7 } }) });
    const { worker } = await workers.busy('cpu.php');
    const rightReader = newReader();
    await waitFor(() => {
      const result = rightReader.readStack(worker.pid);
      return result.ok && result.frames.some((frame) => frame.function === 'spin');
    }, 'the worker to spin in Hasher->spin()');
    for (let i = 0; i < 10; i++) {
      expect(reader.readStack(worker.pid)).toMatchObject({ ok: false, unavailable: false, reason: expect.stringMatching(/is not a PHP string/) });
      expect(readProcState(worker.pid)?.state).not.toMatch(/^[Tt]$/);
    }
  });
});
