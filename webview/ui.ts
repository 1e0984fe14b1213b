/**
 * The dashboard's components. This is the only module that knows the
 * @vscode/webview-ui-toolkit (1.4.0, archived; loaded as dist/webview/
 * toolkit.min.js, which registers the `vscode-*` elements): moving to
 * another library (e.g. @vscode-elements/elements) means rewriting this file
 * and the toolkit's <script> in html.ts, nothing else.
 *
 * The rest of the webview asks for "a button", "a data grid", and gets an
 * HTMLElement or a small handle.
 */
import { custom, h, setText } from './dom';

export type ButtonAppearance = 'primary' | 'secondary';

export interface ButtonOptions {
  readonly appearance?: ButtonAppearance;
  /** The accessible name when it differs from the label (e.g. `Kill worker w3`). */
  readonly ariaLabel?: string;
  readonly title?: string;
  readonly disabled?: boolean;
  readonly className?: string;
  readonly dataset?: Record<string, string>;
}

/** A button; `onClick` also runs on Enter and Space (the toolkit's button is a form-associated element). */
export function button(label: string, onClick: () => void, options: ButtonOptions = {}): HTMLElement {
  const attrs: Record<string, string> = { appearance: options.appearance ?? 'secondary' };
  if (options.ariaLabel) attrs['aria-label'] = options.ariaLabel;
  if (options.disabled) attrs.disabled = '';
  return custom('vscode-button', {
    class: options.className ?? '',
    text: label,
    ...(options.title ? { title: options.title } : {}),
    ...(options.dataset ? { dataset: options.dataset } : {}),
    attrs,
    on: { click: () => onClick() },
  });
}

/**
 * A text link that runs `onClick` and navigates nowhere. A plain `<a>`,
 * not the toolkit's `vscode-link`: that one is an inline-flex box whose
 * text sits in its shadow DOM, so a narrow cell clipped it mid-word with no
 * ellipsis (`GET /slow?ms=15000` read `…ms=1500`); a plain anchor is inline
 * text that the cell ellipsizes. It needs an href to be focusable; the
 * click must not reach the window, where VS Code's webview frame handles
 * link clicks itself (`href="#"` scrolls the page to the top, other hrefs
 * are opened), whether or not the default was prevented.
 */
export function link(text: string, onClick: () => void, title?: string, className?: string): HTMLElement {
  return h('a', {
    class: `link ${className ?? ''}`.trim(),
    text,
    ...(title ? { title } : {}),
    attrs: { href: '#' },
    on: {
      click: (event) => {
        event.preventDefault();
        event.stopPropagation();
        onClick();
      },
    },
  });
}

export interface DropdownOption {
  readonly value: string;
  readonly label: string;
}

/** A single-choice dropdown. */
export function dropdown(options: readonly DropdownOption[], value: string, onChange: (value: string) => void, ariaLabel: string): HTMLElement {
  const element = custom(
    'vscode-dropdown',
    { attrs: { 'aria-label': ariaLabel, position: 'below' } },
    ...options.map((o) => custom('vscode-option', { text: o.label, attrs: o.value === value ? { value: o.value, selected: '' } : { value: o.value } })),
  );
  element.addEventListener('change', () => {
    const current = (element as HTMLElement & { value?: string }).value;
    if (typeof current === 'string') onChange(current);
  });
  return element;
}

/**
 * A count in a pill (section headers). Our own element rather than the
 * toolkit's badge: that one binds a `style` attribute in its template,
 * which the dashboard's CSP (no inline styles) refuses.
 */
export function countBadge(count: number, label: string): HTMLElement {
  return h('span', { class: 'count-badge', text: String(count), attrs: { 'aria-label': `${count} ${label}` } });
}

/** A short status word in a coloured pill: `defunct`, `leaked`, `open`. */
export function chip(text: string, tone: 'error' | 'warning' | 'info' | 'muted' | 'ok' = 'muted', title?: string): HTMLElement {
  return h('span', { class: `chip chip-${tone}`, text, ...(title ? { title } : {}) });
}

// ---------------------------------------------------------------------------
// Data grid

/**
 * A column. `text` columns show a string; `update` columns own their cell's
 * content: called with `first` true once, to build it, then on every update
 * to change it in place (four updates a second must not recreate buttons).
 */
export type GridColumn<R> = {
  readonly title: string;
  /**
   * A CSS grid track size: `84px`, `minmax(120px, 1fr)`, or one per grid
   * width (in px). Every row is its own grid, so sizes must not depend on
   * content.
   */
  readonly width: string | ((gridWidth: number) => string);
  /** Right-aligned numbers. */
  readonly numeric?: boolean;
  /** The column is left out while the grid is narrower than this (px): a half-width editor keeps the columns that matter. */
  readonly hideBelow?: number;
} & ({ readonly text: (row: R) => string } | { readonly update: (cell: HTMLElement, row: R, first: boolean) => void });

interface RowView {
  readonly element: HTMLElement;
  readonly cells: HTMLElement[];
  readonly texts: (string | null)[];
  classes: string;
}

