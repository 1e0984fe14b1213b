import * as vscode from 'vscode';
import { DisposableStore } from './disposables';
import { ContextKeys } from './ids';
import type { PoolManager } from './poolManager';

/**
 * Keeps the context keys that menus and the palette read in step with the
 * pools and the workspace's trust, setting each only when its value changes.
 * `canStart` is false in Restricted Mode, so the title bar offers no ▶ that
 * could only say no.
 */
export class ContextKeyProjection implements vscode.Disposable {
  private readonly disposables = new DisposableStore();
  private readonly values = new Map<string, boolean>();

  constructor(
    private readonly manager: PoolManager,
    private readonly isTrusted: () => boolean = () => vscode.workspace.isTrusted,
  ) {
    this.disposables.add(
      manager.onDidChange((change) => {
        if (change.kind !== 'pool-event' && change.kind !== 'gateway-event') this.update();
      }),
    );
    this.disposables.add(vscode.workspace.onDidGrantWorkspaceTrust(() => this.update()));
    this.update();
  }

  update(): void {
    const pools = this.manager.pools;
    this.set(
      ContextKeys.running,
      pools.some((pool) => pool.status === 'running'),
    );
    this.set(ContextKeys.canStart, this.isTrusted() && pools.some((pool) => pool.status === 'stopped' || pool.status === 'failed'));
  }

  dispose(): void {
    this.disposables.dispose();
  }

  private set(key: string, value: boolean): void {
    if (this.values.get(key) === value) return;
    this.values.set(key, value);
    void vscode.commands.executeCommand('setContext', key, value);
  }
}
