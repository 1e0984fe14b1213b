import { defineConfig } from 'vitest/config';

/**
 * The pool's and the reconciler's integration suites run again with the
 * portable Unix implementation forced (one `ps` per scan, the watchdog
 * instead of the parent-death signal: what macOS gets), and the parity and
 * example-app suites with workers started the Windows way (`php-cgi -b` on
 * a loopback port, no process group, tree kill). See src/platform/platforms.ts.
 */
const PORTABLE_UNIX = [
  'test/integration/pool.test.ts',
  'test/integration/reconciler.test.ts',
  'test/integration/stale-workers.test.ts',
  'test/integration/platform-*.test.ts',
];
const WINDOWS_SIM = ['test/integration/server-parity.test.ts', 'test/integration/example-app.test.ts', 'test/integration/platform-*.test.ts'];

// Two cores: integration suites spawn real php-cgi workers, so keep
// parallelism modest and give process-level tests room to clean up.
export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    globalSetup: ['test/globalSetup.ts'],
    projects: [
      { extends: true, test: { name: 'linux', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'portable-unix', include: PORTABLE_UNIX, env: { FASTCGI_POOL_PLATFORM: 'portable-unix' } } },
      { extends: true, test: { name: 'windows-sim', include: WINDOWS_SIM, env: { FASTCGI_POOL_PLATFORM: 'windows-sim' } } },
    ],
  },
});
