/**
 * The dashboard page: headline figures, the lease timeline, the worker
 * table and the findings. It draws the last snapshot the host sent and posts
 * intents; it decides nothing about the pool.
 */
import {
  DASHBOARD_MIN_UPDATE_INTERVAL_MS,
  DASHBOARD_TITLE,
  TIMELINE_WINDOWS_MS,
  type DashboardEvent,
  type DashboardIntent,
  type DashboardIntentRequest,
  type DashboardSourceInfo,
  type DashboardViewState,
  type HostToWebviewMessage,
  type SnapshotMessage,
  type WebviewToHostMessage,
} from '../src/shared/dashboardProtocol';
import type { PoolSnapshot } from '../src/pool/types';
import { BAR_KINDS, findingRows, headline, timeline, workerRows, type FindingRow, type WorkerRow } from './derive';
import { h, replaceChildren, setClass, setText } from './dom';
import { FINDING_KINDS, findingSeverity } from '../src/shared/findings';
import { describePlatform, platformLabel } from '../src/shared/platform';
import { describeExit, formatClock, formatDuration, formatRequest, plural } from '../src/shared/text';
import { KIND_LABELS, basename, formatRate } from './format';
import { leaseWhere, stackSection } from './stackTooltip';
import { Timeline } from './timeline';
import { MEDIUM_GRID_PX, rowClasses, workerColumns } from './workerColumns';
import { DataGrid, button, chip, countBadge, dropdown } from './ui';

/** How the page talks to the host (acquireVsCodeApi in VS Code, a stub in tests). */
export interface HostPort {
  post(message: WebviewToHostMessage): void;
  saveState(state: DashboardViewState): void;
}

/** Render timings, for the frame benchmark and the tests (a ring of the last 240). */
export interface RenderStats {
  renders: number;
  durations: number[];
}

const WINDOW_LABELS: Record<number, string> = { 60_000: 'Last minute', 300_000: 'Last 5 minutes', 900_000: 'Last 15 minutes' };

export class DashboardApp {
  readonly stats: RenderStats = { renders: 0, durations: [] };
  private snapshot: PoolSnapshot | null = null;
  /** The pool's last stack read of each held lease, by lease id. */
  private stacks: SnapshotMessage['stacks'] = undefined;
  private source: DashboardSourceInfo | null = null;
  private received = false;
  private receivedAt = 0;
  private lastRenderAt = Number.NEGATIVE_INFINITY;
  private renderPending = false;
  private nextRequestId = 1;
  private readonly flashing = new Map<string, number>();
  /** The rows last drawn, by worker id: what a button in the table acts on. */
  private readonly workers = new Map<string, WorkerRow>();

  private readonly title: HTMLElement;
  private readonly subtitle: HTMLElement;
  /** What the pool can and cannot check on its OS (snapshot.platform). */
  private readonly platform: HTMLElement;
  private readonly banner: HTMLElement;
  private readonly figures: HTMLElement;
  private readonly figureValues = new Map<string, { card: HTMLElement; value: HTMLElement; detail: HTMLElement }>();
  private readonly body: HTMLElement;
  private readonly emptyState: HTMLElement;
  private readonly legend: HTMLElement;
  private readonly timeline: Timeline;
  private readonly grid: DataGrid<WorkerRow>;
  private readonly gridBox: HTMLElement;
  private readonly workerCount: HTMLElement;
  private readonly findingsList: HTMLElement;
  private readonly findingsCount: HTMLElement;
  private readonly status: HTMLElement;
  private readonly ticker: number;

