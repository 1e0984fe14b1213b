import * as vscode from 'vscode';
import type { FindingLedger } from './diagnostics/findingLedger';
import { openFindings } from '../shared/findings';
import { plural } from '../shared/text';
import { escapeMarkdown } from './format';
import { Views } from './ids';
import { DisposableStore } from './disposables';
import type { PoolManager, PoolSource } from './poolManager';
import { Throttle } from './throttle';

/** What the status item shows, decided without `vscode`. */
interface StatusPresentation {
  readonly text: string;
  /** Markdown. */
  readonly tooltip: string;
  readonly background: 'none' | 'warning' | 'error';
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
    if (pool.server && snapshot) line += `: \`:${pool.server.port}\`, ${snapshot.counts.busy}/${snapshot.limits.maxWorkers} busy, ${snapshot.counts.finishing} finishing, ${snapshot.counts.idle} idle`;
    if (snapshot?.problem && pool.status === 'running') line += ` — ${escapeMarkdown(snapshot.problem)}`;
    if (pool.portMoved) line += ` (port ${pool.portMoved.from} was in use, moved to ${pool.portMoved.to})`;
    if (open > 0) line += `, $(warning) ${plural(open, 'open finding')}`;
    if (pool.status === 'failed' && pool.problem) line += ` — ${escapeMarkdown(pool.problem)}`;
    lines.push(`- ${line}`);
  }
  if (findings > 0) lines.push('', `$(warning) ${plural(findings, 'finding')} in Problems`);
  lines.push('', 'Click to show the Workers view.');
  const tooltip = lines.join('\n');
  const background = findings > 0 ? 'warning' : running.length === 0 && pools.some((pool) => pool.status === 'failed') ? 'error' : 'none';
  if (running.length > 0) {
    let busy = 0;
    let finishing = 0;
    let max = 0;
    for (const pool of running) {
      const snapshot = pool.snapshot();
      busy += snapshot?.counts.busy ?? 0;
      finishing += snapshot?.counts.finishing ?? 0;
      max += snapshot?.limits.maxWorkers ?? 0;
    }
    const ports = running.map((pool) => `:${pool.server?.port ?? '?'}`).join(' ');
    // Finishing workers are not free either (their clients left, their scripts run on): said apart from busy, which counts leases.
    const also = finishing > 0 ? `, ${finishing} finishing` : '';
    return { text: `FastCGI ${busy}/${max} busy${also} · ${ports}`, tooltip, background };
  }
  const text = pools.some((pool) => pool.status === 'starting')
    ? 'FastCGI starting…'
    : pools.some((pool) => pool.status === 'stopping')
      ? 'FastCGI stopping…'
      : pools.some((pool) => pool.status === 'failed')
        ? 'FastCGI failed'
        : 'FastCGI stopped';
  return { text, tooltip, background };
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
    this.item.command = { command: Views.focusWorkers, title: 'Show FastCGI Workers' };
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
    this.item.backgroundColor = p.background === 'none' ? undefined : new vscode.ThemeColor(p.background === 'warning' ? 'statusBarItem.warningBackground' : 'statusBarItem.errorBackground');
    this.item.accessibilityInformation = { label: p.text.replaceAll('·', ',') };
  }

  dispose(): void {
    this.disposables.dispose();
  }
}
