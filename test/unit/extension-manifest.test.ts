import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

vi.mock('vscode', () => vi.importActual('../support/fakeVscode'));

import { commandTable } from '../../src/extension/commands/table';
import { allContextValues } from '../../src/extension/contextValues';
import { Commands, ContextKeys, Views, WALKTHROUGH } from '../../src/extension/ids';
import { DASHBOARD_VIEW_TYPE } from '../../src/shared/dashboardProtocol';
import { DEFAULTS } from '../../src/shared/defaults';
import { VERSION } from '../../src/shared/version';
import { optionName, OPTIONS, settingDefault, type OptionId } from '../../src/shared/options';
import type { PoolStatus } from '../../src/extension/poolManager';
import { RESTRICTED_SETTINGS, SETTING_DEFAULTS } from '../../src/extension/settings';
import { present, WorkersTreeModel, type PoolSource } from '../../src/extension/tree/model';
import type { PoolSnapshot, WorkerSnapshot } from '../../src/pool/types';
import { busyWorker, finding, lease, pausedWorker, snapshot, T0, worker } from './extension-fixtures';

interface MenuItem {
  command: string;
  when?: string;
  group?: string;
}
interface WalkthroughStep {
  id: string;
  title: string;
  description: string;
  media: { markdown?: string; image?: string; altText?: string };
  completionEvents: string[];
  when?: string;
}
interface Manifest {
  name: string;
  publisher: string;
  version: string;
  main: string;
  icon: string;
  categories: string[];
  keywords: string[];
  engines: { vscode: string };
  activationEvents: string[];
  extensionKind: string[];
  capabilities: { untrustedWorkspaces: { supported: string | boolean; restrictedConfigurations: string[] }; virtualWorkspaces: { supported: boolean } };
  scripts: Record<string, string>;
  devDependencies: Record<string, string>;
  contributes: {
    commands: { command: string; title: string; category: string; icon?: string }[];
    menus: Record<string, MenuItem[]>;
    viewsContainers: { activitybar: { id: string; title: string; icon: string }[] };
    views: Record<string, { id: string; name: string }[]>;
    viewsWelcome: { view: string; contents: string; when?: string }[];
    walkthroughs: { id: string; title: string; description: string; steps: WalkthroughStep[] }[];
    configuration: { properties: Record<string, { type: string; default: unknown; scope?: string; markdownDescription?: string; enum?: string[] }> };
  };
}

const root = join(__dirname, '../..');

/** The .vscodeignore allow-list lines. */
function vscodeignore(): string[] {
  return readFileSync(join(root, '.vscodeignore'), 'utf8')
    .split('\n')
    .filter((line) => line && !line.startsWith('#'));
}

/** Ours, VS Code's that the manifest links to, and the command VS Code makes for the Workers view. */
function isKnownCommand(command: string): boolean {
  const vscodeCommands = [
    'workbench.action.openSettings',
    'workbench.trust.manage',
    'vscode.openFolder',
    'workbench.action.openWalkthrough',
    'workbench.actions.view.problems',
    Views.focusWorkers,
  ];
  return contributed.has(command) || vscodeCommands.includes(command);
}
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest;
const contributed = new Set(manifest.contributes.commands.map((c) => c.command));
const allMenuItems = Object.values(manifest.contributes.menus).flat();

/** Every contextValue the tree emits, from pools and workers in every state it can show. */
function emittedContextValues(): Set<string> {
  const values = new Set<string>();
  const source = (key: string, status: PoolStatus, snap: PoolSnapshot | null): PoolSource => ({
    key,
    name: key,
    status,
    problem: status === 'failed' ? 'php-cgi not found' : null,
    portMoved: null,
    server: snap ? { port: 8080, url: 'http://127.0.0.1:8080/' } : null,
    snapshot: () => snap,
  });
  const f = finding({ workerId: 'w6' });
  const workers: WorkerSnapshot[] = [
    worker({ id: 'w1', state: 'idle' }),
    busyWorker('w2', 2),
    worker({ id: 'w3', state: 'starting', pid: null }),
    { ...busyWorker('w4', 4), state: 'draining' },
    worker({ id: 'w5', state: 'draining' }),
    { ...busyWorker('w6', 6), findingIds: [f.id] },
    worker({ id: 'w7', state: 'error', exitReason: 'killed-by-user' }),
    worker({ id: 'w8', state: 'idle', findingIds: ['F8'] }),
    // At a breakpoint, and one running between breakpoints: both in a debug session.
    pausedWorker('w9', 9),
    { ...busyWorker('w10', 10), debug: { state: 'running', file: '/app/index.php', line: null, since: T0, ide: 'connected' } },
    worker({ id: 'w9', state: 'finishing', abandoned: { lease: lease({ workerId: 'w9' }), abandonedAt: T0 - 500 } }),
  ];
  const running = snapshot(workers, { findings: [f, finding({ id: 'F8', workerId: 'w8', kind: 'zombie-descendant' })] });
  for (const statuses of [
    ['running', 'stopped', 'starting', 'stopping', 'failed'],
    ['stopped', 'failed'],
  ] as PoolStatus[][]) {
    const model = new WorkersTreeModel();
    model.sync(
      statuses.map((status, i) => source(`file:///ws/${i}`, status, status === 'running' || status === 'stopping' ? running : null)),
      () => '/app',
      T0,
    );
    for (const node of model.allNodes()) values.add(present(node, T0).contextValue);
  }
  return values;
}

