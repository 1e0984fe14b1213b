/**
 * Live stacks and wait reasons in words, one rule for every surface: the
 * CLI's lines under a finding, the Workers tree, "Show Stack", the
 * diagnostics' related information and the dashboard's tooltip.
 *
 * Plain functions without Node or `vscode`: the webview bundles this file.
 */
import { formatSlowlogStack } from './slowlogFormat';
import type { PhpStackFrame, WaitReason } from './stackTypes';
import { formatDuration } from './text';

/**
 * `sleeping in poll() on fd 4 (tcp 127.0.0.1:51002 -> 127.0.0.1:3306 (ESTABLISHED)) for 2.0 s; 3 ms CPU`,
 * `running; 1.8 s CPU`. The time in the state is a lower bound and is left
 * out while it is 0 (the first sighting).
 */
export function describeWait(wait: WaitReason): string {
  let text = wait.state;
  if (wait.syscall) text += ` in ${wait.syscall}()`;
  if (wait.fd !== null) text += ` on fd ${wait.fd}${wait.target ? ` (${wait.target.description})` : ''}`;
  else if (wait.target) text += ` on ${wait.target.description}`;
  if (wait.sinceMs > 0) text += ` for ${formatDuration(wait.sinceMs)}`;
  return `${text}; ${formatDuration(wait.cpuMs)} CPU`;
}

/** What a finding (or any report) says about the stack it carries. */
export interface StackEvidence {
  readonly stack?: readonly PhpStackFrame[] | null;
  readonly stackAgeMs?: number | null;
  readonly wait?: WaitReason | null;
}

/**
 * The lines the CLI prints under a finding that carries a stack, each
 * prefixed with `indent`: the wait reason, how old the stack is when it was
 * not read just now (a defunct worker's last one), then the frames, one a
 * line, innermost first, as PHP-FPM's slowlog prints them. Empty without a
 * stack or a wait reason.
 */
export function evidenceLines(evidence: StackEvidence, indent = '  '): string[] {
  const lines: string[] = [];
  if (evidence.wait) lines.push(`${indent}wait: ${describeWait(evidence.wait)}`);
  const stack = evidence.stack;
  if (stack && stack.length > 0) {
    const age = evidence.stackAgeMs ?? 0;
    if (age >= 1) lines.push(`${indent}last stack seen ${formatDuration(age)} before:`);
    lines.push(...formatSlowlogStack(stack, { indent }));
  }
  return lines;
}

/** The innermost frame that has a file and a line (where a diagnostic or a click goes); null if none. */
export function innermostUserFrame(stack: readonly PhpStackFrame[], accept: (file: string) => boolean = () => true): PhpStackFrame | null {
  for (const frame of stack) if (!frame.internal && frame.file !== null && frame.line !== null && accept(frame.file)) return frame;
  return null;
}
