/**
 * In-memory doubles of the GRE and TUN transports for tests and simulations: same batch shapes,
 * same "valid during the callback only" buffers, but delivery happens only when the test says so
 * (deliver()/settle()), so engines can be driven deterministically with a fake clock.
 */
import { ipv4Option, type Ipv4Address } from "../wire/ipv4.js";
import {
  emptyStats,
  ReceiveBatch,
  type GreBatch,
  type GreTransport,
  type PacketBatch,
  type TransportStats,
  type TunTransport,
} from "./transport.js";

/** Where a delivered payload starts inside its slot: mimics the stripped IPv4 header, so code
 *  that wrongly assumes offset 0 fails against the doubles as it would against the real socket. */
export const MEMORY_HEADROOM = 20;

interface QueuedDatagram {
  readonly src: Ipv4Address;
  readonly dst: Ipv4Address;
  readonly bytes: Uint8Array;
}

export interface MemoryEndpointOptions {
  batchSize?: number;
  slotSize?: number;
}

export interface MemoryGreAttachOptions extends MemoryEndpointOptions {
  /**
   * More local addresses of the same host (secondary addresses, VIPs), like an unbound raw socket on a
   * multi-homed host: GRE sent to any of them reaches this socket (each packet reports which one it was sent
   * to), and a send may name any of them as its source. A send without a source leaves from `address`, the
   * one routing would pick.
   */
  aliases?: readonly (string | number)[];
}

function closedError(what: string): Error {
  const e = new Error(`EBADF: bad file descriptor, ${what} is closed`) as Error & { code: string };
  e.code = "EBADF";
  return e;
}

function checkSpan(bufLength: number, offset: number, length: number, what: string): void {
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > bufLength) {
    throw new RangeError(`${what}: offset ${offset} + length ${length} is past the end of a ${bufLength}-byte buffer`);
  }
}

/**
 * Copies queued packets into `rx` one batch at a time and calls `handler` per batch.
 * Returns the number delivered; oversized packets are dropped and counted like the real edge.
 */
function deliverBatches(
  items: readonly QueuedDatagram[],
  rx: ReceiveBatch,
  stats: TransportStats,
  handler: ((b: ReceiveBatch) => void) | undefined,
  isOpen: () => boolean,
): number {
  let delivered = 0;
  let i = 0;
  while (i < items.length && isOpen()) {
    let n = 0;
    while (n < rx.batchMax && i < items.length) {
      const it = items[i++];
      if (it.bytes.length + MEMORY_HEADROOM > rx.slotSize) {
        stats.rxDropped++;
        continue;
      }
      const off = n * rx.slotSize + MEMORY_HEADROOM;
      rx.data.set(it.bytes, off);
      rx.offsets[n] = off;
      rx.lengths[n] = it.bytes.length;
      if (rx.sources.length > 0) {
        rx.sources[n] = it.src;
        rx.destinations[n] = it.dst;
      }
      stats.rxPackets++;
      stats.rxBytes += it.bytes.length;
      n++;
    }
    if (n === 0) continue;
    rx.count = n;
    stats.rxBatches++;
    delivered += n;
    if (handler !== undefined) handler(rx);
  }
  return delivered;
}

/** A set of GRE endpoints that can reach each other by address. */
export class MemoryGreNetwork {
  private readonly sockets = new Map<Ipv4Address, MemoryGreSocket>();
  private queue: QueuedDatagram[] = [];
  /** Packets sent to an address nobody holds. */
  undeliverable = 0;
  /** Return true to drop a packet in transit (loss simulation); called once per sent packet. */
  dropIf: ((src: Ipv4Address, dst: Ipv4Address, bytes: Uint8Array) => boolean) | undefined;

  /** A socket reachable at `address` (like a GreSocket bound to it), and at `options.aliases` too. */
  attach(address: string | number, options: MemoryGreAttachOptions = {}): MemoryGreSocket {
    const a = ipv4Option("address", address);
    const all = [a, ...(options.aliases ?? []).map((x) => ipv4Option("aliases", x))];
    for (let i = 0; i < all.length; i++) {
      if (this.sockets.has(all[i]) || all.indexOf(all[i]) !== i) throw new Error(`EADDRINUSE: address ${String(all[i])} already attached`);
    }
    const s = new MemoryGreSocket(this, a, options, all);
    for (const x of all) this.sockets.set(x, s);
    return s;
  }

  get pending(): number {
    return this.queue.length;
  }

  /** @internal used by MemoryGreSocket */
  enqueue(src: Ipv4Address, dst: Ipv4Address, bytes: Uint8Array): void {
    if (this.dropIf !== undefined && this.dropIf(src, dst, bytes)) return;
    this.queue.push({ src, dst, bytes });
  }

  /** @internal */
  detach(s: MemoryGreSocket): void {
    for (const a of s.addresses) if (this.sockets.get(a) === s) this.sockets.delete(a);
  }

  /**
   * Delivers everything queued so far, in order, batched per receiver. Packets sent by the
   * handlers while delivering stay queued for the next call. Returns how many were delivered.
   */
  deliver(): number {
    const items = this.queue;
    this.queue = [];
    let delivered = 0;
    // Keep the global order but batch consecutive packets for the same receiver.
    let i = 0;
    while (i < items.length) {
      const dst = items[i].dst;
      let j = i;
      while (j < items.length && items[j].dst === dst) j++;
      const target = this.sockets.get(dst);
      if (target === undefined) this.undeliverable += j - i;
      else delivered += target.receive(items.slice(i, j));
      i = j;
    }
    return delivered;
  }

