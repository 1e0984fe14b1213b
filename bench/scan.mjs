#!/usr/bin/env node
// Reconciler cost: how long one scan of the lists against the OS takes per
// worker, at 16 and 256 real php-cgi workers, and the longest event-loop
// stall a scan causes (scans work in slices and yield between them).
//
//   npm run bench:scan
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

const { Pool } = await import(resolve(import.meta.dirname, '../dist/engine.js'));
const phpCgi = process.env.PHP_CGI ?? 'php-cgi';
const rounds = 50;
const results = [];

for (const workers of [16, 256]) {
  const cwd = mkdtempSync(join(tmpdir(), 'scan-bench-'));
  // scanIntervalMs 0: no timer; the bench drives scan() itself.
  const pool = new Pool({ phpCgi, cwd, minWorkers: workers, maxWorkers: workers, scanIntervalMs: 0 });
  await pool.start();
  while (pool.snapshot().counts.idle < workers) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 500)); // let every php-cgi finish starting
  await pool.scan(); // warm: discovers each worker's serving process once

  // Longest stall: a 1 ms timer's lateness while scans run back to back,
  // against the same timer over the same time with no scan (the machine's own noise).
  let maxLateMs = 0;
  let expected = performance.now() + 1;
  let ticking = true;
  const tick = () => {
    const now = performance.now();
    maxLateMs = Math.max(maxLateMs, now - expected);
    expected = now + 1;
    if (ticking) setTimeout(tick, 1);
  };
  setTimeout(tick, 1);

  const durations = [];
  const scanStarted = performance.now();
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    await pool.scan();
    durations.push(performance.now() - started);
    await new Promise((r) => setTimeout(r, 5));
  }
  const scanStall = maxLateMs;
  maxLateMs = 0;
  await new Promise((r) => setTimeout(r, performance.now() - scanStarted));
  const baselineStall = maxLateMs;
  ticking = false;

  durations.sort((a, b) => a - b);
  const median = durations[Math.floor(durations.length / 2)];
  results.push({
    workers,
    scanMedianMs: +median.toFixed(2),
    scanP95Ms: +durations[Math.floor(durations.length * 0.95)].toFixed(2),
    perWorkerUs: +((median * 1000) / workers).toFixed(1),
    longestStallMs: +scanStall.toFixed(2),
    baselineStallMs: +baselineStall.toFixed(2),
  });
  await pool.stop();
  rmSync(cwd, { recursive: true, force: true });
}

console.log(
  `load average ${(await import('node:os'))
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log('| workers | scan median (ms) | scan p95 (ms) | per worker (µs) | longest timer lateness during scans (ms) | same, no scans (ms) |');
console.log('|---:|---:|---:|---:|---:|---:|');
for (const r of results) console.log(`| ${r.workers} | ${r.scanMedianMs} | ${r.scanP95Ms} | ${r.perWorkerUs} | ${r.longestStallMs} | ${r.baselineStallMs} |`);
console.log('(scan median is wall time including the yields between 32-worker slices; the stall is the worst lateness of a 1 ms timer while scans ran)');
