import { describeExit } from '../platform/processControl';
import { PoolSaturatedError, PoolSpawnFailingError, PoolUnavailableError, type Lease } from '../pool/pool';
import type { LeaseRevocation } from '../pool/types';
import type { HttpIo } from './httpIo';
import { BodyAbortedError, BodyTimeoutError, BodyTooLargeError } from './requestBody';
import { optionName, type OptionId, type OptionSurface } from '../shared/options';
import { sendError } from './responder';

/**
 * What the client of a PHP exchange is told when the exchange fails before
 * the script could answer: its body could not be read, no worker could be
 * had, or the pool ended the lease. Each page says what happened and what
 * the developer can do about it.
 */

/** `Raise the busy timeout (--busy-timeout)`, with the surface's name of the option where it has one. */
function raise(what: string, option: OptionId, surface: OptionSurface): string {
  const name = optionName(option, surface);
  return name ? `Raise ${what} (${name})` : `Raise ${what}`;
}

/** The request body could not be received. */
export function sendBodyError(io: HttpIo, error: unknown, surface: OptionSurface): void {
  if (error instanceof BodyTooLargeError) {
    sendError(io, 413, 'Content Too Large', error.message, [`${raise('the body size limit', 'maxBody', surface)} if this upload is expected.`], {
      Connection: 'close',
    });
  } else if (error instanceof BodyTimeoutError) {
    sendError(io, 408, 'Request Timeout', error.message, undefined, { Connection: 'close' });
  } else if (error instanceof BodyAbortedError) {
    io.cut();
  } else {
    sendError(io, 500, 'Internal Server Error', `Cannot read the request body: ${(error as Error).message}`);
  }
}

/** The pool gave no worker (saturated, stopping or failed). */
export function sendAcquireError(io: HttpIo, error: unknown, queueTimeoutMs: number, surface: OptionSurface): void {
  if (error instanceof PoolSaturatedError) {
    const retryAfter = String(Math.max(1, Math.ceil(queueTimeoutMs / 10_000)));
    sendError(
      io,
      503,
      'Service Unavailable',
      `The pool is saturated: ${error.message}.`,
      [`${raise('the worker limit', 'maxWorkers', surface)}, or find what keeps the workers busy in the status page.`],
      {
        'Retry-After': retryAfter,
      },
    );
  } else if (error instanceof PoolSpawnFailingError) {
    sendSpawnFailing(io, error, surface);
  } else if (error instanceof PoolUnavailableError) {
    sendError(io, 503, 'Service Unavailable', error.message, undefined, { 'Retry-After': '5' });
  } else {
    sendError(io, 500, 'Internal Server Error', (error as Error).message);
  }
}

/**
 * No worker is alive and the last ones exited before serving: at once, with
 * what the last one said, and when the pool tries again.
 */
function sendSpawnFailing(io: HttpIo, error: PoolSpawnFailingError, surface: OptionSurface): void {
  const { failure } = error;
  const who = `Worker ${failure.workerId}${failure.pid !== null ? ` (pid ${failure.pid})` : ''}`;
  const what = failure.exit
    ? `${who} ${describeExit(failure.exit)} before it served a request`
    : `${who} could not be started: ${failure.error ?? 'unknown error'}`;
  const said = failure.stderr ? `It wrote to stderr:\n${failure.stderr}` : 'It wrote nothing to stderr.';
  const retryAfterS = Math.max(1, Math.ceil(error.retryAfterMs / 1_000));
  const which = optionName('phpCgi', surface);
  sendError(
    io,
    503,
    'Service Unavailable',
    `No PHP worker can start. ${what} (${error.consecutive} in a row). ${said}`,
    [
      `Run php-cgi -v: it prints the same start-up errors. Check php.ini, the extensions it loads, and which php-cgi the pool runs${which ? ` (${which})` : ''}.`,
      `The pool tries again in ${retryAfterS} s, waiting longer while workers keep failing; the first request a worker serves ends this.`,
    ],
    { 'Retry-After': String(retryAfterS) },
  );
}

/** The pool ended the lease while `scriptName` ran on it. */
export function sendRevoked(io: HttpIo, revocation: LeaseRevocation, lease: Lease | null, scriptName: string, surface: OptionSurface): void {
  const who = lease ? `Worker ${lease.workerId} (pid ${lease.workerPid ?? '?'})` : 'The worker';
  switch (revocation.kind) {
    case 'busy-timeout':
      sendError(
        io,
        504,
        'Gateway Timeout',
        `${who} did not finish ${scriptName} within the busy timeout of ${revocation.timeoutMs / 1000} s; it was killed and replaced.`,
        [`${raise('the busy timeout', 'busyTimeout', surface)} for long requests, or look for an endless loop or a blocking call.`],
      );
      return;
    case 'worker-exited':
      sendError(io, 502, 'Bad Gateway', `${who} ${describeExit(revocation.exit)} while running ${scriptName}.`);
      return;
    case 'worker-retired':
      sendError(io, 502, 'Bad Gateway', `${who} was stopped (${revocation.reason}) while running ${scriptName}.`);
      return;
    case 'worker-left':
      sendError(
        io,
        502,
        'Bad Gateway',
        `${who} and the workers tried after it left (${describeExit(revocation.exit)}) after their last request, before they read this one; ${scriptName} did not run.`,
        ['php-cgi leaves after PHP_FCGI_MAX_REQUESTS requests: raise it, or leave it unset (the pool recycles workers itself).'],
      );
      return;
    case 'pool-stopping':
      sendError(io, 503, 'Service Unavailable', 'The pool is stopping.', undefined, { 'Retry-After': '1' });
      return;
  }
}