  /** Delivers until nothing is queued (request/response exchanges), at most maxRounds rounds. */
  settle(maxRounds = 100): number {
    let total = 0;
    for (let r = 0; r < maxRounds && this.queue.length > 0; r++) total += this.deliver();
    return total;
  }
}

export class MemoryGreSocket implements GreTransport {
  private handler: ((b: GreBatch) => void) | undefined;
  private closed = false;
  private readonly rx: ReceiveBatch;
  private readonly counters = emptyStats();

  /** @internal created by MemoryGreNetwork.attach */
  constructor(
    private readonly network: MemoryGreNetwork,
    /** The address a send without a source leaves from. */
    readonly address: Ipv4Address,
    options: MemoryEndpointOptions,
    /** Every local address of this socket: `address` first, then the aliases. */
    readonly addresses: readonly Ipv4Address[] = [address],
  ) {
    this.rx = new ReceiveBatch(options.slotSize ?? 4096, options.batchSize ?? 64, true);
  }

  onBatch(cb: (batch: GreBatch) => void): void {
    this.handler = cb;
  }

  onError(_cb: (error: Error) => void): void {
    // An in-memory link has no receive failures to report.
  }

  send(buf: Uint8Array, offset: number, length: number, dst: Ipv4Address, src: Ipv4Address = 0): boolean {
    if (this.closed) throw closedError("MemoryGreSocket");
    checkSpan(buf.length, offset, length, "send");
    if (src !== 0 && this.addresses.indexOf(src) < 0) {
      // As the kernel does (the route lookup fails): a source that is not one of our addresses is refused.
      this.counters.txErrors++;
      this.counters.lastTxError = "ENETUNREACH";
      return false;
    }
    this.network.enqueue(src === 0 ? this.address : src, dst, buf.slice(offset, offset + length));
    this.counters.txPackets++;
    this.counters.txBytes += length;
    return true;
  }

  sendBatch(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, dsts: Uint32Array, count: number, srcs?: Uint32Array): number {
    if (this.closed) throw closedError("MemoryGreSocket");
    const nSrcs = srcs?.length ?? 0;
    if (count > offsets.length || count > lengths.length || count > dsts.length || (srcs !== undefined && count > nSrcs)) {
      throw new RangeError(
        `count ${count} exceeds offsets (${offsets.length}), lengths (${lengths.length}), dstAddresses (${dsts.length}) or srcAddresses (${nSrcs})`,
      );
    }
    for (let i = 0; i < count; i++) checkSpan(buf.length, offsets[i], lengths[i], "sendBatch");
    let sent = 0;
    for (let i = 0; i < count; i++) if (this.send(buf, offsets[i], lengths[i], dsts[i], srcs === undefined ? 0 : srcs[i])) sent++;
    return sent;
  }

  /** @internal */
  receive(items: readonly QueuedDatagram[]): number {
    if (this.closed) return 0;
    return deliverBatches(items, this.rx, this.counters, this.handler, () => !this.closed);
  }

  stats(): TransportStats {
    return { ...this.counters };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handler = undefined;
    this.network.detach(this);
  }
}

/**
 * A TUN double: inject() plays the kernel routing a packet into the device (delivered on
 * deliver()), and everything the application writes is kept, copied, in `written`.
 */
export class MemoryTun implements TunTransport {
  readonly written: Uint8Array[] = [];
  private handler: ((b: PacketBatch) => void) | undefined;
  private closed = false;
  private queue: QueuedDatagram[] = [];
  private readonly rx: ReceiveBatch;
  private readonly counters = emptyStats();

  constructor(
    readonly name = "memtun0",
    readonly mtu = 1400,
    options: MemoryEndpointOptions = {},
  ) {
    this.rx = new ReceiveBatch(options.slotSize ?? ((mtu + 63) & ~63) + 64, options.batchSize ?? 64, false);
  }

  onBatch(cb: (batch: PacketBatch) => void): void {
    this.handler = cb;
  }

  onError(_cb: (error: Error) => void): void {
    // Nothing can fail in memory.
  }

  /** Queues an IP packet as if the kernel had routed it into the device (copied). */
  inject(packet: Uint8Array): void {
    this.queue.push({ src: 0, dst: 0, bytes: packet.slice() });
  }

  get pending(): number {
    return this.queue.length;
  }

  deliver(): number {
    const items = this.queue;
    this.queue = [];
    if (this.closed) return 0;
    return deliverBatches(items, this.rx, this.counters, this.handler, () => !this.closed);
  }

  write(buf: Uint8Array, offset: number, length: number): boolean {
    if (this.closed) throw closedError("MemoryTun");
    checkSpan(buf.length, offset, length, "write");
    this.written.push(buf.slice(offset, offset + length));
    this.counters.txPackets++;
    this.counters.txBytes += length;
    return true;
  }

  writeBatch(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): number {
    if (this.closed) throw closedError("MemoryTun");
    if (count > offsets.length || count > lengths.length) {
      throw new RangeError(`count ${count} exceeds offsets (${offsets.length}) or lengths (${lengths.length})`);
    }
    for (let i = 0; i < count; i++) checkSpan(buf.length, offsets[i], lengths[i], "writeBatch");
    for (let i = 0; i < count; i++) this.write(buf, offsets[i], lengths[i]);
    return count;
  }

  /** Returns and forgets what was written so far. */
  takeWritten(): Uint8Array[] {
    return this.written.splice(0, this.written.length);
  }

  stats(): TransportStats {
    return { ...this.counters };
  }

  close(): void {
    this.closed = true;
    this.handler = undefined;
  }
}
