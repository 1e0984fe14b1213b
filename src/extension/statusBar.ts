import * as vscode from 'vscode';
import type { FindingLedger } from './diagnostics/findingLedger';
import { openFindings } from '../shared/findings';
import { pausedAt, plural } from '../shared/text';
import { escapeMarkdown } from './format';
import { Commands, Views } from './ids';
import { DisposableStore } from './disposables';
import type { PoolManager, PoolSource } from './poolManager';
import { Throttle } from './throttle';

/** What the status item shows, decided without `vscode`. */
interface StatusPresentation {
  readonly text: string;
  /** Markdown. */
  readonly tooltip: string;
  readonly background: 'none' | 'warning' | 'error';
  /** What a click does: open the running app (the folder's key when only one runs), or show the Workers view. */
  readonly click: { readonly open: true; readonly folderKey: string | null } | { readonly open: false };
}

/**
 * One item for all pools: `FastCGI 2/4 busy · :8080` (busy and maximum
 * summed over running pools, every port listed), `FastCGI stopped`
 * otherwise. Warning colour while findings are listed in Problems (open,
 * or resolved by the pool on its own), error colour when a start failed
 * and nothing runs.
 */
function presentStatus(pools: readonly PoolSource[], findings: number): StatusPresentation {
  const running = pools.filter((pool) => pool.status === 'running' && pool.server);
  const lines: string[] = [];
  for (const pool of pools) {
    const snapshot = pool.snapshot();
    const open = openFindings(snapshot).length;
    let line = `**${escapeMarkdown(pool.name)}** — ${pool.status}`;
    if (pool.server && snapshot)
      line += `: \`:${pool.server.port}\`, ${snapshot.counts.busy}/${snapshot.limits.maxWorkers} busy, ${snapshot.counts.finishing} finishing, ${snapshot.counts.idle} idle`;
    if (snapshot?.problem && pool.status === 'running') line += ` — ${escapeMarkdown(snapshot.problem)}`;
    if (pool.portMoved) line += ` (moved to ${pool.portMoved.to}: ${escapeMarkdown(pool.portMoved.heldBy ?? `port ${pool.portMoved.from} was in use`)})`;
    if (open > 0) line += `, $(warning) ${plural(open, 'open finding')}`;
    if (pool.status === 'failed' && pool.problem) line += ` — ${escapeMarkdown(pool.problem)}`;
    lines.push(`- ${line}`);
    for (const worker of snapshot?.workers ?? []) {
      if (worker.state === 'paused' && worker.debug)
        lines.push(`  - $(debug-pause) worker ${worker.id} ${escapeMarkdown(pausedAt(worker.debug))}: no timeout runs meanwhile`);
    }
    const armed = snapshot?.debugger.armed;
    if (armed) lines.push(`  - $(debug-alt) the next request${armed.pattern ? ` matching \`${armed.pattern.replaceAll('`', '')}\`` : ''} will be debugged`);
  }
  if (findings > 0) lines.push('', `$(warning) ${plural(findings, 'finding')} in Problems`);
  lines.push('', running.length > 0 ? 'Click to open the app in the browser.' : 'Click to show the Workers view.');
  const tooltip = lines.join('\n');
  const click: StatusPresentation['click'] =
    running.length > 0 ? { open: true, folderKey: running.length === 1 ? (running[0]?.key ?? null) : null } : { open: false };
  const background = findings > 0 ? 'warning' : running.length === 0 && pools.some((pool) => pool.status === 'failed') ? 'error' : 'none';
  if (running.length > 0) {
    let busy = 0;
    let finishing = 0;
    let max = 0;
    let paused = 0;
    let armed = false;
    for (const pool of running) {
      const snapshot = pool.snapshot();
      busy += snapshot?.counts.busy ?? 0;
      finishing += snapshot?.counts.finishing ?? 0;
      max += snapshot?.limits.maxWorkers ?? 0;
      paused += snapshot?.counts.paused ?? 0;
      armed ||= Boolean(snapshot?.debugger.armed);
    }
    const ports = running.map((pool) => `:${pool.server?.port ?? '?'}`).join(' ');
    // A worker at a breakpoint is neither busy nor stuck: it has its own count, and "Debug Next Request" its mark.
    const debugging = `${paused > 0 ? ` · $(debug-pause) ${paused} paused` : ''}${armed ? ' · $(debug-alt) next' : ''}`;
    // Finishing workers are not free either (their clients left, their scripts run on): said apart from busy, which counts leases.
    const also = finishing > 0 ? `, ${finishing} finishing` : '';
    return { text: `FastCGI ${busy}/${max} busy${also}${debugging} · ${ports}`, tooltip, background, click };
  }
  const text = pools.some((pool) => pool.status === 'starting')
    ? 'FastCGI starting…'
    : pools.some((pool) => pool.status === 'stopping')
      ? 'FastCGI stopping…'
      : pools.some((pool) => pool.status === 'failed')
        ? 'FastCGI failed'
        : 'FastCGI stopped';
  return { text, tooltip, background, click };
}

/** The status bar item: a projection of the pool manager, updated at most four times a second. */
export class StatusBarProjection implements vscode.Disposable {
  private readonly disposables = new DisposableStore();
  readonly item: vscode.StatusBarItem;

  constructor(
    private readonly manager: PoolManager,
    private readonly ledger: FindingLedger,
  ) {
    this.item = this.disposables.add(vscode.window.createStatusBarItem('fastcgiPool.status', vscode.StatusBarAlignment.Left, 10));
    this.item.name = 'FastCGI Pool';
    const updates = this.disposables.add(new Throttle(() => this.update()));
    this.disposables.add(manager.onDidChange(() => updates.request()));
    this.disposables.add(ledger.onDidChange(() => updates.request()));
    this.update();
    this.item.show();
  }

  update(): void {
    const p = presentStatus(this.manager.pools, this.ledger.all().length);
    this.item.text = p.text;
    const tooltip = new vscode.MarkdownString(p.tooltip);
    tooltip.supportThemeIcons = true;
    this.item.tooltip = tooltip;
    this.item.backgroundColor =
      p.background === 'none'
        ? undefined
        : new vscode.ThemeColor(p.background === 'warning' ? 'statusBarItem.warningBackground' : 'statusBarItem.errorBackground');
    this.item.accessibilityInformation = { label: p.text.replaceAll('·', ',') };
    // A running app opens on click (a pick among them when several run); otherwise the Workers view shows.
    this.item.command = p.click.open
      ? { command: Commands.openInBrowser, title: 'Open in Browser', arguments: p.click.folderKey ? [{ folderKey: p.click.folderKey }] : [] }
      : { command: Views.focusWorkers, title: 'Show FastCGI Workers' };
  }

  dispose(): void {
    this.disposables.dispose();
  }
}
