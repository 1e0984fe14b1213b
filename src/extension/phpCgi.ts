import { execFile } from 'node:child_process';
import * as vscode from 'vscode';
import { findExecutable } from '../platform/spawnWorker';
import { DisposableStore } from './disposables';
import { CONFIG_SECTION, ContextKeys } from './ids';
import type { Logger } from './poolManager';
import { readSettings } from './settings';

/** The php-cgi the settings name, as found on this machine. */
export type PhpCgiStatus =
  | { readonly kind: 'found'; readonly configured: string; readonly path: string; readonly version: string | null }
  | { readonly kind: 'missing'; readonly configured: string };

/** `PHP 8.2.36 (cgi-fcgi) (built: …)` → `8.2.36`. */
export function phpVersionOf(output: string): string | null {
  return /^PHP (\d+\.\d+\.\d+\S*)/m.exec(output)?.[1] ?? null;
}

/** Finds the configured php-cgi (the first folder's setting, or the user's) and asks its version: `php-cgi -v`, at most 5 s. */
export async function detectPhpCgi(configured: string, pathEnv: string): Promise<PhpCgiStatus> {
  const path = findExecutable(configured, pathEnv);
  if (path === null) return { kind: 'missing', configured };
  const version = await new Promise<string | null>((resolve) => {
    execFile(path, ['-v'], { timeout: 5_000, encoding: 'utf8' }, (error, stdout) => resolve(error ? null : phpVersionOf(stdout)));
  });
  return { kind: 'found', configured, path, version };
}

/**
 * Knows whether php-cgi is installed, for the first-run experience: the
 * `fastcgiPool.phpCgi` context key picks the welcome view (Start with the
 * php-cgi found, or the install command for this OS), and {@link status}
 * feeds the Workers view's description. Checked at activation, when
 * `fastcgiPool.phpCgiPath` changes, when the view is shown again (php-cgi
 * may have been installed meanwhile) and on "FastCGI: Check for php-cgi".
 */
export class PhpCgiDetector implements vscode.Disposable {
  private readonly disposables = new DisposableStore();
  private readonly changes = this.disposables.add(new vscode.EventEmitter<PhpCgiStatus>());
  readonly onDidChange = this.changes.event;
  status: PhpCgiStatus | null = null;
  private checking: Promise<PhpCgiStatus> | null = null;

  constructor(private readonly log: Logger) {
    this.disposables.add(
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration(`${CONFIG_SECTION}.phpCgiPath`)) void this.check();
      }),
    );
  }

  /** Checks now (a check already under way is shared); logs what changed. */
  check(): Promise<PhpCgiStatus> {
    this.checking ??= this.run().finally(() => (this.checking = null));
    return this.checking;
  }

  dispose(): void {
    this.disposables.dispose();
  }

  private async run(): Promise<PhpCgiStatus> {
    const folder = vscode.workspace.workspaceFolders?.[0];
    const { settings } = readSettings(vscode.workspace.getConfiguration(CONFIG_SECTION, folder?.uri));
    const status = await detectPhpCgi(settings.phpCgiPath, process.env.PATH ?? '');
    if (this.disposables.isDisposed) return status;
    const before = this.status;
    this.status = status;
    if (before === null || before.kind !== status.kind || (status.kind === 'found' && before.kind === 'found' && before.path !== status.path)) {
      if (status.kind === 'found') this.log.info(`php-cgi: ${status.path}${status.version ? ` (PHP ${status.version})` : ''}`);
      else this.log.warn(`php-cgi not found: "${status.configured}". ${installHint(process.platform)}`);
    }
    void vscode.commands.executeCommand('setContext', ContextKeys.phpCgi, status.kind);
    this.changes.fire(status);
    return status;
  }
}

/** The install command for this OS, as the welcome view and the walkthrough give it. */
export function installHint(platform: NodeJS.Platform): string {
  switch (platform) {
    case 'darwin':
      return 'Install it with Homebrew: brew install php (php-cgi comes with it).';
    case 'win32':
      return 'Windows workers are not supported yet: open the folder in WSL (Remote - WSL) and install php-cgi there: sudo apt-get install php-cgi.';
    default:
      return 'Install it: sudo apt-get install php-cgi (Debian, Ubuntu), sudo dnf install php-cli (Fedora: php-cgi is in php-cli), or set fastcgiPool.phpCgiPath.';
  }
}