/**
 * The toolkit's data grid, with rows written by hand (not `rowsData`, so
 * that cells can hold links and buttons) and updated in place: rows are
 * keyed, text is set only when it changed, and rich cells are built once.
 */
export class DataGrid<R> {
  readonly element: HTMLElement;
  private readonly rows = new Map<string, RowView>();
  private readonly header: HTMLElement;
  private readonly headerCells: HTMLElement[];
  private template = '';
  /** Which columns show at the current width (all until the first fit()). */
  private visible: readonly boolean[];

  constructor(
    private readonly columns: readonly GridColumn<R>[],
    ariaLabel: string,
    private readonly keyOf: (row: R) => string,
    private readonly classesOf: (row: R) => readonly string[] = () => [],
  ) {
    this.visible = columns.map(() => true);
    this.element = custom('vscode-data-grid', { class: 'grid', attrs: { 'aria-label': ariaLabel, 'generate-header': 'none' } });
    this.header = custom('vscode-data-grid-row', { attrs: { 'row-type': 'header' } });
    this.headerCells = columns.map((column) =>
      // The title repeats the header: a narrow column ellipsizes it.
      custom('vscode-data-grid-cell', {
        class: column.numeric ? 'numeric' : '',
        text: column.title,
        attrs: { 'cell-type': 'columnheader', title: column.title },
      }),
    );
    for (const cell of this.headerCells) this.header.appendChild(cell);
    this.element.appendChild(this.header);
    this.fit(Number.POSITIVE_INFINITY);
  }

  /**
   * Lays the columns out for a grid this wide (px): columns with a
   * `hideBelow` above it are left out, widths that depend on it are
   * recomputed. Called by a ResizeObserver; cheap when nothing changes.
   */
  fit(width: number): void {
    const visible = this.columns.map((column) => !(column.hideBelow !== undefined && width < column.hideBelow));
    const template = this.columns
      .filter((_, i) => visible[i])
      .map((column) => (typeof column.width === 'function' ? column.width(width) : column.width))
      .join(' ');
    if (template === this.template && visible.every((v, i) => v === this.visible[i])) return;
    this.template = template;
    this.visible = visible;
    this.element.setAttribute('grid-template-columns', template);
    this.layoutRow(this.header, this.headerCells);
    for (const view of this.rows.values()) this.layoutRow(view.element, view.cells);
  }

  /** Shows exactly these rows, in this order. */
  setRows(rows: readonly R[]): void {
    const seen = new Set<string>();
    let previous: Element | null = this.element.firstElementChild; // the header
    for (const row of rows) {
      const key = this.keyOf(row);
      seen.add(key);
      let view = this.rows.get(key);
      const first = !view;
      if (!view) {
        view = this.createRow(key);
        this.rows.set(key, view);
      }
      this.updateRow(view, row, first);
      // Keep DOM order = rows order, moving only what is out of place.
      if (previous?.nextElementSibling !== view.element) previous?.after(view.element);
      previous = view.element;
    }
    for (const [key, view] of this.rows) {
      if (!seen.has(key)) {
        view.element.remove();
        this.rows.delete(key);
      }
    }
  }

  /** The row's template and each cell's place in it; a left-out column's cells are hidden. */
  private layoutRow(row: HTMLElement, cells: readonly HTMLElement[]): void {
    row.setAttribute('grid-template-columns', this.template);
    let position = 0;
    cells.forEach((cell, i) => {
      const shown = this.visible[i] === true;
      setFlag(cell, 'hidden', !shown);
      if (shown) cell.setAttribute('grid-column', String(++position));
    });
  }

  private createRow(key: string): RowView {
    const element = custom('vscode-data-grid-row', { dataset: { key } });
    const cells = this.columns.map((column) => {
      const cell = custom('vscode-data-grid-cell', { class: column.numeric ? 'numeric' : '', dataset: { column: column.title } });
      element.appendChild(cell);
      return cell;
    });
    this.layoutRow(element, cells);
    return { element, cells, texts: this.columns.map(() => null), classes: '' };
  }

  private updateRow(view: RowView, row: R, first: boolean): void {
    const classes = this.classesOf(row);
    const joined = classes.join(' ');
    if (joined !== view.classes) {
      for (const name of view.classes.split(' ')) if (name) view.element.classList.remove(name);
      for (const name of classes) view.element.classList.add(name);
      view.classes = joined;
    }
    this.columns.forEach((column, i) => {
      const cell = view.cells[i]!;
      if ('text' in column) {
        const text = column.text(row);
        if (view.texts[i] !== text) {
          cell.textContent = text;
          // A cell too narrow for its text ends in an ellipsis (dashboard.css); the whole text is on hover.
          cell.title = text;
          view.texts[i] = text;
        }
      } else {
        column.update(cell, row, first);
      }
    });
  }
}

/** Sets or removes a boolean attribute, touching the element only on a change. */
export function setFlag(element: Element, name: string, on: boolean): void {
  if (element.hasAttribute(name) !== on) element.toggleAttribute(name, on);
}

/** Sets a link's or button's text and tooltip, only on a change. */
export function setLabel(element: HTMLElement, text: string, title?: string): void {
  setText(element, text);
  if (title !== undefined && element.title !== title) element.title = title;
}
