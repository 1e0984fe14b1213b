import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DashboardPanel, DashboardSerializer, registerDashboardSerializer } from '../../src/extension/dashboard/dashboardPanel';
import type { DashboardSource } from '../../src/extension/dashboard/source';
import type { PoolSnapshot } from '../../src/pool/types';

/** Just the `vscode` surface DashboardPanel touches, recording what it is asked. */
const fake = vi.hoisted(() => {
  type Listener<T> = (value: T) => void;
  class Emitter<T> {
    private listeners = new Set<Listener<T>>();
    event = (listener: Listener<T>) => {
      this.listeners.add(listener);
      return { dispose: () => this.listeners.delete(listener) };
    };
    fire(value: T) {
      for (const l of [...this.listeners]) l(value);
    }
    get size() {
      return this.listeners.size;
    }
  }
  class Uri {
    constructor(readonly path: string) {}
    static joinPath(base: Uri, ...parts: string[]) {
      return new Uri([base.path, ...parts].join('/'));
    }
    toString() {
      return `file://${this.path}`;
    }
  }
  class FakePanel {
    readonly posted: unknown[] = [];
    readonly received = new Emitter<unknown>();
    readonly viewState = new Emitter<{ webviewPanel: FakePanel }>();
    readonly disposed = new Emitter<void>();
    revealed = 0;
    visible = true;
    isDisposed = false;
    title: string;
    readonly webview: {
      html: string;
      options: unknown;
      cspSource: string;
      asWebviewUri(uri: Uri): { toString(): string };
      postMessage(message: unknown): Promise<boolean>;
      onDidReceiveMessage: Emitter<unknown>['event'];
    };
    constructor(
      readonly viewType: string,
      title: string,
      readonly showOptions: unknown,
      readonly options: unknown,
    ) {
      this.title = title;
      const posted = this.posted;
      this.webview = {
        html: '',
        options,
        cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
        asWebviewUri: (uri) => ({ toString: () => `https://file+.vscode-resource.vscode-cdn.net${uri.path}` }),
        postMessage: async (message) => (posted.push(message), true),
        onDidReceiveMessage: this.received.event,
      };
    }
    reveal() {
      this.revealed++;
    }
    onDidChangeViewState = (l: Listener<{ webviewPanel: FakePanel }>) => this.viewState.event(l);
    onDidDispose = (l: Listener<void>) => this.disposed.event(l);
    dispose() {
      if (this.isDisposed) return;
      this.isDisposed = true;
      this.disposed.fire();
    }
  }
  const panels: FakePanel[] = [];
  const serializers = new Map<string, unknown>();
  return {
    Uri,
    FakePanel,
    panels,
    serializers,
    module: {
      Uri,
      ViewColumn: { Active: -1 },
      window: {
        createWebviewPanel: (viewType: string, title: string, showOptions: unknown, options: unknown) => {
          const panel = new FakePanel(viewType, title, showOptions, options);
          panels.push(panel);
          return panel;
        },
        registerWebviewPanelSerializer: (viewType: string, serializer: unknown) => {
          serializers.set(viewType, serializer);
          return { dispose: () => serializers.delete(viewType) };
        },
      },
    },
  };
});

// Hoisted above the imports by vitest.
vi.mock('vscode', () => fake.module);

type Source = DashboardSource;

const fixture = JSON.parse(readFileSync(join(__dirname, '../webview/fixtures/snapshot.json'), 'utf8')) as PoolSnapshot;
const context = { extensionUri: new fake.Uri('/ext') } as never;

