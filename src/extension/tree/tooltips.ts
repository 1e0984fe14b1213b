import { FINDING_KINDS, findingSeverity, openFindings } from '../../shared/findings';
import { frameLocation, frameName } from '../../shared/slowlogFormat';
import { describeWait, innermostUserFrame } from '../../shared/stackText';
import { describeExit, formatClock, formatDuration, formatRequest, formatWholeDuration, plural } from '../../shared/text';
import { escapeMarkdown } from '../format';
import type { PoolNode, TreeNode, WorkerNode } from './model';

/**
 * Markdown tooltips for the Workers tree. They are built on hover
 * (`resolveTreeItem`), so they may say more than a description can.
 * Every value that comes from a request goes into a code span, so a URI
 * cannot inject Markdown or links.
 */
export function tooltipMarkdown(node: TreeNode, now: number): string | null {
  switch (node.kind) {
    case 'pool':
      return poolTooltip(node, now);
    case 'worker':
      return workerTooltip(node, now);
    default:
      return null;
  }
}

/** A code span that survives backticks in the value. */
export function code(value: string): string {
  const fence = value.includes('`') ? '``' : '`';
  return `${fence}${value.replaceAll('\n', ' ')}${fence}`;
}

function poolTooltip(node: PoolNode, now: number): string {
  const lines = [`**${escapeMarkdown(node.name)}** — ${node.status}`, ''];
  if (node.url) lines.push(`- serving ${code(node.url)}`);
  if (node.portMoved) lines.push(`- port ${node.portMoved.from} was in use, so the pool moved to ${node.portMoved.to}`);
  const snapshot = node.snapshot;
  if (snapshot) {
    const c = snapshot.counts;
    lines.push(`- ${c.busy} busy, ${c.idle} idle, ${c.starting} starting, ${c.draining} draining, ${c.error} stopping (max ${snapshot.limits.maxWorkers})`);
    if (snapshot.startedAt) lines.push(`- started ${formatClock(snapshot.startedAt)} (${formatWholeDuration(now - snapshot.startedAt)} ago)`);
    lines.push(`- ${plural(snapshot.totals.requests, 'request')}, ${snapshot.totals.crashed} crashed workers, ${snapshot.totals.busyTimeouts} busy timeouts`);
    lines.push(`- leak policy ${code(snapshot.leakPolicy)}`);
    if (snapshot.queue.length > 0) lines.push(`- ${plural(snapshot.queue.length, 'request')} waiting for a worker`);
    const findings = openFindings(snapshot);
    if (findings.length > 0) lines.push('', `$(warning) ${plural(findings.length, 'open finding')}`);
  }
  if (node.problem) lines.push('', `$(error) ${escapeMarkdown(node.problem)}`);
  return lines.join('\n');
}

function workerTooltip(node: WorkerNode, now: number): string {
  const w = node.worker;
  const lines = [`**worker ${w.id}** — ${w.state}${w.defunct ? ' (defunct: the process is gone or a zombie)' : ''}`, ''];
  lines.push(`- pid ${w.pid === null ? 'not yet' : code(String(w.pid))}`);
  lines.push(`- started ${formatClock(w.startedAt)} (${formatWholeDuration(now - w.startedAt)} ago)`);
  lines.push(`- ${plural(w.accesses, 'request')} served`);
  if (w.state === 'idle') lines.push(`- idle for ${formatWholeDuration(now - w.lastActiveAt)}`);
  if (w.exitReason) lines.push(`- leaving: ${w.exitReason}${w.exit ? `, ${describeExit(w.exit)}` : ''}`);
  const lease = w.lease;
  if (lease) {
    lines.push(
      '',
      `**lease ${lease.id}** ${code(formatRequest(lease))}`,
      '',
      `- script ${code(lease.scriptFilename)}`,
      `- client ${code(lease.clientAddress)} via ${code(lease.holder)}`,
      `- held ${formatDuration(now - lease.acquiredAt)} (since ${formatClock(lease.acquiredAt)}), waited ${formatDuration(lease.acquiredAt - lease.queuedAt)} for a worker`,
    );
    const read = node.stack;
    if (read) {
      const where = read.stack ? innermostUserFrame(read.stack) : null;
      lines.push('', `**where** (read ${formatDuration(now - read.sampledAt)} ago)`, '');
      if (where) lines.push(`- in ${code(`${frameName(where)}()`)} at ${code(frameLocation(where))}`);
      else if (read.stackError) lines.push(`- no stack: ${escapeMarkdown(read.stackError)}`);
      if (read.wait) lines.push(`- ${escapeMarkdown(describeWait(read.wait))}`);
    }
  }
  for (const finding of node.findings) {
    const icon = findingSeverity(finding.kind) === 'error' ? '$(error)' : '$(warning)';
    lines.push('', `${icon} **${finding.kind}** — ${FINDING_KINDS[finding.kind].title} (${finding.id}, noticed ${formatClock(finding.detectedAt)}): ${escapeMarkdown(finding.message)}`);
  }
  return lines.join('\n');
}
