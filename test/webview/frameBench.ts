/**
 * Frame-time benchmark of the dashboard (run by bench/dashboard-frames.mjs;
 * a measurement, not a test): 64 workers and 1 000 leases on the timeline,
 * a new snapshot every 250 ms (the most the host sends: every update is a
 * full render), the mouse moving over the timeline in the second half. Frame times are the intervals between
 * requestAnimationFrame callbacks; render times are the dashboard's own
 * measurements of each render (window.__dashboardStats).
 */
import { join } from 'node:path';
import { DashboardPage, DashboardServer, OUTPUT_DIR, launchChromium } from './harness';
import { benchSnapshot } from './fixtures/synthesize';

export interface Distribution {
  count: number;
  median: number;
  p95: number;
  max: number;
}

export interface FrameBenchResult {
  workers: number;
  leases: number;
  durationMs: number;
  snapshotsPosted: number;
  firstRenderMs: number;
  renders: Distribution;
  frames: Distribution;
  framesOver16ms: number;
  framesOver33ms: number;
  longAnimationFrames: number;
  /** Main-thread time over the whole run, by kind (Chromium's Performance.getMetrics). */
  mainThreadMs: { script: number; styleRecalc: number; layout: number; task: number };
  snapshotBytes: number;
  screenshot: string;
}

export function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]! : 0);
  return { count: sorted.length, median: at(0.5), p95: at(0.95), max: sorted.at(-1) ?? 0 };
}

export async function runFrameBench(options: { workers?: number; leases?: number; durationMs?: number; intervalMs?: number } = {}): Promise<FrameBenchResult> {
  const workers = options.workers ?? 64;
  const leases = options.leases ?? 1000;
  const durationMs = options.durationMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 250;
  const server = new DashboardServer();
  await server.start();
  const browser = await launchChromium();
  try {
    const page = await DashboardPage.open(browser, server, { theme: 'dark', viewport: { width: 1400, height: 1000 } });
    const first = benchSnapshot({ workers, leases, tick: 0 });
    const snapshotBytes = JSON.stringify(first).length;
    await page.show(first);
    const firstRenderMs = await page.page.evaluate(
      () => (globalThis as unknown as { __dashboardStats: { durations: number[] } }).__dashboardStats.durations.at(-1) ?? 0,
    );

    // Frame recorder: rAF intervals, and long animation frames where Chromium reports them.
    await page.page.evaluate(() => {
      const g = globalThis as unknown as {
        __frames: number[];
        __loaf: number;
        __recording: boolean;
        requestAnimationFrame(cb: (t: number) => void): void;
        PerformanceObserver?: new (cb: (list: { getEntries(): unknown[] }) => void) => { observe(o: { type: string; buffered: boolean }): void };
      };
      g.__frames = [];
      g.__loaf = 0;
      g.__recording = true;
      let last = -1;
      const tick = (t: number) => {
        if (last >= 0) g.__frames.push(t - last);
        last = t;
        if (g.__recording) g.requestAnimationFrame(tick);
      };
      g.requestAnimationFrame(tick);
      try {
        new g.PerformanceObserver!((list) => (g.__loaf += list.getEntries().length)).observe({ type: 'long-animation-frame', buffered: false });
      } catch {
        // not supported: reported as 0
      }
    });
    const rendersBefore = await page.page.evaluate(() => (globalThis as unknown as { __dashboardStats: { renders: number } }).__dashboardStats.renders);

    const box = (await page.page.locator('canvas.timeline-lanes').boundingBox())!;
    // Chromium's own counters: where the main thread's time went.
    const cdp = await page.page.context().newCDPSession(page.page);
    await cdp.send('Performance.enable');
    const metrics = async (): Promise<Record<string, number>> =>
      Object.fromEntries(((await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] }).metrics.map((m) => [m.name, m.value]));
    const metricsBefore = await metrics();
    const started = Date.now();
    let posted = 0;
    for (let tick = 1; Date.now() - started < durationMs; tick++) {
      await page.postSnapshot(benchSnapshot({ workers, leases, tick }));
      posted++;
      if (Date.now() - started > durationMs / 2) {
        // Hover across the lanes while updates come in.
        const x = box.x + 140 + ((tick * 37) % Math.max(1, Math.floor(box.width - 160)));
        const y = box.y + ((tick * 13) % Math.max(1, Math.floor(Math.min(box.height, 400))));
        await page.page.mouse.move(x, y);
      }
      await page.page.waitForTimeout(intervalMs);
    }
    const metricsAfter = await metrics();
    const spent = (name: string) => ((metricsAfter[name] ?? 0) - (metricsBefore[name] ?? 0)) * 1000;
    const measured = await page.page.evaluate(() => {
      const g = globalThis as unknown as {
        __frames: number[];
        __loaf: number;
        __recording: boolean;
        __dashboardStats: { renders: number; durations: number[] };
      };
      g.__recording = false;
      return { frames: g.__frames, loaf: g.__loaf, renders: g.__dashboardStats.renders, durations: g.__dashboardStats.durations };
    });
    const screenshot = join(OUTPUT_DIR, 'dashboard-bench-64x1000-dark.png');
    await page.page.screenshot({ path: screenshot, fullPage: true });
    const problems = await page.allProblems();
    if (problems.length) throw new Error(`the page reported problems:\n${problems.join('\n')}`);
    const renderCount = measured.renders - rendersBefore;
    return {
      workers,
      leases,
      durationMs: Date.now() - started,
      snapshotsPosted: posted,
      firstRenderMs,
      renders: { ...distribution(measured.durations.slice(-renderCount)), count: renderCount },
      frames: distribution(measured.frames),
      framesOver16ms: measured.frames.filter((f) => f > 17.5).length,
      framesOver33ms: measured.frames.filter((f) => f > 34).length,
      longAnimationFrames: measured.loaf,
      mainThreadMs: {
        script: spent('ScriptDuration'),
        styleRecalc: spent('RecalcStyleDuration'),
        layout: spent('LayoutDuration'),
        task: spent('TaskDuration'),
      },
      snapshotBytes,
      screenshot,
    };
  } finally {
    await browser.close();
    await server.stop();
  }
}
