/**
 * The stack-reader benchmark (bench/stack.mjs bundles and runs this): the
 * cost of one sample of a 20-frame stack at 1 and 16 busy workers, blocked
 * (in usleep: read as is) and CPU-busy (stopped for each read), and the
 * frames read for each test script, printed as the CLI will print them.
 * A measurement, not a test: it asserts nothing.
 */
import { createServer, type Socket } from 'node:net';
import { FastCgiConnection } from '../../src/fastcgi';
import { PhpStackReader, formatSlowlogStack, readCpuTimeMs, runCanary, writeCanaryScript, type StackSample } from '../../src/platform/phpStack';
import { createSocketDir, removeSocketDir } from '../../src/platform/spawnWorker';
import { PhpWorkerSet } from './phpStackWorkers';

export interface BenchOptions {
  phpCgi: string;
  samples: number;
  log: (line: string) => void;
}

interface Timing {
  median: number;
  p99: number;
  max: number;
}

function timing(values: number[]): Timing {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  return { median: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] as number };
}

const ms = (value: number): string => `${value.toFixed(3)} ms`;

export async function runStackBench(options: BenchOptions): Promise<void> {
  const socketDir = createSocketDir();
  const workers = new PhpWorkerSet(socketDir, options.phpCgi);
  const reader = new PhpStackReader();
  try {
    const probe = await workers.start();
    const availability = reader.availability(probe.pid);
    await workers.stopAll(300);
    reader.forget(probe.pid);
    if (!availability.available) throw new Error(`stacks unavailable: ${availability.reason}`);
    options.log(`live PHP stack sample cost, ${options.samples} samples each (PHP ${availability.phpVersion} ${availability.arch}, ${options.phpCgi})`);
    for (const kind of ['blocked', 'cpu'] as const) {
      for (const count of [1, 16]) {
        const pids: number[] = [];
        for (let i = 0; i < count; i++) pids.push((await workers.busy('deep.php', kind === 'cpu' ? 'cpu=1' : '')).worker.pid);
        await waitForDepth(reader, pids, 19);
        const stackTimes: number[] = [];
        const sampleTimes: number[] = [];
        let frames = 0;
        let stopped = 0;
        let failed = 0;
        let torn = 0;
        for (let i = 0; i < options.samples; i++) {
          const pid = pids[i % pids.length] as number;
          let started = performance.now();
          const result = reader.readStack(pid);
          stackTimes.push(performance.now() - started);
          started = performance.now();
          reader.sample(pid);
          sampleTimes.push(performance.now() - started);
          if (!result.ok) failed++;
          else {
            frames = Math.max(frames, result.frames.length);
            if (result.stopped) stopped++;
            if (!looksRight(result.frames)) torn++;
          }
        }
        const stack = timing(stackTimes);
        const sample = timing(sampleTimes);
        options.log(
          `  ${String(count).padStart(2)} ${kind === 'cpu' ? 'CPU-busy' : 'blocked '} worker${count > 1 ? 's' : ' '}  ${frames} frames  ` +
            `stack: median ${ms(stack.median)}, p99 ${ms(stack.p99)}, max ${ms(stack.max)}  |  stack+wait: median ${ms(sample.median)}, p99 ${ms(sample.p99)}` +
            `  (${stopped} of ${options.samples} stopped, ${failed} failed, ${torn} torn)`,
        );
        await workers.stopAll(300);
        for (const pid of pids) reader.forget(pid);
      }
    }
    await printScripts(reader, workers, socketDir, options.log);
  } finally {
    reader.dispose();
    await workers.stopAll(300);
    removeSocketDir(socketDir);
  }
}

/**
 * Whether a read of deep.php is whole: [usleep|microtime], 18 × level()
 * (the innermost at the sleep or the loop, the others at the recursive call
 * on line 7), {main} at line 19. A read torn by a running worker breaks it.
 */
function looksRight(frames: readonly { function: string; line: number | null }[]): boolean {
  const user = frames[0]?.function === 'usleep' || frames[0]?.function === 'microtime' ? frames.slice(1) : frames;
  if (user.length !== 19 || user[18]?.function !== '{main}' || user[18]?.line !== 19) return false;
  if (user[0]?.function !== 'level' || ![11, 12, 16].includes(user[0]?.line ?? 0)) return false;
  return user.slice(1, 18).every((frame) => frame.function === 'level' && frame.line === 7);
}

/** Waits until every worker's stack is at least `depth` frames deep (the script reached its bottom). */
async function waitForDepth(reader: PhpStackReader, pids: number[], depth: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (const pid of pids) {
    for (;;) {
      const result = reader.readStack(pid);
      if (result.ok && result.frames.length >= depth) break;
      if (Date.now() > deadline) throw new Error(`worker ${pid} did not reach depth ${depth}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/** The frames of each test script, as the CLI prints them after a `warning:` line. */
async function printScripts(reader: PhpStackReader, workers: PhpWorkerSet, socketDir: string, log: (line: string) => void): Promise<void> {
  const held: Socket[] = [];
  const server = createServer((socket) => held.push(socket.on('data', () => undefined)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  try {
    const scripts: Array<[string, string, RegExp]> = [
      ['nested.php', '', /nanosleep/],
      ['cpu.php', '', /^$/],
      ['socket.php', `to=127.0.0.1:${port}`, /poll/],
      ['include.php', '', /nanosleep/],
      ['closure.php', '', /nanosleep/],
    ];
    for (const [script, query, syscall] of scripts) {
      const { worker } = await workers.busy(script, query);
      const baseline = readCpuTimeMs(worker.pid) ?? 0;
      let sample: StackSample | null = null;
      const deadline = Date.now() + 5_000;
      while (Date.now() < deadline) {
        sample = reader.sample(worker.pid, { cpuBaselineMs: baseline });
        const settled =
          syscall.source === '^$'
            ? sample.wait.state === 'running' && (sample.stack.ok ? sample.stack.frames.length >= 2 : false)
            : syscall.test(sample.wait.syscall ?? '');
        if (settled && sample.stack.ok && sample.stack.frames.length > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      log('');
      log(`${script}${query ? `?${query}` : ''}: ${describeWait(sample)}`);
      if (sample?.stack.ok) for (const line of formatSlowlogStack(sample.stack.frames, { indent: '  ' })) log(line);
      else log(`  (no stack: ${sample?.stack.ok === false ? sample.stack.reason : 'not read'})`);
      await workers.stopAll(300);
      reader.forget(worker.pid);
    }
    const scriptPath = writeCanaryScript(socketDir);
    const worker = await workers.start();
    const connection = await FastCgiConnection.connect(worker.address);
    const started = performance.now();
    const outcome = await runCanary({ connection, pid: worker.pid, scriptPath, reader });
    connection.destroy();
    log('');
    log(`canary: ${outcome.ok ? 'passed' : outcome.message} in ${(performance.now() - started).toFixed(0)} ms`);
    if (outcome.frames) for (const line of formatSlowlogStack(outcome.frames, { indent: '  ' })) log(line);
  } finally {
    for (const socket of held) socket.destroy();
    server.close();
  }
}

function describeWait(sample: StackSample | null): string {
  if (!sample) return 'not read';
  const { wait } = sample;
  const parts = [`state ${wait.state}`];
  if (wait.syscall) parts.push(`in ${wait.syscall}()`);
  if (wait.fd !== null) parts.push(`fd ${wait.fd}`);
  if (wait.target) parts.push(wait.target.description);
  parts.push(`cpu ${wait.cpuMs} ms`);
  return parts.join(', ');
}
