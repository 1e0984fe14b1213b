/**
 * A small fake of the `vscode` module for unit tests of src/extension. It
 * implements the classes and the few API functions the extension uses, and
 * records what the extension did (registered commands, shown messages,
 * diagnostics, tree refreshes, status bar text) in {@link fake}.
 *
 * Wire it per test file, never globally:
 *
 *     vi.mock('vscode', () => vi.importActual('../support/fakeVscode'));
 *     import { fake } from '../support/fakeVscode';
 *
 * Only what the extension touches is here; a missing function fails loudly
 * ("is not a function"), which is the point.
 */
import type * as vscode from 'vscode';

// ------------------------------------------------------------------ basics

export class Disposable {
  private done = false;
  constructor(private readonly onDispose: () => void) {}
  static from(...items: { dispose(): unknown }[]): Disposable {
    return new Disposable(() => {
      for (const item of items) item.dispose();
    });
  }
  dispose(): void {
    if (this.done) return;
    this.done = true;
    this.onDispose();
  }
}

type Listener<T> = (value: T) => unknown;

export class EventEmitter<T> {
  private listeners = new Set<Listener<T>>();
  private disposed = false;

  readonly event = (listener: Listener<T>, thisArg?: unknown, disposables?: { dispose(): unknown }[]): Disposable => {
    const bound: Listener<T> = thisArg === undefined ? listener : (value) => listener.call(thisArg, value);
    this.listeners.add(bound);
    const disposable = new Disposable(() => this.listeners.delete(bound));
    disposables?.push(disposable);
    return disposable;
  };

  fire(value: T): void {
    if (this.disposed) return;
    for (const listener of [...this.listeners]) listener(value);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  dispose(): void {
    this.disposed = true;
    this.listeners.clear();
  }
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly authority: string,
    readonly path: string,
    readonly query: string,
    readonly fragment: string,
  ) {}

  static file(path: string): Uri {
    return new Uri('file', '', path.startsWith('/') ? path : `/${path}`, '', '');
  }

  static from(parts: { scheme: string; authority?: string; path?: string; query?: string; fragment?: string }): Uri {
    return new Uri(parts.scheme, parts.authority ?? '', parts.path ?? '', parts.query ?? '', parts.fragment ?? '');
  }

  static parse(value: string): Uri {
    const match = /^([a-zA-Z][\w+.-]*):(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/.exec(value);
    if (!match) throw new Error(`fake Uri.parse: cannot parse ${value}`);
    return new Uri(match[1] as string, match[2] ?? '', decodeURIComponent(match[3] ?? ''), match[4] ?? '', match[5] ?? '');
  }

  static joinPath(base: Uri, ...segments: string[]): Uri {
    const path = [base.path.replace(/\/$/, ''), ...segments].join('/');
    return new Uri(base.scheme, base.authority, path, base.query, base.fragment);
  }

  get fsPath(): string {
    return this.path;
  }

  with(change: { scheme?: string; authority?: string; path?: string; query?: string; fragment?: string }): Uri {
    return new Uri(
      change.scheme ?? this.scheme,
      change.authority ?? this.authority,
      change.path ?? this.path,
      change.query ?? this.query,
      change.fragment ?? this.fragment,
    );
  }

  toString(): string {
    const path = this.path.split('/').map(encodeURIComponent).join('/');
    return `${this.scheme}://${this.authority}${path}${this.query ? `?${this.query}` : ''}${this.fragment ? `#${this.fragment}` : ''}`;
  }
}

export class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}

export class Range {
  readonly start: Position;
  readonly end: Position;
  constructor(startLine: number | Position, startCharacter: number | Position, endLine?: number, endCharacter?: number) {
    if (startLine instanceof Position && startCharacter instanceof Position) {
      this.start = startLine;
      this.end = startCharacter;
    } else {
      this.start = new Position(startLine as number, startCharacter as number);
      this.end = new Position(endLine ?? 0, endCharacter ?? 0);
    }
  }
}

export class Selection extends Range {}

export class Location {
  constructor(
    readonly uri: Uri,
    readonly range: Range | Position,
  ) {}
}

export enum DiagnosticSeverity {
  Error = 0,
  Warning = 1,
  Information = 2,
  Hint = 3,
}

