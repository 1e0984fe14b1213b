#!/usr/bin/env node
// Live PHP stacks (issue 13): the cost of one sample of a 20-frame stack
// (median, p99) at 1 and at 16 busy workers, blocked in usleep and CPU-busy
// (each read of a CPU-busy worker stops and continues it), and the frames
// read for each test script as the CLI will print them (PHP-FPM slowlog
// style). A measurement, not a test: it asserts nothing. Target: ≤ 1 ms a sample.
//
//   npm run bench:stack [-- --samples 500]
import { resolve } from 'node:path';
import { importTypeScript } from '../scripts/importTs.mjs';

const root = resolve(import.meta.dirname, '..');
const samplesAt = process.argv.indexOf('--samples');
const samples = samplesAt > 0 ? Number(process.argv[samplesAt + 1]) : 500;
const { runStackBench } = await importTypeScript(resolve(root, 'test/support/phpStackBench.ts'), resolve(root, 'test-output/bench/stack-bench.mjs'), {
  // The harness finds its PHP fixtures through __dirname, which an ES module bundle does not have;
  // tree-kill (CommonJS) needs a require.
  define: { __dirname: JSON.stringify(resolve(root, 'test/support')) },
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
});
await runStackBench({ phpCgi: process.env.PHP_CGI ?? '/usr/bin/php-cgi', samples, log: (line) => console.log(line) });
