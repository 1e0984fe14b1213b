import type { Clock } from '../../src/extension/throttle';

/**
 * A clock that moves only when told, with its timers: throttles and the
 * dashboard controller are tested without waiting, and "nothing happened
 * during the next second" is a statement about `advance(1_000)`, not a sleep.
 */
export class ManualClock implements Clock {
  private current: number;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;

  constructor(start = 1_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  readonly setTimeout = (fn: () => void, ms: number): unknown => {
    const id = this.nextId++;
    this.timers.push({ at: this.current + Math.max(0, ms), fn, id });
    return id;
  };

  readonly clearTimeout = (id: unknown): void => {
    this.timers = this.timers.filter((t) => t.id !== id);
  };

  /** Moves time on by `ms`, running each timer that falls due, in order, at its own time. */
  advance(ms: number): void {
    const end = this.current + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.current = due.at;
      due.fn();
    }
    this.current = end;
  }

  /** Timers armed and not yet run. */
  get pending(): number {
    return this.timers.length;
  }
}
