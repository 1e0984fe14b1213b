/** A node that can sit on exactly one {@link WorkerList} at a time. */
export interface ListNode<T extends ListNode<T>> {
  prev: T | null;
  next: T | null;
  list: WorkerList<T> | null;
}

/**
 * An intrusive doubly linked list: add, remove, take-first and take-last are
 * O(1) with no allocation, which keeps lease acquire and release constant time
 * whether the pool has 10 workers or 1 000. Like mod_fcgid's shared-memory
 * lists, a worker's membership *is* its state, so it cannot sit on two lists.
 */
export class WorkerList<T extends ListNode<T>> {
  private head: T | null = null;
  private tail: T | null = null;
  private count = 0;

  constructor(readonly name: string) {}

  get size(): number {
    return this.count;
  }

  /** Appends at the tail (most recently used end). */
  push(node: T): void {
    if (node.list) node.list.remove(node);
    node.list = this;
    node.prev = this.tail;
    node.next = null;
    if (this.tail) this.tail.next = node;
    else this.head = node;
    this.tail = node;
    this.count++;
  }

  remove(node: T): void {
    if (node.list !== this) return;
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = node.next = null;
    node.list = null;
    this.count--;
  }

  /** Takes the most recently used node: warm workers serve first. */
  popLast(): T | null {
    const node = this.tail;
    if (node) this.remove(node);
    return node;
  }

  /** The least recently used node, without removing it. */
  first(): T | null {
    return this.head;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let node = this.head; node; ) {
      const next: T | null = node.next;
      yield node;
      node = next;
    }
  }
}
