import * as vscode from 'vscode';
import { DisposableStore } from './disposables';
import { PHP_DEBUG } from './ids';

/**
 * PHP Debug (xdebug.php-debug), seen from outside: it exports no API, but
 * its debug sessions are `vscode.debug` sessions of type `php`, and its
 * "Listen for Xdebug" configuration is a plain `launch` with a port. This
 * follows those sessions, so that "Debug Next Request" knows whether one
 * listens, and starts one when asked.
 */
export class PhpDebugSessions implements vscode.Disposable {
  private readonly disposables = new DisposableStore();
  private readonly sessions = new Set<string>();

  constructor() {
    // Sessions started before we were activated: the active one is the one that matters most.
    const active = vscode.debug.activeDebugSession;
    if (active?.type === PHP_DEBUG.debugType) this.sessions.add(active.id);
    this.disposables.add(
      vscode.debug.onDidStartDebugSession((session) => {
        if (session.type === PHP_DEBUG.debugType) this.sessions.add(session.id);
      }),
    );
    this.disposables.add(vscode.debug.onDidTerminateDebugSession((session) => this.sessions.delete(session.id)));
  }

  /** Whether a `php` debug session runs (PHP Debug listens while its session lasts). */
  get listening(): boolean {
    return this.sessions.size > 0;
  }

  /** Whether PHP Debug is installed. */
  static installed(): boolean {
    return vscode.extensions.getExtension(PHP_DEBUG.extensionId) !== undefined;
  }

  /** Starts PHP Debug's "Listen for Xdebug" on `port` in the folder. */
  static listen(folder: vscode.WorkspaceFolder | undefined, port: number): Thenable<boolean> {
    return vscode.debug.startDebugging(folder, { type: PHP_DEBUG.debugType, request: 'launch', name: PHP_DEBUG.listenConfigurationName, port });
  }

  dispose(): void {
    this.disposables.dispose();
  }
}
