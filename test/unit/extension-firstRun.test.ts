import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('vscode', () => vi.importActual('../support/fakeVscode'));

import type * as vscode from 'vscode';
import type { CommandContext } from '../../src/extension/commands/context';
import { registerCommands } from '../../src/extension/commands/table';
import { ContextKeyProjection } from '../../src/extension/contextKeys';
import { Commands, ContextKeys } from '../../src/extension/ids';
import { LiveReloadRelay } from '../../src/extension/liveReload';
import { detectPhpCgi, installHint, PhpCgiDetector, phpVersionOf } from '../../src/extension/phpCgi';
import { PoolManager } from '../../src/extension/poolManager';
import { documentRootOf } from '../../src/extension/settings';
import { setupDescription, ViewDescriptionProjection } from '../../src/extension/viewDescription';
import { fake, FakeTreeView, Uri } from '../support/fakeVscode';
import { phpCgi } from '../support/helpers';
import { FakeServers, managerDeps, MemoryLogger, type FakeServer } from './extension-fixtures';

/**
 * The everyday loop in the editor, against the fake `vscode`: Start respects
 * Workspace Trust, saves and file changes reach live reload, the app opens
 * in the browser or the Simple Browser, and a first run learns whether
 * php-cgi is installed and what the folder will serve.
 */

const app = fake.folder('/ws/app', 0, 'app');
const api = fake.folder('/ws/api', 1, 'api');

/** A started fake server with a live-reload sink that records what it was told. */
function withLiveReload(server: FakeServer): string[] {
  const told: string[] = [];
  (server as unknown as { gateway: { liveReload: { changed(files: Iterable<string>): void } } }).gateway = {
    liveReload: { changed: (files) => told.push(...files) },
  };
  return told;
}

describe('Start respects Workspace Trust', () => {
  beforeEach(() => fake.reset());

  it('sets canStart only in a trusted workspace, and again once trust is granted', async () => {
    fake.isTrusted = false;
    const manager = new PoolManager(managerDeps(new FakeServers(), { isTrusted: () => fake.isTrusted }));
    await manager.syncFolders([app]);
    const keys = new ContextKeyProjection(manager);
    expect(fake.contextKeys.get(ContextKeys.canStart)).toBe(false);
    fake.isTrusted = true;
    fake.trustEvents.fire();
    expect(fake.contextKeys.get(ContextKeys.canStart)).toBe(true);
    keys.dispose();
  });
});

describe('live reload from the editor', () => {
  let servers: FakeServers;
  let manager: PoolManager;
  let relay: LiveReloadRelay;

  beforeEach(async () => {
    fake.reset();
    servers = new FakeServers();
    manager = new PoolManager(managerDeps(servers));
    await manager.syncFolders([app, api]);
  });
  afterEach(() => relay?.dispose());

  it('tells a running pool about saves and file changes in its folder, by their path in it; not vendor/, node_modules/, .git/, nor other folders', async () => {
    await manager.start(app.uri.toString());
    const told = withLiveReload(servers.last);
    relay = new LiveReloadRelay(manager);
    const watcher = fake.watchers.at(-1);
    expect(watcher?.glob).toBe('**/*');
    fake.saveEvents.fire({ uri: Uri.file('/ws/app/src/pages/home.php') });
    watcher?.changes.fire(Uri.file('/ws/app/assets/style.css'));
    watcher?.creates.fire(Uri.file('/ws/app/public/new.php'));
    watcher?.deletes.fire(Uri.file('/ws/app/old.php'));
    for (const ignored of [
      '/ws/app/vendor/acme/lib.php',
      '/ws/app/node_modules/x/index.js',
      '/ws/app/.git/index',
      '/ws/app/index.php~',
      '/ws/api/index.php',
      '/elsewhere/a.php',
    ]) {
      watcher?.changes.fire(Uri.file(ignored));
    }
    fake.saveEvents.fire({ uri: Uri.from({ scheme: 'untitled', path: 'Untitled-1' }) });
    expect(told).toEqual(['src/pages/home.php', 'assets/style.css', 'public/new.php', 'old.php']);
  });

  it('tells nothing to a pool without live reload, or a stopped one', async () => {
    await manager.start(app.uri.toString());
    relay = new LiveReloadRelay(manager);
    fake.saveEvents.fire({ uri: Uri.file('/ws/app/index.php') }); // the fake server has no live reload: nothing to call
    const told = withLiveReload(servers.last);
    await manager.stop(app.uri.toString());
    fake.saveEvents.fire({ uri: Uri.file('/ws/app/index.php') });
    expect(told).toEqual([]);
  });
});

