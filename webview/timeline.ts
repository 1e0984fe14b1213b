/**
 * The lease timeline: one swimlane per worker, each lease a bar from acquire
 * to release, coloured by outcome. Drawn on a canvas (1 000 bars are a few
 * fillRects; DOM or SVG nodes would be 1 000 elements to lay out four times a
 * second). Colours come from CSS custom properties (dashboard.css maps them
 * to VS Code's theme variables), re-read when the theme changes.
 *
 * Hover shows the request; click or Enter opens the script. The canvas is
 * focusable: arrow keys walk the bars, and a live region reads out the one
 * selected, so the picture is not mouse-only.
 */
import { BAR_KINDS, barAt, type BarKind, type TimelineBar, type TimelineLane, type TimelineModel } from './derive';
import { h, replaceChildren, setText } from './dom';
import { formatClock, formatDuration, formatRequest, formatSpan } from '../src/shared/text';
import { KIND_LABELS, basename } from './format';
import { chip } from './ui';

const GUTTER = 128;
const RIGHT_PAD = 10;
const LANE_H = 20;
const BAR_H = 12;
const AXIS_H = 22;
const HOVER_SLACK_PX = 3;
const MIN_BAR_PX = 2;

/** Tick steps the axis may use, in ms. */
const TICK_STEPS = [1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000];

interface Palette {
  kinds: Record<BarKind, string>;
  background: string;
  laneAlt: string;
  laneDefunct: string;
  grid: string;
  text: string;
  muted: string;
  error: string;
  focus: string;
  hatch: string;
  font: string;
}

export interface TimelineCallbacks {
  openScript(bar: TimelineBar): void;
  /** Where the lease's worker is (its PHP stack), for the tooltip; null for nothing. */
  stackOf?(bar: TimelineBar): HTMLElement | null;
}

export class Timeline {
  readonly element: HTMLElement;
  private readonly axis: HTMLCanvasElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly scroller: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly tooltip: HTMLElement;
  private readonly live: HTMLElement;
  private readonly empty: HTMLElement;
  private readonly resizeObserver: ResizeObserver;
  private model: TimelineModel | null = null;
  private palette: Palette | null = null;
  private width = 0;
  private hovered: { lane: number; leaseId: string } | null = null;
  private selected: { lane: number; leaseId: string } | null = null;

  constructor(private readonly callbacks: TimelineCallbacks) {
    this.axis = h('canvas', { class: 'timeline-axis', attrs: { 'aria-hidden': 'true' } });
    this.canvas = h('canvas', {
      class: 'timeline-lanes',
      attrs: { tabindex: '0', role: 'img', 'aria-roledescription': 'lease timeline' },
      on: {
        mousemove: (e) => this.onMouseMove(e),
        mouseleave: () => this.setHovered(null),
        click: (e) => this.onClick(e),
        keydown: (e) => this.onKeyDown(e),
        focus: () => this.onFocus(),
        blur: () => this.onBlur(),
      },
    });
    // The canvas is only as tall as the visible lanes (a 64-lane canvas would be 1 280 px of pixels
    // to clear, raster and upload on every update); it sticks to the top of the scroller while a
    // spacer gives the scroll height, and draws the lanes from scrollTop.
    this.spacer = h('div', { class: 'timeline-spacer', attrs: { 'aria-hidden': 'true' } });
    this.scroller = h('div', { class: 'timeline-scroll', on: { scroll: () => this.onScroll() } }, this.canvas, this.spacer);
    this.tooltip = h('div', { class: 'timeline-tooltip', role: 'tooltip', attrs: { hidden: '' } });
    this.live = h('div', { class: 'sr-only', attrs: { 'aria-live': 'polite' } });
    this.empty = h('p', { class: 'timeline-empty', attrs: { hidden: '' } });
    this.element = h('div', { class: 'timeline' }, this.axis, this.scroller, this.empty, this.tooltip, this.live);
    this.resizeObserver = new ResizeObserver(() => {
      const width = Math.floor(this.element.clientWidth);
      if (width !== this.width) {
        this.width = width;
        this.draw();
      }
    });
    this.resizeObserver.observe(this.element);
    window.addEventListener('resize', this.onWindowResize);
  }

