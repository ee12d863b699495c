/**
 * A Linux TUN device (layer 3: every read/write is one bare IPv4/IPv6 packet, IFF_NO_PI).
 *
 * Configuration is done here by ioctl (SIOCSIFMTU, SIOCSIFADDR, SIOCSIFDSTADDR, SIOCSIFNETMASK,
 * SIOCSIFFLAGS) rather than by running `ip`: no external binary, no process spawn per session.
 * The kernel adds the connected route that goes with the address (the peer /32, or the prefix);
 * any further routes are the caller's business (e.g. `ip route add ... dev <name>`).
 */
import { ipv4Option, type Ipv4Address } from "../wire/ipv4.js";
import { loadNative, type NativeTun, type TunOffloadMode, type TunOffloadStats } from "./native.js";
import { checkBatchOptions, NativeEndpointBase } from "./native-endpoint.js";
import { DEFAULT_BATCH } from "./raw-socket.js";
import { SendBatch } from "./send-batch.js";
import type { PacketRoom } from "../core/packet-room.js";
import { ReceiveBatch, type PacketBatch, type TunTransport } from "./transport.js";

export interface TunOptions {
  /** Interface name (max 15 bytes; may hold one "%d"). Default: the kernel picks "tunN". */
  name?: string;
  mtu: number;
  /** Local IPv4 address. */
  address: string | number;
  /** Point-to-point peer address (what PPP/IPCP negotiates): adds a /32 route to it. */
  peer?: string | number;
  /** Prefix length for a shared subnet instead of (or besides) a peer. */
  prefix?: number;
  /** Bring the interface up (default true). */
  up?: boolean;
  /** Device transmit queue length (packets); default: the kernel's (500). */
  txQueueLen?: number;
  /** IFF_MULTI_QUEUE: several TunDevice objects may open the same name, one per worker. */
  multiQueue?: boolean;
  batchSize?: number;
  /** Bytes per received packet slot; default: MTU rounded up to 64 plus 64 spare. */
  slotSize?: number;
  /**
   * Kernel offloads (IFF_VNET_HDR, native/tun_offload.h): "gro" coalesces the TCP segments written in one event
   * loop turn into super-packets, so the kernel's receive path runs once per run of segments; "tso" also lets the
   * kernel hand TCP super-packets of up to 64 KB to one read, cut into MTU-sized segments in native code. A kernel
   * that refuses falls back to a lower mode (see `offload`). Every queue of a multi-queue device must ask for the
   * same. Default "tso"; the environment's PPTP_IO_TUN_OFFLOAD (none|gro|tso) overrides the default.
   */
  offload?: TunOffloadName;
}

export type TunOffloadName = "none" | "gro" | "tso";
const OFFLOAD_MODES: Record<TunOffloadName, TunOffloadMode> = { none: 0, gro: 1, tso: 2 };
const OFFLOAD_NAMES: readonly TunOffloadName[] = ["none", "gro", "tso"];

function defaultOffload(): TunOffloadName {
  const env = process.env.PPTP_IO_TUN_OFFLOAD;
  if (env === undefined || env === "") return "tso";
  if (!(env in OFFLOAD_MODES)) throw new RangeError(`PPTP_IO_TUN_OFFLOAD must be none, gro or tso, got "${env}"`);
  return env as TunOffloadName;
}

/** Packets queued per flush at most (native/tun_offload.h coalesces up to 64 a run), and the queue's bytes. */
const TX_BATCH = 64;
const TX_ARENA_BYTES = 128 * 1024;

const IFNAMSIZ = 16;

/** The default receive slot for a device of this MTU: the MTU rounded up to 64, plus 64 spare. */
export function tunSlotSize(mtu: number): number {
  return ((mtu + 63) & ~63) + 64;
}

export class TunDevice extends NativeEndpointBase<PacketBatch> implements TunTransport {
  readonly name: string;
  readonly mtu: number;
  readonly address: Ipv4Address;
  readonly peer: Ipv4Address | undefined;
  readonly prefix: number | undefined;
  private readonly tun: NativeTun;
  /** The offload mode the kernel accepted (it may be lower than asked for). */
  readonly offload: TunOffloadName;
  /** With offloads, write() queues here and one writeBatch per turn lets native code coalesce. */
  private readonly txq: TunTxQueue | undefined;
  /**
   * Room in the write queue for a datagram built in place (core/packet-room.ts): a decrypted datagram goes
   * straight into it and write() then takes it without a copy. Undefined without offloads (no queue).
   */
  readonly packetRoom: PacketRoom | undefined;

  /** Creates (or attaches to) the device and configures it. Needs CAP_NET_ADMIN. */
  static open(options: TunOptions): TunDevice {
    return new TunDevice(options);
  }