export class DiagnosticRelatedInformation {
  constructor(
    readonly location: Location,
    readonly message: string,
  ) {}
}

export class Diagnostic {
  source?: string;
  code?: string | number | { value: string | number; target: Uri };
  relatedInformation?: DiagnosticRelatedInformation[];
  constructor(
    readonly range: Range,
    readonly message: string,
    readonly severity: DiagnosticSeverity = DiagnosticSeverity.Error,
  ) {}
}

export class CodeActionKind {
  static readonly QuickFix = new CodeActionKind('quickfix');
  constructor(readonly value: string) {}
}

export class CodeAction {
  command?: { command: string; title: string; arguments?: unknown[] };
  diagnostics?: Diagnostic[];
  isPreferred?: boolean;
  constructor(
    readonly title: string,
    readonly kind?: CodeActionKind,
  ) {}
}

export enum TreeItemCollapsibleState {
  None = 0,
  Collapsed = 1,
  Expanded = 2,
}

export class ThemeColor {
  constructor(readonly id: string) {}
}

export class ThemeIcon {
  constructor(
    readonly id: string,
    readonly color?: ThemeColor,
  ) {}
}

export class MarkdownString {
  supportThemeIcons = false;
  isTrusted: boolean | { enabledCommands: string[] } = false;
  constructor(public value = '') {}
  appendMarkdown(value: string): this {
    this.value += value;
    return this;
  }
}

export class TreeItem {
  id?: string;
  description?: string;
  contextValue?: string;
  iconPath?: ThemeIcon;
  tooltip?: string | MarkdownString;
  command?: { command: string; title: string; arguments?: unknown[] };
  constructor(
    public label: string,
    public collapsibleState: TreeItemCollapsibleState = TreeItemCollapsibleState.None,
  ) {}
}

export enum StatusBarAlignment {
  Left = 1,
  Right = 2,
}

export enum ViewColumn {
  Active = -1,
  Beside = -2,
  One = 1,
}

export enum ConfigurationTarget {
  Global = 1,
  Workspace = 2,
  WorkspaceFolder = 3,
}

/** A debug session as `vscode.debug` reports it (the fields the extension reads). */
export interface FakeDebugSession {
  readonly id: string;
  readonly type: string;
  readonly name: string;
}

export enum ProgressLocation {
  SourceControl = 1,
  Window = 10,
  Notification = 15,
}

// ------------------------------------------------------------------ recorders

/** A tree view created by the extension; `fires` lists every onDidChangeTreeData payload. */
export class FakeTreeView<T> {
  visible: boolean;
  badge: { value: number; tooltip: string } | undefined;
  readonly fires: (T[] | T | undefined)[] = [];
  readonly reveals: { element: T; options: unknown }[] = [];
  readonly visibility = new EventEmitter<{ visible: boolean }>();
  readonly onDidChangeVisibility = this.visibility.event;
  disposed = false;
  private readonly subscription: Disposable | undefined;

  constructor(
    readonly id: string,
    readonly provider: vscode.TreeDataProvider<T>,
    visible: boolean,
  ) {
    this.visible = visible;
    const event = provider.onDidChangeTreeData as unknown as ((listener: (value: T[] | T | undefined) => void) => Disposable) | undefined;
    this.subscription = event?.((value) => this.fires.push(value));
  }

  /** What VS Code would do when the user shows or hides the view. */
  setVisible(visible: boolean): void {
    this.visible = visible;
    this.visibility.fire({ visible });
  }

  async reveal(element: T, options?: unknown): Promise<void> {
    this.reveals.push({ element, options });
  }

  dispose(): void {
    this.disposed = true;
    this.subscription?.dispose();
  }
}

export class FakeStatusBarItem {
  text = '';
  name: string | undefined;
  tooltip: string | MarkdownString | undefined;
  command: string | { command: string; title: string } | undefined;
  backgroundColor: ThemeColor | undefined;
  accessibilityInformation: { label: string } | undefined;
  shown = false;
  disposed = false;
  constructor(
    readonly id: string,
    readonly alignment: StatusBarAlignment,
    readonly priority: number,
  ) {}
  show(): void {
    this.shown = true;
  }
  hide(): void {
    this.shown = false;
  }
  dispose(): void {
    this.disposed = true;
  }
}