  constructor(
    root: HTMLElement,
    private readonly port: HostPort,
    private state: DashboardViewState,
  ) {
    this.title = h('h1', { text: DASHBOARD_TITLE });
    this.subtitle = h('p', { class: 'subtitle' });
    this.platform = h('p', { class: 'platform', attrs: { hidden: '' } });
    this.banner = h('p', { class: 'banner', role: 'alert', attrs: { hidden: '' } });
    this.figures = h('section', { class: 'figures', attrs: { 'aria-label': 'Headline figures' } });
    for (const [key, label] of [
      ['idle', 'Idle'],
      ['busy', 'Busy'],
      ['error', 'Error'],
      ['rps', 'Requests / s'],
      ['p50', 'p50 latency'],
      ['p99', 'p99 latency'],
      ['queue', 'Queue'],
      ['findings', 'Findings'],
    ] as const) {
      const value = h('span', { class: 'figure-value', text: '–' });
      const detail = h('span', { class: 'figure-detail' });
      const card = h('div', { class: 'figure', dataset: { figure: key } }, value, h('span', { class: 'figure-label', text: label }), detail);
      this.figures.appendChild(card);
      this.figureValues.set(key, { card, value, detail });
    }

    this.timeline = new Timeline({
      openScript: (bar) => this.send({ type: 'openScript', path: bar.scriptFilename }),
      stackOf: (bar) => {
        const where = leaseWhere(bar.leaseId, this.snapshot, this.stacks, this.now());
        return where ? stackSection(where) : null;
      },
    });
    this.legend = h(
      'ul',
      { class: 'legend', attrs: { 'aria-label': 'Legend' } },
      ...BAR_KINDS.map((kind) => h('li', {}, h('span', { class: `swatch swatch-${kind}`, attrs: { 'aria-hidden': 'true' } }), KIND_LABELS[kind] ?? kind)),
      h('li', {}, h('span', { class: 'swatch swatch-flagged', attrs: { 'aria-hidden': 'true' } }), 'named by a finding'),
    );
    const windowPicker = dropdown(
      TIMELINE_WINDOWS_MS.map((ms) => ({ value: String(ms), label: WINDOW_LABELS[ms] ?? formatDuration(ms) })),
      String(state.windowMs),
      (value) => this.setWindow(Number(value)),
      'Timeline span',
    );

    this.grid = new DataGrid<WorkerRow>(
      workerColumns(this.workers, (request) => this.send(request)),
      'Workers',
      (row) => row.id,
      rowClasses,
    );
    this.gridBox = h('div', { class: 'grid-scroll' }, this.grid.element);
    // The table fits its editor: a half-width one leaves out the columns that matter least (see workerColumns).
    new ResizeObserver((entries) => {
      const width = entries[entries.length - 1]?.contentRect.width ?? 0;
      if (width > 0) {
        this.grid.fit(width);
        this.gridBox.classList.toggle('narrow', width < MEDIUM_GRID_PX);
      }
    }).observe(this.gridBox);
    this.workerCount = h('span');
    this.findingsCount = h('span');
    this.findingsList = h('ol', { class: 'findings', attrs: { 'aria-label': 'Findings' } });
    this.status = h('p', { class: 'status', role: 'status', attrs: { 'aria-live': 'polite' } });
    this.emptyState = h('p', { class: 'empty', attrs: { hidden: '' } });

    this.body = h(
      'div',
      { class: 'body' },
      this.figures,
      h(
        'section',
        { class: 'panel', attrs: { 'aria-labelledby': 'timeline-heading' } },
        h('header', { class: 'panel-header' }, h('h2', { id: 'timeline-heading', text: 'Lease timeline' }), windowPicker),
        this.timeline.element,
        this.legend,
      ),
      h(
        'section',
        { class: 'panel', attrs: { 'aria-labelledby': 'workers-heading' } },
        h('header', { class: 'panel-header' }, h('h2', { id: 'workers-heading' }, 'Workers ', this.workerCount)),
        this.gridBox,
      ),
      h(
        'section',
        { class: 'panel', attrs: { 'aria-labelledby': 'findings-heading' } },
        h('header', { class: 'panel-header' }, h('h2', { id: 'findings-heading' }, 'Findings ', this.findingsCount)),
        this.findingsList,
      ),
    );
    replaceChildren(
      root,
      h('header', { class: 'page-header' }, this.title, this.subtitle, this.platform),
      this.banner,
      this.emptyState,
      this.body,
      this.status,
    );
    root.removeAttribute('aria-busy');
    this.body.hidden = true;
    this.emptyState.hidden = false;
    setText(this.emptyState, 'Waiting for the pool…');

    // Ages and the timeline's "now" move on between snapshots.
    this.ticker = window.setInterval(() => {
      if (this.snapshot && document.visibilityState === 'visible') this.scheduleRender();
    }, 1000);
    // VS Code swaps the body class (vscode-light / -dark / -high-contrast) on a theme change.
    new MutationObserver(() => this.timeline.themeChanged()).observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-kind'] });
  }

  receive(message: HostToWebviewMessage): void {
    if (message.type === 'snapshot') {
      this.snapshot = message.snapshot;
      this.stacks = message.stacks;
      this.received = true;
      this.receivedAt = performance.now();
      if (message.source.key !== this.source?.key) {
        this.source = message.source;
        this.saveState({ ...this.state, sourceKey: message.source.key });
      }
      this.scheduleRender();
    } else {
      this.onEvent(message.event);
    }
  }

  dispose(): void {
    window.clearInterval(this.ticker);
    this.timeline.dispose();
  }

  // -------------------------------------------------------------------------

  private onEvent(event: DashboardEvent): void {
    if (event.kind === 'finding') {
      this.flashing.set(event.finding.id, performance.now() + 4000);
      this.say(`New finding: ${event.finding.message}`, 'error');
      this.scheduleRender();
      return;
    }
    // Success of opening or revealing is visible by itself.
    if (event.ok && (event.intent === 'openScript' || event.intent === 'revealWorker')) return;
    this.say(event.message, event.ok ? 'info' : 'error');
  }

