/**
 * A first-in first-out queue for an engine's outputs (pollTransmit / pollEvent) that holds no array while it
 * is empty. A plain array used with push/shift keeps its backing store after it drains (17 slots, ~150 B),
 * and an idle session holds a dozen such queues that are almost always empty (issue 11: memory per session);
 * this one makes its array on the first push and drops it when the last item is taken.
 *
 * A lone item is held as itself, not in an array: most pushes are one packet or event taken at once (a
 * keepalive answered, a deadline's one event), and an array per push was most of what an idle session still
 * allocated per echo (issue 11: idle cost). Items are objects and never arrays themselves (the one field tells
 * a lone item from a queue of several by Array.isArray).
 */
export class Fifo<T extends object> {
  private items: T | T[] | undefined;

  get length(): number {
    const q = this.items;
    return q === undefined ? 0 : Array.isArray(q) ? q.length : 1;
  }

  push(item: T): void {
    const q = this.items;
    if (q === undefined) this.items = item;
    else if (Array.isArray(q)) q.push(item);
    else this.items = [q, item];
  }

  /** The oldest item, or undefined when empty. */
  shift(): T | undefined {
    const q = this.items;
    if (q === undefined || !Array.isArray(q)) {
      this.items = undefined;
      return q;
    }
    const item = q.shift();
    if (q.length === 0) this.items = undefined;
    return item;
  }

  clear(): void {
    this.items = undefined;
  }
}