/** A LogOutputChannel that keeps its lines. */
export class FakeLogChannel {
  readonly lines: { level: string; text: string }[] = [];
  shown = 0;
  disposed = false;
  constructor(readonly name: string) {}
  trace(text: string): void {
    this.lines.push({ level: 'trace', text });
  }
  debug(text: string): void {
    this.lines.push({ level: 'debug', text });
  }
  info(text: string): void {
    this.lines.push({ level: 'info', text });
  }
  warn(text: string): void {
    this.lines.push({ level: 'warn', text });
  }
  error(text: string): void {
    this.lines.push({ level: 'error', text });
  }
  appendLine(text: string): void {
    this.lines.push({ level: 'info', text });
  }
  append(text: string): void {
    this.lines.push({ level: 'info', text });
  }
  show(): void {
    this.shown++;
  }
  dispose(): void {
    this.disposed = true;
  }
  /** The lines' texts, for `toContain` checks. */
  texts(): string[] {
    return this.lines.map((line) => line.text);
  }
}

export class FakeDiagnosticCollection {
  readonly entries = new Map<string, readonly Diagnostic[]>();
  disposed = false;
  constructor(readonly name: string) {}
  set(uri: Uri, diagnostics: readonly Diagnostic[] | undefined): void {
    if (diagnostics && diagnostics.length > 0) this.entries.set(uri.toString(), diagnostics);
    else this.entries.delete(uri.toString());
  }
  get(uri: Uri): readonly Diagnostic[] | undefined {
    return this.entries.get(uri.toString());
  }
  delete(uri: Uri): void {
    this.entries.delete(uri.toString());
  }
  clear(): void {
    this.entries.clear();
  }
  dispose(): void {
    this.disposed = true;
    this.entries.clear();
  }
  /** Every diagnostic, flattened. */
  all(): Diagnostic[] {
    return [...this.entries.values()].flat();
  }
}

export class FakeFileSystemWatcher {
  readonly changes = new EventEmitter<Uri>();
  readonly creates = new EventEmitter<Uri>();
  readonly deletes = new EventEmitter<Uri>();
  readonly onDidChange = this.changes.event;
  readonly onDidCreate = this.creates.event;
  readonly onDidDelete = this.deletes.event;
  disposed = false;
  constructor(readonly glob: string) {}
  dispose(): void {
    this.disposed = true;
  }
}

/** A webview panel the extension created (or one handed to its serializer); `posted` keeps its messages. */
export class FakeWebviewPanel {
  readonly posted: unknown[] = [];
  readonly received = new EventEmitter<unknown>();
  readonly viewStates = new EventEmitter<{ webviewPanel: FakeWebviewPanel }>();
  readonly disposes = new EventEmitter<void>();
  readonly onDidChangeViewState = this.viewStates.event;
  readonly onDidDispose = this.disposes.event;
  revealed = 0;
  visible = true;
  disposed = false;
  readonly webview: {
    html: string;
    options: unknown;
    readonly cspSource: string;
    asWebviewUri(uri: Uri): Uri;
    postMessage(message: unknown): Promise<boolean>;
    readonly onDidReceiveMessage: EventEmitter<unknown>['event'];
  };

  constructor(
    readonly viewType: string,
    public title: string,
    readonly showOptions: unknown,
    options: unknown,
  ) {
    const posted = this.posted;
    this.webview = {
      html: '',
      options,
      cspSource: 'https://fake.vscode-cdn.net',
      asWebviewUri: (uri) => uri.with({ scheme: 'https', authority: 'fake.vscode-cdn.net' }),
      postMessage: async (message) => {
        posted.push(message);
        return true;
      },
      onDidReceiveMessage: this.received.event,
    };
  }

  reveal(): void {
    this.revealed++;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.disposes.fire();
  }
}

/** A message shown through showInformation/Warning/ErrorMessage. */
export interface ShownMessage {
  readonly kind: 'info' | 'warning' | 'error';
  readonly message: string;
  readonly items: readonly string[];
}

type QuickPickResponder = (items: readonly { label: string }[], options: unknown) => unknown;