  private say(text: string, tone: 'info' | 'error'): void {
    setText(this.status, text);
    setClass(this.status, 'error', tone === 'error');
  }

  private send(request: DashboardIntentRequest): void {
    const intent = { ...request, requestId: this.nextRequestId++ } as DashboardIntent;
    this.port.post(intent);
  }

  private setWindow(ms: number): void {
    if (!TIMELINE_WINDOWS_MS.includes(ms) || ms === this.state.windowMs) return;
    this.saveState({ ...this.state, windowMs: ms });
    this.scheduleRender();
  }

  private saveState(state: DashboardViewState): void {
    this.state = state;
    this.port.saveState(state);
  }

  /** At most one render per 250 ms, on an animation frame. */
  private scheduleRender(): void {
    if (this.renderPending) return;
    this.renderPending = true;
    const frame = (): void => {
      requestAnimationFrame(() => {
        this.renderPending = false;
        this.render();
      });
    };
    const wait = this.lastRenderAt + DASHBOARD_MIN_UPDATE_INTERVAL_MS - performance.now();
    if (wait > 0) window.setTimeout(frame, wait);
    else frame();
  }

  /** The snapshot's clock, moved on by the time since it arrived (the host's clock may differ from ours). */
  private now(): number {
    return this.snapshot ? this.snapshot.takenAt + (performance.now() - this.receivedAt) : Date.now();
  }

  private render(): void {
    const started = performance.now();
    this.lastRenderAt = started;
    const snapshot = this.snapshot;
    const label = this.source?.label ? ` · ${this.source.label}` : '';
    if (!snapshot) {
      this.body.hidden = true;
      this.emptyState.hidden = false;
      this.banner.hidden = true;
      this.platform.hidden = true;
      setText(this.subtitle, this.received ? `No pool running${label}` : '');
      setText(this.emptyState, this.received ? 'No pool is running here. Start one with the command “FastCGI: Start Pool”.' : 'Waiting for the pool…');
      this.record(started);
      return;
    }
    const now = this.now();
    this.emptyState.hidden = true;
    this.body.hidden = false;
    setText(
      this.subtitle,
      `Pool ${snapshot.state}${label} · leak policy ${snapshot.leakPolicy} · ${snapshot.counts.total}/${snapshot.limits.maxWorkers} workers · snapshot ${formatClock(snapshot.takenAt)}`,
    );
    this.banner.hidden = snapshot.problem === null;
    setText(this.banner, snapshot.problem ?? '');
    // Older hosts send no platform: then nothing is claimed.
    const platform = snapshot.platform ?? null;
    this.platform.hidden = platform === null;
    setText(this.platform, platform ? `${platformLabel(platform)} · ${describePlatform(platform).join(' · ')}` : '');

    this.renderFigures(snapshot, now);
    this.timeline.setModel(timeline(snapshot, now, this.state.windowMs));
    this.renderWorkers(workerRows(snapshot, now));
    this.renderFindings(findingRows(snapshot, now), now);
    this.record(started);
  }

  private record(started: number): void {
    this.stats.renders++;
    this.stats.durations.push(performance.now() - started);
    if (this.stats.durations.length > 240) this.stats.durations.shift();
  }

  private figure(key: string, value: string, detail: string, alert = false): void {
    const f = this.figureValues.get(key);
    if (!f) return;
    setText(f.value, value);
    setText(f.detail, detail);
    setClass(f.card, 'alert', alert);
  }

  private renderFigures(snapshot: PoolSnapshot, now: number): void {
    const figures = headline(snapshot, now);
    const transitional = [figures.starting ? `${figures.starting} starting` : '', figures.draining ? `${figures.draining} draining` : '']
      .filter(Boolean)
      .join(', ');
    this.figure('idle', String(figures.idle), transitional || `of ${figures.maxWorkers} max`);
    const busyDetail = [
      figures.paused ? `${figures.paused} paused in the debugger` : '',
      figures.finishing ? `+${figures.finishing} finishing (client left)` : '',
      figures.defunct ? `${figures.defunct} defunct` : '',
    ]
      .filter(Boolean)
      .join(', ');
    this.figure('busy', String(figures.busy), busyDetail, figures.defunct > 0);
    this.figure('error', String(figures.error), snapshot.recentExits.length ? `${plural(snapshot.recentExits.length, 'recent exit')}` : '', figures.error > 0);
    this.figure('rps', formatRate(figures.requestsPerSecond), 'last minute');
    const samples = figures.latency.count ? `${plural(figures.latency.count, 'request')}, last minute` : 'no requests in the last minute';
    this.figure('p50', formatDuration(figures.latency.p50), samples);
    this.figure('p99', formatDuration(figures.latency.p99), samples);
    this.figure(
      'queue',
      String(figures.queueLength),
      figures.queueLength ? `oldest ${formatDuration(figures.queueOldestWaitMs)}` : `max ${snapshot.limits.maxQueue}`,
      figures.queueLength > 0,
    );
    this.figure('findings', String(figures.openFindings), `open · ${figures.findings} in all`, figures.openFindings > 0);
  }

