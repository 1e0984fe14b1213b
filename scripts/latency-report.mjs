#!/usr/bin/env node
// Prints the detection latencies the integration runs noted
// (test/support/latencyLog.ts), one column per platform implementation:
// the Linux run next to the portable Unix one (and the Windows-way one).
// By default the last test run's notes (each vitest run has its own id);
// `--run ID` picks another.
//
//   npm test && node scripts/latency-report.mjs
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const log = resolve(import.meta.dirname, '../test-output/detection-latency.ndjson');
if (!existsSync(log)) {
  console.error(`no ${log}: run the integration suites first (npm test)`);
  process.exit(1);
}
const all = readFileSync(log, 'utf8')
  .trim()
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line));
const asked = process.argv.indexOf('--run');
const run = asked > 0 ? process.argv[asked + 1] : all.at(-1)?.run;
const notes = all.filter((n) => n.run === run);
const platforms = [...new Set(notes.map((n) => n.platform))].sort();
const whats = [...new Set(notes.map((n) => n.what))];
const cell = (values) => {
  if (values.length === 0) return '–';
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return values.length === 1 ? `${median} ms` : `${median} ms (max ${sorted.at(-1)}, n=${values.length})`;
};
const rows = [
  ['what', ...platforms],
  ['---', ...platforms.map(() => '---')],
];
for (const what of whats) rows.push([what, ...platforms.map((p) => cell(notes.filter((n) => n.what === what && n.platform === p).map((n) => n.ms)))]);
console.log(`test run ${run ?? '(unnamed)'}: ${notes.length} notes\n`);
console.log(rows.map((r) => `| ${r.join(' | ')} |`).join('\n'));
