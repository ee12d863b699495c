/**
 * The IPv4 addresses the server hands to its peers in IPCP (RFC 1332 §3.3 IP-Address), one per session.
 *
 * Reuse order: free addresses form one queue. Never-used addresses come first, in ascending order; a released
 * address joins the back. So the address a client just gave up is the LAST to be handed to someone else, and a
 * client that reconnects shortly after (passing its old address as `preferred`) usually gets it back — another
 * client does not inherit its address (and the routes, ARP and firewall state still pointing at it) right away.
 *
 * Two ways in, deliberately separate:
 *  - `allocate(preferred?)` takes an address from the pool. A `preferred` address (the one the peer asks for in
 *    IPCP, its previous address, a chap-secrets or RADIUS address that lies in the pool) is honoured when it is
 *    in the pool and free; otherwise the next free address is returned. A preference never yields an address
 *    outside the pool, so a peer cannot pick an arbitrary address by asking for it.
 *  - `assign(addr)` is for an address an operator or RADIUS explicitly gave this user (chap-secrets' 4th column,
 *    Framed-IP-Address). It returns exactly that address — in the pool or outside it — or undefined when a live
 *    session already holds it, so the caller refuses the second session instead of silently renumbering it.
 * Either way the address is marked in use until `release(addr)`, so two sessions never share one.
 *
 * Cost: memory is linear in the pool size (about 9 bytes per address: a /16 is ~600 KB); allocate, release and
 * assign are O(log r) for r configured ranges (binary search), O(1) otherwise: the free queue is a doubly linked
 * list threaded through two Int32Arrays indexed by the address' position in the pool.
 */
import { formatIpv4, parseIpv4 } from "../wire/ipv4.js";
import { err, ok, type Result } from "../wire/result.js";
import { addressValue, checkPoolRanges, formatAddressRange, rangeSize, type AddressRange } from "../config/address-range.js";

const NONE = -1;

export interface PoolStatus {
  readonly size: number;
  readonly inUse: number;
  readonly free: number;
  readonly reserved: number;
}

export class AddressPool {
  /** Total addresses in the pool. */
  readonly size: number;
  /** Sorted range starts and ends (as numbers) and each range's first index in the pool. */
  private readonly firsts: number[];
  private readonly lasts: number[];
  private readonly offsets: number[];
  /** Free queue: head is handed out next, released addresses join at the tail. */
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private head = NONE;
  private tail = NONE;
  private free: number;
  private readonly used: Uint8Array;
  /** Explicitly assigned addresses outside the pool, in use. */
  private readonly outside = new Set<number>();
  /**
   * Pool addresses that belong to one user (a chap-secrets address, a named peer's remote-address): never handed to
   * anyone else by allocate(), only by assign(). A reserved address is never in the free queue.
   */
  private readonly reserved: Uint8Array;
  private reservedList: number[] = [];

  /** Throws RangeError for ranges that checkPoolRanges() rejects (config parsing reports those properly). */
  constructor(ranges: readonly AddressRange[]) {
    const checked = checkPoolRanges(ranges);
    if (!checked.ok) throw new RangeError(`address pool: ${checked.error.message}`);
    const sorted = ranges.map((r) => [addressValue(r.first), addressValue(r.last)] as const).sort((a, b) => a[0] - b[0]);
    this.firsts = sorted.map((s) => s[0]);
    this.lasts = sorted.map((s) => s[1]);
    this.offsets = [];
    let n = 0;
    for (const [first, last] of sorted) {
      this.offsets.push(n);
      n += last - first + 1;
    }
    this.size = n;
    this.next = new Int32Array(n);
    this.prev = new Int32Array(n);
    this.used = new Uint8Array(n);
    this.reserved = new Uint8Array(n);
    this.free = 0;
    for (let i = 0; i < n; i++) this.append(i);
  }

  /** Addresses in use: from the pool and assigned outside it. */
  get inUse(): number {
    let reservedFree = 0;
    for (const i of this.reservedList) if (this.used[i] === 0) reservedFree++;
    return this.size - this.free - reservedFree + this.outside.size;
  }

