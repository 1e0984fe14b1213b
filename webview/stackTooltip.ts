/**
 * Where a lease's worker is, for the lease timeline's tooltip (issue 13):
 * what it waits on and its PHP stack, innermost first. For a lease still
 * held, the pool's last read (it reads busy workers once a second); for a
 * finished one, the stack its finding carries (read just before a
 * busy-timeout kill, or the last one seen before a worker died).
 */
import type { PoolSnapshot } from '../src/pool/types';
import { frameName } from '../src/shared/slowlogFormat';
import { describeWait } from '../src/shared/stackText';
import type { LeaseStack, PhpStackFrame, WaitReason } from '../src/shared/stackTypes';
import { formatDuration } from '../src/shared/text';
import { h } from './dom';
import { basename } from './format';

/** Frames shown at most (the rest is counted). */
const MAX_FRAMES = 8;

/** What the tooltip shows about one lease. */
export interface LeaseWhere {
  readonly frames: readonly PhpStackFrame[] | null;
  readonly wait: WaitReason | null;
  /** How old the read is. */
  readonly ageMs: number;
  /** Why there are no frames, when there are none. */
  readonly note: string | null;
}

/** The last read of a held lease, else the stack of a finding about it; null when neither exists. */
export function leaseWhere(
  leaseId: string,
  snapshot: PoolSnapshot | null,
  stacks: Readonly<Record<string, LeaseStack>> | undefined,
  now: number,
): LeaseWhere | null {
  const read = stacks?.[leaseId];
  if (read) return { frames: read.stack, wait: read.wait, ageMs: Math.max(0, now - read.sampledAt), note: read.stackError };
  const finding = snapshot?.findings.find((f) => f.lease?.id === leaseId && f.stack);
  if (finding?.stack)
    return { frames: finding.stack, wait: finding.wait ?? null, ageMs: Math.max(0, now - finding.detectedAt + (finding.stackAgeMs ?? 0)), note: null };
  return null;
}

/** The tooltip's section: a heading line, the wait, then one line per frame. */
export function stackSection(where: LeaseWhere): HTMLElement {
  const frames = where.frames ?? [];
  const lines = frames.slice(0, MAX_FRAMES).map((frame) =>
    h('div', {
      class: `tt-frame${frame.internal ? ' muted' : ''}`,
      text: `${frameName(frame)}()  ${frame.internal || frame.file === null ? '<internal>' : `${basename(frame.file)}:${frame.line ?? '?'}`}`,
    }),
  );
  if (frames.length > MAX_FRAMES) lines.push(h('div', { class: 'tt-frame muted', text: `… ${frames.length - MAX_FRAMES} more` }));
  return h(
    'div',
    { class: 'tt-stack', dataset: { stack: String(frames.length) } },
    h('div', {
      class: 'tt-line muted',
      text: `PHP stack, read ${formatDuration(where.ageMs)} ago${where.frames === null && where.note ? `: none (${where.note})` : ''}`,
    }),
    where.wait ? h('div', { class: 'tt-line', text: describeWait(where.wait) }) : null,
    ...lines,
  );
}