  private constructor(o: TunOptions) {
    const name = o.name ?? "";
    if (Buffer.byteLength(name) >= IFNAMSIZ) {
      throw new RangeError(`TUN name "${name}" is ${Buffer.byteLength(name)} bytes, at most ${IFNAMSIZ - 1} allowed`);
    }
    if (!Number.isInteger(o.mtu) || o.mtu < 68 || o.mtu > 65535) {
      throw new RangeError(`mtu must be an integer in 68..65535 (RFC 791 minimum 68), got ${o.mtu}`);
    }
    if (o.prefix !== undefined && (!Number.isInteger(o.prefix) || o.prefix < 1 || o.prefix > 32)) {
      throw new RangeError(`prefix must be an integer in 1..32, got ${o.prefix}`);
    }
    const address = ipv4Option("address", o.address);
    const peer = o.peer === undefined ? undefined : ipv4Option("peer", o.peer);
    const batchSize = o.batchSize ?? DEFAULT_BATCH;
    const slotSize = o.slotSize ?? tunSlotSize(o.mtu);
    checkBatchOptions(batchSize, slotSize);
    // A read that fills its slot is taken for a truncated packet and dropped (native/tun.c): slots must have room
    // for a packet of the full MTU and more.
    if (slotSize <= o.mtu) throw new RangeError(`slotSize (${slotSize}) must exceed the MTU (${o.mtu}); tunSlotSize(mtu) gives a suitable one`);

    const tun = new (loadNative().Tun)(name, o.multiQueue ?? false, OFFLOAD_MODES[o.offload ?? defaultOffload()]);
    try {
      tun.configure(o.mtu, o.txQueueLen ?? 0, address, peer ?? 0, o.prefix ?? 0, o.up ?? true);
    } catch (e) {
      tun.close();
      throw e;
    }
    const rx = new ReceiveBatch(slotSize, batchSize, false);
    super(tun, rx, rx, `TUN ${tun.name}`);
    this.tun = tun;
    this.name = tun.name;
    this.mtu = o.mtu;
    this.address = address;
    this.peer = peer;
    this.prefix = o.prefix;
    this.offload = OFFLOAD_NAMES[tun.offloadStats().mode];
    this.txq = this.offload === "none" ? undefined : new TunTxQueue(tun, () => this.isClosed);
    this.packetRoom = this.txq;
  }

  /**
   * Hands one IP packet to the kernel. With offloads it is copied into the turn's queue and written (coalesced)
   * when the JS that produced it returns: true means queued; a packet the kernel refuses is counted in stats().
   */
  write(buf: Uint8Array, offset: number, length: number): boolean {
    const q = this.txq;
    if (q !== undefined) {
      // Only what can be coalesced is queued: a well-placed IPv4 packet on an open device. Anything else (a bad
      // span, a closed device, a packet the kernel will refuse) is written now, after the queue, and fails as it
      // did before offloads: thrown or counted at once.
      if (length >= 20 && offset >= 0 && offset + length <= buf.length && buf[offset] >> 4 === 4 && !this.isClosed) return q.queue(buf, offset, length);
      q.flush();
    }
    return this.tun.write(buf, offset, length) >= 0;
  }

  writeBatch(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): number {
    this.txq?.flush();
    return this.tun.writeBatch(buf, offsets, lengths, count);
  }

  /** What the kernel offloads did on this queue (super-packets written and read, fallbacks, drops). */
  offloadStats(): TunOffloadStats {
    return this.tun.offloadStats();
  }

  override close(): void {
    if (!this.isClosed) this.txq?.flush();
    super.close();
  }
}

/**
 * The TUN write queue: packets copied into one arena, written with one writeBatch per event-loop turn (a
 * microtask) or when full, so that native code sees a flow's segments together and can coalesce them. Made
 * once; queueing allocates nothing (the copy goes by 32-bit words when the source allows, as GreDemux's does).
 * Exported for its tests only (test/io/packet-room-queues.test.ts).
 */
export class TunTxQueue extends SendBatch {
  constructor(
    private readonly tun: NativeTun,
    private readonly closed: () => boolean,
  ) {
    super(TX_BATCH, TX_ARENA_BYTES);
  }

  queue(buf: Uint8Array, off: number, len: number): boolean {
    if (len > TX_ARENA_BYTES) {
      this.flush();
      return this.tun.write(buf, off, len) >= 0;
    }
    return this.take(buf, off, len) >= 0 || this.tun.write(buf, off, len) >= 0;
  }

  protected write(n: number): void {
    if (!this.closed()) this.tun.writeBatch(this.arena.bytes, this.offsets, this.lengths, n);
  }
}
