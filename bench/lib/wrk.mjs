// Runs wrk (Debian's) and returns req/s and latency percentiles.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const SCRIPT = join(import.meta.dirname, '../wrk/report.lua');

/**
 * @param {{url: string, connections: number, seconds: number, threads?: number, postBytes?: number, ifNoneMatch?: string, timeoutS?: number}} o
 */
export function runWrk(o) {
  const threads = Math.max(1, Math.min(o.threads ?? 1, o.connections));
  const args = ['-t', String(threads), '-c', String(o.connections), '-d', `${o.seconds}s`, '--timeout', `${o.timeoutS ?? 10}s`, '-s', SCRIPT, o.url];
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/wrk', args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WRK_POST_BYTES: String(o.postBytes ?? 0), WRK_IF_NONE_MATCH: o.ifNoneMatch ?? '' },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
      if (code !== 0 || !line) {
        reject(new Error(`wrk ${args.join(' ')} failed (exit ${code}):\n${out}`));
        return;
      }
      const r = JSON.parse(line.slice('BENCH_JSON '.length));
      const errors = r.errors.connect + r.errors.read + r.errors.write + r.errors.status + r.errors.timeout;
      resolve({
        rps: r.requests / (r.duration_us / 1e6),
        requests: r.requests,
        p50ms: r.latency_us.p50 / 1000,
        p90ms: r.latency_us.p90 / 1000,
        p99ms: r.latency_us.p99 / 1000,
        maxms: r.latency_us.max / 1000,
        errors,
        errorDetail: r.errors,
        mbps: r.bytes / (r.duration_us / 1e6) / 1e6,
      });
    });
  });
}
