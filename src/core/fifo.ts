/**
 * A first-in first-out queue for an engine's outputs (pollTransmit / pollEvent) that holds no array while it
 * is empty. A plain array used with push/shift keeps its backing store after it drains (17 slots, ~150 B),
 * and an idle session holds a dozen such queues that are almost always empty (issue 11: memory per session);
 * this one makes its array on the first push and drops it when the last item is taken.
 */
export class Fifo<T> {
  private items: T[] | undefined;

  get length(): number {
    return this.items?.length ?? 0;
  }

  push(item: T): void {
    (this.items ??= []).push(item);
  }

  /** The oldest item, or undefined when empty. */
  shift(): T | undefined {
    const q = this.items;
    if (q === undefined) return undefined;
    const item = q.shift();
    if (q.length === 0) this.items = undefined;
    return item;
  }

  clear(): void {
    this.items = undefined;
  }
}