/** Everything the fake recorded, and the knobs tests turn. Reset with `fake.reset()`. */
export const fake = {
  commands: new Map<string, (...args: unknown[]) => unknown>(),
  executed: [] as { command: string; args: unknown[] }[],
  messages: [] as ShownMessage[],
  /** Answers for the next messages (a button title, or undefined = dismissed). */
  messageChoices: [] as (string | undefined)[],
  quickPicks: [] as { items: readonly { label: string }[]; options: unknown }[],
  /** Picks an item (or undefined); the default dismisses the pick. */
  quickPickResponder: ((): unknown => undefined) as QuickPickResponder,
  treeViews: [] as FakeTreeView<unknown>[],
  /** Whether new tree views start visible. */
  treeViewsVisible: true,
  statusBarItems: [] as FakeStatusBarItem[],
  statusBarMessages: [] as string[],
  channels: [] as FakeLogChannel[],
  collections: [] as FakeDiagnosticCollection[],
  watchers: [] as FakeFileSystemWatcher[],
  codeActionProviders: [] as { selector: unknown; provider: vscode.CodeActionProvider }[],
  contentProviders: new Map<string, vscode.TextDocumentContentProvider>(),
  shownDocuments: [] as { target: unknown; options: unknown }[],
  webviewPanels: [] as FakeWebviewPanel[],
  /** Webview panel serializers by view type. */
  serializers: new Map<string, vscode.WebviewPanelSerializer>(),
  clipboard: '',
  openedExternal: [] as string[],
  /** Settings by folder URI string ('*' for all folders), then by full key (`fastcgiPool.port`). */
  settings: new Map<string, Record<string, unknown>>(),
  workspaceFolders: undefined as vscode.WorkspaceFolder[] | undefined,
  isTrusted: true,
  folderEvents: new EventEmitter<unknown>(),
  configurationEvents: new EventEmitter<{ affectsConfiguration(section: string, scope?: unknown): boolean }>(),
  trustEvents: new EventEmitter<void>(),
  saveEvents: new EventEmitter<{ uri: Uri }>(),
  contextKeys: new Map<string, unknown>(),
  /** Answers for the next input boxes (undefined = dismissed), and what each was asked. */
  inputBoxAnswers: [] as (string | undefined)[],
  inputBoxes: [] as { title?: string; prompt?: string; placeHolder?: string; validateInput?: (value: string) => unknown }[],
  /** Installed extensions by id. */
  extensions: new Set<string>(),
  /** `vscode.debug`: sessions, and what `startDebugging` was asked. */
  activeDebugSession: undefined as FakeDebugSession | undefined,
  debugStarts: new EventEmitter<FakeDebugSession>(),
  debugEnds: new EventEmitter<FakeDebugSession>(),
  startedDebugging: [] as { folder: unknown; configuration: Record<string, unknown> }[],
  /** Settings written through `getConfiguration(…).update`. */
  settingUpdates: [] as { section: string; key: string; value: unknown; target: unknown; scope: string | null }[],

  reset(): void {
    this.commands.clear();
    this.executed.length = 0;
    this.messages.length = 0;
    this.messageChoices.length = 0;
    this.quickPicks.length = 0;
    this.quickPickResponder = () => undefined;
    this.treeViews.length = 0;
    this.treeViewsVisible = true;
    this.statusBarItems.length = 0;
    this.statusBarMessages.length = 0;
    this.channels.length = 0;
    this.collections.length = 0;
    this.watchers.length = 0;
    this.codeActionProviders.length = 0;
    this.contentProviders.clear();
    this.shownDocuments.length = 0;
    this.webviewPanels.length = 0;
    this.serializers.clear();
    this.clipboard = '';
    this.openedExternal.length = 0;
    this.settings.clear();
    this.workspaceFolders = undefined;
    this.isTrusted = true;
    this.folderEvents = new EventEmitter();
    this.configurationEvents = new EventEmitter();
    this.trustEvents = new EventEmitter();
    this.saveEvents = new EventEmitter();
    this.contextKeys.clear();
    this.inputBoxAnswers.length = 0;
    this.inputBoxes.length = 0;
    this.extensions.clear();
    this.activeDebugSession = undefined;
    this.debugStarts = new EventEmitter();
    this.debugEnds = new EventEmitter();
    this.startedDebugging.length = 0;
    this.settingUpdates.length = 0;
  },

  /** A workspace folder as VS Code would give it. */
  folder(path: string, index = 0, name = path.split('/').pop() ?? path): vscode.WorkspaceFolder {
    return { uri: Uri.file(path) as unknown as vscode.Uri, name, index };
  },

  /** The diagnostic collection named `name` (the extension creates one). */
  collection(name: string): FakeDiagnosticCollection {
    const found = this.collections.find((collection) => collection.name === name);
    if (!found) throw new Error(`no diagnostic collection ${name}`);
    return found;
  },
};

