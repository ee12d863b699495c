/**
 * A Linux TUN device (layer 3: every read/write is one bare IPv4/IPv6 packet, IFF_NO_PI).
 *
 * Configuration is done here by ioctl (SIOCSIFMTU, SIOCSIFADDR, SIOCSIFDSTADDR, SIOCSIFNETMASK,
 * SIOCSIFFLAGS) rather than by running `ip`: no external binary, no process spawn per session.
 * The kernel adds the connected route that goes with the address (the peer /32, or the prefix);
 * any further routes are the caller's business (e.g. `ip route add ... dev <name>`).
 */
import { ipv4Option, type Ipv4Address } from "../wire/ipv4.js";
import { loadNative, type NativeTun } from "./native.js";
import { checkBatchOptions, NativeEndpointBase } from "./native-endpoint.js";
import { DEFAULT_BATCH } from "./raw-socket.js";
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
}

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

    const tun = new (loadNative().Tun)(name, o.multiQueue ?? false);
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
  }

  write(buf: Uint8Array, offset: number, length: number): boolean {
    return this.tun.write(buf, offset, length) >= 0;
  }

  writeBatch(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): number {
    return this.tun.writeBatch(buf, offsets, lengths, count);
  }
}
