/**
 * Exponential backoff for spawning after crashes: 100 ms after the first
 * crash, doubling to at most 10 s, reset by the first request a worker serves.
 * Chosen over mod_fcgid's spawn score because it retries a one-off crash
 * almost at once, bounds a crash loop to one attempt per 10 s, and can say
 * precisely when the next attempt will be.
 */
export class SpawnBackoff {
  consecutiveCrashes = 0;
  private lastAttemptAt = 0;

  constructor(
    private readonly baseMs = 100,
    private readonly maxMs = 10_000,
  ) {}

  /** The current delay between spawn attempts (0 when healthy). */
  delayMs(): number {
    if (this.consecutiveCrashes === 0) return 0;
    return Math.min(this.maxMs, this.baseMs * 2 ** (this.consecutiveCrashes - 1));
  }

  /** Epoch ms before which no new spawn should start. */
  get nextAllowedAt(): number {
    return this.lastAttemptAt + this.delayMs();
  }

  recordAttempt(): void {
    this.lastAttemptAt = Date.now();
  }

  recordCrash(): void {
    this.consecutiveCrashes++;
  }

  recordSuccess(): void {
    this.consecutiveCrashes = 0;
  }
}
