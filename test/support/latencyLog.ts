import { appendFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Where the integration runs note their detection latencies (test-output/ is not committed). */
export const LATENCY_LOG = resolve(__dirname, '../../test-output/detection-latency.ndjson');

/**
 * Notes how long something took to be noticed (a finding after the fault,
 * workers gone after the manager died), under the platform implementation
 * this run forces (FASTCGI_POOL_PLATFORM; the OS's own otherwise), so that
 * the Linux run and the portable Unix run can be read side by side:
 * `node scripts/latency-report.mjs`. It asserts nothing: speed is not a
 * test's business; the tests' own bounds are.
 */
export function noteLatency(what: string, ms: number | null): void {
  if (ms === null) return;
  try {
    mkdirSync(join(LATENCY_LOG, '..'), { recursive: true });
    const note = { run: process.env.FASTCGI_POOL_TEST_RUN ?? null, platform: process.env.FASTCGI_POOL_PLATFORM || 'default', what, ms, at: Date.now() };
    appendFileSync(LATENCY_LOG, JSON.stringify(note) + '\n');
  } catch {
    // a note, not a result
  }
}
