/**
 * Live PHP stacks and wait reasons of the pool's busy workers (issue 13).
 *
 * How the pool uses it:
 *  1. At start: `const stacks = createPhpStackReader()`; write the canary
 *     (`writeCanaryScript(privateDir)`), lease a worker, connect to it and
 *     `await runCanary({ connection, pid, scriptPath, reader: stacks })`. On
 *     failure the reader is already disabled: log `outcome.message`, once.
 *     (`stacks.availability(pid)` says up front whether this php-cgi can be
 *     read at all: platform, architecture, PHP version, ZTS, permissions.)
 *  2. When a lease starts: `cpuBaseline = readCpuTimeMs(pid)`.
 *  3. To look (on demand, at --slowlog-timeout, before a busy-timeout kill,
 *     once a second for leases older than 1 s):
 *     `const { stack, wait } = stacks.sample(pid, { cpuBaselineMs: cpuBaseline })`.
 *     Synchronous, ~0.1–1 ms; a CPU-busy worker is stopped and continued
 *     inside the call. `stack.ok === false` carries a one-line reason.
 *  4. When a worker exits: `stacks.forget(pid)`; at pool stop: `stacks.dispose()`.
 *  5. To print: `formatSlowlogStack(stack.frames)` (FPM's slowlog format).
 *
 * The pool does all this through `ProcessStacks` (src/platform/processStacks.ts),
 * its host's `stacks`; when to read is src/pool/stackWatch.ts.
 */
import { PhpStackReader, type PhpStackReaderOptions } from './stackReader';

export { PhpStackReader, type PhpStackReaderOptions, type StackSample } from './stackReader';
export { WaitReasonReader, type WaitReadOptions } from './waitReason';
export { readCpuTimeMs } from './procState';
export { liveStackSupport, type LiveStackSupport } from './support';
export {
  CANARY_FILE_NAME,
  CANARY_READY,
  CANARY_SOURCE,
  canaryParams,
  checkCanaryFrames,
  runCanary,
  writeCanaryScript,
  type CanaryOutcome,
  type CanaryRun,
  type CanaryVerdict,
} from './canary';
export { formatSlowlogFrame, formatSlowlogStack, frameLocation, frameName } from '../../shared/slowlogFormat';
export { PHP_LAYOUTS, findLayout } from './layoutTables';
export type { PhpLayout, PhpLayoutConstants, PhpLayoutOffsets, PhpStackArch } from './layoutTypes';
export type { PhpStackFrame, StackAvailability, StackReadResult, WaitReason, WaitTarget } from '../../shared/stackTypes';

/** The pool's entry point: a reader for this platform (elsewhere than Linux every read says why not, in one line). */
export function createPhpStackReader(options: PhpStackReaderOptions = {}): PhpStackReader {
  return new PhpStackReader(options);
}