function source(key: string, calls: string[] = []): Source & { listeners: number } {
  let listeners = 0;
  return {
    key,
    label: key.split('/').pop()!,
    snapshot: () => fixture,
    onDidChange: () => {
      listeners++;
      return { dispose: () => listeners-- };
    },
    get listeners() {
      return listeners;
    },
    kill: (id) => void calls.push(`kill ${id}`),
    recycle: (id) => void calls.push(`recycle ${id}`),
    releaseLease: (id) => void calls.push(`release ${id}`),
    openScript: (path) => void calls.push(`open ${path}`),
    revealWorker: (id) => void calls.push(`reveal ${id}`),
  };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

afterEach(() => {
  DashboardPanel.disposeAll();
  fake.panels.length = 0;
});

describe('DashboardPanel', () => {
  it('opens an editor panel that may run scripts and load only dist/webview, without retaining its context', () => {
    DashboardPanel.createOrShow(context, source('file:///home/dev/shop'));
    const panel = fake.panels[0]!;
    expect(panel.viewType).toBe('fastcgiPool.dashboard');
    expect(panel.title).toBe('FastCGI Pool Dashboard (shop)');
    expect(panel.options).toEqual({
      enableScripts: true,
      enableCommandUris: false,
      localResourceRoots: [new fake.Uri('/ext/dist/webview')],
      retainContextWhenHidden: false,
      enableFindWidget: true,
    });
    const html = panel.webview.html;
    expect(html).toContain(`style-src ${panel.webview.cspSource} `);
    for (const file of ['main.js', 'dashboard.css', 'toolkit.min.js'])
      expect(html).toContain(`https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/${file}`);
  });

  it('shows the existing panel for the same source, a new one for another, with a fresh nonce each', () => {
    const a = DashboardPanel.createOrShow(context, source('file:///a'));
    expect(DashboardPanel.createOrShow(context, source('file:///a'))).toBe(a);
    expect(fake.panels).toHaveLength(1);
    expect(fake.panels[0]!.revealed).toBe(1);
    DashboardPanel.createOrShow(context, source('file:///b'));
    expect(fake.panels).toHaveLength(2);
    const nonce = (html: string) => /nonce-([^']+)'/.exec(html)![1];
    expect(nonce(fake.panels[0]!.webview.html)).not.toBe(nonce(fake.panels[1]!.webview.html));
  });

  it('answers ready with a snapshot, acts on intents, and pauses while hidden', async () => {
    const calls: string[] = [];
    DashboardPanel.createOrShow(context, source('file:///a', calls));
    const panel = fake.panels[0]!;
    panel.received.fire({ type: 'ready', protocol: 1 });
    await flush();
    expect(panel.posted).toEqual([{ type: 'snapshot', protocol: 1, source: { key: 'file:///a', label: 'a' }, snapshot: fixture }]);
    panel.received.fire({ type: 'kill', requestId: 1, workerId: 'w9' });
    panel.received.fire({ type: 'kill', requestId: 2, workerId: 'nope' });
    await flush();
    expect(calls).toEqual(['kill w9']);
    panel.visible = false;
    panel.viewState.fire({ webviewPanel: panel });
    panel.received.fire({ type: 'revealWorker', requestId: 3, workerId: 'w1' });
    await flush();
    // Hidden: acted on, but nothing posted until the reloaded page says ready.
    expect(calls).toEqual(['kill w9', 'reveal w1']);
    expect(panel.posted).toHaveLength(3);
  });

  it('lets go of its source when the panel closes', () => {
    const s = source('file:///a');
    DashboardPanel.createOrShow(context, s);
    expect(s.listeners).toBe(1);
    fake.panels[0]!.dispose();
    expect(s.listeners).toBe(0);
    DashboardPanel.createOrShow(context, s);
    expect(fake.panels).toHaveLength(2);
  });
});

describe('DashboardSerializer', () => {
  it('registers for the view type and restores a panel onto the source its state names', async () => {
    const asked: (string | null)[] = [];
    const disposable = registerDashboardSerializer(context, (key) => (asked.push(key), key === 'file:///a' ? source('file:///a') : undefined));
    const serializer = fake.serializers.get('fastcgiPool.dashboard') as InstanceType<typeof DashboardSerializer>;
    expect(serializer).toBeInstanceOf(DashboardSerializer);

    const restored = new fake.FakePanel('fastcgiPool.dashboard', 'old title', {}, {});
    await serializer.deserializeWebviewPanel(restored as never, { v: 1, sourceKey: 'file:///a', windowMs: 60_000 });
    expect(asked).toEqual(['file:///a']);
    expect(restored.webview.options).toEqual({ enableScripts: true, enableCommandUris: false, localResourceRoots: [new fake.Uri('/ext/dist/webview')] });
    expect(restored.webview.html).toContain("default-src 'none'");
    expect(restored.title).toBe('FastCGI Pool Dashboard (a)');

    // A folder that is gone: the panel shows "no pool" and refuses intents.
    const orphan = new fake.FakePanel('fastcgiPool.dashboard', 'old', {}, {});
    await serializer.deserializeWebviewPanel(orphan as never, { v: 1, sourceKey: 'file:///gone', windowMs: 60_000 });
    orphan.received.fire({ type: 'ready', protocol: 1 });
    orphan.received.fire({ type: 'kill', requestId: 1, workerId: 'w1' });
    await flush();
    expect(orphan.posted).toEqual([
      { type: 'snapshot', protocol: 1, source: { key: 'file:///gone', label: 'folder no longer open' }, snapshot: null },
      { type: 'event', event: { kind: 'intent-result', requestId: 1, intent: 'kill', ok: false, message: 'no pool is running' } },
    ]);
    // Garbage state: resolved with no key.
    await serializer.deserializeWebviewPanel(new fake.FakePanel('fastcgiPool.dashboard', 'x', {}, {}) as never, 'garbage');
    expect(asked.at(-1)).toBeNull();
    disposable.dispose();
    expect(fake.serializers.size).toBe(0);
  });
});
