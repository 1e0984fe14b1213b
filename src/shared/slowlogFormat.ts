import type { PhpStackFrame } from './stackTypes';

/*
 * Stack frames as text, one frame a line, the way PHP-FPM's slowlog prints
 * them: `[0x00007f…] usleep() <internal>`, `[0x00007f…] Repo->query()
 * /app/src/Repo.php:3`. The CLI prints these after a `warning:` line of a
 * slow-request or busy-timeout finding.
 *
 * No Node import: the CLI, the extension and the dashboard's webview all
 * print stacks with it.
 */

/** `Repo->query`, `Registry::run`, `usleep`, `{main}`: the frame's name as PHP's backtraces write it. */
export function frameName(frame: Pick<PhpStackFrame, 'function' | 'class' | 'type'>): string {
  return frame.class ? `${frame.class}${frame.type ?? '::'}${frame.function}` : frame.function;
}

/** `<internal>` or `FILE:LINE`. */
export function frameLocation(frame: Pick<PhpStackFrame, 'internal' | 'file' | 'line'>): string {
  if (frame.internal || frame.file === null) return '<internal>';
  return frame.line === null ? frame.file : `${frame.file}:${frame.line}`;
}

/** One slowlog line for a frame. */
export function formatSlowlogFrame(frame: PhpStackFrame): string {
  return `[${frame.address}] ${frameName(frame)}() ${frameLocation(frame)}`;
}

/** The whole stack, innermost first, one line per frame; `indent` prefixes each line. */
export function formatSlowlogStack(frames: readonly PhpStackFrame[], options: { indent?: string; truncated?: boolean } = {}): string[] {
  const indent = options.indent ?? '';
  const lines = frames.map((frame) => indent + formatSlowlogFrame(frame));
  if (options.truncated) lines.push(`${indent}... (more frames not read)`);
  return lines;
}
