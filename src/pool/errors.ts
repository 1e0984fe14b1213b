import { OptionError, type OptionId } from '../shared/options';
import { describeStartFailure, type StartFailure } from './findingBuilder';

/** The pool cannot serve at all (stopped, or php-cgi cannot start); `option` names the setting at fault, if one is. */
export class PoolUnavailableError extends OptionError {
  constructor(message: string, option: OptionId | null = null) {
    super(message, option);
    this.name = 'PoolUnavailableError';
  }
}

/** Every worker is busy and the wait queue is full, or the wait ran out. */
export class PoolSaturatedError extends Error {
  constructor(
    readonly reason: 'queue-full' | 'queue-timeout',
    readonly waitedMs: number,
    readonly limits: { maxWorkers: number; maxQueue: number; queueTimeoutMs: number },
  ) {
    super(
      reason === 'queue-full'
        ? `all ${limits.maxWorkers} workers are busy and ${limits.maxQueue} requests are already waiting`
        : `all ${limits.maxWorkers} workers stayed busy for ${waitedMs} ms (queue timeout ${limits.queueTimeoutMs} ms)`,
    );
    this.name = 'PoolSaturatedError';
  }
}

/**
 * No worker is alive and the last ones exited before serving anything (a
 * broken php.ini, a missing extension): the pool is backing off, so the
 * request is turned away at once rather than kept waiting for a worker that
 * will not come. `failure` says how the last one ended and what it wrote.
 */
export class PoolSpawnFailingError extends PoolUnavailableError {
  constructor(
    readonly failure: StartFailure,
    /** Consecutive failures so far. */
    readonly consecutive: number,
    /** Until the next attempt to start a worker. */
    readonly retryAfterMs: number,
  ) {
    super(`no worker can start: ${describeStartFailure(failure)}`);
    this.name = 'PoolSpawnFailingError';
  }
}