/** `viewItem == x` and `viewItem =~ /re/` clauses of a when-clause. */
function viewItemClauses(when: string): ({ kind: 'eq'; value: string } | { kind: 're'; re: RegExp })[] {
  const clauses: ({ kind: 'eq'; value: string } | { kind: 're'; re: RegExp })[] = [];
  for (const match of when.matchAll(/viewItem\s*==\s*([\w.-]+)/g)) clauses.push({ kind: 'eq', value: match[1] as string });
  for (const match of when.matchAll(/viewItem\s*=~\s*\/((?:\\\/|[^/])+)\/([a-z]*)/g))
    clauses.push({ kind: 're', re: new RegExp(match[1] as string, match[2]) });
  return clauses;
}

describe('package.json', () => {
  it('contributes the fixed commands in category "FastCGI"', () => {
    expect(manifest.contributes.commands.map((c) => `${c.command} "${c.title}" [${c.category}]`)).toEqual([
      'fastcgiPool.start "Start Pool" [FastCGI]',
      'fastcgiPool.stop "Stop Pool" [FastCGI]',
      'fastcgiPool.restart "Restart Pool" [FastCGI]',
      'fastcgiPool.openInBrowser "Open in Browser" [FastCGI]',
      'fastcgiPool.openInSimpleBrowser "Open in Simple Browser" [FastCGI]',
      'fastcgiPool.showLog "Show Log" [FastCGI]',
      'fastcgiPool.showDashboard "Show Dashboard" [FastCGI]',
      'fastcgiPool.worker.kill "Kill Worker" [FastCGI]',
      'fastcgiPool.worker.recycle "Recycle Worker" [FastCGI]',
      'fastcgiPool.worker.releaseLease "Release Lease" [FastCGI]',
      'fastcgiPool.worker.revealRequest "Reveal Request" [FastCGI]',
      'fastcgiPool.worker.copyAsCurl "Copy Request as curl" [FastCGI]',
      'fastcgiPool.worker.openLog "Open Worker Log" [FastCGI]',
      'fastcgiPool.worker.copyPid "Copy PID" [FastCGI]',
      'fastcgiPool.detectPhpCgi "Check for php-cgi" [FastCGI]',
      'fastcgiPool.debugNextRequest "Debug Next Request" [FastCGI]',
      'fastcgiPool.stopDebugging "Stop Debugging Requests" [FastCGI]',
      'fastcgiPool.worker.showStack "Show Stack" [FastCGI]',
    ]);
  });

  it("offers Show Dashboard in the palette always and in the Workers view's title bar, with an icon", () => {
    expect(manifest.contributes.commands.find((c) => c.command === Commands.showDashboard)?.icon).toBe('$(dashboard)');
    expect((manifest.contributes.menus.commandPalette ?? []).some((i) => i.command === Commands.showDashboard)).toBe(false);
    expect((manifest.contributes.menus['view/title'] ?? []).filter((i) => i.command === Commands.showDashboard)).toEqual([
      { command: 'fastcgiPool.showDashboard', when: 'view == fastcgiPool.workers', group: 'navigation@5' },
    ]);
    const groups = (manifest.contributes.menus['view/title'] ?? []).map((i) => i.group);
    expect(new Set(groups).size, 'one position per title-bar action').toBe(groups.length);
  });

  it('has a handler for every contributed command and a contribution for every handler', () => {
    expect([...contributed].sort()).toEqual(Object.keys(commandTable).sort());
    expect(Object.values(Commands).sort()).toEqual([...contributed].sort());
  });

  it('only puts existing commands in menus, and inline items have icons', () => {
    for (const item of allMenuItems) expect(contributed, item.command).toContain(item.command);
    for (const item of allMenuItems.filter((i) => i.group?.startsWith('inline') || i.group?.startsWith('navigation'))) {
      expect(manifest.contributes.commands.find((c) => c.command === item.command)?.icon, item.command).toMatch(/^\$\([a-z-]+\)$/);
    }
    for (const item of manifest.contributes.menus['view/item/context'] ?? []) {
      expect(item.group, item.command).toMatch(/^(inline|1_inspect|2_lifecycle|9_destructive)(@\d+)?$/);
    }
  });

  it('matches every viewItem when-clause with a contextValue the tree really emits', () => {
    const emitted = emittedContextValues();
    const grammar = new Set(allContextValues());
    for (const value of emitted) expect(grammar, `emitted "${value}" is outside the documented grammar`).toContain(value);
    let clauses = 0;
    for (const item of allMenuItems) {
      for (const clause of viewItemClauses(item.when ?? '')) {
        clauses++;
        const hit = [...emitted].some((value) => (clause.kind === 'eq' ? value === clause.value : clause.re.test(value)));
        expect(hit, `${item.command}: "${item.when}" matches nothing the tree emits`).toBe(true);
      }
      if (item.when?.includes('viewItem')) expect(item.when, item.command).toContain(`view == ${Views.workers}`);
    }
    expect(clauses).toBeGreaterThan(15);
  });

  it('offers each worker action only where it applies', () => {
    const whenFor = (command: string, group: string): string =>
      (manifest.contributes.menus['view/item/context'] ?? []).find((i) => i.command === command && i.group === group)?.when ?? '';
    const applies = (command: string, group: string, value: string): boolean =>
      viewItemClauses(whenFor(command, group)).some((c) => (c.kind === 'eq' ? c.value === value : c.re.test(value)));
    expect(applies(Commands.releaseLease, '2_lifecycle@2', 'worker.busy.lease')).toBe(true);
    expect(applies(Commands.releaseLease, '2_lifecycle@2', 'worker.idle')).toBe(false);
    expect(applies(Commands.killWorker, '9_destructive@1', 'worker.busy.lease.finding')).toBe(true);
    expect(applies(Commands.killWorker, '9_destructive@1', 'worker.error')).toBe(false);
    expect(applies(Commands.copyPid, '1_inspect@4', 'worker.starting')).toBe(false);
    // A worker at a breakpoint can still be killed or recycled, and its session ended.
    expect(applies(Commands.killWorker, '9_destructive@1', 'worker.paused.lease.debug')).toBe(true);
    expect(applies(Commands.recycleWorker, '2_lifecycle@1', 'worker.paused.lease.debug')).toBe(true);
    expect(applies(Commands.stopDebugging, '2_lifecycle@4', 'worker.paused.lease.debug')).toBe(true);
    expect(applies(Commands.stopDebugging, '2_lifecycle@4', 'worker.busy.lease.finding.debug')).toBe(true);
    expect(applies(Commands.stopDebugging, '2_lifecycle@4', 'worker.busy.lease')).toBe(false);
    expect(applies(Commands.debugNextRequest, '1_inspect@3', 'pool.running')).toBe(true);
    // A worker finishing the script of a client that left: no lease to release, but it can be recycled or killed.
    expect(applies(Commands.releaseLease, '2_lifecycle@2', 'worker.finishing')).toBe(false);
    expect(applies(Commands.recycleWorker, '2_lifecycle@1', 'worker.finishing')).toBe(true);
    expect(applies(Commands.killWorker, '9_destructive@1', 'worker.finishing')).toBe(true);
    expect(applies(Commands.showStack, '1_inspect@0', 'worker.busy.lease')).toBe(true);
    expect(applies(Commands.showStack, '1_inspect@0', 'worker.draining.lease.finding')).toBe(true);
    expect(applies(Commands.showStack, '1_inspect@0', 'worker.idle')).toBe(false);
    expect(applies(Commands.showStack, '1_inspect@1', 'stack.frame')).toBe(true);
  });

  it('has the version the server names itself with (SERVER_SOFTWARE)', () => {
    expect(VERSION).toBe(manifest.version);
  });

  it('uses only context keys the extension sets', () => {
    const ours = new Set<string>(Object.values(ContextKeys));
    for (const item of allMenuItems) {
      for (const key of (item.when ?? '').match(/fastcgiPool\.[A-Za-z]+(?![.\w])/g) ?? []) {
        if (key === Views.workers) continue;
        expect(ours, `${item.command}: ${item.when}`).toContain(key);
      }
    }
  });

  it('has the activity-bar container, the Workers view and a welcome with a Start link', () => {
    expect(manifest.contributes.viewsContainers.activitybar).toEqual([{ id: 'fastcgiPool', title: 'FastCGI Pool', icon: 'media/activitybar.svg' }]);
    expect(manifest.contributes.views.fastcgiPool?.map((v) => `${v.id} ${v.name}`)).toEqual(['fastcgiPool.workers Workers']);
    const welcome = manifest.contributes.viewsWelcome.filter((w) => w.view === Views.workers);
    expect(welcome.some((w) => w.contents.includes('[Start Pool](command:fastcgiPool.start)'))).toBe(true);
    for (const w of welcome) {
      for (const [, command] of w.contents.matchAll(/\(command:([\w.]+)/g)) expect(isKnownCommand(command as string), command).toBe(true);
      expect(w.contents, 'welcome views render links only: no code spans').not.toContain('`');
    }
  });

  it('offers Start only in a trusted workspace: Restricted Mode gets Manage Workspace Trust, and no ▶ in the title bar', () => {
    const welcome = manifest.contributes.viewsWelcome.filter((w) => w.view === Views.workers && w.when?.includes('workspaceFolderCount > 0'));
    const untrusted = welcome.filter((w) => w.when?.includes('!isWorkspaceTrusted'));
    expect(untrusted).toHaveLength(1);
    expect(untrusted[0]?.contents).toContain('[Manage Workspace Trust](command:workbench.trust.manage)');
    for (const w of welcome) {
      if (!w.contents.includes('command:fastcgiPool.start')) continue;
      // Every welcome with Start is for a trusted workspace only.
      expect(w.when, w.contents).toMatch(/(^|&& )isWorkspaceTrusted( &&|$)/);
    }
    const starts = allMenuItems.filter((i) => i.command === Commands.start);
    expect(starts.length).toBeGreaterThan(2);
    for (const item of starts) expect(item.when, JSON.stringify(item)).toMatch(/isWorkspaceTrusted/);
    const titleStart = (manifest.contributes.menus['view/title'] ?? []).find((i) => i.command === Commands.start);
    expect(titleStart?.when).toBe('view == fastcgiPool.workers && fastcgiPool.canStart && isWorkspaceTrusted');
  });

  it('welcomes a first run with the php-cgi found, or the install command for this OS', () => {
    const welcome = manifest.contributes.viewsWelcome.filter((w) => w.view === Views.workers);
    const found = welcome.find((w) => w.when?.includes(`${ContextKeys.phpCgi} == found`));
    expect(found?.contents).toContain('[Start Pool](command:fastcgiPool.start)');
    expect(found?.contents).toContain('php-cgi is installed.');
    // Which php-cgi, and which document root: one click away (a single-view container hides the view's description).
    expect(found?.contents).toContain('[Show php-cgi and the document root](command:fastcgiPool.detectPhpCgi)');
    expect(found?.contents).toMatch(
      /document root is detected \(public\/, web\/ or htdocs\/ with an index\.php, else the folder\); \[change it\]\(command:workbench\.action\.openSettings\?%5B%22fastcgiPool\.documentRoot%22%5D\)/,
    );
    const missing = (os: string) => welcome.find((w) => w.when?.includes(`${ContextKeys.phpCgi} == missing`) && w.when.includes(os))?.contents ?? '';
    expect(missing('isLinux')).toContain('sudo apt-get install php-cgi');
    expect(missing('isMac')).toContain('brew install php');
    expect(missing('isWindows')).toMatch(/WSL.*sudo apt-get install php-cgi/s);
    for (const os of ['isLinux', 'isMac', 'isWindows']) expect(missing(os), os).toContain('[Check Again](command:fastcgiPool.detectPhpCgi)');
    // Until php-cgi has been looked for, Start is offered without a word about it.
    expect(welcome.find((w) => w.when?.includes(`!${ContextKeys.phpCgi}`))?.contents).toContain('[Start Pool](command:fastcgiPool.start)');
  });

  it('has a getting-started walkthrough: install php-cgi per OS, start, open, watch a worker go busy, read a finding', () => {
    const [walkthrough] = manifest.contributes.walkthroughs;
    expect(`${manifest.publisher}.${manifest.name}#${walkthrough?.id}`).toBe(WALKTHROUGH);
    const steps = walkthrough?.steps ?? [];
    expect(steps.map((step) => `${step.id}${step.when ? ` [${step.when}]` : ''}`)).toEqual([
      'installPhpCgi.linux [isLinux]',
      'installPhpCgi.mac [isMac]',
      'installPhpCgi.windows [isWindows]',
      'start',
      'open',
      'watchBusy',
      'readFinding',
    ]);
    expect(steps[0]?.description).toContain('\nsudo apt-get install php-cgi\n');
    expect(steps[1]?.description).toContain('\nbrew install php\n');
    expect(steps[2]?.description).toContain('\nsudo apt-get install php-cgi\n');
    const shipped = vscodeignore();
    for (const step of steps) {
      expect(step.completionEvents.length, step.id).toBeGreaterThan(0);
      expect(step.description, `${step.id}: walkthrough descriptions render links, not code spans`).not.toContain('`');
      for (const [, command] of step.description.matchAll(/\(command:([\w.]+)/g))
        expect(isKnownCommand(command as string), `${step.id}: ${command}`).toBe(true);
      for (const event of step.completionEvents) {
        const [kind, target] = event.split(':') as [string, string];
        if (kind === 'onCommand') expect(isKnownCommand(target), event).toBe(true);
        else if (kind === 'onContext') expect(Object.values(ContextKeys), event).toContain(target.split(' ')[0]);
        else expect(event).toBe(`onView:${Views.workers}`);
      }
      const media = step.media.markdown ?? step.media.image ?? '';
      expect(existsSync(join(root, media)), `${step.id}: ${media}`).toBe(true);
      expect(shipped, `${step.id}: ${media} must be in the .vsix`).toContain(`!${media}`);
      if (step.media.image) expect(step.media.altText, step.id).toBeTruthy();
    }
    const completes = steps.flatMap((step) => step.completionEvents);
    expect(completes).toContain(`onContext:${ContextKeys.running}`);
    expect(completes).toContain(`onCommand:${Commands.openInBrowser}`);
  });

  it('is ready for the marketplace: categories, keywords, a 128 px icon, the README’s images shipped', () => {
    expect(manifest.categories).toEqual(['Debuggers', 'Other']);
    for (const keyword of ['php', 'fastcgi', 'php-cgi', 'xdebug']) expect(manifest.keywords).toContain(keyword);
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const images = [...readme.matchAll(/!\[[^\]]*\]\(([^)]+\.png)\)/g)].map((m) => m[1] as string);
    expect(images.length).toBeGreaterThanOrEqual(3);
    for (const image of images) {
      expect(existsSync(join(root, image)), image).toBe(true);
      expect(vscodeignore(), image).toContain(`!${image}`);
    }
    // Relative images stay relative in the .vsix (no repository to rewrite them to): vsce must not try.
    expect(manifest.scripts.package).toContain('--no-rewrite-relative-links');
  });

  it('declares every setting with a schema, a markdown description and the documented default', () => {
    const properties = manifest.contributes.configuration.properties;
    expect(Object.keys(properties).sort()).toEqual(
      Object.keys(SETTING_DEFAULTS)
        .map((k) => `fastcgiPool.${k}`)
        .sort(),
    );
    for (const [name, value] of Object.entries(SETTING_DEFAULTS)) {
      const property = properties[`fastcgiPool.${name}`];
      expect(property?.default, name).toEqual(value);
      expect(property?.markdownDescription, name).toBeTruthy();
      expect(property?.type, name).toBe(typeof value === 'number' ? 'integer' : typeof value);
    }
    expect(properties['fastcgiPool.phpCgiPath']?.scope).toBe('machine-overridable');
    expect(properties['fastcgiPool.leakPolicy']?.enum).toEqual(['reclaim', 'keep']);
  });

  it("takes every setting's default from the option catalogue (src/shared/defaults.ts), in the setting's unit", () => {
    const properties = manifest.contributes.configuration.properties;
    const withSetting = (Object.keys(OPTIONS) as OptionId[]).filter((id) => optionName(id, 'settings') !== null);
    // Every setting is an engine option of the catalogue, and every catalogue setting is contributed.
    expect(withSetting.map((id) => optionName(id, 'settings')).sort()).toEqual(Object.keys(properties).sort());
    for (const id of withSetting) {
      const setting = optionName(id, 'settings') as string;
      expect(properties[setting]?.default, setting).toEqual(settingDefault(id));
      expect(SETTING_DEFAULTS[setting.slice('fastcgiPool.'.length) as keyof typeof SETTING_DEFAULTS], setting).toEqual(settingDefault(id));
    }
    // The units: the timeouts are seconds in the settings and ms in the engine, the scan interval ms in both.
    expect(properties['fastcgiPool.idleTimeout']?.default).toBe(DEFAULTS.idleTimeoutMs / 1_000);
    expect(properties['fastcgiPool.busyTimeout']?.default).toBe(DEFAULTS.busyTimeoutMs / 1_000);
    // The slowlog: off on the command line (PHP-FPM's default), 5 s in the editor.
    expect(properties['fastcgiPool.slowlogTimeout']?.default).toBe(DEFAULTS.editorSlowlogTimeoutMs / 1_000);
    expect(OPTIONS.slowlogTimeout.default).toBe(0);
    expect(properties['fastcgiPool.scanInterval']?.default).toBe(DEFAULTS.scanIntervalMs);
    expect(properties['fastcgiPool.port']?.default).toBe(DEFAULTS.port);
  });

  it('restricts, in untrusted workspaces, every setting that decides what runs, and each exists in the schema', () => {
    const restricted = manifest.capabilities.untrustedWorkspaces.restrictedConfigurations;
    expect(manifest.capabilities.untrustedWorkspaces.supported).toBe('limited');
    for (const name of restricted) expect(manifest.contributes.configuration.properties, name).toHaveProperty([name]);
    expect(restricted.sort()).toEqual(RESTRICTED_SETTINGS.map((k) => `fastcgiPool.${k}`).sort());
    for (const executes of ['phpCgiPath', 'ini', 'env', 'documentRoot', 'frontController']) expect(restricted).toContain(`fastcgiPool.${executes}`);
  });

  it('activates only through its commands, views and dashboard panels, runs on the workspace side, and is not for virtual workspaces', () => {
    for (const event of manifest.activationEvents) expect(event).toMatch(/^(onCommand:fastcgiPool\.|onView:fastcgiPool\.|onWebviewPanel:fastcgiPool\.)/);
    // A dashboard left open is restored after a reload only if its serializer's extension activates for it.
    expect(manifest.activationEvents).toContain(`onWebviewPanel:${DASHBOARD_VIEW_TYPE}`);
    expect(manifest.extensionKind).toEqual(['workspace']);
    expect(manifest.capabilities.virtualWorkspaces.supported).toBe(false);
    expect(manifest.main).toBe('./dist/extension.js');
  });

  it('packages with vsce 3.x, without dependencies, with a 128 px PNG icon and an allow-list .vscodeignore', () => {
    expect(manifest.scripts.package).toMatch(/vsce package --no-dependencies/);
    // The webview is browser code with its own tsconfig (DOM types); the type check covers it too.
    expect(manifest.scripts.typecheck).toBe('tsc --noEmit -p . && tsc --noEmit -p webview');
    expect(manifest.devDependencies['@vscode/vsce']).toMatch(/^[~^]?3\./);
    const png = readFileSync(join(root, manifest.icon));
    expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([128, 128]);
    expect(existsSync(join(root, 'media/activitybar.svg'))).toBe(true);
    const ignore = readFileSync(join(root, '.vscodeignore'), 'utf8')
      .split('\n')
      .filter((line) => line && !line.startsWith('#'));
    expect(ignore[0]).toBe('**');
    for (const kept of ignore.slice(1)) expect(kept, 'only allow-list entries after **').toMatch(/^!/);
    expect(ignore).not.toContain('!node_modules/**');
    // The engine thread's bundle: the extension starts each pool's thread from it (src/engineThread/).
    expect(ignore).toContain('!dist/engineThread.js');
    // The dashboard's webview files, and the toolkit's licence and notices that ship with it; no source maps.
    for (const file of ['main.js', 'dashboard.css', 'toolkit.min.js', 'toolkit.LICENSE.txt', 'toolkit.NOTICES.txt'])
      expect(ignore).toContain(`!dist/webview/${file}`);
    for (const kept of ignore.slice(1)) expect(kept, 'named files only: no globs, no source maps').not.toMatch(/\.map$|\*/);
    expect(existsSync(join(root, 'CHANGELOG.md'))).toBe(true);
  });
});