  private scrollFrame = 0;
  private readonly onWindowResize = (): void => this.draw();

  private onScroll(): void {
    if (this.scrollFrame) return;
    this.scrollFrame = requestAnimationFrame(() => {
      this.scrollFrame = 0;
      this.draw();
      if (this.hovered) this.setHovered(null);
    });
  }

  setModel(model: TimelineModel): void {
    this.model = model;
    this.hovered = this.relocate(this.hovered);
    this.selected = this.relocate(this.selected);
    this.draw();
    if (this.hovered) this.showTooltip(this.hovered);
    else if (this.selected && document.activeElement === this.canvas) this.showTooltip(this.selected);
    else this.hideTooltip();
  }

  /** The theme changed: colours are read again on the next draw. */
  themeChanged(): void {
    this.palette = null;
    this.draw();
  }

  dispose(): void {
    this.resizeObserver.disconnect();
    window.removeEventListener('resize', this.onWindowResize);
  }

  // -------------------------------------------------------------------------
  // Drawing

  draw(): void {
    const model = this.model;
    if (!model) return;
    const width = this.width || Math.floor(this.element.clientWidth) || 600;
    const palette = (this.palette ??= this.readPalette());
    const lanes = model.lanes;
    const hasBars = lanes.some((lane) => lane.bars.length > 0);
    this.empty.hidden = hasBars || lanes.length > 0;
    if (!this.empty.hidden) setText(this.empty, 'No workers and no leases yet.');
    this.canvas.setAttribute('aria-label', this.describe(model));

    const dpr = window.devicePixelRatio || 1;
    const total = Math.max(LANE_H, lanes.length * LANE_H);
    // At most half the window tall; the rest scrolls.
    const visible = Math.min(total, Math.max(4 * LANE_H, Math.floor(window.innerHeight / 2 / LANE_H) * LANE_H));
    setStyle(this.scroller, 'maxHeight', `${visible}px`);
    setStyle(this.spacer, 'height', `${total - visible}px`);
    const top = Math.min(this.scroller.scrollTop, total - visible);
    const height = visible;
    const ctx = prepare(this.canvas, width, height, dpr);
    const axis = prepare(this.axis, width, AXIS_H, dpr);
    const plotW = Math.max(10, width - GUTTER - RIGHT_PAD);
    const span = model.to - model.from;
    const x = (t: number): number => GUTTER + ((t - model.from) / span) * plotW;
    const firstLane = Math.max(0, Math.floor(top / LANE_H));
    const lastLane = Math.min(lanes.length - 1, Math.ceil((top + height) / LANE_H));
    // Canvas y of lane i.
    ctx.translate(0, -top);

    // Lanes: zebra background, a defunct worker's lane tinted, the label.
    ctx.font = `12px ${palette.font}`;
    ctx.textBaseline = 'middle';
    for (let i = firstLane; i <= lastLane; i++) {
      const lane = lanes[i]!;
      const y = i * LANE_H;
      if (lane.defunct) {
        ctx.fillStyle = palette.laneDefunct;
        ctx.fillRect(0, y, width, LANE_H);
      } else if (i % 2 === 1) {
        ctx.fillStyle = palette.laneAlt;
        ctx.fillRect(0, y, width, LANE_H);
      }
      this.drawLabel(ctx, lane, y, palette);
    }

    // Time grid, on both canvases.
    const step = TICK_STEPS.find((s) => (s / span) * plotW >= 64) ?? TICK_STEPS[TICK_STEPS.length - 1]!;
    axis.font = `11px ${palette.font}`;
    axis.textBaseline = 'middle';
    axis.fillStyle = palette.muted;
    ctx.strokeStyle = palette.grid;
    ctx.lineWidth = 1;
    axis.textAlign = 'center';
    // Tick labels keep clear of the "now" label on the right and the gutter on the left.
    const rightLimit = width - 2 - axis.measureText('now').width - 8;
    for (let t = Math.ceil(model.from / step) * step; t <= model.to; t += step) {
      const px = Math.round(x(t)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(px, top);
      ctx.lineTo(px, top + height);
      ctx.stroke();
      const label = formatClock(t);
      const half = axis.measureText(label).width / 2;
      if (px - half > GUTTER + 4 && px + half < rightLimit) axis.fillText(label, px, AXIS_H / 2);
    }
    axis.textAlign = 'left';
    axis.fillText(`last ${formatSpan(span)}`, 6, AXIS_H / 2);
    axis.textAlign = 'right';
    axis.fillStyle = palette.text;
    axis.fillText('now', width - 2, AXIS_H / 2);

    // Bars, clipped to the plot.
    ctx.save();
    ctx.beginPath();
    ctx.rect(GUTTER, top, plotW, height);
    ctx.clip();
    for (let i = firstLane; i <= lastLane; i++) {
      const y = i * LANE_H + (LANE_H - BAR_H) / 2;
      for (const bar of lanes[i]!.bars) {
        if (bar.end >= model.from) this.drawBar(ctx, bar, x, y, palette);
      }
    }
    for (const mark of [this.selected, this.hovered]) {
      const found = mark && this.find(mark);
      if (!found) continue;
      const [x0, w] = barExtent(found.bar, x);
      ctx.strokeStyle = palette.focus;
      ctx.lineWidth = 2;
      ctx.strokeRect(x0 - 1, mark.lane * LANE_H + 1, w + 2, LANE_H - 2);
    }
    ctx.restore();

    // The "now" edge.
    ctx.strokeStyle = palette.muted;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(GUTTER + plotW + 0.5, top);
    ctx.lineTo(GUTTER + plotW + 0.5, top + height);
    ctx.stroke();
  }

  private drawLabel(ctx: CanvasRenderingContext2D, lane: TimelineLane, y: number, palette: Palette): void {
    const mid = y + LANE_H / 2;
    ctx.textAlign = 'left';
    ctx.fillStyle = lane.defunct ? palette.error : lane.state === null ? palette.muted : palette.text;
    ctx.fillText(lane.workerId, 6, mid);
    const idWidth = ctx.measureText(lane.workerId).width;
    ctx.fillStyle = lane.defunct ? palette.error : palette.muted;
    const detail = lane.defunct ? `${lane.pid ?? '?'} defunct` : lane.state === null ? 'exited' : String(lane.pid ?? '…');
    ctx.fillText(detail, 6 + idWidth + 6, mid, GUTTER - idWidth - 18);
  }

  private drawBar(ctx: CanvasRenderingContext2D, bar: TimelineBar, x: (t: number) => number, y: number, palette: Palette): void {
    const [x0, w] = barExtent(bar, x);
    const colour = palette.kinds[bar.kind];
    if (bar.keptUntilNow && bar.releasedAt !== null) {
      // Ended for its client at releasedAt; kept on its worker since.
      const split = Math.max(x0, Math.min(x0 + w, x(bar.releasedAt)));
      ctx.fillStyle = colour;
      ctx.fillRect(x0, y, Math.max(MIN_BAR_PX, split - x0), BAR_H);
      hatch(ctx, split, y, x0 + w - split, BAR_H, palette.kinds.stuck, palette.hatch);
    } else if (bar.kind === 'leaked' || bar.kind === 'stuck') {
      hatch(ctx, x0, y, w, BAR_H, colour, palette.hatch);
    } else {
      ctx.fillStyle = colour;
      ctx.fillRect(x0, y, w, BAR_H);
    }
    if (bar.findingIds.length > 0 || bar.defunct) {
      // Named by a finding: an error outline on top, so it stands out whatever its colour.
      ctx.strokeStyle = palette.error;
      ctx.lineWidth = 2;
      ctx.strokeRect(x0 + 1, y - 1, Math.max(0, w - 2), BAR_H + 2);
    }
  }

  private readPalette(): Palette {
    const style = getComputedStyle(this.element);
    const read = (name: string, fallback: string): string => style.getPropertyValue(name).trim() || fallback;
    const kinds = {} as Record<BarKind, string>;
    for (const kind of BAR_KINDS) kinds[kind] = read(`--kind-${kind}`, '#888');
    return {
      kinds,
      background: read('--timeline-background', '#fff'),
      laneAlt: read('--timeline-lane-alt', 'rgba(128,128,128,0.08)'),
      laneDefunct: read('--timeline-lane-defunct', 'rgba(255,0,0,0.12)'),
      grid: read('--timeline-grid', 'rgba(128,128,128,0.25)'),
      text: read('--timeline-text', '#333'),
      muted: read('--timeline-muted', '#777'),
      error: read('--timeline-error', '#e51400'),
      focus: read('--timeline-focus', '#0078d4'),
      hatch: read('--timeline-hatch', 'rgba(255,255,255,0.55)'),
      font: read('--timeline-font', 'sans-serif'),
    };
  }

  /** The canvas's text alternative: what the picture says, in counts. */
  private describe(model: TimelineModel): string {
    const parts = BAR_KINDS.filter((k) => model.counts[k] > 0).map((k) => `${model.counts[k]} ${KIND_LABELS[k]}`);
    const stuck = model.lanes.filter((l) => l.defunct).map((l) => l.workerId);
    return (
      `Lease timeline, last ${formatSpan(model.to - model.from)}, ${model.lanes.length} workers: ` +
      (parts.length ? parts.join(', ') : 'no leases') +
      (stuck.length ? `. Defunct: ${stuck.join(', ')}` : '') +
      '. Use the arrow keys to go through the leases, Enter to open a script.'
    );
  }

  // -------------------------------------------------------------------------
  // Hover, click, keyboard

  private hit(event: MouseEvent): { lane: number; bar: TimelineBar } | null {
    const model = this.model;
    if (!model) return null;
    const rect = this.canvas.getBoundingClientRect();
    const px = event.clientX - rect.left;
    const py = event.clientY - rect.top + this.scroller.scrollTop;
    const lane = Math.floor(py / LANE_H);
    const laneModel = model.lanes[lane];
    if (!laneModel || px < GUTTER) return null;
    const plotW = Math.max(10, rect.width - GUTTER - RIGHT_PAD);
    const span = model.to - model.from;
    const t = model.from + ((px - GUTTER) / plotW) * span;
    const bar = barAt(laneModel.bars, t, (HOVER_SLACK_PX / plotW) * span);
    return bar ? { lane, bar } : null;
  }

  private onMouseMove(event: MouseEvent): void {
    const hit = this.hit(event);
    this.canvas.classList.toggle('pointer', hit !== null);
    this.setHovered(hit ? { lane: hit.lane, leaseId: hit.bar.leaseId } : null);
  }

  private onClick(event: MouseEvent): void {
    const hit = this.hit(event);
    if (!hit) return;
    this.selected = { lane: hit.lane, leaseId: hit.bar.leaseId };
    this.callbacks.openScript(hit.bar);
    this.draw();
  }

  private setHovered(mark: { lane: number; leaseId: string } | null): void {
    if (mark?.leaseId === this.hovered?.leaseId && mark?.lane === this.hovered?.lane) return;
    this.hovered = mark;
    this.draw();
    if (mark) this.showTooltip(mark);
    else if (this.selected && document.activeElement === this.canvas) this.showTooltip(this.selected);
    else this.hideTooltip();
  }

  private onFocus(): void {
    if (!this.selected) this.selected = this.newestBar();
    this.draw();
    if (this.selected) this.announce(this.selected);
  }

  private onBlur(): void {
    if (!this.hovered) this.hideTooltip();
  }

  private onKeyDown(event: KeyboardEvent): void {
    const model = this.model;
    if (!model || !this.selected) return;
    const found = this.find(this.selected);
    if (!found) return;
    let next: { lane: number; leaseId: string } | null = null;
    const lane = model.lanes[this.selected.lane]!;
    switch (event.key) {
      case 'ArrowLeft':
      case 'ArrowRight': {
        const bar = lane.bars[found.index + (event.key === 'ArrowLeft' ? -1 : 1)];
        if (bar) next = { lane: this.selected.lane, leaseId: bar.leaseId };
        break;
      }
      case 'ArrowUp':
      case 'ArrowDown': {
        const dir = event.key === 'ArrowUp' ? -1 : 1;
        for (let i = this.selected.lane + dir; i >= 0 && i < model.lanes.length; i += dir) {
          const nearest = nearestBar(model.lanes[i]!.bars, (found.bar.start + found.bar.end) / 2);
          if (nearest) {
            next = { lane: i, leaseId: nearest.leaseId };
            break;
          }
        }
        break;
      }
      case 'Home':
      case 'End': {
        const bar = event.key === 'Home' ? lane.bars[0] : lane.bars[lane.bars.length - 1];
        if (bar) next = { lane: this.selected.lane, leaseId: bar.leaseId };
        break;
      }
      case 'Enter':
      case ' ':
        event.preventDefault();
        this.callbacks.openScript(found.bar);
        return;
      case 'Escape':
        this.hideTooltip();
        return;
      default:
        return;
    }
    event.preventDefault();
    if (!next) return;
    this.selected = next;
    this.draw();
    this.scrollLaneIntoView(next.lane);
    this.announce(next);
  }

  private announce(mark: { lane: number; leaseId: string }): void {
    const found = this.find(mark);
    if (!found) return;
    this.showTooltip(mark);
    setText(this.live, describeBar(found.bar));
  }

  private scrollLaneIntoView(lane: number): void {
    const top = lane * LANE_H;
    const s = this.scroller;
    if (top < s.scrollTop) s.scrollTop = top;
    else if (top + LANE_H > s.scrollTop + s.clientHeight) s.scrollTop = top + LANE_H - s.clientHeight;
  }

  private showTooltip(mark: { lane: number; leaseId: string }): void {
    const found = this.find(mark);
    const model = this.model;
    if (!found || !model) return this.hideTooltip();
    const bar = found.bar;
    replaceChildren(
      this.tooltip,
      h('div', { class: 'tt-head' }, h('strong', { text: formatRequest(bar, 90) }), ' ', chip(KIND_LABELS[bar.kind] ?? bar.kind, kindTone(bar))),
      h(
        'div',
        { class: 'tt-line' },
        h('span', { class: 'tt-script', text: basename(bar.scriptFilename) }),
        ' ',
        h('span', { class: 'muted', text: bar.scriptFilename }),
      ),
      h('div', { class: 'tt-line', text: `Lease ${bar.leaseId} · worker ${bar.workerId} (pid ${bar.pid ?? '?'}) · client ${bar.clientAddress}` }),
      h('div', { class: 'tt-line', text: timingLine(bar) }),
      bar.findingIds.length > 0
        ? h('div', { class: 'tt-line tt-finding', text: `Findings: ${bar.findingIds.join(', ')}${bar.defunct ? ' · worker defunct' : ''}` })
        : null,
      this.callbacks.stackOf?.(bar) ?? null,
      h('div', { class: 'tt-hint muted', text: 'Click or Enter: open the script' }),
    );
    this.tooltip.hidden = false;
    // Place it under the bar, kept inside the panel (CSSOM positions: allowed by the CSP).
    const plotW = Math.max(10, (this.width || this.element.clientWidth) - GUTTER - RIGHT_PAD);
    const span = model.to - model.from;
    const barX = GUTTER + ((Math.max(bar.start, model.from) - model.from) / span) * plotW;
    const top = AXIS_H + (mark.lane + 1) * LANE_H - this.scroller.scrollTop + 4;
    // Measured at the left edge, where its width is not squeezed by the right one.
    this.tooltip.style.left = '0px';
    const maxLeft = Math.max(0, this.element.clientWidth - this.tooltip.offsetWidth - 4);
    this.tooltip.style.left = `${Math.round(Math.min(Math.max(0, barX), maxLeft))}px`;
    this.tooltip.style.top = `${Math.round(top)}px`;
  }

  private hideTooltip(): void {
    this.tooltip.hidden = true;
  }

  private find(mark: { lane: number; leaseId: string }): { bar: TimelineBar; index: number } | null {
    const lane = this.model?.lanes[mark.lane];
    if (!lane) return null;
    const index = lane.bars.findIndex((b) => b.leaseId === mark.leaseId);
    return index >= 0 ? { bar: lane.bars[index]!, index } : null;
  }

  /** After a new model: the same lease, in whichever lane it is now. */
  private relocate(mark: { lane: number; leaseId: string } | null): { lane: number; leaseId: string } | null {
    if (!mark || !this.model) return null;
    if (this.find(mark)) return mark;
    const lane = this.model.lanes.findIndex((l) => l.bars.some((b) => b.leaseId === mark.leaseId));
    return lane >= 0 ? { lane, leaseId: mark.leaseId } : null;
  }

  /** Where keyboard focus starts: a leak if there is one, else the newest lease. */
  private newestBar(): { lane: number; leaseId: string } | null {
    const model = this.model;
    if (!model) return null;
    let best: { lane: number; bar: TimelineBar; score: number } | null = null;
    model.lanes.forEach((lane, i) => {
      for (const bar of lane.bars) {
        const score = (bar.kind === 'stuck' || bar.findingIds.length > 0 ? 1e15 : 0) + bar.start;
        if (!best || score > best.score) best = { lane: i, bar, score };
      }
    });
    const chosen = best as { lane: number; bar: TimelineBar; score: number } | null;
    return chosen ? { lane: chosen.lane, leaseId: chosen.bar.leaseId } : null;
  }
}

/** Sets an inline style through the CSSOM, only when it changes (a write invalidates style even when equal). */
function setStyle(element: HTMLElement, property: 'maxHeight' | 'height' | 'width', value: string): void {
  if (element.style[property] !== value) element.style[property] = value;
}

function prepare(canvas: HTMLCanvasElement, width: number, height: number, dpr: number): CanvasRenderingContext2D {
  const w = Math.round(width * dpr);
  const hgt = Math.round(height * dpr);
  if (canvas.width !== w || canvas.height !== hgt) {
    canvas.width = w;
    canvas.height = hgt;
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
  }
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return ctx;
}

function barExtent(bar: TimelineBar, x: (t: number) => number): [number, number] {
  const x0 = x(bar.start);
  const x1 = x(bar.end);
  return [x0, Math.max(MIN_BAR_PX, x1 - x0)];
}

/** A filled rectangle with diagonal stripes: leaked and kept leases. */
function hatch(ctx: CanvasRenderingContext2D, x: number, y: number, w: number, hgt: number, fill: string, stripes: string): void {
  if (w <= 0) return;
  ctx.fillStyle = fill;
  ctx.fillRect(x, y, w, hgt);
  ctx.save();
  ctx.beginPath();
  ctx.rect(x, y, w, hgt);
  ctx.clip();
  ctx.strokeStyle = stripes;
  ctx.lineWidth = 2;
  ctx.beginPath();
  for (let sx = x - hgt; sx < x + w; sx += 6) {
    ctx.moveTo(sx, y + hgt);
    ctx.lineTo(sx + hgt, y);
  }
  ctx.stroke();
  ctx.restore();
}

function nearestBar(bars: readonly TimelineBar[], t: number): TimelineBar | null {
  let best: TimelineBar | null = null;
  let distance = Number.POSITIVE_INFINITY;
  for (const bar of bars) {
    const d = t < bar.start ? bar.start - t : t > bar.end ? t - bar.end : 0;
    if (d < distance) {
      best = bar;
      distance = d;
    }
  }
  return best;
}

function kindTone(bar: TimelineBar): 'error' | 'warning' | 'info' | 'ok' | 'muted' {
  switch (bar.kind) {
    case 'ok':
      return 'ok';
    case 'held':
      return 'info';
    case 'client-abort':
    case 'timeout':
      return 'warning';
    default:
      return 'error';
  }
}

function timingLine(bar: TimelineBar): string {
  const parts = [`acquired ${formatClock(bar.start)}`];
  if (bar.open) parts.push(`held ${formatDuration(bar.end - bar.start)} so far`);
  else if (bar.keptUntilNow && bar.releasedAt !== null) {
    parts.push(`ended for its client after ${formatDuration(bar.releasedAt - bar.start)}, kept on the worker since`);
  } else parts.push(`held ${formatDuration(bar.end - bar.start)}`);
  if (bar.start > bar.queuedAt) parts.push(`queued ${formatDuration(bar.start - bar.queuedAt)}`);
  if (bar.firstByteAt > 0) parts.push(`first byte after ${formatDuration(bar.firstByteAt - bar.start)}`);
  return parts.join(' · ');
}

/** One sentence for screen readers. */
function describeBar(bar: TimelineBar): string {
  return `${bar.method} ${bar.uri}, ${KIND_LABELS[bar.kind] ?? bar.kind}, worker ${bar.workerId}, lease ${bar.leaseId}, ${timingLine(bar)}`;
}
