import { describe, expect, it, vi } from 'vitest';
import { Throttle } from '../../src/extension/throttle';
import { ManualClock } from '../support/manualClock';

/** One throttle for the tree, the badge, the status bar, diagnostics, worker logs and the dashboard, on a clock the test moves. */
describe('Throttle', () => {
  const setup = (options: { suspended?: boolean } = {}) => {
    const clock = new ManualClock();
    const run = vi.fn();
    const throttle = new Throttle(run, { intervalMs: 250, clock, ...options });
    return { clock, run, throttle };
  };

  it('runs at most four times a second, the first at once', () => {
    const { clock, run, throttle } = setup();
    for (let t = 0; t < 990; t += 10) {
      throttle.request();
      clock.advance(10);
    }
    expect(run.mock.calls.length).toBe(4);
  });

  it('runs the first request of a tick without waiting, once for all the requests of that tick', () => {
    const { clock, run, throttle } = setup();
    throttle.request();
    throttle.request();
    throttle.request();
    expect(run).not.toHaveBeenCalled(); // a 0 ms timer, so that one tick's requests make one run
    clock.advance(0);
    expect(run).toHaveBeenCalledTimes(1);
  });

  it('ends a burst with a run after its last request, and then goes quiet', () => {
    const { clock, run, throttle } = setup();
    throttle.request();
    clock.advance(0);
    clock.advance(100);
    throttle.request(); // within the interval: waits for its end
    clock.advance(149);
    expect(run).toHaveBeenCalledTimes(1);
    clock.advance(1);
    expect(run).toHaveBeenCalledTimes(2);
    clock.advance(10_000);
    expect(run).toHaveBeenCalledTimes(2);
    expect(clock.pending).toBe(0);
  });

  it('does not run while suspended and catches up once on resume', () => {
    const { clock, run, throttle } = setup({ suspended: true });
    throttle.request();
    throttle.request();
    clock.advance(2_000);
    expect(run).not.toHaveBeenCalled();
    expect(throttle.isSuspended).toBe(true);
    throttle.resume();
    clock.advance(0);
    expect(run).toHaveBeenCalledTimes(1);
  });

  it('forgets nothing when suspended with a run armed, and resumes without a run when nothing was asked', () => {
    const { clock, run, throttle } = setup();
    throttle.request();
    throttle.suspend();
    expect(clock.pending).toBe(0);
    clock.advance(1_000);
    expect(run).not.toHaveBeenCalled();
    throttle.resume();
    clock.advance(0);
    expect(run).toHaveBeenCalledTimes(1);
    throttle.suspend();
    throttle.resume();
    clock.advance(1_000);
    expect(run).toHaveBeenCalledTimes(1);
  });

  it('runs now on demand, serving a pending request and starting a new interval', () => {
    const { clock, run, throttle } = setup({ suspended: true });
    throttle.request();
    throttle.runNow();
    expect(run).toHaveBeenCalledTimes(1);
    throttle.resume(); // the pending request was served by runNow
    clock.advance(1_000);
    expect(run).toHaveBeenCalledTimes(1);
    throttle.request();
    clock.advance(0);
    expect(run).toHaveBeenCalledTimes(2);
  });

  it('cancels its timer and ignores requests once disposed', () => {
    const { clock, run, throttle } = setup();
    throttle.request();
    throttle.dispose();
    expect(clock.pending).toBe(0);
    throttle.request();
    throttle.resume();
    throttle.runNow();
    clock.advance(1_000);
    expect(run).not.toHaveBeenCalled();
  });
});
