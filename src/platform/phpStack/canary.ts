import { realpathSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { FastCgiConnection } from '../../fastcgi/connection';
import type { FastCgiConnectionError, ResponseHandler } from '../../fastcgi/connection';
import type { PhpStackReader } from './stackReader';
import type { PhpStackFrame } from '../../shared/stackTypes';
import { readProcState } from './procState';

/**
 * The canary: a PHP script of ours with a known call chain. At pool start it
 * runs once as an ordinary request on a leased worker; while it waits for its
 * one-byte request body (blocked in read() on the FastCGI socket, so the read
 * needs no SIGSTOP) the pool reads its stack and compares it with what the
 * script must show. A wrong layout table cannot pass: names, classes, call
 * types, files and lines of six frames must all match. On a mismatch the
 * reader is disabled and the pool logs one line; nothing else changes.
 *
 * How the pool runs it: write the script with {@link writeCanaryScript} into
 * its private 0700 folder (beside the workers' sockets), lease a worker, open
 * a FastCgiConnection to it, and call {@link runCanary}. The request is a PUT
 * with a 1-byte body that is held back until the stack has been read, then
 * sent; the script ends at once.
 */

/** The file name the canary is written under. */
export const CANARY_FILE_NAME = 'fastcgi-pool-canary.php';
/** The line the script prints (and flushes) once it is about to block. */
export const CANARY_READY = 'fastcgi-pool-canary:ready';

/** The script. `// canary:NAME` marks each line a frame must report. */
export const CANARY_SOURCE = `<?php
// FastCGI Pool's stack canary, written by the pool (not part of your app).
// It holds a known call chain while it waits for its 1-byte request body, so
// that the pool can check it reads PHP stacks correctly.
final class FastCgiPoolCanary
{
    public static function hold(): string
    {
        ini_set('zlib.output_compression', '0');
        while (ob_get_level() > 0) {
            ob_end_flush();
        }
        echo "${CANARY_READY}\\n";
        flush();
        return (string) fread(fopen('php://input', 'rb'), 1); // canary:hold
    }

    public function enter(): string
    {
        return self::hold(); // canary:enter
    }
}

function fastcgi_pool_canary(): string
{
    $run = function (): string {
        return (new FastCgiPoolCanary())->enter(); // canary:closure
    };
    return $run(); // canary:function
}

echo fastcgi_pool_canary(); // canary:main
`;

/** The line of the `// canary:NAME` marker in {@link CANARY_SOURCE}. */
function markerLine(name: string): number {
  const index = CANARY_SOURCE.split('\n').findIndex((line) => line.endsWith(`// canary:${name}`));
  if (index < 0) throw new Error(`canary marker ${name} missing`);
  return index + 1;
}

interface ExpectedFrame {
  /** The function name; a closure matches `{closure}` and PHP 8.4's `{closure:FILE:LINE}`. */
  function: string;
  class: string | null;
  type: '->' | '::' | null;
  internal: boolean;
  marker: string | null;
}

const EXPECTED: readonly ExpectedFrame[] = [
  { function: 'fread', class: null, type: null, internal: true, marker: null },
  { function: 'hold', class: 'FastCgiPoolCanary', type: '::', internal: false, marker: 'hold' },
  { function: 'enter', class: 'FastCgiPoolCanary', type: '->', internal: false, marker: 'enter' },
  { function: '{closure}', class: null, type: null, internal: false, marker: 'closure' },
  { function: 'fastcgi_pool_canary', class: null, type: null, internal: false, marker: 'function' },
  { function: '{main}', class: null, type: null, internal: false, marker: 'main' },
];

/** What the canary check concluded. */
export type CanaryVerdict = { ok: true } | { ok: false; reason: string };

/**
 * Compares frames read from a worker running the canary with the chain it
 * must show. `scriptPath`, when given, must be each user frame's file
 * (directly or after resolving symlinks); otherwise the file name must match.
 */
export function checkCanaryFrames(frames: readonly PhpStackFrame[], scriptPath?: string): CanaryVerdict {
  if (frames.length !== EXPECTED.length) {
    return { ok: false, reason: `read ${frames.length} frames, the canary has ${EXPECTED.length} (${frames.map(label).join(' < ')})` };
  }
  const files = scriptPath ? acceptedPaths(scriptPath) : null;
  for (const [index, expected] of EXPECTED.entries()) {
    const frame = frames[index] as PhpStackFrame;
    const where = `frame ${index}: expected ${expectedLabel(expected)}, read ${label(frame)}`;
    const nameMatches = expected.function === '{closure}' ? /^\{closure(:.*)?\}$/.test(frame.function) : frame.function === expected.function;
    if (!nameMatches || frame.class !== expected.class || frame.type !== expected.type || frame.internal !== expected.internal) {
      return { ok: false, reason: where };
    }
    if (expected.internal) {
      if (frame.file !== null || frame.line !== null) return { ok: false, reason: `${where} (an internal function has no file or line)` };
      continue;
    }
    if (frame.line !== markerLine(expected.marker as string)) return { ok: false, reason: `${where} (line)` };
    const fileMatches = frame.file !== null && (files ? files.has(frame.file) : basename(frame.file) === CANARY_FILE_NAME);
    if (!fileMatches) return { ok: false, reason: `${where} (file)` };
  }
  return { ok: true };
}

function acceptedPaths(scriptPath: string): Set<string> {
  const paths = new Set([scriptPath]);
  try {
    paths.add(realpathSync(scriptPath));
  } catch {
    // not on disk (a unit test's path): the literal path only
  }
  return paths;
}

function label(frame: PhpStackFrame): string {
  const name = `${frame.class ? `${frame.class}${frame.type ?? '::'}` : ''}${frame.function}()`;
  return frame.internal ? `${name} <internal>` : `${name} ${frame.file === null ? '?' : basename(frame.file)}:${frame.line ?? '?'}`;
}

function expectedLabel(expected: ExpectedFrame): string {
  const name = `${expected.class ? `${expected.class}${expected.type}` : ''}${expected.function}()`;
  return expected.internal ? `${name} <internal>` : `${name} ${CANARY_FILE_NAME}:${markerLine(expected.marker as string)}`;
}

/** Writes the canary into `dir` (the pool's private folder) and returns its path. */
export function writeCanaryScript(dir: string): string {
  const path = join(dir, CANARY_FILE_NAME);
  writeFileSync(path, CANARY_SOURCE, { mode: 0o600 });
  return path;
}

/** The CGI params of the canary request: a PUT whose 1-byte body is held back. */
export function canaryParams(scriptPath: string): Array<readonly [string, string]> {
  return [
    ['GATEWAY_INTERFACE', 'CGI/1.1'],
    ['SERVER_SOFTWARE', 'fastcgi-pool'],
    ['SERVER_PROTOCOL', 'HTTP/1.1'],
    ['SERVER_NAME', 'localhost'],
    ['SERVER_PORT', '0'],
    ['REMOTE_ADDR', '127.0.0.1'],
    ['REQUEST_METHOD', 'PUT'],
    ['SCRIPT_FILENAME', scriptPath],
    ['SCRIPT_NAME', `/${CANARY_FILE_NAME}`],
    ['REQUEST_URI', `/${CANARY_FILE_NAME}`],
    ['QUERY_STRING', ''],
    ['DOCUMENT_ROOT', scriptPath.slice(0, scriptPath.length - CANARY_FILE_NAME.length - 1) || '/'],
    ['CONTENT_TYPE', 'application/octet-stream'],
    ['CONTENT_LENGTH', '1'],
    ['REDIRECT_STATUS', '200'],
  ];
}

/** The outcome of one canary run. */
export type CanaryOutcome = (
  | { ok: true; frames: PhpStackFrame[] }
  | {
      ok: false;
      reason: string;
      /** The one log line for the pool: `live PHP stacks are off: …`. */
      message: string;
      frames: PhpStackFrame[] | null;
    }
) & {
  /** The request finished in time: the worker can go back to the idle list (else retire it). */
  requestEnded: boolean;
};

type Verdict = { ok: true; frames: PhpStackFrame[] } | { ok: false; reason: string; message: string; frames: PhpStackFrame[] | null };

/** What {@link runCanary} needs: a connection to a leased worker, its pid, the script and the reader. */
export interface CanaryRun {
  connection: FastCgiConnection;
  pid: number;
  scriptPath: string;
  reader: PhpStackReader;
  /** Give up after this long in all (default 5000 ms). */
  timeoutMs?: number;
}

/**
 * Runs the canary request on the connection, reads the worker's stack while
 * the script waits for its body, checks it, then lets the request finish. On
 * a failure the reader is disabled (every later read says why in one line).
 * A worker the reader cannot read at all (another platform, a ZTS build, an
 * unknown PHP version) fails at once, without a request.
 */
export async function runCanary(run: CanaryRun): Promise<CanaryOutcome> {
  // A platform or PHP build the reader cannot read at all: no request, the reason is the log line.
  const availability = run.reader.availability(run.pid);
  if (!availability.available) {
    const message = availability.reason.startsWith('live PHP stacks') ? availability.reason : `live PHP stacks are off: ${availability.reason}`;
    run.reader.disable(message);
    return { ok: false, reason: availability.reason, message, frames: null, requestEnded: true };
  }
  const deadline = Date.now() + (run.timeoutMs ?? 5_000);
  const response = new CanaryResponse();
  run.connection.beginRequest(canaryParams(run.scriptPath), response);
  let outcome: Verdict;
  try {
    await response.waitForReady(deadline);
    await waitUntilBlocked(run, deadline);
    const stack = run.reader.readStack(run.pid);
    const verdict = stack.ok ? checkCanaryFrames(stack.frames, run.scriptPath) : { ok: false as const, reason: stack.reason };
    const frames = stack.ok ? stack.frames : null;
    outcome = verdict.ok && frames ? { ok: true, frames } : failure(verdict.ok ? 'no frames' : verdict.reason, frames);
  } catch (error) {
    outcome = failure((error as Error).message, null);
  }
  // Let the script finish either way: send its byte, end the body, wait for the end.
  if (run.connection.hasActiveRequest) {
    run.connection.writeStdin(Buffer.from('x'));
    run.connection.endStdin();
  }
  const requestEnded = await response.settledBy(deadline);
  if (!outcome.ok) run.reader.disable(outcome.message);
  return { ...outcome, requestEnded };
}

function failure(reason: string, frames: PhpStackFrame[] | null): Verdict {
  return { ok: false, reason, message: `live PHP stacks are off: the canary's stack read back wrong (${reason})`, frames };
}

/**
 * Waits until the worker blocks (it flushed the ready line just before its
 * read, so within microseconds of its CPU time). Polled once per event-loop
 * turn rather than by a timer: on a loaded machine a 2 ms timer fired every
 * 10–20 ms and the canary held its worker 40–60 ms instead of a few.
 */
async function waitUntilBlocked(run: CanaryRun, deadline: number): Promise<void> {
  while (readProcState(run.pid)?.state !== 'S') {
    if (Date.now() > deadline) throw new Error('the canary worker never blocked on its request body');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

class CanaryResponse implements ResponseHandler {
  private stdout = '';
  private ended = false;
  private failure: FastCgiConnectionError | null = null;
  private wake: (() => void) | null = null;

  onStdout(chunk: Buffer): void {
    this.stdout += chunk.toString('latin1');
    this.notify();
  }
  onStderr(): void {
    // PHP notices of the canary are not the pool's business
  }
  onEnd(): void {
    this.ended = true;
    this.notify();
  }
  onError(error: FastCgiConnectionError): void {
    this.failure = error;
    this.ended = true;
    this.notify();
  }

  async waitForReady(deadline: number): Promise<void> {
    while (!this.stdout.includes(CANARY_READY)) {
      if (this.failure) throw new Error(`the canary request failed: ${this.failure.message}`);
      if (this.ended) throw new Error(`the canary ended before it was ready: ${this.stdout.slice(0, 200).replace(/\s+/g, ' ')}`);
      if (Date.now() > deadline) throw new Error('the canary did not start in time');
      await this.next(deadline);
    }
  }

  /** Waits for the end of the request until the deadline; true if it ended cleanly. */
  async settledBy(deadline: number): Promise<boolean> {
    while (!this.ended && Date.now() < deadline) await this.next(deadline);
    return this.ended && this.failure === null;
  }

  private next(deadline: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(1, Math.min(100, deadline - Date.now())));
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