  private renderWorkers(rows: readonly WorkerRow[]): void {
    this.workers.clear();
    for (const row of rows) this.workers.set(row.id, row);
    const count = String(rows.length);
    if (this.workerCount.textContent !== count) replaceChildren(this.workerCount, countBadge(rows.length, 'workers'));
    this.grid.setRows(rows);
  }

  private renderFindings(rows: readonly FindingRow[], now: number): void {
    const open = rows.filter((r) => r.open).length;
    if (this.findingsCount.textContent !== String(open)) replaceChildren(this.findingsCount, countBadge(open, 'open findings'));
    for (const [id, until] of this.flashing) if (until < performance.now()) this.flashing.delete(id);
    const key = rows.map((r) => `${r.finding.id}:${r.open}:${r.leaseHeld}:${r.workerPresent}:${this.flashing.has(r.finding.id)}`).join(',');
    if (this.findingsList.dataset.key === key) {
      // Same findings: only the ages move.
      for (const row of rows) {
        const age = this.findingsList.querySelector(`[data-finding="${CSS.escape(row.finding.id)}"] .held`);
        if (age) setText(age, heldText(row));
      }
      return;
    }
    this.findingsList.dataset.key = key;
    if (rows.length === 0) {
      replaceChildren(this.findingsList, h('li', { class: 'none', text: 'No findings: the lists and the OS agree.' }));
      return;
    }
    replaceChildren(this.findingsList, ...rows.map((row) => this.findingItem(row, now)));
  }

  private findingItem(row: FindingRow, now: number): HTMLElement {
    const f = row.finding;
    const lease = f.lease;
    const classes = ['finding', row.open ? 'open' : 'resolved', this.flashing.has(f.id) ? 'flash' : ''].filter(Boolean).join(' ');
    const facts = [
      f.workerId ? `worker ${f.workerId}` : null,
      f.pid !== null ? `pid ${f.pid}` : null,
      f.exit ? describeExit(f.exit) : null,
      f.processState ? `state ${f.processState}` : null,
      f.descendant ? `${f.descendant.comm} (pid ${f.descendant.pid}, ${f.descendant.state})` : null,
      `detected ${formatClock(f.detectedAt)} (${formatDuration(now - f.detectedAt)} ago${f.detectionLatencyMs !== null ? `, ${formatDuration(f.detectionLatencyMs)} after it happened` : ''})`,
    ].filter((x): x is string => x !== null);
    return h(
      'li',
      { class: classes, dataset: { finding: f.id } },
      h(
        'div',
        { class: 'finding-head' },
        // Red for a finding that lost a request, amber for the others, as in Problems.
        chip(f.kind, row.open ? findingSeverity(f.kind) : 'muted', `${FINDING_KINDS[f.kind].title}: ${FINDING_KINDS[f.kind].explanation}`),
        row.open ? chip('open', findingSeverity(f.kind)) : chip(f.resolution ? `resolved: ${f.resolution.how}` : 'resolved', 'ok', f.resolution?.detail),
        h('span', { class: 'finding-id muted', text: f.id }),
      ),
      h('p', { class: 'finding-message', text: f.message }),
      h('p', { class: 'finding-facts muted', text: facts.join(' · ') }),
      lease
        ? h(
            'p',
            { class: 'finding-lease' },
            `Lease ${lease.id} · `,
            h('strong', { text: formatRequest(lease, 80) }),
            ` · ${basename(lease.scriptFilename)} · client ${lease.clientAddress} · `,
            h('span', { class: 'held', text: heldText(row) }),
          )
        : null,
      h(
        'div',
        { class: 'actions' },
        lease
          ? button('Open script', () => this.send({ type: 'openScript', path: lease.scriptFilename }), {
              ariaLabel: `Open ${lease.scriptFilename}`,
              title: lease.scriptFilename,
            })
          : null,
        lease && row.leaseHeld && row.open
          ? button('Release lease', () => this.send({ type: 'releaseLease', leaseId: lease.id }), {
              ariaLabel: `Release lease ${lease.id}`,
              appearance: 'primary',
            })
          : null,
        f.workerId && row.workerPresent
          ? button('Reveal worker', () => this.send({ type: 'revealWorker', workerId: f.workerId as string }), { ariaLabel: `Reveal worker ${f.workerId}` })
          : null,
      ),
    );
  }
}

function heldText(row: FindingRow): string {
  if (row.heldMs === null) return '';
  return row.open ? `held ${formatDuration(row.heldMs)}` : `held ${formatDuration(row.heldMs)} until resolved`;
}