function message(kind: ShownMessage['kind']) {
  return async (text: string, ...rest: unknown[]): Promise<string | undefined> => {
    const items = rest.filter((item): item is string => typeof item === 'string');
    fake.messages.push({ kind, message: text, items });
    return fake.messageChoices.shift();
  };
}

// ------------------------------------------------------------------ namespaces

export const window = {
  createTreeView<T>(id: string, options: { treeDataProvider: vscode.TreeDataProvider<T> }): FakeTreeView<T> {
    const view = new FakeTreeView<T>(id, options.treeDataProvider, fake.treeViewsVisible);
    fake.treeViews.push(view as FakeTreeView<unknown>);
    return view;
  },
  createStatusBarItem(id: string, alignment: StatusBarAlignment, priority: number): FakeStatusBarItem {
    const item = new FakeStatusBarItem(id, alignment, priority);
    fake.statusBarItems.push(item);
    return item;
  },
  createOutputChannel(name: string): FakeLogChannel {
    const channel = new FakeLogChannel(name);
    fake.channels.push(channel);
    return channel;
  },
  showInformationMessage: message('info'),
  showWarningMessage: message('warning'),
  showErrorMessage: message('error'),
  async showQuickPick(items: readonly { label: string }[] | Promise<readonly { label: string }[]>, options?: unknown): Promise<unknown> {
    const resolved = await items;
    fake.quickPicks.push({ items: resolved, options });
    return fake.quickPickResponder(resolved, options);
  },
  async showInputBox(
    options: { title?: string; prompt?: string; placeHolder?: string; validateInput?: (value: string) => unknown } = {},
  ): Promise<string | undefined> {
    fake.inputBoxes.push(options);
    return fake.inputBoxAnswers.shift();
  },
  setStatusBarMessage(text: string): Disposable {
    fake.statusBarMessages.push(text);
    return new Disposable(() => undefined);
  },
  async showTextDocument(target: unknown, options?: unknown): Promise<unknown> {
    fake.shownDocuments.push({ target, options });
    return {};
  },
  createWebviewPanel(viewType: string, title: string, showOptions: unknown, options?: unknown): FakeWebviewPanel {
    const panel = new FakeWebviewPanel(viewType, title, showOptions, options);
    fake.webviewPanels.push(panel);
    return panel;
  },
  registerWebviewPanelSerializer(viewType: string, serializer: vscode.WebviewPanelSerializer): Disposable {
    if (fake.serializers.has(viewType)) throw new Error(`a serializer for ${viewType} is already registered`);
    fake.serializers.set(viewType, serializer);
    return new Disposable(() => fake.serializers.delete(viewType));
  },
  async withProgress<R>(_options: unknown, task: (progress: { report(value: unknown): void }) => Promise<R>): Promise<R> {
    return task({ report: () => undefined });
  },
};

export const commands = {
  registerCommand(id: string, handler: (...args: unknown[]) => unknown): Disposable {
    if (fake.commands.has(id)) throw new Error(`command ${id} already registered`);
    fake.commands.set(id, handler);
    return new Disposable(() => fake.commands.delete(id));
  },
  async executeCommand(id: string, ...args: unknown[]): Promise<unknown> {
    fake.executed.push({ command: id, args });
    if (id === 'setContext') {
      fake.contextKeys.set(args[0] as string, args[1]);
      return undefined;
    }
    const handler = fake.commands.get(id);
    return handler ? handler(...args) : undefined;
  },
};

