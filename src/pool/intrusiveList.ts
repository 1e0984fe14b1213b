/** A node that can sit on exactly one {@link IntrusiveList} at a time. */
export interface ListNode<T extends ListNode<T>> {
  prev: T | null;
  next: T | null;
  list: IntrusiveList<T> | null;
}

/**
 * An intrusive doubly linked list: the links live in the nodes, so add,
 * remove, take-first and take-last are O(1) with no allocation. The pool's
 * state lists and its busy deadlines both use it, which keeps lease acquire
 * and release constant time whether the pool has 10 workers or 1 000.
 */
export class IntrusiveList<T extends ListNode<T>> {
  private head: T | null = null;
  private tail: T | null = null;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Appends at the tail, taking the node off any list it was on. */
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

  /**
   * Inserts the node before `before` (a node of this list), or at the tail
   * when `before` is null, taking it off any list it was on.
   */
  insertBefore(node: T, before: T | null): void {
    if (before === null || before.list !== this) {
      this.push(node);
      return;
    }
    if (node.list) node.list.remove(node);
    node.list = this;
    node.next = before;
    node.prev = before.prev;
    if (before.prev) before.prev.next = node;
    else this.head = node;
    before.prev = node;
    this.count++;
  }

  /** The node at the tail (the most recently added), without removing it. */
  last(): T | null {
    return this.tail;
  }

  /** Takes the node off this list; a node on another list (or none) is left alone. */
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

  /** Takes the node at the tail (the most recently added). */
  popLast(): T | null {
    const node = this.tail;
    if (node) this.remove(node);
    return node;
  }

  /** The node at the head (the least recently added), without removing it. */
  first(): T | null {
    return this.head;
  }

  /** Head to tail; the current node may be moved away during the iteration. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let node = this.head; node;) {
      const next: T | null = node.next;
      yield node;
      node = next;
    }
  }
}
