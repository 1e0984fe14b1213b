/**
 * The cost of the pool's stack reads as the pool takes them (bench/stack-pool.mjs
 * bundles and runs this): a real pool and gateway, 1 or 16 workers busy with
 * a 20-frame stack (deep.php: blocked in usleep, or CPU-busy and stopped for
 * each read), the once-a-second schedule left to run, then on-demand reads
 * (`status?stacks=1`'s path) for more samples. Each read is timed inside the
 * host; the event loop's delay is measured meanwhile (a read must never stall
 * it noticeably); every worker's state is checked after each read (never
 * left SIGSTOPped). A measurement, not a test: it asserts nothing.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { Gateway } from '../../src/gateway/gateway';
import { readProcState } from '../../src/platform/phpStack/procState';
import { ProcessHost } from '../../src/platform/processHost';
import { Pool } from '../../src/pool/pool';

export interface PoolBenchOptions {
  phpCgi: string;
  /** How long the schedule runs per configuration. */
  scheduleSeconds: number;
  /** On-demand rounds (each reads every busy worker once). */
  rounds: number;
  log: (line: string) => void;
}

const FIXTURES = resolve(__dirname, '../fixtures/php-stack');

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

const ms = (value: number): string => `${value.toFixed(3)} ms`;

export async function runPoolStackBench(options: PoolBenchOptions): Promise<void> {
  options.log(`live PHP stacks through the pool: the cost of one read as the pool takes it (${options.phpCgi}; 20-frame stacks)`);
  for (const kind of ['blocked', 'cpu'] as const) {
    for (const count of [1, 16]) {
      await runOne(options, kind, count, true);
      // The same load with no reads at all: what the event loop's delay is without them.
      await runOne(options, kind, count, false);
    }
  }
}

async function runOne(options: PoolBenchOptions, kind: 'blocked' | 'cpu', count: number, reading: boolean): Promise<void> {
  const poolOptions = {
    cwd: FIXTURES,
    phpCgi: options.phpCgi,
    minWorkers: count,
    maxWorkers: count,
    stateDir: null,
    ini: {},
    env: process.env,
    parentDeathSignal: true,
    busyTimeoutMs: 600_000,
    stopGraceMs: 300,
  };
  const host = new ProcessHost(poolOptions);
  const reads: number[] = [];
  let leftStopped = 0;
  let failed = 0;
  const sample = host.stacks.sample.bind(host.stacks);
  host.stacks.sample = (pid, baseline) => {
    const started = performance.now();
    const read = sample(pid, baseline);
    reads.push(performance.now() - started);
    if (!read.stack.ok) failed++;
    if (/^[Tt]$/.test(readProcState(pid)?.state ?? '')) leftStopped++;
    return read;
  };
  // Without reading: the same host with its stacks hidden from the pool.
  const hidden = new Proxy(host, {
    get: (target, key) => {
      if (key === 'stacks') return null;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  const pool = new Pool(poolOptions, reading ? host : hidden);
  const gateway = new Gateway(pool, { documentRoot: FIXTURES, port: 0, frontController: null });
  const requests: AbortController[] = [];
  await pool.start();
  const { url } = await gateway.listen();
  try {
    const status = await pool.stacks.whenChecked();
    if (reading && status.state !== 'on') throw new Error(`stacks are off: ${status.reason}`);
    for (let i = 0; i < count; i++) {
      const controller = new AbortController();
      requests.push(controller);
      void fetch(`${url}deep.php?${kind === 'cpu' ? 'cpu=1&' : ''}n=${i}`, { signal: controller.signal }).catch(() => undefined);
    }
    // The schedule: leases older than a second, once a second per worker, one read per event-loop turn.
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    await new Promise((resolveTimer) => setTimeout(resolveTimer, options.scheduleSeconds * 1_000));
    delay.disable();
    const scheduled = reads.splice(0);
    const loop = `event-loop delay: p50 ${ms(delay.percentile(50) / 1e6)}, p99 ${ms(delay.percentile(99) / 1e6)}, max ${ms(delay.max / 1e6)}`;
    const label = `  ${String(count).padStart(2)} ${kind === 'cpu' ? 'CPU-busy' : 'blocked '} worker${count > 1 ? 's' : ' '}`;
    if (!reading) {
      options.log(`${label}  no reads (baseline)  |  ${loop}`);
      return;
    }
    // On demand: every busy worker read, one per turn, as for `status?stacks=1`.
    let frames = 0;
    for (let round = 0; round < options.rounds; round++) {
      for (const read of (await pool.stacks.readAll()).values()) frames = Math.max(frames, read.stack?.length ?? 0);
    }
    const onDemand = reads.splice(0);
    const all = [...scheduled, ...onDemand];
    options.log(
      `${label}  ${frames} frames  read: median ${ms(quantile(all, 0.5))}, p99 ${ms(quantile(all, 0.99))}, max ${ms(Math.max(...all))} ` +
        `(${all.length} reads: ${scheduled.length} on the schedule in ${options.scheduleSeconds} s, ${onDemand.length} on demand)  |  during the schedule, ${loop}  |  ${failed} failed, ${leftStopped} left stopped`,
    );
  } finally {
    for (const controller of requests) controller.abort();
    await gateway.close();
    gateway.closeAllConnections();
    await pool.stop();
  }
}