export const workspace = {
  get workspaceFolders(): vscode.WorkspaceFolder[] | undefined {
    return fake.workspaceFolders;
  },
  get isTrusted(): boolean {
    return fake.isTrusted;
  },
  /** The folder whose path contains the file, as VS Code answers it. */
  getWorkspaceFolder(uri: { fsPath: string }): vscode.WorkspaceFolder | undefined {
    return (fake.workspaceFolders ?? []).find((folder) => uri.fsPath === folder.uri.fsPath || uri.fsPath.startsWith(`${folder.uri.fsPath}/`));
  },
  getConfiguration(section: string, scope?: { toString(): string }) {
    const folder = scope ? fake.settings.get(scope.toString()) : undefined;
    const global = fake.settings.get('*');
    return {
      get<T>(key: string, defaultValue?: T): T | undefined {
        const full = `${section}.${key}`;
        if (folder && full in folder) return folder[full] as T;
        if (global && full in global) return global[full] as T;
        return defaultValue;
      },
      async update(key: string, value: unknown, target?: unknown): Promise<void> {
        fake.settingUpdates.push({ section, key, value, target, scope: scope ? scope.toString() : null });
      },
    };
  },
  onDidChangeWorkspaceFolders: (listener: Listener<unknown>) => fake.folderEvents.event(listener),
  onDidChangeConfiguration: (listener: Listener<{ affectsConfiguration(section: string, scope?: unknown): boolean }>) =>
    fake.configurationEvents.event(listener),
  onDidGrantWorkspaceTrust: (listener: Listener<void>) => fake.trustEvents.event(listener),
  onDidSaveTextDocument: (listener: Listener<{ uri: Uri }>) => fake.saveEvents.event(listener),
  createFileSystemWatcher(glob: string): FakeFileSystemWatcher {
    const watcher = new FakeFileSystemWatcher(glob);
    fake.watchers.push(watcher);
    return watcher;
  },
  registerTextDocumentContentProvider(scheme: string, provider: vscode.TextDocumentContentProvider): Disposable {
    fake.contentProviders.set(scheme, provider);
    return new Disposable(() => fake.contentProviders.delete(scheme));
  },
  async openTextDocument(uri: Uri): Promise<{ uri: Uri; getText(): string }> {
    const provider = fake.contentProviders.get(uri.scheme);
    const text = provider
      ? String(await provider.provideTextDocumentContent(uri as unknown as vscode.Uri, { isCancellationRequested: false } as vscode.CancellationToken))
      : '';
    return { uri, getText: () => text };
  },
};

export const languages = {
  createDiagnosticCollection(name: string): FakeDiagnosticCollection {
    const collection = new FakeDiagnosticCollection(name);
    fake.collections.push(collection);
    return collection;
  },
  registerCodeActionsProvider(selector: unknown, provider: vscode.CodeActionProvider): Disposable {
    const entry = { selector, provider };
    fake.codeActionProviders.push(entry);
    return new Disposable(() => fake.codeActionProviders.splice(fake.codeActionProviders.indexOf(entry), 1));
  },
};

export const env = {
  clipboard: {
    async writeText(text: string): Promise<void> {
      fake.clipboard = text;
    },
    async readText(): Promise<string> {
      return fake.clipboard;
    },
  },
  async openExternal(uri: Uri): Promise<boolean> {
    fake.openedExternal.push(uri.toString());
    return true;
  },
  async asExternalUri(uri: Uri): Promise<Uri> {
    return uri;
  },
};

export const debug = {
  get activeDebugSession(): FakeDebugSession | undefined {
    return fake.activeDebugSession;
  },
  onDidStartDebugSession: (listener: Listener<FakeDebugSession>) => fake.debugStarts.event(listener),
  onDidTerminateDebugSession: (listener: Listener<FakeDebugSession>) => fake.debugEnds.event(listener),
  async startDebugging(folder: unknown, configuration: Record<string, unknown>): Promise<boolean> {
    fake.startedDebugging.push({ folder, configuration });
    const session = { id: `s${fake.startedDebugging.length}`, type: String(configuration.type), name: String(configuration.name) };
    fake.debugStarts.fire(session);
    return true;
  },
};

export const extensions = {
  getExtension(id: string): { id: string } | undefined {
    return fake.extensions.has(id) ? { id } : undefined;
  },
};

export const l10n = {
  t(message: string): string {
    return message;
  },
};