describe('Open in Browser, Open in Simple Browser, Check for php-cgi', () => {
  let servers: FakeServers;
  let manager: PoolManager;
  let registrations: vscode.Disposable[];
  let detector: PhpCgiDetector;
  const run = (id: string, ...args: unknown[]) => (fake.commands.get(id) as (...a: unknown[]) => Promise<void>)(...args);

  beforeEach(async () => {
    fake.reset();
    servers = new FakeServers();
    manager = new PoolManager(managerDeps(servers));
    await manager.syncFolders([app]);
    detector = new PhpCgiDetector(new MemoryLogger());
    const ctx = { manager, log: { show: () => undefined, error: () => undefined }, phpCgi: detector } as unknown as CommandContext;
    registrations = registerCommands(ctx);
  });
  afterEach(() => {
    for (const registration of registrations) registration.dispose();
    detector.dispose();
  });

  it('opens the running app through asExternalUri, in the browser or in the Simple Browser', async () => {
    await run(Commands.openInSimpleBrowser);
    expect(fake.messages.at(-1)?.message).toBe('No FastCGI pool is running. Start one first.');
    await manager.start(app.uri.toString());
    await run(Commands.openInBrowser);
    expect(fake.openedExternal).toEqual(['http://127.0.0.1:8080/']);
    await run(Commands.openInSimpleBrowser);
    expect(fake.executed.at(-1)).toEqual({ command: 'simpleBrowser.show', args: ['http://127.0.0.1:8080/'] });
  });

  it('checks for php-cgi again on demand, sets the welcome view’s context key, and says what it found or how to install it', async () => {
    fake.settings.set('*', { 'fastcgiPool.phpCgiPath': '/nonexistent/php-cgi' });
    fake.workspaceFolders = [app];
    await run(Commands.detectPhpCgi);
    expect(fake.contextKeys.get(ContextKeys.phpCgi)).toBe('missing');
    expect(fake.messages.at(-1)).toMatchObject({
      kind: 'warning',
      message: expect.stringContaining('php-cgi not found: "/nonexistent/php-cgi". Install it: sudo apt-get install php-cgi') as string,
    });
    fake.settings.set('*', { 'fastcgiPool.phpCgiPath': phpCgi });
    await run(Commands.detectPhpCgi);
    expect(fake.contextKeys.get(ContextKeys.phpCgi)).toBe('found');
    // Which php-cgi, and what the folder would serve (/ws/app has no index.php anywhere: the folder itself).
    expect(fake.messages.at(-1)?.message).toMatch(
      new RegExp(`^php-cgi \\d+\\.\\d+\\.\\d+\\S*: ${phpCgi}\\. "app" serves the folder itself \\(no index\\.php found\\)\\.$`),
    );
  });
});

describe('what a first run is told', () => {
  let scratch: string;
  beforeEach(() => (scratch = mkdtempSync(join(tmpdir(), 'first-run-'))));
  afterEach(() => rmSync(scratch, { recursive: true, force: true }));

  it('finds php-cgi on PATH or by path, with its version; a missing one gets the install command for the OS', async () => {
    const found = await detectPhpCgi(phpCgi, '');
    expect(found).toMatchObject({ kind: 'found', path: phpCgi, version: expect.stringMatching(/^\d+\.\d+\.\d+/) as string });
    // A php-cgi that is not PHP at all still counts as found; its version is unknown.
    const fakePhp = join(scratch, 'php-cgi');
    writeFileSync(fakePhp, '#!/bin/sh\necho nothing\n');
    chmodSync(fakePhp, 0o755);
    expect(await detectPhpCgi('php-cgi', scratch)).toEqual({ kind: 'found', configured: 'php-cgi', path: fakePhp, version: null });
    expect(await detectPhpCgi('php-cgi', join(scratch, 'nowhere'))).toEqual({ kind: 'missing', configured: 'php-cgi' });
    expect(phpVersionOf('PHP 8.2.36 (cgi-fcgi) (built: Nov 18 2026)\nCopyright (c) The PHP Group')).toBe('8.2.36');
    expect(installHint('linux')).toContain('sudo apt-get install php-cgi');
    expect(installHint('darwin')).toContain('brew install php');
    expect(installHint('win32')).toContain('WSL');
  });

  it('describes php-cgi and the detected document root next to the view’s title', () => {
    const laravel = documentRootOf('', resolve(__dirname, '../fixtures/layouts/laravel'));
    const plain = documentRootOf('', resolve(__dirname, '../fixtures/layouts/plain'));
    const found = { kind: 'found', configured: 'php-cgi', path: '/usr/bin/php-cgi', version: '8.2.36' } as const;
    expect(setupDescription(found, [laravel])).toBe('php-cgi 8.2.36 · serves public/');
    expect(setupDescription(found, [plain])).toBe('php-cgi 8.2.36 · serves the folder');
    expect(setupDescription({ kind: 'missing', configured: 'php-cgi' }, [laravel])).toBe('php-cgi not found · serves public/');
    // Multi-root: each pool's tooltip names its own root.
    expect(setupDescription(found, [laravel, plain])).toBe('php-cgi 8.2.36');
    expect(setupDescription(null, [])).toBe('');
  });

  it('shows it on the Workers view when the extension activates', async () => {
    fake.reset();
    fake.workspaceFolders = [fake.folder(resolve(__dirname, '../fixtures/layouts/laravel'))];
    const manager = new PoolManager(managerDeps(new FakeServers()));
    await manager.syncFolders(fake.workspaceFolders);
    const detector = new PhpCgiDetector(new MemoryLogger());
    fake.settings.set('*', { 'fastcgiPool.phpCgiPath': phpCgi });
    const view = new FakeTreeView<unknown>(
      'fastcgiPool.workers',
      { getChildren: () => [], getTreeItem: () => ({}) } as unknown as vscode.TreeDataProvider<unknown>,
      true,
    );
    const projection = new ViewDescriptionProjection(view as unknown as vscode.TreeView<unknown>, detector, manager);
    expect((view as unknown as { description?: string }).description).toBe('serves public/');
    await detector.check();
    expect((view as unknown as { description?: string }).description).toMatch(/^php-cgi \d+\.\d+\.\d+\S* · serves public\/$/);
    projection.dispose();
    detector.dispose();
  });
});
