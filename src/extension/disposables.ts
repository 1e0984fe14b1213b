import type * as vscode from 'vscode';

/**
 * Owns child disposables and disposes them once, newest first (a service
 * that subscribed to another is torn down before it). Every long-lived
 * service of the extension is one of these or holds one.
 */
export class DisposableStore implements vscode.Disposable {
  private readonly items: { dispose(): unknown }[] = [];
  private disposed = false;

  /** Adds a child; adding to a disposed store disposes the child at once. */
  add<T extends { dispose(): unknown }>(item: T): T {
    if (this.disposed) item.dispose();
    else this.items.push(item);
    return item;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const item of this.items.splice(0).reverse()) {
      try {
        item.dispose();
      } catch {
        // One failing child must not keep the others alive.
      }
    }
  }
}
