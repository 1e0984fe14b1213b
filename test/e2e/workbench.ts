import type { Frame, Locator, Page } from 'playwright-core';
import { basename } from 'node:path';

/**
 * Drives VS Code 1.100's web workbench (code-server) the way a person does:
 * the command palette, the activity bar, tree rows, context menus and the
 * Problems panel, found by their aria labels and text. Every wait polls
 * with a deadline and says what it was waiting for.
 */

/** Polls `check` until it returns a value other than undefined/false; throws `what` with the last detail. */
export async function poll<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 15_000, detail?: () => Promise<string>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const seen = detail ? `\n  what the page showed: ${await detail().catch((e) => String(e))}` : '';
      const cause = lastError ? `\n  last error: ${String(lastError).split('\n')[0]}` : '';
      throw new Error(`timed out after ${(timeoutMs / 1000).toFixed(0)} s waiting for ${what}${cause}${seen}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** One row of a VS Code tree or list as a screen reader sees it. */
export interface Row {
  index: number;
  /** aria-level (1 for top level); 0 for flat lists. */
  level: number;
  expanded: boolean | null;
  ariaLabel: string;
  /** The row's label (`.label-name`), or its whole text where it has none. */
  label: string;
  /** The row's description (`.label-description`), '' if none. */
  description: string;
  /** The row's visible text, every text piece joined by a space. */
  text: string;
}

export async function readRows(rows: Locator): Promise<Row[]> {
  return rows.evaluateAll((elements) =>
    elements
      .map((el) => {
        // Label and description are sibling spans; join the leaf texts with spaces.
        const parts: string[] = [];
        type TextNode = { nodeType: number; textContent: string | null; childNodes?: Iterable<TextNode> };
        const walk = (node: TextNode): void => {
          if (node.nodeType === 3) {
            const t = String(node.textContent ?? '').trim();
            if (t) parts.push(t);
          } else if (node.childNodes) {
            for (const c of node.childNodes) walk(c);
          }
        };
        walk(el as unknown as TextNode);
        const textOf = (selector: string): string | null => {
          const found = el.querySelector(selector);
          return found ? String(found.textContent ?? '').trim() : null;
        };
        return {
          index: Number(el.getAttribute('data-index') ?? -1),
          level: Number(el.getAttribute('aria-level') ?? 0),
          expanded: el.hasAttribute('aria-expanded') ? el.getAttribute('aria-expanded') === 'true' : null,
          ariaLabel: el.getAttribute('aria-label') ?? '',
          label: textOf('.label-name') ?? parts.join(' '),
          description: textOf('.label-description') ?? '',
          text: parts.join(' '),
        };
      })
      .sort((a, b) => a.index - b.index),
  );
}

export function formatRows(rows: Row[]): string {
  if (rows.length === 0) return '(no rows)';
  return rows
    .map((r) => `${'  '.repeat(Math.max(0, r.level - 1))}${r.text}${r.ariaLabel && r.ariaLabel !== r.text ? `  [aria-label: ${r.ariaLabel}]` : ''}`)
    .join('\n    ');
}

/** The lease dashboard as read from its webview. */
export interface DashboardView {
  subtitle: string;
  /** The "no pool" / "waiting" text while it shows no pool, else ''. */
  empty: string;
  figures: { key: string; value: string; detail: string }[];
  rows: { key: string; pid: string; state: string; request: string }[];
  /** The timeline canvas's text alternative ("Lease timeline, last 5 minutes, 4 workers: 12 ok, …"). */
  timeline: string;
  findings: string;
  status: string;
}

export function formatDashboard(d: DashboardView): string {
  return [
    `subtitle: ${d.subtitle || '(none)'}${d.empty ? ` | empty state: ${d.empty}` : ''}`,
    `figures: ${d.figures.map((f) => `${f.key}=${f.value}${f.detail ? ` (${f.detail})` : ''}`).join(', ') || '(none)'}`,
    `worker rows: ${d.rows.map((r) => `${r.key} pid ${r.pid} ${r.state}${r.request ? ` ${r.request}` : ''}`).join(' | ') || '(none)'}`,
    `timeline: ${d.timeline || '(no description)'}`,
    `findings: ${d.findings.slice(0, 300) || '(none)'}`,
  ].join('\n    ');
}

export class Workbench {
  constructor(readonly page: Page) {}

  /** Waits for the workbench with the folder open in the explorer. */
  async waitForReady(folderName: string): Promise<void> {
    await this.page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await poll(
      `the explorer to show the folder ${folderName}`,
      async () => {
        const rows = await readRows(this.page.locator('.part.sidebar .explorer-folders-view .monaco-list-row'));
        return rows.some((r) => r.text === 'index.php');
      },
      60_000,
      () => this.describeSidebar(),
    );
  }

  // ---- command palette ----

  /**
   * F1, type the command's title, wait until it is the highlighted entry,
   * Enter. The palette lists the commands known when it opened, and an
   * extension's commands arrive a few seconds after the window, so a palette
   * without the entry is closed and opened again until `timeoutMs`.
   */
  async runCommand(title: string, beforeEnter?: () => Promise<void>, timeoutMs = 30_000): Promise<void> {
    await this.highlightCommand(title, timeoutMs);
    if (beforeEnter) await beforeEnter();
    await this.page.keyboard.press('Enter');
    await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 5_000 });
  }

  /**
   * Runs a command that asks a question in an input box (the same quick
   * input widget): waits for the box whose prompt matches `prompt`, types
   * `answer` (empty: accept as it is) and presses Enter. `beforeEnter` runs
   * with the answer typed (a screenshot of the question).
   */
  async runCommandAndAnswer(title: string, prompt: RegExp, answer: string, beforeEnter?: () => Promise<void>): Promise<void> {
    await this.highlightCommand(title, 30_000);
    await this.page.keyboard.press('Enter');
    const widget = this.page.locator('.quick-input-widget');
    await poll(
      `the input box of "${title}" with a prompt like ${prompt}`,
      async () => (await widget.isVisible()) && prompt.test((await widget.innerText()).replace(/\s+/g, ' ')),
      10_000,
      async () => `quick input: ${(await widget.innerText().catch(() => '(none)')).replace(/\s+/g, ' ')}`,
    );
    const input = widget.locator('input[type="text"], input.input').first();
    await input.fill(answer);
    if (beforeEnter) await beforeEnter();
    await this.page.keyboard.press('Enter');
    await widget.waitFor({ state: 'hidden', timeout: 5_000 });
  }

  /** Opens the palette and types `title` until it is the highlighted entry. */
  private async highlightCommand(title: string, timeoutMs: number): Promise<void> {
    const widget = this.page.locator('.quick-input-widget');
    const input = widget.locator('input[type="text"], input.input').first();
    const rows = widget.locator('.quick-input-list .monaco-list-row');
    const isHighlighted = async () => {
      const focused = await readRows(widget.locator('.quick-input-list .monaco-list-row.focused'));
      return focused.some((r) => r.ariaLabel === title || r.ariaLabel.startsWith(`${title},`) || r.text.startsWith(title));
    };
    await poll(
      `"${title}" to be the highlighted entry in the command palette`,
      async () => {
        if (await widget.isVisible()) await this.page.keyboard.press('Escape');
        await this.focusWorkbench();
        await this.page.keyboard.press('F1');
        await input.waitFor({ state: 'visible', timeout: 5_000 });
        await input.fill(`>${title}`);
        // Give the list up to 3 s to filter down to the entry before trying again.
        const until = Date.now() + 3_000;
        while (Date.now() < until) {
          if (await isHighlighted()) return true;
          await new Promise((r) => setTimeout(r, 100));
        }
        return false;
      },
      timeoutMs,
      async () => `palette entries: ${formatRows(await readRows(rows))}`,
    );
  }

  /**
   * Opens a file through Quick Open (Ctrl+P) by its absolute path and waits
   * for its editor tab. An absolute path is answered by a stat of that file,
   * not by the workspace's file search (ripgrep), which can take seconds to
   * list a file on a cold machine.
   */
  async openFile(path: string): Promise<void> {
    const name = basename(path);
    const widget = this.page.locator('.quick-input-widget');
    const input = widget.locator('input[type="text"], input.input').first();
    const rows = widget.locator('.quick-input-list .monaco-list-row');
    await poll(
      `Quick Open to list ${path}`,
      async () => {
        if (await widget.isVisible()) await this.page.keyboard.press('Escape');
        await this.focusWorkbench();
        await this.page.keyboard.press('Control+P');
        await input.waitFor({ state: 'visible', timeout: 5_000 });
        await input.fill(path);
        // Give the list up to 5 s to show the file before trying again.
        const until = Date.now() + 5_000;
        while (Date.now() < until) {
          const first = (await readRows(rows.first()))[0];
          if (first && `${first.ariaLabel} ${first.text}`.includes(name)) return true;
          await new Promise((r) => setTimeout(r, 100));
        }
        return false;
      },
      30_000,
      async () => `Quick Open rows: ${formatRows(await readRows(rows))}`,
    );
    await this.page.keyboard.press('Enter');
    await this.page.locator(`.editor-group-container .tab[aria-label^="${name}"]`).first().waitFor({ state: 'visible', timeout: 10_000 });
    // The cursor in the editor, for what is typed next.
    await this.page.locator('.editor-instance .monaco-editor .view-lines').first().click();
  }

  /** Click somewhere neutral so key presses go to the workbench. */
  async focusWorkbench(): Promise<void> {
    await this.page
      .locator('.part.statusbar')
      .click({ position: { x: 600, y: 10 } })
      .catch(() => undefined);
  }

  async pressEscape(): Promise<void> {
    await this.page.keyboard.press('Escape');
  }

  // ---- activity bar and sidebar ----

  /** The activity bar entry whose label starts with `title` (e.g. "FastCGI Pool"). */
  activityBarItem(title: string): Locator {
    return this.page.locator(`.part.activitybar [role="tab"]:has(a.action-label[aria-label^="${title}"])`);
  }

  async openViewContainer(title: string): Promise<void> {
    const item = this.activityBarItem(title);
    await poll(
      `the activity bar item "${title}"`,
      async () => (await item.count()) === 1,
      20_000,
      async () => `activity bar items: ${(await this.activityBarLabels()).join(' | ')}`,
    );
    if ((await item.getAttribute('aria-selected')) !== 'true') await item.click();
    await poll(`the "${title}" view container to be shown in the sidebar`, async () => (await item.getAttribute('aria-selected')) === 'true');
  }

  /** Drags the sash right of the sidebar so tree descriptions fit in the screenshots. */
  async widenSidebar(width: number): Promise<void> {
    const box = await this.page.locator('.part.sidebar').boundingBox();
    if (!box || box.width >= width) return;
    const y = box.y + box.height / 2;
    await this.page.mouse.move(box.x + box.width, y);
    await this.page.mouse.down();
    await this.page.mouse.move(box.x + width, y, { steps: 5 });
    await this.page.mouse.up();
    await this.page.mouse.move(box.x + width + 200, y); // off the sash, which is highlighted while hovered
  }

  async activityBarLabels(): Promise<string[]> {
    return this.page.locator('.part.activitybar a.action-label').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? '').filter(Boolean));
  }

  /** The rows of the sidebar's tree views (all views of the shown container). */
  sidebarRows(): Locator {
    return this.page.locator('.part.sidebar .monaco-list-row');
  }

  async readSidebar(): Promise<Row[]> {
    return readRows(this.sidebarRows());
  }

  async describeSidebar(): Promise<string> {
    const title = await this.page
      .locator('.part.sidebar .composite.title')
      .innerText()
      .catch(() => '?');
    const panes = await this.page
      .locator('.part.sidebar .pane-body')
      .evaluateAll((els) =>
        els
          .map((e) =>
            String((e as unknown as { innerText?: string }).innerText ?? '')
              .replace(/\s+/g, ' ')
              .trim(),
          )
          .filter(Boolean),
      )
      .catch(() => [] as string[]);
    return `sidebar "${title.replace(/\s+/g, ' ')}":\n    ${formatRows(await this.readSidebar())}\n  sidebar text: ${panes.join(' || ').slice(0, 1500)}`;
  }

  /**
   * Clicks the twistie of the first sidebar row that `match`es if that row is
   * collapsed. Returns whether the row exists. Groups gain children (and
   * with them a twistie) as the pool changes, so callers poll with this.
   */
  async expandIfCollapsed(match: (row: Row) => boolean): Promise<boolean> {
    const row = (await this.readSidebar()).find(match);
    if (!row) return false;
    if (row.expanded === false) await this.rowLocator(row.label).first().locator('.monaco-tl-twistie').click();
    return true;
  }

  /** The sidebar row whose label is exactly `label` (descriptions change every second; labels do not). */
  rowLocator(label: string): Locator {
    return this.sidebarRows().filter({
      has: this.page.locator('.label-name', { hasText: new RegExp(`^\\s*${escapeRegExp(label)}\\s*$`) }),
    });
  }

  /**
   * Right-clicks the row and clicks the context menu item `item`. A busy row
   * is redrawn every second (its age moves on), and a redraw closes a menu
   * opened on it: a menu that closed before its item could be clicked is
   * opened again, rather than the click waiting the page's whole timeout
   * for an item that is gone.
   */
  async contextMenu(row: Row, item: string, beforeClick?: () => Promise<void>): Promise<void> {
    const menuItem = this.page.getByRole('menuitem', { name: item, exact: true });
    let before = beforeClick;
    await poll(
      `the context menu item "${item}" to be clicked`,
      async () => {
        // Near the row's left end, so the menu does not hide the row's description in screenshots.
        await this.rowLocator(row.label).click({ button: 'right', position: { x: 40, y: 8 }, timeout: 5_000 });
        const target = menuItem.first();
        if (!(await succeeds(target.waitFor({ state: 'visible', timeout: 3_000 })))) return false;
        if (before) await before();
        before = undefined;
        // Chosen by keyboard: hovering focuses the item (Playwright waits until it
        // stands still), Enter runs it. A mouse click that lands while the menu
        // fades in, or while a redraw replaces it, is dropped without a trace.
        const focused = await succeeds(target.hover({ timeout: 2_000 }));
        if (focused) await this.page.keyboard.press('Enter');
        // The menu closes once it runs the item.
        const ran = focused && (await succeeds(target.waitFor({ state: 'hidden', timeout: 1_000 })));
        if (!ran) await this.pressEscape();
        return ran;
      },
      15_000,
      async () => `menu items: ${(await this.menuItems()).join(' | ')}`,
    );
  }

  async menuItems(): Promise<string[]> {
    const items = await this.page.getByRole('menuitem').all();
    const names: string[] = [];
    for (const i of items) names.push(((await i.getAttribute('aria-label')) ?? (await i.innerText())).replace(/\n/g, ' '));
    return names;
  }

  // ---- status bar, notifications, dialogs ----

  async statusBarTexts(): Promise<string[]> {
    return this.page.locator('.part.statusbar .statusbar-item').evaluateAll((els) =>
      els
        .map((e) =>
          String((e as unknown as { innerText?: string }).innerText ?? '')
            .replace(/\s+/g, ' ')
            .trim(),
        )
        .filter(Boolean),
    );
  }

  async notifications(): Promise<string[]> {
    return this.page.locator('.notifications-toasts .notification-list-item, .notifications-center .notification-list-item').evaluateAll((els) =>
      els.map((e) =>
        String((e as unknown as { innerText?: string }).innerText ?? '')
          .replace(/\s+/g, ' ')
          .trim(),
      ),
    );
  }

  /** The visible modal dialog's text, or null. */
  async dialogText(): Promise<string | null> {
    const dialog = this.page.locator('.monaco-dialog-box');
    if (!(await dialog.isVisible().catch(() => false))) return null;
    return (await dialog.innerText()).replace(/\s+/g, ' ');
  }

  // ---- webviews (the lease dashboard) ----

  /**
   * The frame of the webview whose page has `selector`. In VS Code web a
   * webview is two iframes deep (iframe.webview, then iframe#active-frame),
   * on another origin; searching every frame for the page's own content
   * needs no knowledge of that nesting.
   */
  async webviewFrame(selector: string): Promise<Frame | undefined> {
    for (const frame of this.page.frames()) {
      if (frame === this.page.mainFrame() || frame.isDetached()) continue;
      if (
        (await frame
          .locator(selector)
          .count()
          .catch(() => 0)) > 0
      )
        return frame;
    }
    return undefined;
  }

  /** What the dashboard shows, as text: headline figures, worker rows, the timeline's description, findings. */
  async readDashboard(frame: Frame): Promise<DashboardView> {
    const text = (selector: string) =>
      frame
        .locator(selector)
        .first()
        .evaluate((e) =>
          String((e as unknown as { innerText?: string }).innerText ?? e.textContent ?? '')
            .replace(/\s+/g, ' ')
            .trim(),
        )
        .catch(() => '');
    const figures = await frame.locator('[data-figure]').evaluateAll((els) =>
      els.map((e) => ({
        key: e.getAttribute('data-figure') ?? '',
        value: String(e.querySelector('.figure-value')?.textContent ?? '').trim(),
        detail: String(e.querySelector('.figure-detail')?.textContent ?? '').trim(),
      })),
    );
    const rows = await frame.locator('vscode-data-grid-row[data-key]').evaluateAll((els) =>
      els.map((e) => {
        const cell = (column: string) =>
          String((e.querySelector(`[data-column="${column}"]`) as unknown as { innerText?: string } | null)?.innerText ?? '')
            .replace(/\s+/g, ' ')
            .trim();
        return { key: e.getAttribute('data-key') ?? '', pid: cell('PID'), state: cell('State'), request: cell('Current request') };
      }),
    );
    const timeline =
      (await frame
        .locator('canvas.timeline-lanes')
        .getAttribute('aria-label')
        .catch(() => null)) ?? '';
    return {
      subtitle: await text('.subtitle'),
      empty: (await frame.locator('.empty:not([hidden])').count()) > 0 ? await text('.empty') : '',
      figures,
      rows,
      timeline,
      findings: await text('ol.findings'),
      status: await text('.status'),
    };
  }

  // ---- Problems panel ----

  async openProblems(): Promise<void> {
    await this.runCommand('Problems: Focus on Problems View');
    await this.page.locator('.part.panel .markers-panel').waitFor({ state: 'visible', timeout: 10_000 });
  }

  async readProblems(): Promise<Row[]> {
    return readRows(this.page.locator('.part.panel .markers-panel .monaco-list-row'));
  }

  /** Everything a person would read on screen, for failure reports. */
  async describe(): Promise<string> {
    const panel = await this.page
      .locator('.part.panel')
      .innerText()
      .catch(() => '');
    return [
      await this.describeSidebar(),
      `status bar: ${(await this.statusBarTexts()).join(' | ')}`,
      `notifications: ${(await this.notifications()).join(' | ') || '(none)'}`,
      `dialog: ${(await this.dialogText()) ?? '(none)'}`,
      `panel: ${panel.replace(/\s+/g, ' ').slice(0, 1500) || '(hidden)'}`,
    ].join('\n  ');
  }
}

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The welcome view in the sidebar: its text and the labels of its buttons (empty while the view has rows). */
export async function readWelcome(page: Page): Promise<{ text: string; buttons: string[] }> {
  const content = page.locator('.part.sidebar .welcome-view-content');
  if ((await content.count()) === 0) return { text: '', buttons: [] };
  const text = (await content.first().innerText()).replace(/\s+/g, ' ').trim();
  const buttons = await content
    .first()
    .locator('.monaco-button')
    .evaluateAll((els) => els.map((e) => String((e as unknown as { innerText?: string }).innerText ?? '').trim()).filter(Boolean));
  return { text, buttons };
}

/** The labels of the actions in the sidebar's title bar (the shown view's ▶, ↻, …). */
export async function sidebarTitleActions(page: Page): Promise<string[]> {
  return page
    .locator('.part.sidebar .composite.title .actions-container a.action-label, .part.sidebar .pane-header .actions-container a.action-label')
    .evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? '').filter(Boolean));
}

/** Whether a Playwright action or wait succeeded, for polls that retry rather than fail. */
function succeeds(action: Promise<unknown>): Promise<boolean> {
  return action.then(
    () => true,
    () => false,
  );
}
