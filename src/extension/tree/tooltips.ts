import { FINDING_KINDS, findingSeverity, openFindings } from '../../shared/findings';
import { describePlatform, platformLabel } from '../../shared/platform';
import { frameLocation, frameName } from '../../shared/slowlogFormat';
import { describeWait, innermostUserFrame } from '../../shared/stackText';
import { describeExit, formatClock, formatDuration, formatRequest, formatWholeDuration, plural } from '../../shared/text';
import { escapeMarkdown } from '../format';
import { servedRootText } from '../settings';
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
function code(value: string): string {
  const fence = value.includes('`') ? '``' : '`';
  return `${fence}${value.replaceAll('\n', ' ')}${fence}`;
}

function poolTooltip(node: PoolNode, now: number): string {
  const lines = [`**${escapeMarkdown(node.name)}** — ${node.status}`, ''];
  if (node.url) lines.push(`- serving ${code(node.url)}`);
  if (node.servedRoot) lines.push(`- document root ${escapeMarkdown(servedRootText(node.servedRoot))}`);
  if (node.portMoved) lines.push(`- moved to port ${node.portMoved.to}: ${escapeMarkdown(node.portMoved.heldBy ?? `port ${node.portMoved.from} was in use`)}`);
  const snapshot = node.snapshot;
  if (snapshot) {
    const c = snapshot.counts;
    lines.push(
      `- ${c.busy} busy, ${c.finishing} finishing, ${c.idle} idle, ${c.starting} starting, ${c.draining} draining, ${c.error} stopping (max ${snapshot.limits.maxWorkers})`,
    );
    if (snapshot.startedAt) lines.push(`- started ${formatClock(snapshot.startedAt)} (${formatWholeDuration(now - snapshot.startedAt)} ago)`);
    lines.push(`- ${plural(snapshot.totals.requests, 'request')}, ${snapshot.totals.crashed} crashed workers, ${snapshot.totals.busyTimeouts} busy timeouts`);
    lines.push(`- leak policy ${code(snapshot.leakPolicy)}`);
    if (snapshot.queue.length > 0) lines.push(`- ${plural(snapshot.queue.length, 'request')} waiting for a worker`);
    // What is checked on this OS, and what is not: nothing may look checked that is not.
    if (snapshot.platform)
      lines.push(
        '',
        `**${escapeMarkdown(platformLabel(snapshot.platform))}**`,
        '',
        ...describePlatform(snapshot.platform).map((line) => `- ${escapeMarkdown(line)}`),
      );
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
  const abandoned = w.abandoned;
  if (abandoned) {
    lines.push(
      `- finishing ${code(formatRequest(abandoned.lease))} (${code(abandoned.lease.scriptFilename)}): its client left ${formatDuration(now - abandoned.abandonedAt)} ago, ${formatDuration(now - abandoned.lease.acquiredAt)} after it started; PHP decides whether the script runs on (\`ignore_user_abort\`), the busy timeout still applies`,
    );
  }
  if (w.exitReason) lines.push(`- leaving: ${w.exitReason}${w.exit ? `, ${describeExit(w.exit)}` : ''}`);
  const debug = w.debug;
  if (debug) {
    const where = debug.file ? ` in ${code(debug.file)}${debug.line !== null ? ` line ${debug.line}` : ''}` : '';
    const state =
      debug.state === 'paused'
        ? `$(debug-pause) paused at a breakpoint${where}`
        : debug.state === 'running'
          ? `$(debug-alt) running under the debugger${where}`
          : '$(debug-stop) the script ended; the debugger has the last word';
    lines.push('', `**step debugging** — ${state} (since ${formatClock(debug.since)})`);
    lines.push(
      debug.ide === 'connected'
        ? '- no timeout runs while the session lasts: the busy timeout waits, and goes on with the time it had left when the session ends'
        : '- the debugger cannot be reached: the session is closing and the request runs on',
    );
  }
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
    lines.push(
      '',
      `${icon} **${finding.kind}** — ${FINDING_KINDS[finding.kind].title} (${finding.id}, noticed ${formatClock(finding.detectedAt)}): ${escapeMarkdown(finding.message)}`,
    );
  }
  return lines.join('\n');
}
