/** A registration that can be undone; structurally the same as the pool's and VS Code's. */
export interface Disposable {
  dispose(): void;
}

/**
 * A typed list of listeners. A listener that throws does not stop the others
 * or the caller: the relay calls these from socket callbacks, where an
 * exception would become an uncaught one and take the host down.
 */
export class Listeners<Args extends unknown[]> {
  private readonly list = new Set<(...args: Args) => void>();

  add(listener: (...args: Args) => void): Disposable {
    // A wrapper per registration, so the same function can be added twice and removed once.
    const entry = (...args: Args): void => listener(...args);
    this.list.add(entry);
    return { dispose: () => this.list.delete(entry) };
  }

  emit(...args: Args): void {
    for (const listener of [...this.list]) {
      try {
        listener(...args);
      } catch {
        // One consumer's bug must not stop the others or the relay (as in the pool).
      }
    }
  }

  clear(): void {
    this.list.clear();
  }
}
