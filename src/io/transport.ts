/**
 * The data-plane edge as seen by the rest of pptp-ts: a GRE transport (one raw socket shared by
 * every call) and a TUN transport. The real ones (gre-socket.ts, tun.ts) and the in-memory doubles
 * (memory.ts) implement these, so the server/client drivers and their tests do not care which.
 *
 * Packets move in batches over preallocated buffers: a batch is one object, reused, whose arrays
 * describe `count` packets inside `data`. It is only valid during the callback that receives it —
 * copy out (or finish processing) before returning. Nothing is allocated per packet.
 */
import type { PacketRoom } from "../core/packet-room.js";
import type { Ipv4Address } from "../wire/ipv4.js";

export interface PacketBatch {
  /** Number of packets described; entries past `count` in the arrays are stale. */
  readonly count: number;
  /** The receive buffer; packet i is data[offsets[i] .. offsets[i] + lengths[i]). */
  readonly data: Uint8Array;
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
}

/** A batch of IP payloads (for GRE: the GRE header onwards; the IPv4 header is stripped). */
export interface DatagramBatch extends PacketBatch {
  /** IPv4 source address of packet i (the peer to reply to). */
  readonly sources: Uint32Array;
  /** IPv4 destination address of packet i (which local address the peer used). */
  readonly destinations: Uint32Array;
}

export type GreBatch = DatagramBatch;

export interface TransportStats {
  rxPackets: number;
  rxBytes: number;
  rxBatches: number;
  rxDropped: number;
  rxErrors: number;
  txPackets: number;
  txBytes: number;
  txErrors: number;
  txWouldBlock: number;
  lastRxError: string;
  lastTxError: string;
}

export interface GreTransport {
  /** Sets the batch handler and starts receiving (replaces any previous handler). */
  onBatch(cb: (batch: GreBatch) => void): void;
  /** Receive-side failures (rare: the socket itself failed). They are also counted in stats(). */
  onError(cb: (error: Error) => void): void;
  /**
   * Sends buf[offset .. offset+length) (a GRE header + payload) to dst. false = dropped (queue
   * full or a routing error; see stats()). Never blocks; the buffer may be reused on return.
   * `src` picks the local source address (a call's GRE leaves from the address its peer dialled);
   * 0 or absent = the route's preferred source. A src that is not a local address fails (false; ENETUNREACH from the route lookup).
   */
  send(buf: Uint8Array, offset: number, length: number, dst: Ipv4Address, src?: Ipv4Address): boolean;
  /** Sends `count` packets from one buffer; returns how many were sent. `srcs` as send's src, per packet. */
  sendBatch(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, dsts: Uint32Array, count: number, srcs?: Uint32Array): number;
  stats(): TransportStats;
  close(): void;
}

export interface TunTransport {
  readonly name: string;
  readonly mtu: number;
  /** Sets the batch handler and starts reading packets the kernel routes into the device. */
  onBatch(cb: (batch: PacketBatch) => void): void;
  onError(cb: (error: Error) => void): void;
  /** Hands one IP packet to the kernel as if it arrived on this interface. false = dropped. */
  write(buf: Uint8Array, offset: number, length: number): boolean;
  writeBatch(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): number;
  /** Room in the write queue for a datagram built in place, taken by write() without a copy (core/packet-room.ts). */
  readonly packetRoom?: PacketRoom | undefined;
  stats(): TransportStats;
  close(): void;
}

/**
 * The one reusable batch object of a receiver. Its arrays are views on a single metadata buffer
 * laid out the way the native side fills it: offsets, lengths, sources, destinations.
 */
export class ReceiveBatch implements DatagramBatch {
  count = 0;
  readonly data: Uint8Array;
  readonly meta: Uint32Array;
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  readonly sources: Uint32Array;
  readonly destinations: Uint32Array;

  constructor(
    readonly slotSize: number,
    readonly batchMax: number,
    withAddresses: boolean,
  ) {
    this.data = new Uint8Array(slotSize * batchMax);
    this.meta = new Uint32Array((withAddresses ? 4 : 2) * batchMax);
    this.offsets = this.meta.subarray(0, batchMax);
    this.lengths = this.meta.subarray(batchMax, 2 * batchMax);
    this.sources = withAddresses ? this.meta.subarray(2 * batchMax, 3 * batchMax) : new Uint32Array(0);
    this.destinations = withAddresses ? this.meta.subarray(3 * batchMax, 4 * batchMax) : new Uint32Array(0);
  }
}

export function emptyStats(): TransportStats {
  return {
    rxPackets: 0,
    rxBytes: 0,
    rxBatches: 0,
    rxDropped: 0,
    rxErrors: 0,
    txPackets: 0,
    txBytes: 0,
    txErrors: 0,
    txWouldBlock: 0,
    lastRxError: "",
    lastTxError: "",
  };
}
