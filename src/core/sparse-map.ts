/**
 * A Map for per-session bookkeeping that is empty most of the time (calls being set up, calls lingering after
 * their link went down, name servers a peer did not ask for): it holds no hash table while empty. An empty
 * `Map` keeps a ~150 B table, and an idle session held nine of them (issue 11: memory per session). The
 * table is made on the first `set` and dropped when the last entry goes; iterating while deleting behaves as
 * with a Map (the iteration goes on over the table it started on).
 */
export class SparseMap<K, V> {
  private map: Map<K, V> | undefined;

  get size(): number {
    return this.map?.size ?? 0;
  }

  get(key: K): V | undefined {
    return this.map?.get(key);
  }

  has(key: K): boolean {
    return this.map?.has(key) ?? false;
  }

  set(key: K, value: V): this {
    (this.map ??= new Map()).set(key, value);
    return this;
  }

  delete(key: K): boolean {
    const m = this.map;
    if (m === undefined || !m.delete(key)) return false;
    if (m.size === 0) this.map = undefined;
    return true;
  }

  clear(): void {
    this.map = undefined;
  }

  keys(): IterableIterator<K> {
    return (this.map ?? EMPTY).keys() as IterableIterator<K>;
  }

  values(): IterableIterator<V> {
    return (this.map ?? EMPTY).values() as IterableIterator<V>;
  }

  entries(): IterableIterator<[K, V]> {
    return (this.map ?? EMPTY).entries() as IterableIterator<[K, V]>;
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }
}

const EMPTY: ReadonlyMap<unknown, unknown> = new Map();
