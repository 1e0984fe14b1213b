import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';

/**
 * A tiny sequential step runner. Each step is one thing a person does and
 * sees; a failed step stops the steps after it (they depend on it) except
 * those marked `always` (stopping the pool, the process checks). Every
 * screenshot is numbered in the order it was taken: test-output/e2e/NN-name.png.
 */
export interface Step {
  title: string;
  /** Runs even after an earlier step failed. */
  always?: boolean;
  run: () => Promise<void>;
}

export type Outcome = 'passed' | 'failed' | 'skipped';

export class StepRunner {
  private shotNumber = 0;
  readonly outcomes: { title: string; outcome: Outcome; ms: number; error?: string }[] = [];
  /** Set once a browser page exists, for screenshots and failure dumps. */
  page: Page | null = null;
  describePage: (() => Promise<string>) | null = null;

  constructor(readonly outputDir: string) {}

  /** Saves a screenshot as NN-name.png and returns its path (null without a page). */
  async screenshot(name: string): Promise<string | null> {
    if (!this.page) return null;
    const file = join(this.outputDir, `${String(++this.shotNumber).padStart(2, '0')}-${name}.png`);
    try {
      await this.page.screenshot({ path: file });
      console.log(`      screenshot ${file}`);
      return file;
    } catch (error) {
      console.log(`      (screenshot ${name} failed: ${String(error).split('\n')[0]})`);
      return null;
    }
  }

  async runAll(steps: Step[]): Promise<void> {
    let failed = false;
    for (const step of steps) {
      if (failed && !step.always) {
        this.outcomes.push({ title: step.title, outcome: 'skipped', ms: 0 });
        console.log(`  - ${step.title} (skipped: an earlier step failed)`);
        continue;
      }
      await this.runOne(step).then((ok) => {
        if (!ok) failed = true;
      });
    }
  }

  /** Runs one step now; returns whether it passed. */
  async runOne(step: Step): Promise<boolean> {
    const started = Date.now();
    console.log(`  … ${step.title}`);
    try {
      await step.run();
      const ms = Date.now() - started;
      this.outcomes.push({ title: step.title, outcome: 'passed', ms });
      console.log(`  ✓ ${step.title} (${(ms / 1000).toFixed(1)} s)`);
      return true;
    } catch (error) {
      const ms = Date.now() - started;
      let message = error instanceof Error ? error.message : String(error);
      const id = `step-${/^\d+/.exec(step.title)?.[0] ?? 'x'}`;
      const shot = await this.screenshot(`FAILED-${id}`);
      if (this.describePage) {
        const seen = await this.describePage().catch((e) => `(could not read the page: ${String(e)})`);
        const dump = join(this.outputDir, `FAILED-${id}.txt`);
        writeFileSync(dump, `${step.title}\n\n${message}\n\nscreen at failure${shot ? ` (${shot})` : ''}:\n  ${seen}\n`);
        // A poll's timeout already says what the page showed; otherwise show it here.
        message += message.includes('what the page showed') ? `\n  (whole screen text: ${dump})` : `\n  screen at failure:\n  ${seen}`;
      }
      this.outcomes.push({ title: step.title, outcome: 'failed', ms, error: message });
      console.log(`  ✗ ${step.title} (${(ms / 1000).toFixed(1)} s)\n    ${message.replace(/\n/g, '\n    ')}`);
      return false;
    }
  }

  /** Prints the summary; the last line is `e2e: N passed, N failed, N skipped` for CI. */
  summary(totalMs: number): { passed: number; failed: number; skipped: number } {
    const count = (o: Outcome) => this.outcomes.filter((x) => x.outcome === o).length;
    const result = { passed: count('passed'), failed: count('failed'), skipped: count('skipped') };
    for (const o of this.outcomes.filter((x) => x.outcome === 'failed')) console.log(`FAILED: ${o.title}`);
    console.log(`e2e took ${(totalMs / 1000).toFixed(1)} s; screenshots in ${this.outputDir}`);
    console.log(`e2e: ${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped`);
    return result;
  }
}