  /**
   * Sets the pool addresses that are some user's static address (replacing the previous set, e.g. after a reload):
   * allocate() skips them, so the dynamic users never take the address a static user will need; assign() still
   * gives them. Addresses outside the pool are ignored. Returns how many pool addresses are reserved.
   */
  reserve(addrs: readonly string[]): number {
    const want = new Set<number>();
    for (const a of addrs) {
      const v = parseIpv4(a);
      if (!v.ok) continue;
      const i = this.indexOf(v.value);
      if (i !== NONE) want.add(i);
    }
    for (const i of this.reservedList) {
      if (want.has(i)) continue;
      this.reserved[i] = 0;
      if (this.used[i] === 0) this.append(i);
    }
    for (const i of want) {
      if (this.reserved[i] === 1) continue;
      this.reserved[i] = 1;
      if (this.used[i] === 0) this.unlink(i);
    }
    this.reservedList = [...want];
    return this.reservedList.length;
  }

  /** Size, addresses in use (pool and assigned outside it), free for anyone, and kept for static users. */
  status(): PoolStatus {
    return { size: this.size, inUse: this.inUse, free: this.free, reserved: this.reservedList.length };
  }

  /** Pool addresses reserved for static users (in use or not). */
  get reservedCount(): number {
    return this.reservedList.length;
  }

  /** Free addresses left in the pool. */
  get available(): number {
    return this.free;
  }

  /** Whether `addr` is one of the pool's addresses (in use or not). */
  contains(addr: string): boolean {
    const a = parseIpv4(addr);
    return a.ok && this.indexOf(a.value) !== NONE;
  }

  /** Whether a session holds `addr` (pool or explicitly assigned). */
  isInUse(addr: string): boolean {
    const a = parseIpv4(addr);
    if (!a.ok) return false;
    const i = this.indexOf(a.value);
    return i === NONE ? this.outside.has(a.value) : this.used[i] === 1;
  }

  /**
   * An address from the pool: `preferred` when it is in the pool and free, else the free address released
   * longest ago. Undefined when the pool is exhausted. An unparsable `preferred` counts as no preference.
   */
  allocate(preferred?: string): string | undefined {
    if (preferred !== undefined) {
      const p = parseIpv4(preferred);
      if (p.ok) {
        const i = this.indexOf(p.value);
        if (i !== NONE && this.used[i] === 0 && this.reserved[i] === 0) return this.take(i, p.value);
      }
    }
    if (this.head === NONE) return undefined;
    const i = this.head;
    return this.take(i, this.addressAt(i));
  }

  /**
   * Exactly `addr`, in the pool or outside it (an operator's or RADIUS' static assignment), or undefined when
   * it is already in use or not an IPv4 address.
   */
  assign(addr: string): string | undefined {
    const a = parseIpv4(addr);
    if (!a.ok) return undefined;
    const i = this.indexOf(a.value);
    if (i !== NONE) return this.used[i] === 0 ? this.take(i, a.value) : undefined;
    if (this.outside.has(a.value)) return undefined;
    this.outside.add(a.value);
    return formatIpv4(a.value);
  }

  /** Gives `addr` back; false when it was not in use (a double release is harmless and reported). */
  release(addr: string): boolean {
    const a = parseIpv4(addr);
    if (!a.ok) return false;
    const i = this.indexOf(a.value);
    if (i === NONE) return this.outside.delete(a.value);
    if (this.used[i] === 0) return false;
    this.used[i] = 0;
    if (this.reserved[i] === 0) this.append(i);
    return true;
  }

  private take(i: number, addr: number): string {
    if (this.reserved[i] === 0) this.unlink(i);
    this.used[i] = 1;
    return formatIpv4(addr);
  }

  private append(i: number): void {
    this.prev[i] = this.tail;
    this.next[i] = NONE;
    if (this.tail === NONE) this.head = i;
    else this.next[this.tail] = i;
    this.tail = i;
    this.free++;
  }

  private unlink(i: number): void {
    const p = this.prev[i];
    const n = this.next[i];
    if (p === NONE) this.head = n;
    else this.next[p] = n;
    if (n === NONE) this.tail = p;
    else this.prev[n] = p;
    this.free--;
  }

  /** Position of `addr` in the pool, or NONE. */
  private indexOf(addr: number): number {
    let lo = 0;
    let hi = this.firsts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (addr < this.firsts[mid]) hi = mid - 1;
      else if (addr > this.lasts[mid]) lo = mid + 1;
      else return this.offsets[mid] + (addr - this.firsts[mid]);
    }
    return NONE;
  }

  private addressAt(i: number): number {
    let lo = 0;
    let hi = this.offsets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.offsets[mid] <= i) lo = mid;
      else hi = mid - 1;
    }
    return this.firsts[lo] + (i - this.offsets[lo]);
  }
}
