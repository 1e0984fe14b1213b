#!/usr/bin/env node
// Live PHP stacks through the pool (issue 13): the cost of one read as the
// pool takes it — on its once-a-second schedule and on demand — at 1 and 16
// busy workers (20-frame stacks, blocked or CPU-busy), with the event loop's
// delay meanwhile and a check that no worker is ever left stopped. A
// measurement, not a test: it asserts nothing.
//
//   npm run bench:stack-pool [-- --seconds 10 --rounds 100]
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { importTypeScript } from '../scripts/importTs.mjs';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, rounds: { type: 'string', default: '100' } } });
const { runPoolStackBench } = await importTypeScript(resolve(root, 'test/support/poolStackBench.ts'), resolve(root, 'test-output/bench/stack-pool-bench.mjs'), {
  // The harness finds its PHP fixtures through __dirname, which an ES module bundle does not have.
  define: { __dirname: JSON.stringify(resolve(root, 'test/support')) },
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
});
await runPoolStackBench({
  phpCgi: process.env.PHP_CGI ?? '/usr/bin/php-cgi',
  scheduleSeconds: Number(values.seconds),
  rounds: Number(values.rounds),
  log: (line) => console.log(line),
});
