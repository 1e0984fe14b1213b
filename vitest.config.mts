import { defineConfig } from 'vitest/config';

// Two cores: integration suites spawn real php-cgi workers, so keep
// parallelism modest and give process-level tests room to clean up.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    globalSetup: ['test/globalSetup.ts'],
  },
});
